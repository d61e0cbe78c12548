/**
 * A player really moves between backends through the proxy kit, by `session.migrate()`: the strict
 * client stays on one QUIC connection while the proxy moves it A → B → A → B, sending gameplay
 * packets throughout, and judges every move seamless; every packet it sent reached exactly one
 * backend, once, in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectStrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, droppedBy, leaveAndSettle, network, proxy, type Kind } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

describe.each([
  ['G3', 'quic'],
  ['G3', 'tcp'],
  ['G2', 'quic'],
  ['G2', 'tcp'],
] as const)('%s, backends over %s', (generation, transport: Kind) => {
  it('A → B → A → B by API with the client moving throughout: no violation, every packet accounted for', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport, generation });
    const b = await backend(net, { id: 'game-b', transport, generation });
    const [ca, cb] = [await configOf(a), await configOf(b)];
    const p = await proxy(net, { generation, backends: [ca, cb] });

    const client = closers.add(await connectStrictClient({ address: p.address, generation }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    client.startMovement({ intervalMs: 5 });

    const route = [cb, ca, cb];
    for (const [i, target] of route.entries()) {
      await client.movementSent(10 * (i + 1));
      const result = await session.migrate(target.ref);
      expect(result).toMatchObject({ kind: 'migrated', target: target.ref, cleanup: 'done', trigger: 'api' });
      await client.worldsEntered(i + 2);
      expect(session.backend.id).toBe(target.ref.id);
    }
    await client.movementSent(50);
    client.stopMovement();
    await leaveAndSettle(client, [a, b]);

    const { sourceBound } = account(client, [a, b]);
    expect(client.violations).toEqual([]);
    expect(sourceBound).toBe(droppedBy([session], 'source-bound'));
    expect(client.report().counters).toMatchObject({ connections: 1, reconnects: 0 });
    expect(session.record.migrations.map((m) => m.outcome)).toEqual(['migrated', 'migrated', 'migrated']);
    expect(session.stats().migrations).toEqual({ migrated: 3 });
  });
});
