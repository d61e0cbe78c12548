/**
 * A ClientReady the client sent in an earlier world must not end the next migration's Resume.
 *
 * The soak (200 players, back-to-back migrations, the proxy's CPU saturated) saw targets kick players
 * in Resume with "Internal server error!" ("Pong without a Ping"), and the strict client report
 * `missing-set-client-id`. Here the overload is made deterministic with a `ToServer` packet hook
 * that stops the client loop (while a hook runs on a client frame, the client is not read) and lets
 * it go when a migration reaches a phase:
 *
 * 1. the player is on B; the hook holds B's readyForGameplay ClientReady (the answer to B's
 *    SetClientId) until migration 1 (B → A) reaches Resume. That ClientReady was sent in B's world:
 *    it must not end the wait for the ClientReady that answers A's JoinWorld.
 * 2. if the session wrote it to A anyway (the defect: Resume ends, the migration finishes while the
 *    client's older frames are unread), the hook holds the next client Pong (one of B's) until
 *    migration 2 (A → B) reaches Cutover: B's Pongs and A's world-entry ClientReady then sit in
 *    migration 2's buffer, and reach the new connection to B, which kicks the player.
 *
 * Waits are on events only (hooks reached, migration phases, trace records), never on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { forwardPacket, type PacketHook, type TraceRecord } from '@handoff/proxy-kit';
import { connectStrictClient } from '@handoff/testkit';
import type { Phase } from '@handoff/types';
import { Closers, backend, configOf, droppedBy, leaveAndSettle, network, once, proxy, type Kind } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe.each([
  ['G3', 'quic'],
  ['G2', 'tcp'],
] as const)('%s, backends over %s', (generation, transport: Kind) => {
  it('B → A then A → B back to back with the client a migration behind: no stale ClientReady ends Resume', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport, generation });
    const b = await backend(net, { id: 'game-b', transport, generation });
    const [ca, cb] = [await configOf(a), await configOf(b)];

    const heldReady = gate(); // the hook holds B's readyForGameplay ClientReady
    const releaseReady = gate(); // migration 1 reached Resume
    const heldPong = gate(); // the hook holds the next Pong (only after the defect)
    const releasePong = gate(); // migration 2 reached Cutover
    const trace: TraceRecord[] = [];
    let readyHeld = false;
    let pongHeld = false;
    let decode: ((frame: Parameters<PacketHook['handle']>[0]) => { readyForChunks: boolean; readyForGameplay: boolean }) | undefined;

    const hook: PacketHook = {
      name: 'lagging-client',
      direction: 'ToServer',
      packets: ['ClientReady', 'Pong'],
      async handle(frame) {
        if (frame.descriptor.name === 'ClientReady') {
          if (!readyHeld && decode!(frame).readyForGameplay) {
            readyHeld = true;
            heldReady.open();
            await releaseReady.promise;
          }
          return forwardPacket();
        }
        // a Pong: the client loop has moved past the held ClientReady. Did the session write it to A?
        if (readyHeld && !pongHeld) {
          pongHeld = true;
          const staleToA = trace.some((r) => r.direction === 'ToServer' && r.name === 'ClientReady' && r.backend === 'game-a' && (r.action === 'forwarded' || r.action === 'replayed'));
          if (staleToA) {
            heldPong.open();
            await releasePong.promise;
          }
        }
        return forwardPacket();
      },
    };
    const p = await proxy(net, {
      generation,
      backends: [cb, ca],
      session: { hooks: { packets: [hook] }, trace: { record: (r) => void trace.push(r) } },
    });

    const client = closers.add(await connectStrictClient({ address: p.address, generation }), (c) => c.close());
    const ready = client.generation.packet('ClientReady');
    decode = (frame) => ready.decodeFrame(frame) as { readyForChunks: boolean; readyForGameplay: boolean };
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    await heldReady.promise; // the client loop is stopped at B's readyForGameplay ClientReady

    const phaseOf = (migrationId: () => string | undefined, phase: Phase) =>
      once(session, 'migration:phase', (e) => e.phase === phase && e.migrationId === migrationId());
    let m1: string | undefined;
    const m1Resume = phaseOf(() => m1, 'Resume');
    const m1Started = once(session, 'migration:phase', (e) => e.phase === 'Prepare').then((e) => (m1 = e.migrationId));
    const first = session.migrate(ca.ref);
    await m1Started;
    void m1Resume.then(() => releaseReady.open());
    const r1 = await first;
    expect(r1).toMatchObject({ kind: 'migrated', target: ca.ref });

    let m2: string | undefined;
    const m2Cutover = phaseOf(() => m2, 'Cutover');
    const m2Started = once(session, 'migration:phase', (e) => e.phase === 'Prepare').then((e) => (m2 = e.migrationId));
    const second = session.migrate(cb.ref);
    await m2Started;
    void m2Cutover.then(() => releasePong.open());
    const r2 = await second;
    expect(r2).toMatchObject({ kind: 'migrated', target: cb.ref });
    await client.worldsEntered(3);

    await leaveAndSettle(client, [a, b]);
    const kicks = [...a.events, ...b.events].filter((e) => e.type === 'disconnected' && e.kind === 'internal-error');
    expect(kicks).toEqual([]);
    // the client's own checks (the packet accounting is not asked: a dropped ClientReady has identical
    // copies in other worlds, which its matcher of identical frames cannot tell apart)
    expect(client.violations).toEqual([]);
    expect(pongHeld).toBe(true); // the client loop went on past the held ClientReady
    // B's readyForGameplay ClientReady was sent in B's world: dropped toward A, counted
    expect(droppedBy([session], 'client-ready-for-source')).toBeGreaterThanOrEqual(1);
    // each connection entered its world on the client's answer to its own JoinWorld
    expect(a.events.filter((e) => e.type === 'ready')).toHaveLength(1);
    expect(b.events.filter((e) => e.type === 'ready')).toHaveLength(2);
    expect(session.stats().migrations).toEqual({ migrated: 2 });
  });
});
