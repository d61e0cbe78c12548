/**
 * Every way a migration can fail, in the phase it fails in, ends in its typed outcome — and where
 * the player stays on A, nothing it sent is lost: the strict client still finds every packet in
 * order. Deadlines run on a manual clock (a deadline fires when the test says so, never by wall
 * time); faults are injected at a known point of the migration (a phase event, a stalled plugin, a
 * packet hook), never by timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deny, type ProxySession } from '@handoff/proxy-kit';
import { connectStrictClient, type SimulatedBackend, type StrictClient } from '@handoff/testkit';
import { createPoolPolicy, createMemoryReplayStore } from '@handoff/tickets';
import {
  Closers,
  ManualDeadlines,
  account,
  backend,
  configOf,
  downable,
  droppedBy,
  leaveAndSettle,
  network,
  once,
  proxy,
  type ProxyInit,
  type Network,
} from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

/** A player on A, moving, with its session. */
async function onA(
  net: Network,
  a: SimulatedBackend,
  b: SimulatedBackend,
  init: Partial<ProxyInit> = {},
): Promise<{ client: StrictClient; session: ProxySession; p: Awaited<ReturnType<typeof proxy>> }> {
  const p = await proxy(net, { backends: [await configOf(a), await configOf(b, 'games')], ...init });
  const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
  await client.inWorld();
  const session = await p.session(client.clientUuid);
  client.startMovement({ intervalMs: 5 });
  await client.movementSent(5);
  return { client, session, p };
}

/** The player stayed on A: it keeps moving there, leaves, and every packet is accounted for. */
async function stayedOnA(client: StrictClient, session: ProxySession, a: SimulatedBackend, b: SimulatedBackend): Promise<void> {
  const sent = client.counters.movementSent;
  await client.movementSent(sent + 10);
  client.stopMovement();
  expect(session.backend.id).toBe(a.id);
  await leaveAndSettle(client, [a, b]);
  const { sourceBound } = account(client, [a, b]);
  expect(client.violations).toEqual([]);
  expect(sourceBound).toBe(droppedBy([session], 'source-bound'));
  expect(client.report().counters).toMatchObject({ connections: 1, worlds: 1 });
}

describe('a migration that fails before the cut rolls back: the player stays on A, nothing lost', () => {
  it('Auth: B refuses the ticket (it does not trust the key) → rolled-back, the Disconnect reason kept', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'quic' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp', tickets: { keyRing: (await net.backendKeys('stranger')).public } });
    const { client, session } = await onA(net, a, b);

    const result = await session.migrate('game-b');
    expect(result).toMatchObject({
      kind: 'rolled-back',
      phase: 'Auth',
      reason: { code: 'ERR_MIGRATION_STEP_FAILED', actor: 'auth', cause: 'ERR_PROXY_SETUP_DISCONNECTED' },
    });
    expect(b.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'refused' });
    await stayedOnA(client, session, a, b);
    expect(session.record.migrations).toMatchObject([{ outcome: 'rolled-back', phase: 'Auth', reason: 'ERR_MIGRATION_STEP_FAILED' }]);
  });

  it('Sync: B stalls in setup → the sync deadline rolls it back', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'quic' });
    // B takes the RequestAssets, sends the assets, then hangs (reads and sends nothing more)
    const b = await backend(net, { id: 'game-b', transport: 'quic', onEvent: (e) => e.type === 'assets' && void b.stall(e.player) });
    const clock = new ManualDeadlines();
    const { client, session } = await onA(net, a, b, { session: { migration: { clock } } });

    const synced = once(session, 'migration:phase', (e) => e.phase === 'Sync');
    const result = session.migrate('game-b');
    await synced;
    await b.waitForEvent((e) => e.type === 'stalled');
    clock.advance(30_000); // the sync deadline (default 30 s)
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Sync', reason: { code: 'ERR_MIGRATION_DEADLINE', deadline: 'sync' } });
    await stayedOnA(client, session, a, b);
  });

  it('Freeze: the buffer overflows → rolled back, the buffered packets drained to A in order', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp' });
    const { client, session } = await onA(net, a, b, {
      session: {
        migration: { limits: { maxPackets: 8 } },
        // Freeze holds until the machine gives up on it: the client's packets pile up in the buffer
        hooks: { freeze: ({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })) },
      },
    });

    const result = await session.migrate('game-b');
    expect(result).toMatchObject({
      kind: 'rolled-back',
      phase: 'Freeze',
      reason: { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', overflow: { scope: 'migration', dimension: 'packets' } },
    });
    await stayedOnA(client, session, a, b);
  });

  it('Idle: a beforeMigrate hook denies → refused, nothing opened', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'quic' });
    const b = await backend(net, { id: 'game-b', transport: 'quic' });
    const { client, session } = await onA(net, a, b, { session: { hooks: { beforeMigrate: () => deny('game-b is full') } } });

    expect(await session.migrate('game-b')).toMatchObject({ kind: 'refused', refusal: 'denied', reason: 'game-b is full', trigger: 'api' });
    expect(b.counters.connections).toBe(0);
    await stayedOnA(client, session, a, b);
  });

  it('the replay store is down: the pool policy disables seamless migration → refused (pool-disabled), nothing opened', async () => {
    const store = downable(createMemoryReplayStore());
    const net = await network(closers, store);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp' });
    const pools = createPoolPolicy({ keyRing: net.proxyKeys, replayStore: store, requireSigningKey: true });
    const { createTicketPolicy } = await import('@handoff/proxy-kit');
    const backends = [await configOf(a), await configOf(b, 'games')];
    const tickets = createTicketPolicy({ proxyId: 'proxy-1', keyRing: net.proxyKeys, replayStore: store, backends, backendKeys: {}, pools });
    const { client, session } = await onA(net, a, b, { tickets });

    expect(await pools.probe()).toMatchObject({ healthy: true });
    store.down = true;
    expect(await pools.probe()).toMatchObject({ healthy: false, reason: 'down' });
    expect(await session.migrate('game-b')).toMatchObject({ kind: 'refused', refusal: 'pool-disabled' });
    expect(b.counters.connections).toBe(0);
    store.down = false;
    await stayedOnA(client, session, a, b);
  });

  it('the replay store is down and no pool policy watches it: B cannot check the ticket and refuses → rolled-back', async () => {
    const store = downable(createMemoryReplayStore());
    const net = await network(closers, store);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    const b = await backend(net, { id: 'game-b', transport: 'tcp' });
    const { client, session } = await onA(net, a, b);

    store.down = true;
    expect(await session.migrate('game-b')).toMatchObject({ kind: 'rolled-back', phase: 'Auth', reason: { cause: 'ERR_PROXY_SETUP_DISCONNECTED' } });
    expect(b.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'refused', code: 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE' });
    store.down = false;
    await stayedOnA(client, session, a, b);
  });
});

describe('a migration that fails where A cannot take the player back ends in a referral (the client reconnects)', () => {
  it('B dies after Freeze → referred; the client follows the referral to the proxy and plays on', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'quic' });
    const b = await backend(net, { id: 'game-b', transport: 'quic' });
    let lost: Promise<unknown> | undefined;
    const p = await proxy(net, {
      backends: [await configOf(a), await configOf(b)],
      session: {
        // the client's ClientReady for B waits until the kit has seen B die, so B cannot take it first
        hooks: { packets: [{ direction: 'ToServer', packets: ['ClientReady'], handle: async () => void (await lost) }] },
      },
    });
    const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    session.on('migration:phase', ({ phase }) => {
      if (phase !== 'Cutover') return;
      const seen = once(session, 'backend:lost', (e) => e.role === 'target');
      lost = b.crash().then(() => seen);
    });

    const result = await session.migrate('game-b');
    expect(result).toMatchObject({ kind: 'referred', reason: { code: 'ERR_MIGRATION_STEP_FAILED' } });
    expect(['Cutover', 'Resume']).toContain((result as { phase: string }).phase);
    // the referral names the proxy: the client reconnects, and the proxy joins it to A again
    const second = await p.session(client.clientUuid, 1);
    expect(await session.closed).toEqual({ reason: 'referred' });
    await client.worldsEntered(2);
    expect(second.backend.id).toBe('game-a');
    await leaveAndSettle(client, [a]);
    expect(client.violations.map((v) => v.kind).sort()).toEqual(['missing-set-client-id', 'reconnect']);
  });

  it('A dies mid-migration (Auth) → the source is lost: referred; the client reconnects and lands on B', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'tcp' });
    let releaseSetup!: () => void;
    const setupHeld = new Promise<void>((resolve) => (releaseSetup = resolve));
    let held = 0;
    // B's plugin holds the first player it sees in setup (the migration's join) until the test lets go
    const b = await backend(net, { id: 'game-b', transport: 'tcp', onSetupConnect: async () => void (held++ === 0 && (await setupHeld)) });
    const backends = [await configOf(a), await configOf(b)];
    const p = await proxy(net, { backends, first: () => (a.players.length > 0 || held === 0 ? backends[0]! : backends[1]!) });
    closers.add(null, () => releaseSetup());
    const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);

    const result = session.migrate('game-b');
    await b.waitForEvent((e) => e.type === 'ticket' && e.result === 'accepted');
    await a.crash();
    expect(await result).toMatchObject({ kind: 'referred', phase: 'Auth', reason: { code: 'ERR_MIGRATION_SOURCE_LOST' } });
    releaseSetup(); // B's plugin lets the abandoned join go on: B then sees the proxy's close
    const second = await p.session(client.clientUuid, 1);
    await client.worldsEntered(2);
    expect(second.backend.id).toBe('game-b');
    await leaveAndSettle(client, [b]);
    expect(client.violations.map((v) => v.kind)).toEqual(['reconnect']);
  });
});
