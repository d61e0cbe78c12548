/**
 * Crash failover without a reconnect: when the player's backend dies or kicks it, the proxy moves the
 * player to a fallback backend through the migration path, on the same client connection, and the
 * player lands in the fallback world. A kick the policy marks final (a ban) does not fail over: the
 * client gets the backend's Disconnect. Without a failover, the client is disconnected with the
 * backend's reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FailoverPolicy } from '@handoff/proxy-kit';
import { connectStrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, droppedBy, leaveAndSettle, network, once, proxy, type Kind } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

const toFallback: FailoverPolicy = {
  target: () => ({ id: 'fallback-1', pool: 'fallback' }) as never,
  isFinalKick: (reason) => reason.startsWith('Banned'),
};

async function setup(transport: Kind, failover?: FailoverPolicy) {
  const net = await network(closers);
  const a = await backend(net, { id: 'game-a', transport });
  const f = await backend(net, { id: 'fallback-1', transport });
  const p = await proxy(net, { backends: [await configOf(a), await configOf(f, 'fallback')], session: failover ? { failover } : {} });
  const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
  await client.inWorld();
  await a.waitForEvent((e) => e.type === 'ready-for-gameplay'); // what the client sent in A's world is all at A
  const session = await p.session(client.clientUuid);
  return { net, a, f, p, client, session };
}

describe.each(['quic', 'tcp'] as const)('backends over %s', (transport) => {
  it('A crashes → the player is moved to the fallback on the same connection and plays on', async () => {
    const { a, f, client, session } = await setup(transport, toFallback);
    const failover = once(session, 'failover');
    await a.crash();
    const event = await failover;
    expect(event).toMatchObject({ from: { id: 'game-a' }, loss: { kind: 'lost' }, target: { id: 'fallback-1' } });
    expect(event.result).toMatchObject({ kind: 'migrated', source: { id: 'game-a' }, target: { id: 'fallback-1' }, trigger: 'failover' });
    await client.worldsEntered(2);
    expect(session.backend.id).toBe('fallback-1');
    client.sendMovement(20);
    await leaveAndSettle(client, [a, f]);
    const { sourceBound } = account(client, [a, f]);
    expect(client.violations).toEqual([]);
    expect(sourceBound).toBe(droppedBy([session], 'source-bound'));
    expect(client.report().counters).toMatchObject({ connections: 1, worlds: 2 });
    expect(client.worlds.map((w) => w.worldUuid)).toEqual([a.worldUuid, f.worldUuid]);
  });

  it('A kicks the player → failover: the client never sees the kick', async () => {
    const { a, f, client, session } = await setup(transport, toFallback);
    const failover = once(session, 'failover');
    await a.kick(client.clientUuid, 'Server restarting');
    expect(await failover).toMatchObject({ loss: { kind: 'kick', reason: 'Server restarting' }, result: { kind: 'migrated', trigger: 'failover' } });
    await client.worldsEntered(2);
    client.sendMovement(5);
    await leaveAndSettle(client, [a, f]);
    account(client, [a, f]);
    expect(client.violations).toEqual([]);
  });
});

describe('no failover', () => {
  it('a final kick (a ban) reaches the client as the backend sent it; the fallback is never joined', async () => {
    const { a, f, client, session } = await setup('tcp', toFallback);
    await a.kick(client.clientUuid, 'Banned: cheating');
    expect(await session.closed).toEqual({ reason: 'kicked', message: 'Banned: cheating' });
    await client.ended;
    expect(client.violations).toMatchObject([{ kind: 'disconnected', reason: 'Banned: cheating' }]);
    expect(f.counters.connections).toBe(0);
  });

  it('without a failover policy, a crash disconnects the client with a reason', async () => {
    const { a, client, session } = await setup('quic');
    await a.crash();
    expect(await session.closed).toMatchObject({ reason: 'backend-lost' });
    await client.ended;
    expect(client.violations).toMatchObject([{ kind: 'disconnected', reason: 'The server you were on closed the connection' }]);
  });

  it("without a failover policy, a kick reaches the client with the backend's reason", async () => {
    const { a, client, session } = await setup('tcp');
    await a.kick(client.clientUuid, 'AFK too long');
    expect(await session.closed).toEqual({ reason: 'kicked', message: 'AFK too long' });
    await client.ended;
    expect(client.violations).toMatchObject([{ kind: 'disconnected', reason: 'AFK too long' }]);
  });
});
