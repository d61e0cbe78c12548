/**
 * The asset policy of a migration target, end to end: B requires an asset the client does not hold.
 * `require-identical` refuses the move as incompatible (B was opened and closed, the player stays);
 * `forward-after-cutover` moves the player and sends B's asset after the cutover, the way a server
 * pushes a hot reload; the client is then judged seamless.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectStrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, leaveAndSettle, network, proxy } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

const extra = { name: 'Common/Icons/only-on-b.png', bytes: new TextEncoder().encode('an asset only game-b has') };

describe('a target that requires an asset the client lacks', () => {
  it("require-identical (the default): refused as incompatible-assets, the player stays on A", async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp', assets: [...a.assets, extra] });
    const p = await proxy(net, { backends: [await configOf(a), await configOf(b)] });
    const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    expect(await session.migrate('game-b')).toMatchObject({ kind: 'refused', refusal: 'incompatible-assets', trigger: 'api' });
    expect(b.events.some((e) => e.type === 'assets')).toBe(false); // nothing was requested of B
    client.sendMovement(5);
    await leaveAndSettle(client, [a, b]);
    account(client, [a, b]);
    expect(client.violations).toEqual([]);
    expect(session.backend.id).toBe('game-a');
  });

  it('forward-after-cutover: migrated, the asset reaches the client after the world change', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp', assets: [...a.assets, extra] });
    const p = await proxy(net, { backends: [await configOf(a), await configOf(b)], session: { assetPolicy: 'forward-after-cutover' } });
    const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    const before = client.counters.assetsReceived;
    expect(await session.migrate('game-b')).toMatchObject({ kind: 'migrated' });
    await client.worldsEntered(2);
    await client.until(() => client.counters.assetsReceived === before + 1);
    expect(b.events.find((e) => e.type === 'assets')).toMatchObject({ requested: 1, sent: 1 }); // only what the client lacked
    await leaveAndSettle(client, [a, b]);
    account(client, [a, b]);
    expect(client.violations).toEqual([]);
  });
});
