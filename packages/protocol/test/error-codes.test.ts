/**
 * Every code of `protocolErrorCodes` is reached by a scenario through the public API. The table is a
 * `Record` over the codes, so adding a code without a scenario fails the type-check. The guard
 * `isProtocolError` recognises errors of another installed copy of the package (a brand, not
 * `instanceof`).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  FrameSplitter,
  ParamValue,
  ProtocolError,
  compressPayload,
  decodeVarInt,
  decodeWith,
  decompressPayload,
  encodeVarInt,
  encodeWith,
  fromHex,
  getGeneration,
  isProtocolError,
  protocolErrorCodes,
  readFrame,
  t,
  type ProtocolErrorCode,
} from '@handoff/protocol';

const g3 = getGeneration('G3');

/** A fresh copy of the package (a second install of the same version), its zstd not loaded yet. */
async function secondCopy(): Promise<typeof import('@handoff/protocol')> {
  vi.resetModules();
  try {
    return await import('@handoff/protocol');
  } finally {
    vi.resetModules();
  }
}

const connectWithUsernameOffset = (offset: number): Uint8Array => {
  const payload = readFrame(
    g3.registry,
    g3.packet('Connect').encodeFrame({
      protocolCrc: g3.identify.protocolCrc!,
      protocolBuildNumber: 20,
      clientVersion: '1',
      clientType: 'Game',
      uuid: '00112233-4455-6677-8899-aabbccddeeff',
      username: 'Bob',
      language: 'en',
    }),
  ).payload.slice();
  new DataView(payload.buffer).setInt32(46, offset, true);
  return payload;
};

const scenarios: Record<ProtocolErrorCode, () => unknown> = {
  ERR_PROTOCOL_TRUNCATED: () => decodeWith(t.int32, new Uint8Array(2)),
  ERR_PROTOCOL_VARINT_TOO_LONG: () => decodeVarInt(fromHex('ffffffffff01')),
  ERR_PROTOCOL_VARINT_NEGATIVE: () => encodeVarInt(-1),
  ERR_PROTOCOL_STRING_TOO_LONG: () => encodeWith(t.varString(2), 'abc'),
  ERR_PROTOCOL_ARRAY_TOO_LONG: () => encodeWith(t.array(t.int8, 1), [1, 2]),
  ERR_PROTOCOL_INVALID_OFFSET: () => g3.packet('Connect').decode(connectWithUsernameOffset(100_000)),
  ERR_PROTOCOL_MISSING_FIELD: () => g3.packet('Connect').decode(connectWithUsernameOffset(-1)),
  ERR_PROTOCOL_INVALID_ENUM: () => g3.packet('Disconnect').fromJson({ type: 'Explode' }),
  ERR_PROTOCOL_UNKNOWN_VARIANT: () => decodeWith(ParamValue, Uint8Array.of(9)),
  ERR_PROTOCOL_DUPLICATE_KEY: () => decodeWith(t.map(t.int8, t.int8, 10), Uint8Array.of(2, 1, 1, 1, 2)),
  ERR_PROTOCOL_INVALID_VALUE: () => encodeWith(t.uuid, 'not-a-uuid'),
  ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH: () => readFrame(g3.registry, fromHex('ffffffff00000000')),
  ERR_PROTOCOL_FRAME_TOO_LARGE: () => readFrame(g3.registry, fromHex('050000002000000000000000ff')),
  ERR_PROTOCOL_UNKNOWN_PACKET: () => readFrame(g3.registry, fromHex('0000000099990000')),
  ERR_PROTOCOL_WRONG_CHANNEL: () =>
    new FrameSplitter(g3.registry, { channel: 'Chunks' }).push(g3.packet('JoinWorld').encodeFrame({ clearWorld: true, fadeInOut: false, worldUuid: '00112233-4455-6677-8899-aabbccddeeff' })),
  ERR_PROTOCOL_UNKNOWN_GENERATION: () => getGeneration('G9'),
  ERR_PROTOCOL_NOT_MODELLED: () => g3.packet('UpdateTime' as 'Ping'),
  ERR_PROTOCOL_NOT_FIXED_FIELD: () => g3.fixedFields('Connect', ['username']),
  ERR_PROTOCOL_ZSTD_NO_CONTENT_SIZE: () => decompressPayload(fromHex('28b52ffd0000310000010001000000'), 1000),
  ERR_PROTOCOL_ZSTD_TOO_LARGE: () => decompressPayload(new Uint8Array(100), 50),
  ERR_PROTOCOL_ZSTD_CORRUPT: () => decompressPayload(fromHex('0011223344'), 100),
  ERR_PROTOCOL_ZSTD_NOT_READY: async () => {
    const copy = await secondCopy();
    copy.compressPayload(Uint8Array.of(1)); // before `await copy.zstdReady`
  },
};

async function errorOf(scenario: () => unknown): Promise<unknown> {
  try {
    await scenario();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('protocolErrorCodes', () => {
  it('describes every code in one line, each with the package prefix', () => {
    for (const [code, meaning] of Object.entries(protocolErrorCodes)) {
      expect(code).toMatch(/^ERR_PROTOCOL_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(40);
      expect(meaning).not.toContain('\n');
    }
  });

  for (const code of Object.keys(scenarios) as ProtocolErrorCode[]) {
    it(`${code} is reachable`, async () => {
      const error = await errorOf(scenarios[code]);
      expect(isProtocolError(error, code)).toBe(true);
      expect((error as Error).name).toBe('ProtocolError');
    });
  }
});

describe('isProtocolError', () => {
  it('recognises the errors of a second installed copy, where instanceof does not', async () => {
    const copy = await secondCopy();
    await copy.zstdReady;
    const foreign = await errorOf(() => copy.getGeneration('G9'));
    expect(foreign).not.toBeInstanceOf(ProtocolError);
    expect(isProtocolError(foreign)).toBe(true);
    expect(isProtocolError(foreign, 'ERR_PROTOCOL_UNKNOWN_GENERATION')).toBe(true);
    expect(isProtocolError(foreign, 'ERR_PROTOCOL_TRUNCATED')).toBe(false);
    expect(copy.isProtocolError(await errorOf(() => getGeneration('G9')))).toBe(true);
    expect(copy.compressPayload(Uint8Array.of(1))).toEqual(compressPayload(Uint8Array.of(1)));
  });

  it('is false for other errors, including look-alikes with the same code', () => {
    expect(isProtocolError(new Error('x'))).toBe(false);
    expect(isProtocolError(Object.assign(new Error('x'), { code: 'ERR_PROTOCOL_TRUNCATED', name: 'ProtocolError' }))).toBe(false);
    expect(isProtocolError(undefined)).toBe(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new ProtocolError('ERR_PROTOCOL_ZSTD_CORRUPT', 'outer', { cause }).cause).toBe(cause);
  });
});
