/**
 * One proxy, 50 players, all moved from A to B at the same moment: every migration succeeds, and
 * every client judges its move seamless with every packet accounted for. The sessions share the
 * process's buffer budget, the backends and the ticket replay store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectStrictClient, type StrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, droppedBy, network, playerGone, proxy } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

const PLAYERS = 50;

describe('many players at once', () => {
  it(`${PLAYERS} players migrating at once all succeed, each seamless`, { timeout: 120_000 }, async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp', rateLimit: false });
    const b = await backend(net, { id: 'game-b', transport: 'tcp', rateLimit: false });
    const [ca, cb] = [await configOf(a), await configOf(b)];
    const p = await proxy(net, { backends: [ca, cb] });

    const clients: StrictClient[] = [];
    // join in batches of 10: the handshakes are CPU-bound on both ends
    for (let i = 0; i < PLAYERS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, PLAYERS - i) }, async () => {
          const c = closers.add(await connectStrictClient({ address: p.address, waitTimeoutMs: 60_000 }), (x) => x.close());
          await c.inWorld();
          return c;
        }),
      );
      clients.push(...batch);
    }
    const sessions = await Promise.all(clients.map((c) => p.session(c.clientUuid)));
    for (const c of clients) c.startMovement({ intervalMs: 50 });

    const results = await Promise.all(sessions.map((s) => s.migrate(cb.ref)));
    expect(results.map((r) => r.kind)).toEqual(Array(PLAYERS).fill('migrated'));
    await Promise.all(clients.map((c) => c.worldsEntered(2)));

    for (const c of clients) c.stopMovement();
    await Promise.all(clients.map((c) => c.leave()));
    for (const c of clients) {
      await playerGone(a, c.clientUuid);
      await playerGone(b, c.clientUuid);
    }
    let sourceBound = 0;
    for (const c of clients) {
      sourceBound += account(c, [a, b]).sourceBound;
      expect(c.violations).toEqual([]);
    }
    expect(sourceBound).toBe(droppedBy(sessions, 'source-bound'));
    expect(a.counters.connections).toBe(PLAYERS);
    expect(b.counters.connections).toBe(PLAYERS);
  });
});
