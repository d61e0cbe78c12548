/**
 * The Redis client of a store: one the caller owns (adopted, kept open), or one the store opens from a
 * URL with fail-fast options, waits for, and closes.
 */
import type { Logger } from '@handoff/types';
import { Redis, type RedisOptions } from 'ioredis';

/** Either a client you own (kept open by the store) or a URL (the store opens and closes its own client). */
export type RedisSource =
  | { readonly redis: Redis; readonly url?: undefined; readonly redisOptions?: undefined }
  | { readonly url: string; readonly redis?: undefined; readonly redisOptions?: RedisOptions | undefined };

/** A client and whether the store owns it. */
export interface RedisHandle {
  readonly redis: Redis;
  readonly owned: boolean;
}

/**
 * Options of owned clients: no offline queue (a command while disconnected fails at once instead of
 * running later), one retry per request, reconnect forever with a capped back-off.
 */
export const FAIL_FAST_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
};

/**
 * Opens (or adopts) the client described by `source`; connection errors go to `logger.debug` (with
 * `component`), never to the console. Callers validate `source` first and throw their own typed error;
 * a source with neither `redis` nor `url` is a `TypeError` here (a bug in the calling store).
 */
export function openRedis(source: RedisSource, logger: Logger | undefined, component: string): RedisHandle {
  if (source.redis !== undefined) return { redis: source.redis, owned: false };
  if (typeof source.url !== 'string') throw new TypeError('a Redis store needs `redis` (a client) or `url`');
  const redis = new Redis(source.url, { ...FAIL_FAST_REDIS_OPTIONS, ...source.redisOptions });
  // Without a listener ioredis prints unhandled errors to the console; route them to the logger.
  redis.on('error', (error: Error) => logger?.debug?.({ component, err: { name: error.name, message: error.message } }, 'redis connection error'));
  return { redis, owned: true };
}

/** Resolves when `redis` is ready; rejects when it is closed for good or `signal` aborts. */
export function waitReady(redis: Redis, signal: AbortSignal | undefined): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end') return Promise.reject(new Error('connection closed'));
  if (redis.status === 'wait') redis.connect().catch(() => {});
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      redis.off('ready', onReady);
      redis.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('connection closed'));
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    redis.once('ready', onReady);
    redis.once('end', onEnd);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Closes an owned client (QUIT bounded by `timeoutMs`, then a hard disconnect); leaves adopted ones open. */
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
    // status changes while awaiting QUIT (TypeScript keeps the earlier narrowing)
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}
