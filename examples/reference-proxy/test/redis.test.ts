/**
 * `redis.url`: the ticket replay store and the session directory in Redis (a throwaway redis-server,
 * test/support/redis-global-setup.ts), and a Redis that does not answer at start.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedisDirectory, type SessionDirectory } from '@handoff/session';
import { checkProxyConfig, startProxy } from '@handoff/reference-proxy';
import { Harness } from './support/harness.js';

describe('redis.url', () => {
  let h: Harness | undefined;
  let directory: SessionDirectory | undefined;
  afterAll(async () => {
    await h?.close();
    await directory?.close();
  });

  it('the session directory and the replay store live in Redis: the entry is claimed at the join and released at the end', async () => {
    const url = inject('redisUrl');
    h = await Harness.start({ config: { redis: { url, keyPrefix: `test-${process.pid}:` } } });
    directory = createRedisDirectory({ url, proxyId: 'observer', keyPrefix: `test-${process.pid}:` });
    const client = await h.client();
    const session = h.session(client);
    expect(await directory.lookup(client.clientUuid)).toMatchObject({ proxyId: 'proxy', sessionId: session.id, backend: { id: 'a' } });
    const result = h.nextResult(session);
    expect((await h.api('POST', `/sessions/${client.clientUuid}/migrate`, { target: 'b' })).status).toBe(202);
    expect(await result).toMatchObject({ kind: 'migrated' });
    const backends = await h.api('GET', '/backends');
    expect(backends.body.pools).toEqual([{ id: 'default', seamless: true, reason: null, fallback: 'default' }]);
    // the session releases its entry (after its queued updates) before it reports its end
    const closed = new Promise((resolve) => session.on('closed', resolve));
    await client.leave();
    await closed;
    expect(await directory.lookup(client.clientUuid)).toBeUndefined();
  }, 60_000);

  it('a Redis that does not answer at start: ERR_REFERENCE_PROXY_START, its password never shown', async () => {
    const config = checkProxyConfig(
      {
        listen: { address: '127.0.0.1:0' },
        admin: { address: '127.0.0.1:0' },
        backends: { a: { address: 'tcp://127.0.0.1:1' } },
        clientAuth: { mode: 'none' },
        redis: { url: 'redis://user:s3cret-password@127.0.0.1:1' },
      },
      {},
    );
    const error = await startProxy(config, { env: {}, logger: (await import('@handoff/reference-proxy')).createProxyLogger({ level: 'silent' }) }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe('ERR_REFERENCE_PROXY_START');
    expect(error?.message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:1 does not answer: /);
    expect(JSON.stringify({ message: error?.message, cause: String((error as { cause?: unknown }).cause) })).not.toContain('s3cret');
  }, 30_000);
});
