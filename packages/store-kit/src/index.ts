/**
 * `@handoff/store-kit`: shared plumbing of the Redis-backed stores (the ticket replay and state stores,
 * the session directory). Internal to Handoff's packages; its API follows theirs.
 *
 * @example
 * ```ts
 * import { closeRedis, openRedis, waitReady, withDeadline } from '@handoff/store-kit';
 *
 * const { redis, owned } = openRedis({ url: 'redis://127.0.0.1:6379' }, logger, 'my-store');
 * await withDeadline((signal) => waitReady(redis, signal), { timeoutMs: 2_000 }, (kind) => new Error(`redis ${kind}`));
 * await closeRedis({ redis, owned }, 500);
 * ```
 */
export { FAIL_FAST_REDIS_OPTIONS, closeRedis, openRedis, waitReady, type RedisHandle, type RedisSource } from './redis-connection.js';
export { withDeadline, type DeadlineKind, type DeadlineOptions } from './deadline.js';
