/**
 * The natural trigger: a backend calls its standard `referToServer` with a ticket signed by its own
 * key. The proxy intercepts the `ClientReferral`, verifies the ticket (consuming its nonce), issues a
 * fresh one for the target and moves the player seamlessly — A → B → A → B, the client moving
 * throughout. A referral without a valid ticket is an ordinary referral: the client gets it and
 * reconnects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyMigrationResult, ProxySession } from '@handoff/proxy-kit';
import { connectStrictClient, type SimulatedBackend } from '@handoff/testkit';
import { createTicketIssuer } from '@handoff/tickets';
import { parseBackendId, parseClientUuid } from '@handoff/types';
import { Closers, account, backend, configOf, droppedBy, leaveAndSettle, network, proxy, type Kind, type Network } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

/** The next migration result of `session` (a referral starts it inside the session). */
function nextResult(session: ProxySession): Promise<ProxyMigrationResult> {
  return new Promise((resolve) => {
    const off = session.on('migration:result', ({ result }) => {
      off();
      resolve(result);
    });
  });
}

/** `from` refers the player to `to` with a ticket signed by `from`'s own key, as its plugin would. */
async function refer(net: Network, from: SimulatedBackend, to: SimulatedBackend, clientUuid: string): Promise<void> {
  const keys = await net.backendKeys(from.id);
  const issuer = createTicketIssuer({ keyRing: keys.signing, issuer: parseBackendId(from.id), ttlSeconds: 30 });
  const ticket = await issuer.issue({ clientUuid: parseClientUuid(clientUuid), target: parseBackendId(to.id) });
  await from.referToServer(clientUuid, { host: to.address.host, port: to.address.port, data: new TextEncoder().encode(ticket) });
}

describe.each([
  ['G3', 'quic'],
  ['G3', 'tcp'],
  ['G2', 'quic'],
  ['G2', 'tcp'],
] as const)('%s, backends over %s', (generation, transport: Kind) => {
  it('A → B → A → B by ticketed referral with the client moving throughout: seamless, every packet accounted for', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport, generation });
    const b = await backend(net, { id: 'game-b', transport, generation });
    const backendKeys = { 'game-a': (await net.backendKeys('game-a')).public, 'game-b': (await net.backendKeys('game-b')).public };
    const p = await proxy(net, { generation, backends: [await configOf(a), await configOf(b)], backendKeys });

    const client = closers.add(await connectStrictClient({ address: p.address, generation }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    client.startMovement({ intervalMs: 5 });

    const hops: Array<[SimulatedBackend, SimulatedBackend]> = [
      [a, b],
      [b, a],
      [a, b],
    ];
    for (const [i, [from, to]] of hops.entries()) {
      await client.movementSent(10 * (i + 1));
      const result = nextResult(session);
      await refer(net, from, to, client.clientUuid);
      expect(await result).toMatchObject({ kind: 'migrated', source: { id: from.id }, target: { id: to.id }, trigger: 'referral' });
      await client.worldsEntered(i + 2);
    }
    await client.movementSent(50);
    client.stopMovement();
    await leaveAndSettle(client, [a, b]);

    const { sourceBound } = account(client, [a, b]);
    expect(client.violations).toEqual([]);
    expect(sourceBound).toBe(droppedBy([session], 'source-bound'));
    expect(client.counters.referrals).toBe(0); // not one ClientReferral reached the client
    expect(p.tickets!.counters()).toMatchObject({ referralsMigrated: 3, referralsForwarded: 0 });
    // every join carried a ticket the target accepted: the first join and three migrations
    const accepted = [a, b].flatMap((x) => x.events.filter((e) => e.type === 'ticket' && e.result === 'accepted'));
    expect(accepted).toHaveLength(4);
  });
});

describe('a referral that is not a seamless migration', () => {
  it("is forwarded unchanged when its ticket is not the referring backend's: the client reconnects to the proxy", async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp' });
    const p = await proxy(net, { backends: [await configOf(a), await configOf(b)], backendKeys: { 'game-a': (await net.backendKeys('game-a')).public } });

    const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    const referrals: string[] = [];
    session.on('referral', (e) => referrals.push(`${e.action}:${e.reason}`));

    // a ticket signed by a key game-a's verifier does not know, naming the proxy's own address as the target
    const stranger = createTicketIssuer({ keyRing: (await net.backendKeys('stranger')).signing, issuer: parseBackendId('game-a'), ttlSeconds: 30 });
    const ticket = await stranger.issue({ clientUuid: parseClientUuid(client.clientUuid), target: parseBackendId('game-b') });
    await a.referToServer(client.clientUuid, { host: p.address.host, port: p.address.port, data: new TextEncoder().encode(ticket) });

    const second = await p.session(client.clientUuid, 1); // the client followed it and joined again
    expect(await session.closed).toEqual({ reason: 'referred' });
    await client.inWorld();
    expect(second.backend.id).toBe('game-a');
    expect(referrals).toEqual(['forward:unknown-target']);
    await leaveAndSettle(client, [a, b]);
    expect(client.violations.map((v) => v.kind)).toEqual(['reconnect']);
    expect(client.report().counters).toMatchObject({ connections: 2, referrals: 1 });
  });
});
