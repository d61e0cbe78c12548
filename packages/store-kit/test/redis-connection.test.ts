import { Redis } from 'ioredis';
import type {} from '../../../test/support/redis-global-setup.js';
import { expect, inject, test } from 'vitest';
import { closeRedis, openRedis, waitReady } from '@handoff/store-kit';

const url = inject('redisUrl');

test('an owned client from a URL becomes ready, answers, and is closed by closeRedis', async () => {
  const handle = openRedis({ url }, undefined, 'test');
  expect(handle.owned).toBe(true);
  await waitReady(handle.redis, undefined);
  expect(await handle.redis.ping()).toBe('PONG');
  await closeRedis(handle, 500);
  await expect(handle.redis.ping()).rejects.toThrow(); // closed: nothing is queued for later
});

test('an adopted client is used as it is and left open', async () => {
  const mine = new Redis(url);
  const handle = openRedis({ redis: mine }, undefined, 'test');
  expect(handle).toMatchObject({ redis: mine, owned: false });
  await waitReady(mine, undefined);
  await closeRedis(handle, 500);
  expect(await mine.ping()).toBe('PONG');
  mine.disconnect();
});

test('commands fail at once while disconnected (no offline queue), and the wait for readiness can be aborted', async () => {
  const logged: object[] = [];
  const handle = openRedis({ url: 'redis://127.0.0.1:1' }, { debug: (obj) => logged.push(obj) }, 'unreachable');
  await expect(handle.redis.ping()).rejects.toThrow();
  await expect(waitReady(handle.redis, AbortSignal.timeout(200))).rejects.toThrow();
  await closeRedis(handle, 100);
  expect(logged.every((entry) => (entry as { component?: string }).component === 'unreachable')).toBe(true);
});

test('a source without a client or a URL is a TypeError', () => {
  expect(() => openRedis({} as never, undefined, 'x')).toThrow(TypeError);
});
