/**
 * The Redis client of a directory: one you own (kept open), or one it opens from a URL with fail-fast
 * options (no offline queue: a command while disconnected fails at once instead of running later).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

/** Either a client you own (kept open by the directory) or a URL (the directory opens and closes its own client). */
export type RedisSource =
  | { readonly redis: Redis; readonly url?: undefined; readonly redisOptions?: undefined }
  | { readonly url: string; readonly redis?: undefined; readonly redisOptions?: RedisOptions | undefined };

/** @internal A client and whether the directory owns it. */
export interface RedisHandle {
  readonly redis: Redis;
  readonly owned: boolean;
}

/** Options of owned clients: fail fast while disconnected, reconnect forever with a capped back-off. */
export const FAIL_FAST_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
};

/** @internal */
export function openRedis(source: RedisSource, logger: Logger | undefined): RedisHandle {
  if (source.redis !== undefined) return { redis: source.redis, owned: false };
  if (typeof source.url !== 'string') throw new TypeError('a Redis directory needs `redis` (a client) or `url`');
  const redis = new Redis(source.url, { ...FAIL_FAST_REDIS_OPTIONS, ...source.redisOptions });
  // Without a listener ioredis prints connection errors to the console; route them to the logger.
  redis.on('error', (error: Error) => logger?.debug?.({ component: 'session-directory', err: { name: error.name, message: error.message } }, 'redis connection error'));
  return { redis, owned: true };
}

/** @internal Resolves when `redis` is ready; rejects when it ends for good. */
export function waitReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new Error('connection closed'));
  if (redis.status === 'wait') redis.connect().catch(() => {});
  return new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      redis.off('end', onEnd);
      resolve();
    };
    const onEnd = (): void => {
      redis.off('ready', onReady);
      reject(new Error('connection closed'));
    };
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
}

/** @internal Closes an owned client (QUIT bounded by `timeoutMs`, then a hard disconnect); leaves adopted ones open. */
export async function closeRedis(handle: RedisHandle, timeoutMs = 1_000): Promise<void> {
  const { redis } = handle;
  if (!handle.owned || redis.status === 'end') return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (redis.status === 'ready') {
      await Promise.race([redis.quit(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    }
  } catch {
    // fall through to the hard disconnect
  } finally {
    clearTimeout(timer);
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}
