/**
 * The proxy session's surface over real sockets: its refusals and typed errors, `close()`, the record
 * and the directory kept in step with every migration without the author copying a field (memory and
 * Redis directories), events, traces and stats without a secret, packet hooks on live traffic, and a
 * player already held by another proxy.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { inspect } from 'node:util';
import {
  createProxySession,
  isProxyError,
  memoryTraceRecorder,
  proxyKitErrorCodes,
  type PacketHook,
  type ProxyErrorCode,
  type ProxySession,
} from '@handoff/proxy-kit';
import { MemoryDirectoryMap, createMemoryDirectory, createRedisDirectory, type SessionDirectory } from '@handoff/session';
import { connectStrictClient, type StrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, leaveAndSettle, network, once, playerGone, proxy, type ProxyInit } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

async function world(init: Partial<ProxyInit> = {}, firstBackend: Parameters<typeof backend>[1] extends infer I ? Partial<I> : never = {}) {
  const net = await network(closers);
  const a = await backend(net, { id: 'game-a', transport: 'tcp', ...firstBackend });
  const b = await backend(net, { id: 'game-b', transport: 'tcp' });
  const p = await proxy(net, { backends: [await configOf(a), await configOf(b)], ...init });
  const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
  return { net, a, b, p, client };
}

async function inWorld(client: StrictClient, p: Awaited<ReturnType<typeof proxy>>): Promise<ProxySession> {
  await client.inWorld();
  return p.session(client.clientUuid);
}

describe('refusals and errors', () => {
  it('refuses a migration before the first world (not-in-world), to the backend the player is on, a second one in flight, and after the end', async () => {
    let stalled = false;
    const { a, p, client } = await world({}, { onEvent: (e) => e.type === 'assets' && !stalled && ((stalled = true), void a.stall(e.player)) });
    const early = await p.session(client.clientUuid);
    await a.waitForEvent((e) => e.type === 'stalled'); // the client waits in setup: no PlayerOptions yet
    expect(await early.migrate('game-b')).toMatchObject({ kind: 'refused', refusal: 'not-in-world', migrationId: null });
    a.resume(client.clientUuid);
    const session = await inWorld(client, p);
    expect(await session.migrate('game-a')).toMatchObject({ kind: 'refused', refusal: 'already-on-backend' });
    const [first, second] = await Promise.all([session.migrate('game-b'), session.migrate('game-b')]);
    expect(first).toMatchObject({ kind: 'migrated' });
    expect(second).toMatchObject({ kind: 'refused', refusal: 'already-migrating' });
    await session.close();
    expect(await session.migrate('game-a')).toMatchObject({ kind: 'refused', refusal: 'session-closed' });
    expect(session.stats().migrations).toEqual({ 'refused:not-in-world': 1, 'refused:already-on-backend': 1, migrated: 1, 'refused:already-migrating': 1, 'refused:session-closed': 1 });
  });

  it('every code of the forwarding and session part is reached through the API, typed, and free of secrets', async () => {
    const { p, client } = await world();
    const session = await inWorld(client, p);
    const scenarios: Record<(typeof SESSION_CODES)[number], () => Promise<unknown>> = {
      ERR_PROXY_INVALID_ARGUMENT: () => createProxySession({} as never),
      ERR_PROXY_UNKNOWN_BACKEND: () => session.migrate('game-z'),
      ERR_PROXY_CLOSED: () => closedChannels(),
      ERR_PROXY_HOOK_FAILED: () => hookFailure(),
      ERR_PROXY_BACKEND_LOST: () => injectToLostBackend(),
      ERR_PROXY_CLIENT_GONE: () => clientGone(),
      ERR_PROXY_DUPLICATE_SESSION: () => duplicate(),
    };
    for (const code of SESSION_CODES) {
      expect(proxyKitErrorCodes).toHaveProperty(code);
      const error = await scenarios[code]().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isProxyError(error, code), `${code}, got ${String(error)}`).toBe(true);
      expect(`${(error as Error).message} ${inspect(error, { depth: 6 })}`).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    }
  });
});

/** The codes of the forwarding and session part (and the two general ones it throws). */
const SESSION_CODES = [
  'ERR_PROXY_INVALID_ARGUMENT',
  'ERR_PROXY_CLOSED',
  'ERR_PROXY_UNKNOWN_BACKEND',
  'ERR_PROXY_HOOK_FAILED',
  'ERR_PROXY_BACKEND_LOST',
  'ERR_PROXY_CLIENT_GONE',
  'ERR_PROXY_DUPLICATE_SESSION',
] as const satisfies readonly ProxyErrorCode[];

/** A hook that rewrites a packet into bytes that are not a frame: the packet is dropped and the session reports why. */
async function hookFailure(): Promise<never> {
  const bad: PacketHook = { name: 'bad', direction: 'ToServer', packets: ['ClientMovement'], handle: () => ({ action: 'rewrite', bytes: new Uint8Array(3) }) };
  const { p, client } = await world({ session: { hooks: { packets: [bad] } } });
  const session = await inWorld(client, p);
  const failed = once(session, 'hook:failed');
  client.sendMovement(1);
  const event = await failed;
  expect(event).toMatchObject({ hook: 'bad', direction: 'ToServer' });
  expect(session.stats().hookErrors).toBe(1);
  throw event.error;
}

/** A hook injects to the backend the player was on, after it died (the failover to a held fallback is still under way). */
async function injectToLostBackend(): Promise<never> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let failure: unknown;
  const inject: PacketHook = {
    direction: 'ToServer',
    packets: ['ClientMovement'],
    handle: async (frame, ctx) => void (await ctx.injectToBackend(frame.bytes).catch((e: unknown) => (failure = e))),
  };
  const net = await network(closers);
  const a = await backend(net, { id: 'game-a', transport: 'tcp' });
  const f = await backend(net, { id: 'fallback', transport: 'tcp', onSetupConnect: () => held.then(() => undefined) });
  const p = await proxy(net, {
    backends: [await configOf(a), await configOf(f)],
    session: { hooks: { packets: [inject] }, failover: { target: () => ({ id: 'fallback' }) as never } },
  });
  closers.add(null, () => release());
  const client = closers.add(await connectStrictClient({ address: p.address }), (c) => c.close());
  const session = await inWorld(client, p);
  await a.waitForEvent((e) => e.type === 'ready-for-gameplay');
  const lost = once(session, 'backend:lost');
  await a.crash();
  await lost;
  client.sendMovement(1);
  await new Promise<void>((resolve) => {
    const check = (): void => (failure !== undefined ? resolve() : void setImmediate(check));
    check();
  });
  release();
  throw failure;
}

/** Writing to the client's channels once they are closed. */
async function closedChannels(): Promise<never> {
  const { clientChannels } = await import('../../packages/proxy-kit/src/forward/client-channels.js');
  const { getGeneration } = await import('@handoff/protocol');
  const channels = clientChannels({} as never, getGeneration('G2'), {} as never);
  await channels.close();
  await channels.write('Default', new Uint8Array(8));
  throw new Error('written');
}

/** The client's connection refuses the uni streams a G3 server opens. */
async function clientGone(): Promise<never> {
  const { clientChannels } = await import('../../packages/proxy-kit/src/forward/client-channels.js');
  const { getGeneration } = await import('@handoff/protocol');
  const channels = clientChannels({ openStream: () => Promise.reject(new Error('no uni stream allowed')) } as never, getGeneration('G3'), {} as never);
  await channels.open();
  throw new Error('opened');
}

/** A second proxy of the network, sharing the directory, is asked to take a player the first holds. */
async function duplicate(): Promise<never> {
  const shared = new MemoryDirectoryMap();
  const net = await network(closers);
  const a = await backend(net, { id: 'game-a', transport: 'tcp' });
  const backends = [await configOf(a)];
  const one = await proxy(net, { backends, session: { directory: createMemoryDirectory({ proxyId: 'proxy-1', shared }) } });
  const two = await proxy(net, { backends, session: { directory: createMemoryDirectory({ proxyId: 'proxy-2', shared }) } });
  const clientUuid = crypto.randomUUID();
  const first = closers.add(await connectStrictClient({ address: one.address, clientUuid }), (c) => c.close());
  await first.inWorld();
  const second = closers.add(await connectStrictClient({ address: two.address, clientUuid }), (c) => c.close());
  await second.ended;
  expect(second.violations).toMatchObject([{ kind: 'disconnected', reason: 'You are already logged in on that account!' }]);
  throw await two.failure();
}

describe('close()', () => {
  it('disconnects the client with the message and takes the player off its backend', async () => {
    const { a, p, client } = await world();
    const session = await inWorld(client, p);
    await session.close('Proxy restarting');
    expect(await session.closed).toEqual({ reason: 'closed', message: 'Proxy restarting' });
    await client.ended;
    expect(client.violations).toMatchObject([{ kind: 'disconnected', reason: 'Proxy restarting' }]);
    await playerGone(a, client.clientUuid);
    expect(a.events.findLast((e) => e.type === 'disconnected')).toMatchObject({ kind: 'client-disconnect' });
  });
});

describe('the record and the directory follow every migration', () => {
  const directories: Array<[string, () => SessionDirectory]> = [
    ['memory', () => createMemoryDirectory({ proxyId: 'proxy-1' })],
    ['redis', () => createRedisDirectory({ url: inject('redisUrl'), proxyId: 'proxy-1', keyPrefix: `e2e:${crypto.randomUUID()}:` })],
  ];
  it.each(directories)('%s directory: claimed on join, phases and backend kept in step, released at the end', async (_, make) => {
    const directory = closers.add(make(), (d) => d.close());
    const seen: string[] = [];
    const watched: SessionDirectory = new Proxy(directory, {
      get(target, key, receiver) {
        if (key === 'update') {
          return (...args: Parameters<SessionDirectory['update']>) => {
            const u = args[2];
            seen.push(`${u.phase ?? ''}${u.backend ? `@${u.backend.id}` : ''}`);
            return target.update(...args);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const { a, b, p, client } = await world({ session: { directory: watched } });
    const session = await inWorld(client, p);
    expect(await directory.lookup(session.clientUuid)).toMatchObject({ sessionId: session.id, proxyId: 'proxy-1', backend: { id: 'game-a' }, phase: 'Idle' });
    expect(await session.migrate('game-b')).toMatchObject({ kind: 'migrated' });
    expect(await directory.lookup(session.clientUuid)).toMatchObject({ backend: { id: 'game-b' }, phase: 'Idle' });
    expect(seen).toEqual(['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Idle', 'Idle@game-b']);
    expect(session.record.backend).toMatchObject({ id: 'game-b' });
    expect(session.record.phase).toBe('Idle');
    expect(session.record.migrations).toMatchObject([{ source: { id: 'game-a' }, target: { id: 'game-b' }, outcome: 'migrated' }]);
    expect(session.record.chunks.size).toBe(session.record.snapshot().chunks.columns); // A's columns were forgotten at the cut
    await leaveAndSettle(client, [a, b]);
    await session.closed;
    expect(await directory.lookup(session.clientUuid)).toBeUndefined();
  });
});

describe('events, traces and stats', () => {
  it('report every phase, every frame with what the kit did with it, and never a secret', async () => {
    const trace = memoryTraceRecorder();
    const { a, b, p, client } = await world({ session: { trace } });
    const session = await inWorld(client, p);
    const phases: string[] = [];
    session.on('migration:phase', (e) => phases.push(e.phase));
    const results: string[] = [];
    session.on('migration:result', (e) => results.push(e.result.kind));
    client.sendMovement(10);
    await session.migrate('game-b');
    await client.worldsEntered(2);
    await leaveAndSettle(client, [a, b]);
    expect(phases).toEqual(['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Idle']);
    expect(results).toEqual(['migrated']);
    const actions = trace.records.map((r) => `${r.direction}:${r.name}:${r.action}`);
    expect(actions).toContain('ToClient:JoinWorld:rewritten');
    expect(actions).toContain('ToClient:ResetUserInterfaceState:injected');
    expect(actions.filter((x) => x === 'ToServer:ClientMovement:forwarded')).toHaveLength(10);
    const stats = session.stats();
    expect(stats.toServer.frames).toBeGreaterThan(10);
    expect(stats.toClient.frames).toBeGreaterThan(10);
    // nothing secret anywhere: not the proxy's tickets, not the record's secrets
    const everything = JSON.stringify([trace.records, stats, session.record]) + inspect(session.record);
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT (tickets, tokens)
    account(client, [a, b]);
    expect(client.violations).toEqual([]);
  });
});

describe('packet hooks on live traffic', () => {
  it('drop a client packet by a named rule, and inject a frame to the backend ahead of another', async () => {
    let movements = 0;
    const hooks: PacketHook[] = [
      { direction: 'ToServer', packets: ['ClientMovement'], handle: (_, ctx) => (++movements === 3 ? { action: 'drop', reason: 'third' } : undefined) },
      {
        direction: 'ToServer',
        packets: ['ClientReady'],
        handle: async (frame, ctx) => {
          if (frame.payload[1] === 1) await ctx.injectToBackend(ctx.direction === 'ToServer' ? viewRadius : new Uint8Array());
        },
      },
    ];
    const { getGeneration } = await import('@handoff/protocol');
    const viewRadius = getGeneration('G3').packet('ViewRadius').encodeFrame({ value: 96 });
    const { a, b, p, client } = await world({ session: { hooks: { packets: hooks } } });
    const session = await inWorld(client, p);
    client.sendMovement(5);
    await leaveAndSettle(client, [a, b]);
    expect(session.stats().droppedToServer).toEqual({ 'hook:third': 1 });
    const names = a.packetLog(client.clientUuid).map((x) => x.name);
    const ready = names.lastIndexOf('ClientReady'); // readyForGameplay, with the injected ViewRadius right before it
    expect(names[ready - 1]).toBe('ViewRadius');
    const lost: string[] = [];
    client.account([a, b], { mayDrop: (x) => (x.name === 'ClientMovement' ? (lost.push(x.name), true) : false) });
    expect(client.violations).toEqual([]);
    expect(lost).toHaveLength(1); // exactly the one the hook dropped
  });
});
