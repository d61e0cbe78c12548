/**
 * The ping ledger against a model of the server's rule (`PacketHandler.PingInfo`): three FIFOs of
 * ping ids, one per Pong type; a Pong must match the head of its type's FIFO or the server throws
 * (and disconnects the player).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PONG_TYPES, PingLedger, SessionRecord, createCaptureTap, readPong, type PongType } from '@handoff/session';
import { G1, G3, bytesOf, connectV2, ping, pong, rawFrame } from './support/frames.js';

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
    ledger.recordPing(10, 'a');
    ledger.recordPing(11, 'a');
    ledger.recordPing(20, 'b');
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
    ledger.recordPing(7, 'a');
    ledger.recordPing(7, 'b');
    expect(ledger.answer(7, 'Raw').backendId).toBe('a');
    expect(ledger.answer(7, 'Raw').backendId).toBe('b');
    expect(ledger.answer(7, 'Direct').backendId).toBe('a');
  });

  it('a skipped Ping is out of order; an unknown Pong is unmatched; a repeated Pong is a duplicate', () => {
    const ledger = new PingLedger();
    ledger.recordPing(1, 'a');
    ledger.recordPing(2, 'a');
    expect(ledger.answer(2, 'Raw')).toMatchObject({ backendId: 'a', status: 'out-of-order', skipped: 1 });
    expect(ledger.answer(2, 'Raw')).toMatchObject({ backendId: 'a', status: 'duplicate' });
    expect(ledger.answer(99, 'Raw')).toMatchObject({ backendId: undefined, status: 'unmatched' });
    expect(ledger.counters).toMatchObject({ outOfOrder: 1, duplicates: 1, unmatched: 1 });
  });

  it('is bounded: past `limit` outstanding Pings the oldest is forgotten and reported', () => {
    const ledger = new PingLedger({ limit: 3, history: 2 });
    expect([1, 2, 3].map((id) => ledger.recordPing(id, 'a'))).toEqual([false, false, false]);
    expect(ledger.recordPing(4, 'a')).toBe(true);
    expect(ledger.outstanding).toBe(3);
    expect(ledger.counters.overflowed).toBe(1);
    // Pings 2..4 still route; 1's Pong is now a duplicate of a forgotten (history) entry, not matched
    expect(ledger.answer(2, 'Raw').status).toBe('matched');
    for (let i = 0; i < 1000; i++) {
      ledger.recordPing(1000 + i, 'a');
      for (const t of PONG_TYPES) ledger.answer(1000 + i, t);
    }
    expect(ledger.outstanding).toBeLessThanOrEqual(3);
    expect(ledger.lookup(1000, 'Raw')).toBeUndefined(); // beyond the history
    expect(ledger.lookup(1999, 'Raw')).toBe('a');
  });

  it('reads Pong frames without decoding the rest (FrameLike: id and bytes)', () => {
    const f = bytesOf(pong(G3, -123456, 'Tick'));
    expect(readPong(f)).toEqual({ id: -123456, type: 2 });
    expect(readPong(bytesOf(ping(G3, 5)))).toBeUndefined();
    expect(readPong({ id: 3, bytes: f.bytes.subarray(0, 20) })).toBeUndefined();
    const badType = f.bytes.slice();
    badType[8 + 17] = 9;
    expect(readPong({ id: 3, bytes: badType })).toBeUndefined();
  });

  it('the Pong field offsets are those of every generation layout', () => {
    for (const g of [G1, G3]) {
      const fields = Object.fromEntries(g.packet('Pong').layout.fields.map((f) => [f.name, f.offset]));
      expect(fields).toMatchObject({ id: 1, type: 17 });
      expect(g.registry.byName('Pong')!.id).toBe(3);
    }
  });

  it('isSourcePong and drainFilter classify buffered Pongs after the tap routed them', () => {
    const ledger = new PingLedger();
    ledger.recordPing(1, 'A');
    ledger.recordPing(2, 'B');
    const pa = bytesOf(pong(G3, 1, 'Raw'));
    const pb = bytesOf(pong(G3, 2, 'Raw'));
    const unknown = bytesOf(pong(G3, 3, 'Raw'));
    ledger.answer(1, 'Raw'); // consumed when it arrived
    expect(ledger.isSourcePong(pa, 'A')).toBe(true);
    expect(ledger.isSourcePong(pb, 'A')).toBe(false);
    expect(ledger.isSourcePong(unknown, 'A')).toBe(false);
    const drop = ledger.drainFilter({ source: 'A', target: 'B' });
    expect(drop(pa)).toBe(true);
    expect(drop(pb)).toBe(false);
    expect(drop(unknown)).toBe(true); // would disconnect B
    expect(drop({ id: 3, bytes: new Uint8Array(4) })).toBe(true); // malformed Pong
    expect(drop(bytesOf(ping(G3, 1)))).toBe(false); // not a Pong: not its business
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
        let aClosed = false;
        // what the client still has to answer, per type, with the backend that truly sent each Ping
        const clientQueues: Array<Array<{ id: number; from: 'A' | 'B' }>> = [[], [], []];
        for (const s of steps) {
          if (s.kind === 'cutover') {
            current = 'B';
            aClosed = true; // A's later Pongs have nowhere to go
          } else if (s.kind === 'ping') {
            servers[current].sent(s.id);
            ledger.recordPing(s.id, current);
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
    const record = new SessionRecord({ backend: { id: 'A' } });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(ping(G3, 100), 'A');
    tap.serverToClient(ping(G3, 200), 'A');
    expect(tap.clientToServer(pong(G3, 100, 'Raw'))).toMatchObject({ kind: 'pong', backendId: 'A', status: 'matched', type: 'Raw' });
    expect(tap.clientToServer(pong(G3, 200, 'Direct'))).toMatchObject({ kind: 'pong', backendId: 'A', status: 'out-of-order' });
    expect(tap.clientToServer(pong(G3, 300, 'Tick'))).toMatchObject({ kind: 'pong', backendId: undefined, status: 'unmatched' });
    expect(tap.errors.map((e) => e.code)).toEqual(['ERR_SESSION_PONG_OUT_OF_ORDER', 'ERR_SESSION_PONG_UNMATCHED']);
  });

  it('reports a ledger overflow as a typed error and keeps going', () => {
    const record = new SessionRecord({ backend: { id: 'A' }, limits: { pings: 2 } });
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
    const tap = createCaptureTap(new SessionRecord({ backend: { id: 'A' } }));
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

// keep PongType referenced for the type-check of the public surface
const _types: readonly PongType[] = PONG_TYPES;
void _types;

describe('shapes shared with @handoff/migration (by structure, no import)', () => {
  it('drainFilter fits the drain policy option `isSourcePong: (frame: F) => boolean`', () => {
    // the migration package's FrameLike and DrainPolicyInit, as it declares them
    interface MigrationFrameLike {
      readonly id: number;
      readonly bytes: Uint8Array;
      readonly descriptor: { readonly name: string; readonly channel?: string };
    }
    interface DrainPolicyInit<F extends MigrationFrameLike> {
      readonly isSourcePong?: (frame: F) => boolean;
    }
    const ledger = new PingLedger();
    ledger.recordPing(1, 'A');
    const init: DrainPolicyInit<MigrationFrameLike> = { isSourcePong: ledger.drainFilter({ source: 'A', target: 'B' }) };
    expect(init.isSourcePong!(bytesOf(pong(G3, 1, 'Tick')))).toBe(true);
  });
});
