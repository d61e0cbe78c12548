/**
 * The session directory: the same contract for memory and Redis (against a real redis-server from the
 * project's global setup, or HANDOFF_REDIS_URL; never skipped), plus what only Redis has: the key
 * layout, the absence of secrets in what is stored, and failing fast when Redis is down.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { parseClientUuid, type ClientUuid } from '@handoff/types';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryDirectoryMap,
  SessionRecord,
  claimOf,
  createCaptureTap,
  createMemoryDirectory,
  createRedisDirectory,
  createSessionStore,
  type SessionDirectory,
} from '@handoff/session';
import { PLAYER, SECRET_MARKERS, SECRET_STRINGS, backend, mid, sid } from './support/frames.js';
import { directoryContract } from './support/directory-contract.js';
import { playSession } from './support/scenario.js';
import { redisUrl as getRedisUrl } from './support/redis-url.js';

const redisUrl = getRedisUrl();

let admin: Redis;
const closers: Array<() => Promise<unknown>> = [];
const prefixes: string[] = [];

beforeAll(async () => {
  admin = new Redis(redisUrl, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  await admin.quit();
});

function until(check: () => Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  return (async () => {
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
}

directoryContract('memory', async () => {
  let clock = 1_700_000_000_000;
  const shared = new MemoryDirectoryMap();
  const proxies = new Map<string, SessionDirectory>();
  return {
    proxy(proxyId) {
      let d = proxies.get(proxyId);
      if (!d) proxies.set(proxyId, (d = createMemoryDirectory({ proxyId, ttlMs: 30_000, now: () => clock, shared })));
      return d;
    },
    async expire() {
      clock += 30_000;
    },
    async pass() {
      clock += 5;
    },
  };
});

directoryContract('redis', async () => {
  const keyPrefix = `handoff:test:${randomUUID()}:`;
  prefixes.push(keyPrefix);
  const proxies = new Map<string, SessionDirectory>();
  return {
    proxy(proxyId) {
      let d = proxies.get(proxyId);
      if (!d) {
        d = createRedisDirectory({ url: redisUrl, proxyId, keyPrefix, ttlMs: 30_000 });
        const dir = d;
        closers.push(() => dir.close());
        proxies.set(proxyId, d);
      }
      return d;
    },
    async expire(clientUuid: ClientUuid) {
      // the proxy died: nobody heartbeats; shorten what is left of its lifetime and let Redis drop it
      const key = `${keyPrefix}player:${clientUuid}`;
      await admin.pexpire(key, 1);
      await until(async () => (await admin.exists(key)) === 0, 'Redis to expire the entry');
    },
    async pass() {
      await new Promise((r) => setTimeout(r, 5));
    },
  };
});

describe('memory directory', () => {
  it('sweeps expired entries of players nobody asks about again', async () => {
    let clock = 0;
    const shared = new MemoryDirectoryMap();
    const dir = createMemoryDirectory({ proxyId: 'p', ttlMs: 1000, now: () => clock, shared });
    for (let i = 0; i < 300; i++) await dir.claim({ clientUuid: parseClientUuid(randomUUID()), sessionId: sid(`s${i}`), backend: backend('a') });
    clock += 1000;
    for (let i = 0; i < 300; i++) await dir.lookup(PLAYER);
    expect(shared.size).toBe(0);
  });

  it('a Redis directory with neither a client nor a URL is a typed error', () => {
    expect(() => createRedisDirectory({ proxyId: 'p' } as never)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_INVALID_ARGUMENT' }));
  });

  it('a closed directory refuses calls with a typed error', async () => {
    const dir = createMemoryDirectory();
    await dir.close();
    await expect(dir.lookup(PLAYER)).rejects.toMatchObject({ code: 'ERR_SESSION_DIRECTORY_UNAVAILABLE' });
  });
});

describe('redis directory', () => {
  it('stores one hash per player with the documented fields and TTL, and no secret', async () => {
    const keyPrefix = `handoff:test:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    const dir = createRedisDirectory({ url: redisUrl, proxyId: 'proxy-1', keyPrefix, ttlMs: 20_000 });
    closers.push(() => dir.close());
    const store = createSessionStore();
    const record = store.create({ backend: backend('lobby-1', 'lobby') });
    playSession(createCaptureTap(record));
    expect(record.secretNames()).toHaveLength(7);
    await dir.claim(claimOf(record));
    await dir.update(PLAYER, record.id, { phase: 'Prepare', migrationId: mid('mig-1') });

    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys).toEqual([`${keyPrefix}player:${PLAYER}`]);
    const hash = await admin.hgetall(keys[0]!);
    expect(Object.keys(hash).sort()).toEqual(['backend', 'claimedAt', 'expiresAt', 'migration', 'phase', 'pool', 'proxy', 'session', 'updatedAt']);
    expect(hash).toMatchObject({ proxy: 'proxy-1', session: record.id, backend: 'lobby-1', pool: 'lobby', phase: 'Prepare', migration: 'mig-1' });
    const ttl = await admin.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(20_000);
    // Redis expires the key at exactly the stored instant (PEXPIREAT), so the two cannot disagree
    expect(Number(await admin.call('PEXPIRETIME', keys[0]!))).toBe(Number(hash['expiresAt']));
    // everything Redis holds under the prefix, dumped raw
    const dumped = (await Promise.all(keys.map(async (k) => `${k}\n${JSON.stringify(await admin.hgetall(k))}\n${(await admin.dumpBuffer(k))!.toString('latin1')}`))).join('\n');
    for (const s of [...SECRET_STRINGS, ...SECRET_MARKERS]) expect(dumped.includes(s), s).toBe(false);
  });

  it('uses the Redis server clock: claimedAt and expiresAt agree with TIME', async () => {
    const keyPrefix = `handoff:test:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    const dir = createRedisDirectory({ url: redisUrl, proxyId: 'p', keyPrefix, ttlMs: 10_000 });
    closers.push(() => dir.close());
    const [s, us] = await admin.time();
    const before = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const r = await dir.claim({ clientUuid: PLAYER, sessionId: sid('s'), backend: backend('a') });
    expect(r.claimed && r.entry.claimedAt).toBeGreaterThanOrEqual(before);
    expect(r.claimed && r.entry.expiresAt - r.entry.claimedAt).toBe(10_000);
  });

  it('reports one expiry per write: update and every later lookup agree to the millisecond', async () => {
    const keyPrefix = `handoff:test:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    const dir = createRedisDirectory({ url: redisUrl, proxyId: 'p', keyPrefix, ttlMs: 10_000 });
    closers.push(() => dir.close());
    await dir.claim({ clientUuid: PLAYER, sessionId: sid('s'), backend: backend('a') });
    for (let i = 0; i < 20; i += 1) {
      const written = await dir.update(PLAYER, sid('s'), { phase: i % 2 === 0 ? 'Sync' : 'Idle' });
      // reads spread over a few milliseconds of server time must all see the written instant
      for (let j = 0; j < 3; j += 1) expect((await dir.lookup(PLAYER))?.expiresAt).toBe(written.expiresAt);
    }
  });

  it('expires on its own with a short TTL when nobody heartbeats', async () => {
    const keyPrefix = `handoff:test:${randomUUID()}:`;
    prefixes.push(keyPrefix);
    const dir = createRedisDirectory({ url: redisUrl, proxyId: 'p', keyPrefix, ttlMs: 50 });
    closers.push(() => dir.close());
    await dir.claim({ clientUuid: PLAYER, sessionId: sid('s'), backend: backend('a') });
    await until(async () => (await dir.lookup(PLAYER)) === undefined, 'the entry to expire');
    await expect(dir.heartbeat(PLAYER, sid('s'))).rejects.toMatchObject({ code: 'ERR_SESSION_NOT_OWNER' });
  });

  it('fails fast with a typed error when Redis is down, and leaves an adopted client open on close', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const down = createRedisDirectory({ url: `redis://127.0.0.1:${port}`, proxyId: 'p', timeoutMs: 300 });
    closers.push(() => down.close());
    const error = await down.claim({ clientUuid: PLAYER, sessionId: sid('s'), backend: backend('a') }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SessionError', code: 'ERR_SESSION_DIRECTORY_UNAVAILABLE' });
    expect(String((error as Error).message)).not.toContain(PLAYER);

    const client = new Redis(redisUrl, { lazyConnect: true });
    await client.connect();
    const adopted = createRedisDirectory({ redis: client, proxyId: 'p', keyPrefix: `handoff:test:${randomUUID()}:` });
    await adopted.close();
    expect(client.status).toBe('ready');
    await expect(adopted.lookup(PLAYER)).rejects.toMatchObject({ code: 'ERR_SESSION_DIRECTORY_UNAVAILABLE' });
    await client.quit();
  });

  it('claimOf needs a Connect and a backend', () => {
    const record = new SessionRecord();
    expect(() => claimOf(record)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_INVALID_ARGUMENT' }));
  });
});
