/**
 * Integration over the in-memory transport (@handoff/transport): a client, a proxy built on the
 * migrator, backends A and B exchanging real G3 frames, with a fault injected in every phase.
 * Each test asserts the outcome and where every client packet ended up: delivered to A, delivered
 * to B (each in the order the client sent them, each exactly once), or dropped by a named rule.
 * Deadlines run on the migrator's SimulatedClock; the transport's own timers are real but no
 * assertion depends on their speed.
 */
import { faultsOf } from '@handoff/transport';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MigrationResult, Phase } from '../src/index.js';
import { A, B, PROXY_SEQ, world, type World } from './support/memory-proxy.js';

const BATCH = ['Pong', 'ClientMovement', 'ChatMessage', 'MouseInteraction'];
const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

async function start(...args: Parameters<typeof world>): Promise<World> {
  const w = await world(...args);
  worlds.push(w);
  return w;
}

/** The client sends a batch on entering each of `phases` (and the test may send more itself). */
function chatter(w: World, phases: readonly Phase[]): void {
  w.proxy.migrator.on('migration:phase', (e) => {
    if (phases.includes(e.phase)) for (const name of BATCH) w.client.send(name);
  });
}

/** Resolves once the migrator is in `phase` (at once if it already is), from its phase events. */
function reach(w: World, phase: Phase): Promise<void> {
  const migrator = w.proxy.migrator;
  if (migrator.phase === phase) return Promise.resolve();
  return new Promise((resolve) => {
    const off = migrator.on('migration:phase', (e) => {
      if (e.phase === phase) {
        off();
        resolve();
      }
    });
  });
}

const clientPackets = (received: World['a']['received']) =>
  received.filter((r) => r.origin !== 'proxy' && r.seq !== PROXY_SEQ).map((r) => r.seq);

/**
 * Every packet the client sent has exactly one fate at the proxy; each backend received exactly
 * the packets the proxy sent it, in the client's order (a backend whose connection was cut may
 * have lost the ones in flight: then an in-order subsequence).
 */
async function expectEveryPacketPlacedOnce(w: World, lost: ReadonlyArray<'A' | 'B'> = []): Promise<Map<string, number>> {
  await vi.waitFor(
    () => {
      for (const p of w.client.sent) expect(w.proxy.fates.get(p.seq), `client packet ${p.seq} (${p.name})`).toBeDefined();
    },
    { timeout: 5_000 },
  );
  const tally = new Map<string, number>();
  for (const p of w.client.sent) {
    const fates = w.proxy.fates.get(p.seq)!;
    expect(fates, `client packet ${p.seq} (${p.name}) placed once`).toHaveLength(1);
    const key = fates[0]!.to === 'dropped' ? `dropped:${fates[0]!.how}` : fates[0]!.to;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  expect(w.proxy.fates.size).toBe(w.client.sent.length);
  for (const backend of [w.a, w.b]) {
    const expected = w.client.sent.filter((p) => w.proxy.fates.get(p.seq)![0]!.to === backend.name).map((p) => p.seq);
    if (lost.includes(backend.name)) {
      const got = clientPackets(backend.received);
      expect(got.every((s, i) => i === 0 || got[i - 1]! < s)).toBe(true);
      expect(got.every((s) => expected.includes(s))).toBe(true);
    } else {
      await vi.waitFor(() => expect(clientPackets(backend.received)).toEqual(expected), { timeout: 5_000 });
    }
  }
  return tally;
}

describe('integration over the memory transport', () => {
  it('succeeds under latency: A frames stop before B JoinWorld on every client stream, packets split A | B by the drain policy', async () => {
    const w = await start();
    for (const c of [w.client.conn, w.proxy.clientConn, w.proxy.a.conn]) faultsOf(c).setLatency(2);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Auth') faultsOf(w.proxy.b!.conn).setLatency(2);
    });
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Prepare', 'Sync', 'Freeze', 'Cutover', 'Resume']);
    for (const name of BATCH) w.client.send(name);
    // A's replies are reaching the client on both streams before the migration starts.
    await vi.waitFor(() => expect(new Set(w.client.received.filter((r) => r.origin === 'A').map((r) => r.stream)).size).toBe(2));
    const result = await w.proxy.migrator.migrate({ target: B, ticket: 'opaque-ticket' });
    expect(result).toMatchObject({ kind: 'migrated', source: A, target: B, cleanup: 'done' });
    for (const name of BATCH) w.client.send(name);

    const tally = await expectEveryPacketPlacedOnce(w);
    expect(tally.get('A')).toBeGreaterThan(0);
    expect(tally.get('B')).toBeGreaterThan(0);
    expect([...tally.keys()].filter((k) => k.startsWith('dropped')).sort()).toEqual(['dropped:pong-for-source', 'dropped:source-bound']);
    // ClientReady (the client's answer to B's JoinWorld) reached B, and B went on.
    await vi.waitFor(() => expect(w.b.received.some((r) => r.name === 'ClientReady')).toBe(true));
    await vi.waitFor(() => expect(w.client.received.some((r) => r.name === 'SetClientId' && r.origin === 'B')).toBe(true));
    // The barrier: once B's JoinWorld arrived, nothing from A on any stream.
    const join = w.client.received.findIndex((r) => r.name === 'JoinWorld');
    expect(join).toBeGreaterThan(0);
    expect(w.client.received.slice(0, join).some((r) => r.origin === 'A')).toBe(true);
    expect(w.client.received.slice(join).filter((r) => r.origin === 'A')).toEqual([]);
    // A was left cleanly.
    expect(w.a.received.at(-1)).toMatchObject({ name: 'Disconnect' });
  });

  it('Prepare: B never answers the dial; the deadline closes B and the player stays on A', async () => {
    const w = await start({ unresponsive: true });
    chatter(w, ['Prepare']);
    const result = w.proxy.migrator.migrate({ target: B });
    await reach(w, 'Prepare');
    w.proxy.clock.increment(w.proxy.migrator.deadlines.prepare);
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Prepare', reason: { code: 'ERR_MIGRATION_DEADLINE', deadline: 'prepare' } });
    w.client.send('ChatMessage');
    const tally = await expectEveryPacketPlacedOnce(w);
    expect([...tally.keys()]).toEqual(['A']);
  });

  it('Auth: B drops the connection on Connect; rolled back with the transport error as cause', async () => {
    const w = await start({ onConnect: 'drop' });
    chatter(w, ['Prepare', 'Auth']);
    const result = await w.proxy.migrator.migrate({ target: B });
    expect(result).toMatchObject({ kind: 'rolled-back', phase: 'Auth', reason: { code: 'ERR_MIGRATION_STEP_FAILED' } });
    w.client.send('ChatMessage');
    expect([...(await expectEveryPacketPlacedOnce(w)).keys()]).toEqual(['A']);
  });

  it('Sync: B never sends JoinWorld; the sync deadline closes B and the player stays on A', async () => {
    const w = await start({ joinWorld: false });
    chatter(w, ['Sync']);
    const result = w.proxy.migrator.migrate({ target: B });
    await reach(w, 'Sync');
    w.proxy.clock.increment(w.proxy.migrator.deadlines.sync);
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Sync', reason: { deadline: 'sync' } });
    await vi.waitFor(() => expect(w.b.connections[0]).toBeDefined());
    await w.b.connections[0]!.closed;
    expect([...(await expectEveryPacketPlacedOnce(w)).keys()]).toEqual(['A']);
  });

  it('Freeze: a stalled client stream keeps an A frame half-written; the freeze deadline rolls back, buffered packets go to A in order', async () => {
    const w = await start();
    // A streams big chunk frames; the client's Chunks stream stalls, so a write blocks mid-frame.
    const stall = faultsOf(w.proxy.clientConn).stall(w.proxy.clientChunks);
    await w.a.burst(6, 'SetChunk', 60_000);
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Freeze']);
    const result = w.proxy.migrator.migrate({ target: B });
    await reach(w, 'Freeze');
    await vi.waitFor(() => expect(w.proxy.migrator.ledger()!.accepted).toBe(BATCH.length));
    expect(w.proxy.migrator.phase).toBe('Freeze'); // the barrier cannot stop the stalled stream
    w.proxy.clock.increment(w.proxy.migrator.deadlines.freeze);
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Freeze', reason: { deadline: 'freeze' } });
    stall.release();
    const tally = await expectEveryPacketPlacedOnce(w);
    expect([...tally.keys()]).toEqual(['A']);
    expect(w.client.received.some((r) => r.name === 'JoinWorld')).toBe(false);
    // A's chunk stream resumed after the rollback.
    await vi.waitFor(() => expect(w.client.received.filter((r) => r.name === 'SetChunk')).toHaveLength(6));
  });

  it('Freeze: an overflow rolls back; the packet that did not fit waits, then goes to A after the rest', async () => {
    const w = await start({}, { limits: { maxPackets: 3 } });
    w.proxy.freezeUntilBuffered = 1_000; // Freeze waits; the overflow ends it
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Freeze') for (let i = 0; i < 8; i++) w.client.send('ChatMessage');
    });
    const result = await w.proxy.migrator.migrate({ target: B });
    expect(result).toMatchObject({ kind: 'rolled-back', phase: 'Freeze', reason: { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', overflow: { scope: 'migration', dimension: 'packets' } } });
    const tally = await expectEveryPacketPlacedOnce(w);
    expect([...tally.keys()]).toEqual(['A']);
    expect(tally.get('A')).toBe(8);
  });

  it('Cutover: B is lost; referral fallback, buffered packets dropped as session-ended', async () => {
    const w = await start();
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Freeze']);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Cutover') {
        faultsOf(w.proxy.b!.conn).drop();
        w.proxy.targetLost = true;
      }
    });
    const result = await w.proxy.migrator.migrate({ target: B });
    expect(result).toMatchObject({ kind: 'referred', phase: 'Cutover', reason: { code: 'ERR_MIGRATION_STEP_FAILED', cause: 'ERR_TRANSPORT_CONNECTION_LOST' } });
    expect(w.proxy.migrator.closed).toBe(true);
    await vi.waitFor(() => expect(w.client.received.some((r) => r.name === 'ClientReferral')).toBe(true));
    w.client.send('ChatMessage');
    const tally = await expectEveryPacketPlacedOnce(w, ['B']);
    expect(tally.get('dropped:session-ended')).toBe(BATCH.length);
    expect(tally.get('dropped:offer:session-ended')).toBe(1);
    expect(tally.get('B')).toBeUndefined();
  });

  it('Cutover: the client vanishes; the referral cannot be sent either, so the session ends disconnected', async () => {
    const w = await start();
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Freeze']);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Cutover') faultsOf(w.client.conn).drop();
    });
    const result = w.proxy.migrator.migrate({ target: B });
    // Writes to a dropped client may hang rather than fail: the deadlines bound every step.
    await reach(w, 'Failed');
    for (let i = 0; i < 4 && !w.proxy.migrator.closed; i++) {
      w.proxy.clock.increment(w.proxy.migrator.deadlines.fallback);
      await new Promise((r) => setImmediate(r));
    }
    const outcome = (await result) as Extract<MigrationResult, { kind: 'disconnected' | 'referred' }>;
    expect(['disconnected', 'referred']).toContain(outcome.kind);
    expect(outcome.phase).toBe('Cutover');
    const tally = await expectEveryPacketPlacedOnce(w, ['B']);
    expect(tally.get('dropped:session-ended')).toBe(BATCH.length);
  });

  it('Resume: B is lost while draining; the failed write is reported, the rest dropped, referral fallback', async () => {
    const w = await start();
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Freeze']);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Resume') faultsOf(w.proxy.b!.conn).drop();
    });
    const result = await w.proxy.migrator.migrate({ target: B });
    expect(result).toMatchObject({ kind: 'referred', phase: 'Resume', reason: { code: 'ERR_MIGRATION_STEP_FAILED' } });
    const tally = await expectEveryPacketPlacedOnce(w, ['B']);
    // The drain met the policy first (the Pong and the MouseInteraction were A's), then the dead B.
    expect(tally.get('dropped:pong-for-source')).toBe(1);
    expect(tally.get('dropped:delivery-failed')).toBe(1);
    expect(tally.get('dropped:session-ended')).toBeGreaterThan(0); // what was still queued (and ClientReady, if it came)
    expect(tally.get('B')).toBeUndefined();
  });

  it('Cleanup: A ignores the leave; the cleanup deadline closes A anyway and the player is on B', async () => {
    const w = await start();
    w.proxy.freezeUntilBuffered = BATCH.length;
    chatter(w, ['Freeze', 'Cleanup']);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Cleanup') faultsOf(w.proxy.a.conn).blackhole();
    });
    const result = w.proxy.migrator.migrate({ target: B });
    await reach(w, 'Cleanup');
    w.proxy.clock.increment(w.proxy.migrator.deadlines.cleanup);
    expect(await result).toMatchObject({ kind: 'migrated', cleanup: 'deadline' });
    expect(w.proxy.migrator.backend).toEqual(B);
    const tally = await expectEveryPacketPlacedOnce(w, ['A']);
    expect(tally.get('B')).toBeGreaterThan(0);
  });

  it('A is lost during Sync: nothing to roll back to, so the session fails over (referral)', async () => {
    const w = await start();
    chatter(w, ['Prepare']);
    w.proxy.migrator.on('migration:phase', (e) => {
      if (e.phase === 'Sync') faultsOf(w.proxy.a.conn).drop();
    });
    const result = w.proxy.migrator.migrate({ target: B });
    expect(await result).toMatchObject({ kind: 'referred', reason: { code: 'ERR_MIGRATION_SOURCE_LOST' } });
    await expectEveryPacketPlacedOnce(w, ['A']);
  });
});
