/**
 * Ticket trust against simulated backends: the proxy's tickets accepted or refused by B (with B's
 * reason), and a backend's ticketed ClientReferral decided: a seamless migration with a fresh proxy
 * ticket, or an ordinary referral with a counted reason; the replay store down fails closed.
 */
import { inspect } from 'node:util';
import type {} from '../../../test/support/redis-global-setup.js';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { portToWire, readFrame, type WireFrame } from '@handoff/protocol';
import type { SimulatedBackend } from '@handoff/testkit';
import {
  createMemoryReplayStore,
  createPoolPolicy,
  createRedisReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  type KeyRing,
  type ReplayStore,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid, parsePoolId } from '@handoff/types';
import {
  BackendDisconnectedError,
  connectBackend,
  createSetupDriver,
  createTicketPolicy,
  type BackendConfig,
  type ReferralMigrate,
  type TicketPolicy,
  type TicketPolicyInit,
} from '@handoff/proxy-kit';
import { startRedisServer } from '../../../test/support/redis-server.js';
import { Closers, G3, PLAYER, PROXY_ADDRESS, PROXY_ID, configOf, network, readUntil, recordFor, simulatedBackend, type Network } from './backend-fixtures.js';

const closers = new Closers();
let net: Network;
beforeEach(async () => {
  net = await network(closers);
});
afterEach(() => closers.closeAll());

function policyOf(backends: BackendConfig[], init: Partial<TicketPolicyInit> = {}): TicketPolicy {
  return createTicketPolicy({ proxyId: PROXY_ID, keyRing: net.proxyKeys, replayStore: createMemoryReplayStore(), backends, backendKeys: {}, ...init });
}

/** Joins `b` with `ticket` and runs auth: resolves, or rejects with what B answered. */
async function joinWith(b: SimulatedBackend, ticket: string | undefined): Promise<unknown> {
  const record = recordFor({ holds: b.assets });
  const link = closers.add(await connectBackend(await configOf(b), { record, ticket, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
  return createSetupDriver({ link, record }).auth().catch((e: unknown) => e);
}

describe("the proxy's tickets", () => {
  it('every join carries one (the first too), and a backend that insists on tickets takes it', async () => {
    const b = await simulatedBackend(closers, net, { id: 'lobby', transport: 'quic', requireTicket: true });
    const tickets = policyOf([await configOf(b)]);
    expect(await joinWith(b, await tickets.issue({ clientUuid: PLAYER, target: (await configOf(b)).ref }))).toEqual({ password: 'none' });
    expect(b.player(PLAYER)!.ticket).toMatchObject({ source: PROXY_ID });
    expect(tickets.counters()).toMatchObject({ issued: 1, issueFailures: 0 });
  });

  const refusals: Array<{ name: string; code: string; ticket: (b: SimulatedBackend, tickets: TicketPolicy) => Promise<string | undefined> }> = [
    {
      name: 'signed with a key the backend does not trust',
      code: 'ERR_TICKET_KEY_UNKNOWN',
      ticket: async (b) =>
        createTicketPolicy({ proxyId: PROXY_ID, keyRing: (await net.backendKeys('rogue')).signing, replayStore: createMemoryReplayStore(), backends: [], backendKeys: {} }).issue({
          clientUuid: PLAYER,
          target: (await configOf(b)).ref,
        }),
    },
    {
      name: 'replayed',
      code: 'ERR_TICKET_REPLAYED',
      ticket: async (b, tickets) => {
        const ticket = await tickets.issue({ clientUuid: PLAYER, target: (await configOf(b)).ref });
        expect(await joinWith(b, ticket)).toEqual({ password: 'none' });
        return ticket;
      },
    },
    {
      name: 'for another backend (audience)',
      code: 'ERR_TICKET_TARGET_MISMATCH',
      ticket: (_b, tickets) => tickets.issue({ clientUuid: PLAYER, target: { id: parseBackendId('elsewhere') } }),
    },
    {
      name: 'for another player',
      code: 'ERR_TICKET_CLIENT_MISMATCH',
      ticket: async (b, tickets) => tickets.issue({ clientUuid: parseClientUuid('00000000-0000-4000-8000-000000000001'), target: (await configOf(b)).ref }),
    },
  ];
  for (const { name, code, ticket } of refusals) {
    it(`a ticket ${name}: B refuses it, and auth fails with B's reason`, async () => {
      const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp' });
      const error = await joinWith(b, await ticket(b, policyOf([await configOf(b)])));
      expect(error).toBeInstanceOf(BackendDisconnectedError);
      expect(error).toMatchObject({ code: 'ERR_PROXY_SETUP_DISCONNECTED', backendReason: `Migration ticket refused (${code})` });
      expect(b.events.filter((e) => e.type === 'ticket').at(-1)).toMatchObject({ result: 'refused', code });
    });
  }

  it('no ticket at a backend that insists on one: its reason', async () => {
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'quic' });
    expect(await joinWith(b, undefined)).toMatchObject({ backendReason: 'This server only accepts players with a migration ticket' });
  });

  it('a pool without a signing key for it: ERR_PROXY_TICKET_ISSUE_FAILED, the cause kept, no ticket in the message', async () => {
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp' });
    const { keyRing } = { keyRing: net.proxyKeys };
    const [key] = keyRing.list();
    keyRing.retire(key!.kid, 0);
    const tickets = policyOf([await configOf(b)]);
    const error = await tickets.issue({ clientUuid: PLAYER, target: (await configOf(b, 'games')).ref }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROXY_TICKET_ISSUE_FAILED', reason: 'ERR_TICKET_NO_SIGNING_KEY' });
    expect((error as Error).cause).toMatchObject({ code: 'ERR_TICKET_NO_SIGNING_KEY' });
    expect(tickets.counters()).toMatchObject({ issued: 0, issueFailures: 1 });
  });
});

describe('referral interception', () => {
  /** Backend A (the source, with its own key directory) and B (the target); the proxy knows both. */
  async function twoBackends(init: Partial<TicketPolicyInit> = {}, options: { readonly sourceKeys?: boolean } = {}) {
    const a = await simulatedBackend(closers, net, { id: 'lobby', transport: 'quic' });
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp' });
    const [ca, cb] = [await configOf(a, 'lobbies'), await configOf(b, 'games')];
    const lobbyKeys = await net.backendKeys('lobby');
    const tickets = policyOf([ca, cb], { backendKeys: options.sourceKeys === false ? {} : { lobby: lobbyKeys.public }, ...init });
    return { a, b, ca, cb, lobbyKeys, tickets };
  }

  /** A ticket as backend A's plugin signs it for `referToServer`. */
  function sourceTicket(keyRing: KeyRing, input: { target?: string; clientUuid?: string; issuer?: string } = {}): Promise<string> {
    return createTicketIssuer({ keyRing, issuer: parseBackendId(input.issuer ?? 'lobby') }).issue({
      clientUuid: parseClientUuid(input.clientUuid ?? PLAYER),
      target: parseBackendId(input.target ?? 'game'),
    });
  }

  function referral(hostTo: { host: string; port: number } | null, data: string | Uint8Array | null): WireFrame {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return readFrame(G3.registry, G3.packet('ClientReferral').encodeFrame({ hostTo: hostTo === null ? null : { host: hostTo.host, port: portToWire(hostTo.port) }, data: bytes }));
  }

  const context = (ca: BackendConfig) => ({ clientUuid: PLAYER, source: ca.ref, generation: G3 });

  it("A's ticketed ClientReferral becomes a seamless migration: a fresh proxy ticket that B accepts", async () => {
    const { a, b, ca, cb, lobbyKeys, tickets } = await twoBackends();
    // the player is on A, through the proxy
    const record = recordFor({ holds: a.assets });
    const onA = closers.add(
      await connectBackend(ca, { record, ticket: await tickets.issue({ clientUuid: PLAYER, target: ca.ref }), proxyAddress: PROXY_ADDRESS }),
      (l) => l.close(),
    );
    await createSetupDriver({ link: onA, record }).auth();
    const signed = await sourceTicket(lobbyKeys.signing);
    await a.referToServer(PLAYER, { host: b.address.host, port: b.address.port, data: new TextEncoder().encode(signed) });
    const { frame } = await readUntil(await onA.channel('Default'), 'ClientReferral');

    const decision = await tickets.interceptReferral(frame, { ...context(ca), generation: onA.generation });
    expect(decision).toMatchObject({ action: 'migrate', source: ca.ref, target: { ref: cb.ref } });
    const { ticket } = decision as ReferralMigrate;
    expect(ticket).not.toBe(signed);
    // the decision can be logged: the ticket is not enumerable
    expect(JSON.stringify(decision)).not.toContain(ticket.slice(0, 40));
    expect(inspect(decision, { depth: 5 })).not.toContain(ticket.slice(0, 40));

    expect(await joinWith(b, ticket)).toEqual({ password: 'none' });
    expect(b.player(PLAYER)!.ticket).toMatchObject({ source: PROXY_ID, pool: 'games' });
    expect(tickets.counters()).toMatchObject({ referralsMigrated: 1, referralsForwarded: 0 });
    // A's nonce is consumed: the same referral again is an ordinary one
    expect(await tickets.interceptReferral(frame, context(ca))).toMatchObject({ action: 'forward', reason: 'ticket-invalid', code: 'ERR_TICKET_REPLAYED' });
  });

  it('every referral the proxy cannot take seamlessly is forwarded unchanged, with its reason, counted', async () => {
    const { b, ca, cb, lobbyKeys, tickets } = await twoBackends();
    const to = { host: b.address.host, port: b.address.port };
    const rogue = (await net.backendKeys('rogue')).signing;
    const cases: Array<[WireFrame, string, string | undefined]> = [
      [referral(to, null), 'no-ticket', undefined],
      [referral(null, await sourceTicket(lobbyKeys.signing)), 'no-target', undefined],
      [referral({ host: '127.0.0.1', port: 1 }, await sourceTicket(lobbyKeys.signing)), 'unknown-target', undefined],
      [referral({ host: ca.address.host, port: ca.address.port }, await sourceTicket(lobbyKeys.signing, { target: 'lobby' })), 'same-backend', undefined],
      [referral(to, await sourceTicket(rogue)), 'ticket-invalid', 'ERR_TICKET_KEY_UNKNOWN'],
      [referral(to, await sourceTicket(lobbyKeys.signing, { target: 'elsewhere' })), 'ticket-invalid', 'ERR_TICKET_TARGET_MISMATCH'],
      [referral(to, await sourceTicket(lobbyKeys.signing, { clientUuid: '00000000-0000-4000-8000-000000000001' })), 'ticket-invalid', 'ERR_TICKET_CLIENT_MISMATCH'],
      [referral(to, await sourceTicket(lobbyKeys.signing, { issuer: 'game' })), 'ticket-invalid', 'ERR_TICKET_SOURCE_MISMATCH'],
      [referral(to, 'not-a-ticket'), 'ticket-invalid', 'ERR_TICKET_MALFORMED'],
      [readFrame(G3.registry, Uint8Array.from([1, 0, 0, 0, 18, 0, 0, 0, 0xff])), 'malformed', 'ERR_PROTOCOL_TRUNCATED'],
    ];
    for (const [frame, reason, code] of cases) {
      const decision = await tickets.interceptReferral(frame, context(ca));
      expect({ reason, decision }).toMatchObject({ reason, decision: { action: 'forward', reason, source: ca.ref, ...(code === undefined ? {} : { code }) } });
    }
    expect(tickets.counters().forwardedByReason).toEqual({
      'no-ticket': 1,
      'no-target': 1,
      'unknown-target': 1,
      'same-backend': 1,
      'ticket-invalid': 5,
      malformed: 1,
    });
    void cb;
  });

  it("state A put in its ticket is carried into the proxy's fresh ticket for B", async () => {
    const { b, ca, lobbyKeys, tickets } = await twoBackends();
    const state = new TextEncoder().encode('{"inventory":[1,2,3]}');
    const signed = await createTicketIssuer({ keyRing: lobbyKeys.signing, issuer: parseBackendId('lobby') }).issue({
      clientUuid: PLAYER,
      target: parseBackendId('game'),
      state,
    });
    const decision = (await tickets.interceptReferral(referral({ host: b.address.host, port: b.address.port }, signed), context(ca))) as ReferralMigrate;
    expect(decision.action).toBe('migrate');
    const verified = await createTicketVerifier({ keyRing: net.proxyPublic, replayStore: createMemoryReplayStore() }).verify(decision.ticket, {
      clientUuid: PLAYER,
      source: parseBackendId(PROXY_ID),
      target: parseBackendId('game'),
    });
    expect(verified.state).toEqual({ kind: 'inline', bytes: state });
  });

  it('a referral from a backend whose keys the proxy does not have is forwarded (unknown-source)', async () => {
    const { b, ca, lobbyKeys, tickets } = await twoBackends({}, { sourceKeys: false });
    const decision = await tickets.interceptReferral(referral({ host: b.address.host, port: b.address.port }, await sourceTicket(lobbyKeys.signing)), context(ca));
    expect(decision).toMatchObject({ action: 'forward', reason: 'unknown-source', target: { id: 'game' } });
  });

  it("a pool whose policy is disabled forwards the referral before its nonce is consumed: once enabled, the same ticket migrates", async () => {
    const replayStore = createMemoryReplayStore();
    const pools = createPoolPolicy({ keyRing: net.proxyKeys, replayStore, requireSigningKey: true, pools: [parsePoolId('games')] });
    closers.add(pools, (p) => p.stop());
    const { b, ca, lobbyKeys, tickets } = await twoBackends({ pools, replayStore });
    const frame = referral({ host: b.address.host, port: b.address.port }, await sourceTicket(lobbyKeys.signing));
    // never probed: the store's health is unknown, so no pool is seamless
    expect(await tickets.interceptReferral(frame, context(ca))).toMatchObject({
      action: 'forward',
      reason: 'pool-disabled',
      poolStatus: { seamless: false, reason: 'replay-store-unprobed' },
    });
    await pools.probe();
    expect(tickets.poolStatus({ id: parseBackendId('game'), pool: parsePoolId('games') })).toEqual({ seamless: true });
    expect(await tickets.interceptReferral(frame, context(ca))).toMatchObject({ action: 'migrate' });
  });

  it('with a Redis replay store: migrates while Redis answers; with Redis stopped it fails closed (replay-store-unavailable), counted', async () => {
    const shared = createRedisReplayStore({ url: inject('redisUrl'), keyPrefix: `proxy-kit-test:${process.pid}:${Date.now()}:` });
    closers.add(shared, (s) => s.close());
    await shared.probe(); // connected: a store that has not connected yet answers `down`, as a stopped one does
    const up = await twoBackends({ replayStore: shared });
    const to = { host: up.b.address.host, port: up.b.address.port };
    expect(await up.tickets.interceptReferral(referral(to, await sourceTicket(up.lobbyKeys.signing)), context(up.ca))).toMatchObject({ action: 'migrate' });

    const server = await startRedisServer();
    closers.add(server, (s) => s.stop());
    const store: ReplayStore = closers.add(createRedisReplayStore({ url: server.url }), (s) => s.close());
    await store.probe();
    const { tickets, lobbyKeys, ca } = { ...up, tickets: policyOf([up.ca, up.cb], { replayStore: store, backendKeys: { lobby: up.lobbyKeys.public } }) };
    expect(await tickets.interceptReferral(referral(to, await sourceTicket(lobbyKeys.signing)), context(ca))).toMatchObject({ action: 'migrate' });
    await server.stop();
    const decision = await tickets.interceptReferral(referral(to, await sourceTicket(lobbyKeys.signing)), context(ca));
    expect(decision).toMatchObject({ action: 'forward', reason: 'replay-store-unavailable', code: 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE' });
    expect(tickets.counters()).toMatchObject({ referralsMigrated: 1, referralsForwarded: 1, forwardedByReason: { 'replay-store-unavailable': 1 } });
  });
});
