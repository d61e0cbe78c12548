/**
 * The ping ledger against a model of the server's rule (`PacketHandler.PingInfo`): three FIFOs of
 * ping ids, one per Pong type; a Pong must match the head of its type's FIFO or the server throws
 * (and disconnects the player). Pong frames are read through the generation's schema, and the one
 * Pong drain predicate (`record.pings.isSourcePong`) has the shared `SourcePongTest` type.
 */
import fc from 'fast-check';
import { PongType as PongTypeEnum } from '@handoff/protocol';
import type { BackendId, FrameLike, MigrationEnds, SourcePongTest } from '@handoff/types';
import { describe, expect, it } from 'vitest';
import { PingLedger, SessionRecord, createCaptureTap, isSessionError, type PongType } from '@handoff/session';
import { PONG_TYPES } from '@handoff/session/internals';
import { G1, G2, G3, backend, bid, bytesOf, connectV2, ping, pong, rawFrame } from './support/frames.js';
import { MOVED } from './support/moved-generation.js';

const [a, b] = [bid('a'), bid('b')];
const [A, B] = [bid('A'), bid('B')];
const ends = (source: string, target: string): MigrationEnds => ({ source: backend(source), target: backend(target) });

/** A backend's ping bookkeeping, as the Hytale server does it. */
class ServerPings {
  readonly fifo: number[][] = [[], [], []];
  disconnected: string | undefined;
  sent(id: number): void {
    for (const q of this.fifo) q.push(id);
  }
  receive(id: number, type: number): void {
    if (this.disconnected !== undefined) return;
    const head = this.fifo[type]!.shift();
    if (head === undefined) this.disconnected = `Pong ${id} with an empty ${PONG_TYPES[type]} queue`;
    else if (head !== id) this.disconnected = `Pong ${id} but ${PONG_TYPES[type]} expected ${head}`;
  }
}

describe('PingLedger', () => {
  it('routes each Pong to the backend that sent its Ping, per type in FIFO order', () => {
    const ledger = new PingLedger();
    ledger.recordPing(10, a);
    ledger.recordPing(11, a);
    ledger.recordPing(20, b);
    // Raw answers all three first, Tick lags behind
    expect(ledger.answer(10, 'Raw')).toMatchObject({ backendId: 'a', status: 'matched' });
    expect(ledger.answer(11, 'Raw')).toMatchObject({ backendId: 'a', status: 'matched' });
    expect(ledger.answer(20, 'Raw')).toMatchObject({ backendId: 'b', status: 'matched' });
    expect(ledger.answer(10, 'Tick')).toMatchObject({ backendId: 'a', status: 'matched' });
    expect(ledger.outstanding).toBe(3);
    for (const t of ['Direct', 'Tick'] as const) if (t === 'Direct') ledger.answer(10, t);
    ledger.answer(11, 'Direct');
    ledger.answer(11, 'Tick');
    expect(ledger.outstanding).toBe(1); // only 20 awaits Direct and Tick
    expect(ledger.answer(20, 'Direct').backendId).toBe('b');
    expect(ledger.answer(20, 'Tick').backendId).toBe('b');
    expect(ledger.outstanding).toBe(0);
    expect(ledger.counters).toMatchObject({ pings: 3, pongs: 9, outOfOrder: 0, unmatched: 0, duplicates: 0 });
  });

  it('resolves colliding ping ids of two backends by order, as the server FIFOs do', () => {
    const ledger = new PingLedger();
    ledger.recordPing(7, a);
    ledger.recordPing(7, b);
    expect(ledger.answer(7, 'Raw').backendId).toBe('a');
    expect(ledger.answer(7, 'Raw').backendId).toBe('b');
    expect(ledger.answer(7, 'Direct').backendId).toBe('a');
  });

  it('a skipped Ping is out of order; an unknown Pong is unmatched; a repeated Pong is a duplicate', () => {
    const ledger = new PingLedger();
    ledger.recordPing(1, a);
    ledger.recordPing(2, a);
    expect(ledger.answer(2, 'Raw')).toMatchObject({ backendId: 'a', status: 'out-of-order', skipped: 1 });
    expect(ledger.answer(2, 'Raw')).toMatchObject({ backendId: 'a', status: 'duplicate' });
    expect(ledger.answer(99, 'Raw')).toMatchObject({ backendId: undefined, status: 'unmatched' });
    expect(ledger.counters).toMatchObject({ outOfOrder: 1, duplicates: 1, unmatched: 1 });
  });

  it('is bounded: past `limit` outstanding Pings the oldest is forgotten and reported', () => {
    const ledger = new PingLedger({ limit: 3, history: 2 });
    expect([1, 2, 3].map((id) => ledger.recordPing(id, a))).toEqual([false, false, false]);
    expect(ledger.recordPing(4, a)).toBe(true);
    expect(ledger.outstanding).toBe(3);
    expect(ledger.counters.overflowed).toBe(1);
    // Pings 2..4 still route; 1's Pong is now a duplicate of a forgotten (history) entry, not matched
    expect(ledger.answer(2, 'Raw').status).toBe('matched');
    for (let i = 0; i < 1000; i++) {
      ledger.recordPing(1000 + i, a);
      for (const t of PONG_TYPES) ledger.answer(1000 + i, t);
    }
    expect(ledger.outstanding).toBeLessThanOrEqual(3);
    expect(ledger.lookup(1000, 'Raw')).toBeUndefined(); // beyond the history
    expect(ledger.lookup(1999, 'Raw')).toBe('a');
  });

  it('reads Pong frames through the generation schema, not constants: { id, bytes } of any FrameLike', () => {
    const ledger = new PingLedger({ generation: G3 });
    ledger.recordPing(-123456, a);
    const f = bytesOf(pong(G3, -123456, 'Tick'));
    expect(ledger.backendOf(f)).toBe('a');
    expect(ledger.backendOf(bytesOf(ping(G3, -123456)))).toBeUndefined(); // a Ping: not a Pong of this generation
    expect(ledger.backendOf({ id: f.id, bytes: f.bytes.subarray(0, 20) })).toBeUndefined(); // cut short
    const badType = f.bytes.slice();
    badType[8 + G3.packet('Pong').layout.fields.find((x) => x.name === 'type')!.offset] = 9;
    expect(ledger.backendOf({ id: f.id, bytes: badType })).toBeUndefined(); // not a PongType
  });

  it('a generation whose Pong id differs (Ping 3, Pong 4, as in R4) is read right, and its Ping is never taken for a Pong', () => {
    expect(MOVED.registry.byName('Pong')!.id).toBe(4);
    expect(MOVED.registry.byName('Ping')!.id).toBe(G3.registry.byName('Pong')!.id);
    const ledger = new PingLedger({ generation: MOVED });
    ledger.recordPing(5, A);
    const movedPong = bytesOf(pong(MOVED, 5, 'Raw'));
    const movedPing = { ...bytesOf(ping(MOVED, 5)) };
    expect(movedPong.id).toBe(4);
    expect(ledger.backendOf(movedPong)).toBe('A');
    expect(ledger.backendOf(movedPing)).toBeUndefined();
    // with G3's schema the same ledger would place nothing of this generation
    const g3Ledger = new PingLedger({ generation: G3 });
    g3Ledger.recordPing(5, A);
    expect(g3Ledger.backendOf(movedPong)).toBeUndefined();
    // the drain predicate follows the generation too
    expect(ledger.isSourcePong(movedPong, ends('A', 'B'))).toBe(true);
    expect(ledger.isSourcePong(movedPing, ends('A', 'B'))).toBe(false);
  });

  it('PONG_TYPES are the PongType enum of the protocol schema, in wire order', () => {
    expect([...PONG_TYPES]).toEqual([...(PongTypeEnum.spec as { values: readonly string[] }).values]);
    for (const g of [G1, G2, G3, MOVED]) expect(g.packet('Pong').layout.fields.map((f) => f.name)).toContain('type');
  });

  it('isSourcePong (SourcePongTest) drops every buffered Pong that must not reach the target, after the tap routed it', () => {
    const ledger = new PingLedger({ generation: G3 });
    ledger.recordPing(1, A);
    ledger.recordPing(2, B);
    const pa = bytesOf(pong(G3, 1, 'Raw'));
    const pb = bytesOf(pong(G3, 2, 'Raw'));
    const unknown = bytesOf(pong(G3, 3, 'Raw'));
    ledger.answer(1, 'Raw'); // consumed when it arrived
    const isSourcePong: SourcePongTest = ledger.isSourcePong; // a bound function: pass it as it is
    const AB = ends('A', 'B');
    expect(isSourcePong(pa, AB)).toBe(true); // answers A
    expect(isSourcePong(pb, AB)).toBe(false); // answers B: B expects it
    expect(isSourcePong(unknown, AB)).toBe(true); // answers nobody: B would disconnect the player
    expect(isSourcePong({ id: 3, bytes: new Uint8Array(4), descriptor: { name: 'Pong' } }, AB)).toBe(true); // malformed
    expect(isSourcePong(bytesOf(ping(G3, 1)), AB)).toBe(false); // not a Pong: not its business
    // the other way round (a rollback drains to A): B's Pong must not reach A
    expect(isSourcePong(pb, ends('B', 'A'))).toBe(true);
    expect(isSourcePong(pa, ends('B', 'A'))).toBe(false);
    expect(ledger.isSourcePong).toBe(isSourcePong);
  });

  it('without a generation the ledger cannot read a Pong: a typed error, not a guess', () => {
    const ledger = new PingLedger();
    ledger.recordPing(1, A);
    let error: unknown;
    try {
      ledger.isSourcePong(bytesOf(pong(G3, 1, 'Raw')), ends('A', 'B'));
    } catch (e) {
      error = e;
    }
    expect(isSessionError(error, 'ERR_SESSION_NOT_CONNECTED')).toBe(true);
    expect(ledger.isSourcePong(bytesOf(ping(G3, 1)), ends('A', 'B'))).toBe(false);
    ledger.setGeneration(G3);
    expect(ledger.isSourcePong(bytesOf(pong(G3, 1, 'Raw')), ends('A', 'B'))).toBe(true);
  });

  it('property: across a migration, routing by the ledger never upsets a server FIFO', () => {
    // A client receives Pings from A, then (after the cutover) from B, interleaved with its Pongs of
    // three types answered at independent paces; a proxy routes every Pong by the ledger (dropping
    // those for A after A is gone). Neither server ever sees a Pong out of order.
    const step = fc.oneof(
      // small ids too, so two backends' ids collide often
      fc.record({ kind: fc.constant('ping' as const), id: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })) }),
      fc.record({ kind: fc.constant('pong' as const), type: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('cutover' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const ledger = new PingLedger({ limit: 1000 });
        const servers = { A: new ServerPings(), B: new ServerPings() };
        let current: 'A' | 'B' = 'A';
        const ids: Record<'A' | 'B', BackendId> = { A, B };
        let aClosed = false;
        // what the client still has to answer, per type, with the backend that truly sent each Ping
        const clientQueues: Array<Array<{ id: number; from: 'A' | 'B' }>> = [[], [], []];
        for (const s of steps) {
          if (s.kind === 'cutover') {
            current = 'B';
            aClosed = true; // A's later Pongs have nowhere to go
          } else if (s.kind === 'ping') {
            servers[current].sent(s.id);
            ledger.recordPing(s.id, ids[current]);
            for (const q of clientQueues) q.push({ id: s.id, from: current });
          } else {
            const next = clientQueues[s.type]!.shift();
            if (next === undefined) continue;
            const route = ledger.answer(next.id, s.type);
            expect(route.status).toBe('matched');
            expect(route.backendId).toBe(next.from);
            if (route.backendId === 'A' && !aClosed) servers.A.receive(next.id, s.type);
            if (route.backendId === 'B') servers.B.receive(next.id, s.type);
          }
        }
        expect(servers.A.disconnected).toBeUndefined();
        expect(servers.B.disconnected).toBeUndefined();
        // every Pong B is owed reached it, in order: B's FIFOs hold exactly what the client has not answered
        for (let t = 0; t < 3; t++) expect(servers.B.fifo[t]).toEqual(clientQueues[t]!.filter((p) => p.from === 'B').map((p) => p.id));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the tap and the ledger', () => {
  it('returns the route of each Pong and reports unmatched and out-of-order ones without throwing', () => {
    const record = new SessionRecord({ backend: backend('A') });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(ping(G3, 100), A);
    tap.serverToClient(ping(G3, 200), A);
    expect(tap.clientToServer(pong(G3, 100, 'Raw'))).toMatchObject({ kind: 'pong', backendId: 'A', status: 'matched', type: 'Raw' });
    expect(tap.clientToServer(pong(G3, 200, 'Direct'))).toMatchObject({ kind: 'pong', backendId: 'A', status: 'out-of-order' });
    expect(tap.clientToServer(pong(G3, 300, 'Tick'))).toMatchObject({ kind: 'pong', backendId: undefined, status: 'unmatched' });
    expect(tap.errors.map((e) => e.code)).toEqual(['ERR_SESSION_PONG_OUT_OF_ORDER', 'ERR_SESSION_PONG_UNMATCHED']);
  });

  it('reports a ledger overflow as a typed error and keeps going', () => {
    const record = new SessionRecord({ backend: backend('A'), limits: { pings: 2 } });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(ping(G3, 1));
    tap.serverToClient(ping(G3, 2));
    const r = tap.serverToClient(ping(G3, 3));
    expect(r?.kind === 'error' && r.error.code).toBe('ERR_SESSION_PING_LEDGER_OVERFLOW');
    expect(record.pings.outstanding).toBe(2);
    expect(tap.clientToServer(pong(G3, 3, 'Raw'))).toMatchObject({ backendId: 'A' });
  });

  it('a malformed Pong is a decode error, not a route', () => {
    const tap = createCaptureTap(new SessionRecord({ backend: backend('A') }));
    tap.clientToServer(connectV2());
    const short = tap.clientToServer(rawFrame(G3, 'Pong', new Uint8Array(5)));
    expect(short?.kind === 'error' && short.error.code).toBe('ERR_SESSION_DECODE');
    const payload = pong(G3, 1, 'Raw').payload.slice();
    payload[17] = 7;
    const badEnum = tap.clientToServer(rawFrame(G3, 'Pong', payload));
    expect(badEnum?.kind === 'error' && badEnum.error.reason).toBe('ERR_PROTOCOL_INVALID_ENUM');
  });

  it('a Ping without a known backend is reported, not guessed', () => {
    const tap = createCaptureTap(new SessionRecord());
    tap.clientToServer(connectV2());
    const r = tap.serverToClient(ping(G3, 1));
    expect(r?.kind === 'error' && r.error.reason).toBe('no-backend');
  });
});

describe('the tap, the record and a generation whose Pong id differs', () => {
  it('routes Pongs and records Pings of that generation by its own ids', () => {
    const record = new SessionRecord({ backend: backend('A') });
    const tap = createCaptureTap(record, { generation: MOVED });
    expect(tap.clientToServer(connectV2(MOVED))).toBeUndefined();
    expect(record.connect?.generation).toBe('G3-moved');
    expect(record.generation).toBe(MOVED);
    expect(tap.serverToClient(ping(MOVED, 7), A)).toBeUndefined(); // id 3 here: a Ping, not a Pong
    expect(record.pings.outstanding).toBe(1);
    expect(tap.clientToServer(pong(MOVED, 7, 'Raw'))).toMatchObject({ kind: 'pong', backendId: 'A', status: 'matched' });
    expect(record.pings.isSourcePong(bytesOf(pong(MOVED, 7, 'Direct')), ends('A', 'B'))).toBe(true);
    expect(tap.errors).toEqual([]);
  });
});

/** What `@handoff/migration`'s drain policy takes as `isSourcePong` (the shared contract type of `@handoff/types`). */
type DrainIsSourcePong<F extends FrameLike> = SourcePongTest<F>;

describe('the seam with @handoff/migration: the shared SourcePongTest type', () => {
  it('record.pings.isSourcePong is a SourcePongTest for any FrameLike the migration buffers', () => {
    interface BufferedFrame extends FrameLike {
      readonly seq: number;
    }
    const record = new SessionRecord({ backend: backend('A') });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(ping(G3, 1), A);
    const test: DrainIsSourcePong<BufferedFrame> = record.pings.isSourcePong;
    const buffered: BufferedFrame = { ...bytesOf(pong(G3, 1, 'Tick')), seq: 1 };
    expect(test(buffered, ends('A', 'B'))).toBe(true);
  });
});

// keep PongType referenced for the type-check of the public surface
const _types: readonly PongType[] = PONG_TYPES;
void _types;
