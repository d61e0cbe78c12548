/**
 * Fixed-field readers: every read comes from the generation's schema (packet id, offsets, null bits,
 * enum values), so a generation that moves a packet is read correctly and a frame of another
 * packet is never mistaken for it.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  FRAME_HEADER_SIZE,
  compressPayload,
  detectGeneration,
  frameFromPayload,
  generations,
  getGeneration,
  readFrame,
  type Generation,
} from '@handoff/protocol';
import { code } from './support/errors.js';
import { R4 } from './support/r4.js';

const G3 = getGeneration('G3');
const all: readonly Generation[] = [...generations, R4];

const ping = (g: Generation, id: number) =>
  g.packet('Ping').encodeFrame({ id, time: { seconds: 5n, nanos: 6 }, lastPingValueRaw: 1, lastPingValueDirect: 2, lastPingValueTick: 3 });
const pong = (g: Generation, id: number, type: 'Raw' | 'Direct' | 'Tick') =>
  g.packet('Pong').encodeFrame({ id, time: { seconds: 1n, nanos: 0 }, type, packetQueueSize: 9 });

describe('fixedFields', () => {
  test('reads what the full decode reads, in every generation, R4 included', () => {
    for (const g of all) {
      const pongReader = g.fixedFields('Pong', ['id', 'type']);
      expect(pongReader.descriptor.id).toBe(g.registry.byName('Pong')!.id);
      expect(pongReader.readFrame(pong(g, -123456, 'Tick'))).toEqual({ id: -123456, type: 'Tick' });
      expect(g.fixedFields('Ping', ['id']).readFrame(ping(g, 77))).toEqual({ id: 77 });
      const chunk = g.packet('SetChunk').encodeFrame({ x: -3, y: 4, z: 70_000, localLight: null, globalLight: null, data: new Uint8Array(8) });
      expect(g.fixedFields('SetChunk', ['x', 'z']).readFrame(chunk)).toEqual({ x: -3, z: 70_000 }); // decompressed first
      expect(g.fixedFields('UnloadChunk', ['chunkX', 'chunkZ']).readFrame(g.packet('UnloadChunk').encodeFrame({ chunkX: 1, chunkZ: -1 }))).toEqual({ chunkX: 1, chunkZ: -1 });
    }
  });

  test('R4 moves Ping to id 3 and Pong to id 4: its reader takes its Pong and refuses its Ping, which carries G3\'s Pong id', () => {
    const r4Pong = R4.fixedFields('Pong', ['id', 'type']);
    expect(r4Pong.descriptor.id).toBe(4);
    expect(G3.fixedFields('Pong', ['id', 'type']).descriptor.id).toBe(3);
    const r4Ping = ping(R4, 42);
    expect(new DataView(r4Ping.buffer).getInt32(4, true)).toBe(3); // what a reader with a constant id 3 would take for a Pong
    expect(code(() => r4Pong.readFrame(r4Ping))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(code(() => r4Pong.readFrame({ id: 3, bytes: r4Ping }))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(r4Pong.readFrame(pong(R4, 42, 'Direct'))).toEqual({ id: 42, type: 'Direct' });
    expect(code(() => G3.fixedFields('Pong', ['id', 'type']).readFrame(pong(R4, 42, 'Direct')))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(R4.fixedFields('Ping', ['id']).readFrame(r4Ping)).toEqual({ id: 42 });
  });

  test('nullable fixed fields read null when their bit is clear, like the codec', () => {
    const g = G3;
    const frame = g.packet('Ping').encodeFrame({ id: 1, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 });
    expect(g.fixedFields('Ping', ['id', 'time']).readFrame(frame)).toEqual({ id: 1, time: null });
    expect(g.fixedFields('Ping', ['time', 'id']).readFrame(ping(g, 2))).toEqual({ time: { seconds: 5n, nanos: 6 }, id: 2 });
  });

  test('property: a reader agrees with the decoder on random Pongs and Pings', () => {
    const reader = G3.fixedFields('Pong', ['id', 'type', 'packetQueueSize']);
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom('Raw', 'Direct', 'Tick' as const), fc.integer({ min: -32768, max: 32767 }), (id, type, queue) => {
        const frame = G3.packet('Pong').encodeFrame({ id, type, packetQueueSize: queue });
        const decoded = G3.packet('Pong').decodeFrame(frame);
        expect(reader.readFrame(frame)).toEqual({ id: decoded.id, type: decoded.type, packetQueueSize: decoded.packetQueueSize });
        // also at an offset inside a larger buffer
        const padded = new Uint8Array(frame.length + 3);
        padded.set(frame.subarray(FRAME_HEADER_SIZE), 3);
        expect(reader.read(padded, 3)).toEqual(reader.readFrame(frame));
      }),
      { numRuns: 300 },
    );
  });

  test('bad input is a typed error naming the packet and the field', () => {
    const reader = G3.fixedFields('Pong', ['id', 'type']);
    expect(code(() => reader.read(new Uint8Array(19)))).toBe('ERR_PROTOCOL_TRUNCATED');
    const payload = readFrame(G3.registry, pong(G3, 1, 'Raw')).payload.slice();
    payload[17] = 7;
    let error: unknown;
    try {
      reader.read(payload);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_PROTOCOL_INVALID_ENUM', packet: 'Pong', path: ['type'] });
    expect(code(() => reader.readFrame(frameFromPayload(3, new Uint8Array(5))))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(code(() => reader.readFrame(new Uint8Array(4)))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(code(() => G3.fixedFields('SetChunk', ['x']).readFrame(frameFromPayload(131, compressPayload(new Uint8Array(5)))))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(code(() => G3.fixedFields('SetChunk', ['data' as 'x']))).toBe('ERR_PROTOCOL_NOT_FIXED_FIELD');
    expect(code(() => G3.fixedFields('Pong', ['nope' as 'id']))).toBe('ERR_PROTOCOL_NOT_FIXED_FIELD');
    expect(code(() => G3.fixedFields('Status' as 'Pong', ['id']))).toBe('ERR_PROTOCOL_UNKNOWN_PACKET');
  });

  test('a reader is compiled once per generation, packet and field list', () => {
    expect(G3.fixedFields('Pong', ['id', 'type'])).toBe(G3.fixedFields('Pong', ['id', 'type']));
    expect(G3.fixedFields('Pong', ['id'])).not.toBe(G3.fixedFields('Pong', ['id', 'type']));
  });
});

describe('detectGeneration reads the identity through each generation schema', () => {
  const connect = (g: Generation) =>
    g.packet('Connect').encodeFrame({
      protocolCrc: g.identify.protocolCrc!,
      protocolBuildNumber: 1,
      clientVersion: '1',
      clientType: 'Game',
      uuid: '00112233-4455-6677-8899-aabbccddeeff',
      username: 'Bob',
      identityToken: null,
      language: 'en',
      referralData: null,
      referralSource: null,
    } as never);

  test('only among the candidates it is given', () => {
    expect(detectGeneration(connect(G3)).id).toBe('G3');
    expect(code(() => detectGeneration(connect(R4)))).toBe('ERR_PROTOCOL_UNKNOWN_GENERATION');
    expect(detectGeneration(connect(R4), { candidates: [R4] })).toBe(R4);
    expect(code(() => detectGeneration(connect(G3), { candidates: [R4] }))).toBe('ERR_PROTOCOL_UNKNOWN_GENERATION');
    expect(code(() => detectGeneration(ping(G3, 1)))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(code(() => detectGeneration(frameFromPayload(0, new Uint8Array(3))))).toBe('ERR_PROTOCOL_TRUNCATED');
  });
});
