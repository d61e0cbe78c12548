/**
 * The replay-store contract: records a ticket nonce once, atomically, for a bounded time.
 * Implementations: {@link createMemoryReplayStore} (one process) and {@link createRedisReplayStore}
 * (shared by every proxy and backend of a network).
 */
import { openRedis, type RedisHandle, type RedisSource } from '@handoff/store-kit';
import type { Logger } from '@handoff/types';
import { TicketError, sanitizeCause } from './errors.js';

/** `fresh`: this call recorded the nonce (first use). `replayed`: the nonce was already recorded. */
export type ConsumeResult = 'fresh' | 'replayed';

/** Options of {@link ReplayStore.consume}. */
export interface ConsumeOptions {
  /** How long the record must outlive this call, in ms (≥ 1). */
  readonly ttlMs: number;
  /** Aborts the wait; the store then fails closed (`ERR_TICKET_REPLAY_STORE_UNAVAILABLE`). */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link ReplayStore.probe}. */
export interface ProbeOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Records single-use nonces. */
export interface ReplayStore {
  /** `'memory'`, `'redis'` or a custom name (for snapshots and logs). */
  readonly kind: string;
  /**
   * Atomically records `nonce` unless present.
   * @throws {TicketError} `ERR_TICKET_REPLAY_STORE_UNAVAILABLE` when the store cannot answer
   * (`reason`: `down`, `timeout`, `aborted`, `full` or `error`). Callers must then refuse the ticket.
   */
  consume(nonce: string, options: ConsumeOptions): Promise<ConsumeResult>;
  /**
   * Checks that the store can record nonces now (a real round trip for remote stores).
   * @throws {TicketError} `ERR_TICKET_REPLAY_STORE_UNAVAILABLE` otherwise.
   */
  probe(options?: ProbeOptions): Promise<void>;
  /** Releases what the store owns (a connection it opened). */
  close(): Promise<void>;
}

/**
 * Opens the Redis client of a store (store-kit's `openRedis`); a source with neither a client nor a
 * URL is `ERR_TICKET_INVALID_ARGUMENT` (reason `redis-source`).
 */
export function openStoreRedis(source: RedisSource, logger: Logger | undefined, component: string): RedisHandle {
  if (typeof source !== 'object' || source === null || (source.redis === undefined && typeof source.url !== 'string')) {
    throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'a Redis store needs `redis` (a client) or `url`', { reason: 'redis-source' });
  }
  return openRedis(source, logger, component);
}

/** The error every replay store throws when it cannot answer. */
export function replayStoreUnavailable(reason: string, cause?: unknown): TicketError {
  return new TicketError('ERR_TICKET_REPLAY_STORE_UNAVAILABLE', `replay store unavailable (${reason}): ticket refused`, {
    reason,
    ...(cause === undefined ? {} : { cause: sanitizeCause(cause) }),
  });
}
