/**
 * Bad input never crashes the forwarding loop: the tap returns a typed error, keeps it, counts it,
 * and the record stays as it was (nothing captured from the bad packet, nothing else lost).
 */
import fc from 'fast-check';
import { compressPayload } from '@handoff/protocol';
import { describe, expect, it } from 'vitest';
import { SessionError, SessionRecord, createCaptureTap, sessionErrorCodes, type CaptureTap, type TapResult } from '@handoff/session';
import { G3, OTHER_PLAYER, PLAYER, backend, bid, connectV2, frame, ping, rawFrame, setChunk, sid } from './support/frames.js';
import { SKIN, playSession } from './support/scenario.js';

const codeOf = (r: TapResult): string | undefined => (r?.kind === 'error' ? r.error.code : undefined);

function connected(limits = {}): { record: SessionRecord; tap: CaptureTap } {
  const record = new SessionRecord({ backend: backend('a'), limits });
  const tap = createCaptureTap(record);
  tap.clientToServer(connectV2());
  return { record, tap };
}

describe('a malformed Connect', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['too short for a CRC', new Uint8Array([0, 1, 2])],
    ['an unknown CRC', (() => {
      const p = connectV2().payload.slice();
      p[1] = p[1]! ^ 0xff;
      return p;
    })()],
    ['truncated after the fixed block', connectV2().payload.slice(0, 60)],
    ['a username offset past the end', (() => {
      const p = connectV2().payload.slice();
      new DataView(p.buffer).setInt32(46, 100_000, true);
      return p;
    })()],
  ];
  for (const [name, payload] of cases) {
    it(`${name}: ERR_SESSION_CONNECT_INVALID with the protocol cause, nothing captured`, () => {
      const record = new SessionRecord();
      const tap = createCaptureTap(record);
      const result = tap.clientToServer(rawFrame(G3, 'Connect', payload));
      expect(codeOf(result)).toBe('ERR_SESSION_CONNECT_INVALID');
      const error = (result as { error: SessionError }).error;
      expect(error.cause).toMatchObject({ name: 'ProtocolError' });
      expect(error.packet).toBe('Connect');
      expect(record.connect).toBeUndefined();
      expect(record.secretNames()).toEqual([]);
      expect(tap.generation).toBeUndefined();
      expect(tap.counters.errorsByCode).toEqual({ ERR_SESSION_CONNECT_INVALID: 1 });
      // a good Connect afterwards is still read
      expect(tap.clientToServer(connectV2())).toBeUndefined();
      expect(record.clientUuid).toBe(PLAYER);
    });
  }

  it('a second Connect is ignored and reported; the first stays', () => {
    const { record, tap } = connected();
    expect(codeOf(tap.clientToServer(connectV2(G3, { username: 'Mallory', uuid: OTHER_PLAYER })))).toBe('ERR_SESSION_DUPLICATE_CONNECT');
    expect(record.connect?.username).toBe('Bob');
  });

  it('captured packets before the Connect are reported, not read', () => {
    const record = new SessionRecord({ backend: backend('a') });
    const tap = createCaptureTap(record);
    expect(codeOf(tap.serverToClient(ping(G3, 1)))).toBe('ERR_SESSION_NOT_CONNECTED');
    expect(codeOf(tap.clientToServer(frame(G3, 'PlayerOptions', { skin: SKIN })))).toBe('ERR_SESSION_NOT_CONNECTED');
    expect(tap.serverToClient(rawFrame(G3, 'EntityUpdates', new Uint8Array(3)))).toBeUndefined(); // opaque: not our business
    expect(record.pings.outstanding).toBe(0);
    expect(record.playerOptions).toBeUndefined();
  });
});

describe('corrupt packets after the Connect', () => {
  it('a SetChunk that is not zstd, or decompresses to too few bytes, is ERR_SESSION_DECODE; tracked columns stay', () => {
    const { record, tap } = connected();
    tap.serverToClient(setChunk(G3, 1, 0, 1));
    const notZstd = tap.serverToClient(rawFrame(G3, 'SetChunk', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    expect(codeOf(notZstd)).toBe('ERR_SESSION_DECODE');
    expect(notZstd?.kind === 'error' && notZstd.error.reason).toMatch(/^ERR_PROTOCOL_ZSTD/);
    const tiny = tap.serverToClient(rawFrame(G3, 'SetChunk', compressPayload(new Uint8Array(5))));
    expect(tiny?.kind === 'error' && tiny.error.reason).toBe('ERR_PROTOCOL_TRUNCATED');
    const empty = tap.serverToClient(rawFrame(G3, 'SetChunk', new Uint8Array(0)));
    expect(codeOf(empty)).toBe('ERR_SESSION_DECODE');
    const lying = setChunk(G3, 2, 0, 2).payload.slice();
    lying[5] = lying[5]! ^ 0x55; // zstd frame content size / block header corrupted
    expect(codeOf(tap.serverToClient(rawFrame(G3, 'SetChunk', lying)))).toBe('ERR_SESSION_DECODE');
    expect(record.chunks.has(1, 1)).toBe(true);
    expect(tap.counters.errorsByCode.ERR_SESSION_DECODE).toBeGreaterThanOrEqual(3);
  });

  it('a corrupt WorldSettings, AddToServerPlayerList or JoinWorld changes nothing', () => {
    const { record, tap } = connected();
    playSession(tap);
    const before = JSON.stringify(record);
    expect(codeOf(tap.serverToClient(rawFrame(G3, 'WorldSettings', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))))).toBe('ERR_SESSION_DECODE');
    expect(codeOf(tap.serverToClient(rawFrame(G3, 'AddToServerPlayerList', new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0x0f]))))).toBe('ERR_SESSION_DECODE');
    expect(codeOf(tap.serverToClient(rawFrame(G3, 'JoinWorld', new Uint8Array(3))))).toBe('ERR_SESSION_DECODE');
    expect(codeOf(tap.clientToServer(rawFrame(G3, 'PlayerOptions', new Uint8Array([7]))))).toBe('ERR_SESSION_DECODE');
    expect(JSON.stringify(record)).toBe(before);
  });

  it('property: random payloads of every packet id, both directions, never throw and leave a consistent record', () => {
    const ids = G3.registry.packets.map((p) => p.id);
    const { record, tap } = connected();
    fc.assert(
      fc.property(fc.constantFrom(...ids), fc.uint8Array({ maxLength: 64 }), fc.boolean(), (id, payload, toServer) => {
        const descriptor = G3.registry.byId(id)!;
        if (payload.length > descriptor.maxSize) return;
        const f = rawFrame(G3, id, payload);
        const result = toServer ? tap.clientToServer(f) : tap.serverToClient(f, bid('a'));
        if (result?.kind === 'error') {
          expect(result.error).toBeInstanceOf(SessionError);
          expect(Object.keys(sessionErrorCodes)).toContain(result.error.code);
        }
        expect(() => JSON.stringify(record)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    expect(tap.errors.length).toBeLessThanOrEqual(16);
  });
});

describe('bounds', () => {
  it('chunk columns: past the limit the set is marked incomplete, reported once, counted every time', () => {
    const { record, tap } = connected({ chunkColumns: 4 });
    const results = [0, 1, 2, 3, 4, 5, 6].map((x) => tap.serverToClient(setChunk(G3, x, 0, 0)));
    expect(results.map(codeOf)).toEqual([undefined, undefined, undefined, undefined, 'ERR_SESSION_LIMIT', undefined, undefined]);
    expect(record.chunks.size).toBe(4);
    expect(record.chunks.overflowed).toBe(true);
    expect(tap.counters.errorsByCode.ERR_SESSION_LIMIT).toBe(3);
    // sections of a tracked column still fit
    expect(tap.serverToClient(setChunk(G3, 0, 5, 0))).toBeUndefined();
  });

  it('player list, PlayerOptions size and asset hashes are bounded too', () => {
    const { record, tap } = connected({ playerListEntries: 1, playerOptionsBytes: 10, assetHashes: 2 });
    const full = tap.serverToClient(
      frame(G3, 'AddToServerPlayerList', {
        players: [
          { uuid: PLAYER, username: 'a', worldUuid: null, ping: 1 },
          { uuid: OTHER_PLAYER, username: 'b', worldUuid: null, ping: 1 },
        ],
      }),
    );
    expect(full?.kind === 'error' && full.error.reason).toBe('player-list');
    expect(record.playerList.size).toBe(1);
    const big = tap.clientToServer(frame(G3, 'PlayerOptions', { skin: SKIN }));
    expect(big?.kind === 'error' && big.error.reason).toBe('player-options');
    expect(record.playerOptions).toBeUndefined();
    const assets = [0, 1, 2].map((i) => ({ hash: String(i).padStart(64, 'a'), name: 'x' }));
    const many = tap.clientToServer(frame(G3, 'RequestAssets', { assets }));
    expect(many?.kind === 'error' && many.error.reason).toBe('asset-hashes');
    expect(record.assets.overflowed).toBe(true);
  });
});

describe('observers', () => {
  it('an onError that throws does not reach the forwarding loop; errors are kept bounded', () => {
    const seen: string[] = [];
    const record = new SessionRecord({ backend: backend('a') });
    const tap = createCaptureTap(record, {
      maxErrors: 2,
      onError: (e) => {
        seen.push(e.code);
        throw new Error('observer bug');
      },
    });
    for (let i = 0; i < 5; i++) expect(() => tap.serverToClient(ping(G3, i))).not.toThrow();
    expect(seen).toHaveLength(5);
    expect(tap.errors).toHaveLength(2);
    expect(tap.counters.errors).toBe(5);
  });

  it('logs the first error of a code at warn, later ones at debug, with ids and codes only', () => {
    const lines: Array<[string, object, string | undefined]> = [];
    const logger = {
      warn: (o: object, m?: string) => lines.push(['warn', o, m]),
      debug: (o: object, m?: string) => lines.push(['debug', o, m]),
    };
    const tap = createCaptureTap(new SessionRecord({ id: sid('sess-9') }), { logger });
    tap.serverToClient(ping(G3, 1));
    tap.serverToClient(ping(G3, 2));
    expect(lines).toEqual([
      ['warn', { session: 'sess-9', code: 'ERR_SESSION_NOT_CONNECTED', packet: 'Ping' }, 'session capture failed'],
      ['debug', { session: 'sess-9', code: 'ERR_SESSION_NOT_CONNECTED', packet: 'Ping' }, 'session capture failed'],
    ]);
  });
});
