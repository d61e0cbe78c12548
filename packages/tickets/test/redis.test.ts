/**
 * The Redis replay and state stores against a real redis-server (started by the project's global
 * setup, or HANDOFF_REDIS_URL). Never skipped: without Redis these tests fail with a clear message.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type {} from '../../../test/support/redis-global-setup.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  TicketError,
  createKeyRing,
  createPoolPolicy,
  createRedisReplayStore,
  createRedisStateStore,
  createTicketIssuer,
  createTicketVerifier,
  loadTicketState,
  type RedisReplayStore,
} from '@handoff/tickets';
import { parsePoolId } from '@handoff/types';
import { BINDING, CLIENT, SOURCE, T0, TARGET, TEST_ED25519_JWK, TEST_HS256_SECRET, expectCode, testClock } from './support/fixtures.js';
import { freePort, privateRedis, silentServer } from './support/private-redis.js';

const redisUrl = inject('redisUrl');
if (typeof redisUrl !== 'string' || redisUrl.length === 0) {
  throw new Error(
    'redisUrl was not provided: packages/tickets/vitest.config.ts must list ../../test/support/redis-global-setup.ts in globalSetup ' +
      '(it starts redis-server; install it with scripts/services.sh, or set HANDOFF_REDIS_URL)',
  );
}

const prefix = `handoff:test:${randomUUID()}:`;
let admin: Redis;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  admin = new Redis(redisUrl, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function readyStore(options: { keyPrefix?: string } = {}): Promise<RedisReplayStore> {
  const store = createRedisReplayStore({ url: redisUrl, keyPrefix: options.keyPrefix ?? `${prefix}jti:` });
  closers.push(() => store.close());
  await store.probe();
  return store;
}

async function keys() {
  const clock = testClock(T0);
  const keyRing = createKeyRing({ now: clock.now });
  await keyRing.add({ kid: 'ed', jwk: TEST_ED25519_JWK });
  await keyRing.add({ kid: 'hs', secret: TEST_HS256_SECRET });
  return { clock, keyRing };
}

describe('Redis replay store', () => {
  it('records a nonce once, atomically, with an expiry under the configured prefix', async () => {
    const store = await readyStore({ keyPrefix: `${prefix}custom:` });
    expect(store.keyPrefix).toBe(`${prefix}custom:`);
    expect(await store.consume('nonce-a', { ttlMs: 40_000 })).toBe('fresh');
    expect(await store.consume('nonce-a', { ttlMs: 40_000 })).toBe('replayed');
    const ttl = await admin.pttl(`${prefix}custom:nonce-a`);
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(40_000);
    expect(await admin.get(`${prefix}custom:nonce-a`)).toBe('1');
  });

  it('lets exactly one of two verifiers sharing one Redis accept the same ticket, verified concurrently', async () => {
    const { clock, keyRing } = await keys();
    // two proxies: separate key-ring-equivalent verifiers with their own Redis connections
    const verifiers = await Promise.all(
      [1, 2].map(async () => createTicketVerifier({ keyRing, replayStore: await readyStore(), now: clock.now })),
    );
    const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now });
    for (let round = 0; round < 25; round++) {
      const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
      const results = await Promise.allSettled(verifiers.map((v) => v.verify(token, BINDING)));
      const fulfilled = results.filter((r) => r.status === 'fulfilled');
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toBeInstanceOf(TicketError);
      expect((rejected[0]!.reason as TicketError).code).toBe('ERR_TICKET_REPLAYED');
    }
  });

  it('lets exactly one of eight concurrent verifications win', async () => {
    const { clock, keyRing } = await keys();
    const store = await readyStore();
    const verifiers = Array.from({ length: 8 }, () => createTicketVerifier({ keyRing, replayStore: store, now: clock.now }));
    const token = await createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET });
    const results = await Promise.allSettled(verifiers.map((v) => v.verify(token, BINDING)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('fails closed when Redis is unreachable, and the pool policy reports it', async () => {
    const { clock, keyRing } = await keys();
    const store = createRedisReplayStore({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: `${prefix}jti:`, probeTimeoutMs: 300 });
    closers.push(() => store.close());
    const verifier = createTicketVerifier({ keyRing, replayStore: store, now: clock.now });
    const token = await createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET });
    expect((await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE')).reason).toBe('down');
    await expect(store.probe()).rejects.toMatchObject({ code: 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE' });
    const policy = createPoolPolicy({ keyRing, replayStore: store, now: clock.now, probeTimeoutMs: 300 });
    expect((await policy.probe()).healthy).toBe(false);
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'replay-store-unavailable' });
    policy.stop();
  });

  it('fails closed when Redis goes down, and recovers when it comes back', async () => {
    const server = await privateRedis();
    closers.push(() => server.stop());
    const { clock, keyRing } = await keys();
    const store = createRedisReplayStore({ url: server.url, keyPrefix: `${prefix}jti:`, probeTimeoutMs: 5_000 });
    closers.push(() => store.close());
    const policy = createPoolPolicy({ keyRing, replayStore: store, now: clock.now, probeTimeoutMs: 5_000 });
    await policy.probe();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
    const verifier = createTicketVerifier({ keyRing, replayStore: store, now: clock.now });
    const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now });
    await expect(verifier.verify(await issuer.issue({ clientUuid: CLIENT, target: TARGET }), BINDING)).resolves.toBeDefined();

    await server.stop();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    const probeDown = createPoolPolicy({ keyRing, replayStore: store, now: clock.now, probeTimeoutMs: 200 });
    expect((await probeDown.probe()).healthy).toBe(false);
    expect(probeDown.status(parsePoolId('lobby')).reason).toBe('replay-store-unavailable');

    await server.start();
    expect((await policy.probe()).healthy).toBe(true); // the probe waits for the reconnect
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
    // the refused ticket was never recorded: it verifies now
    await expect(verifier.verify(token, BINDING)).resolves.toBeDefined();
    policy.stop();
    probeDown.stop();
  });

  it('bounds the wait on a Redis that accepts connections but never answers', async () => {
    const silent = await silentServer();
    closers.push(() => silent.close());
    const { clock, keyRing } = await keys();
    const store = createRedisReplayStore({ url: silent.url, keyPrefix: `${prefix}jti:`, redisOptions: { enableReadyCheck: false, disableClientInfo: true } });
    closers.push(() => store.close());
    const verifier = createTicketVerifier({ keyRing, replayStore: store, now: clock.now, replayTimeoutMs: 100 });
    const token = await createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET });
    // until connected the store reports `down`; once "ready" the SET hangs and the deadline fires
    let error = await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    for (let i = 0; i < 500 && error.reason === 'down'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      error = await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    }
    expect(error.reason).toBe('timeout');
  });

  it('closes the client it opened but leaves an adopted client open', async () => {
    const adopted = new Redis(redisUrl);
    closers.push(() => adopted.quit());
    const store = createRedisReplayStore({ redis: adopted, keyPrefix: `${prefix}jti:` });
    await store.probe();
    await store.close();
    expect(await adopted.ping()).toBe('PONG');
    const owned = await readyStore();
    await owned.close();
    await expectCode(owned.consume('x', { ttlMs: 1000 }), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
  });
});

describe('Redis state store', () => {
  it('carries state by reference from issuer to verifier, checked by SHA-256', async () => {
    const { clock, keyRing } = await keys();
    const stateStore = createRedisStateStore({ url: redisUrl, keyPrefix: `${prefix}state:` });
    closers.push(() => stateStore.close());
    const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now, stateStore });
    const verifier = createTicketVerifier({ keyRing, replayStore: await readyStore(), now: clock.now });
    const state = new Uint8Array(20_000).map((_, i) => i % 251);
    // issued right after creation: the state store waits for its connection within the issuer's deadline
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, state });
    const ticket = await verifier.verify(token, BINDING);
    expect(ticket.state?.kind).toBe('reference');
    const ref = (ticket.state as { ref: string }).ref;
    const ttl = await admin.pttl(`${prefix}state:${ref}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000); // ticket ttl 30 s + grace 30 s
    expect(await loadTicketState(ticket, { store: stateStore })).toEqual(state);
    // a substituted value in Redis is refused
    const tampered = Buffer.from(state);
    tampered[0] = tampered[0]! ^ 1;
    await admin.set(`${prefix}state:${ref}`, tampered);
    await expectCode(loadTicketState(ticket, { store: stateStore }), 'ERR_TICKET_STATE_MISMATCH');
    await admin.del(`${prefix}state:${ref}`);
    expect((await expectCode(loadTicketState(ticket, { store: stateStore }), 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('missing');
  });
});
