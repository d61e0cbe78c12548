/**
 * The Redis replay store, shared by every proxy and backend of a network: one atomic
 * `SET <prefix><jti> 1 PX <ttlMs> NX` per ticket. `OK` means first use, nil means replayed.
 * When the connection is not ready the call fails at once (no offline queue); every wait is bounded.
 */
import type { Logger } from '@handoff/types';
import { closeRedis, waitReady, withDeadline, type RedisSource } from '@handoff/store-kit';
import { openStoreRedis, replayStoreUnavailable, type ConsumeOptions, type ConsumeResult, type ProbeOptions, type ReplayStore } from './replay-store.js';
import { isTicketError } from './errors.js';

/** Default key prefix of nonce records. The full key is `<prefix><jti>`. */
export const DEFAULT_REPLAY_KEY_PREFIX = 'handoff:ticket:jti:';

/** Construction options of {@link createRedisReplayStore}. */
export type RedisReplayStoreInit = RedisSource & {
  /** Key prefix (default `handoff:ticket:jti:`); every party of a network must use the same one. */
  readonly keyPrefix?: string | undefined;
  /** Upper bound of a `probe()` round trip when no signal is given (default 1000 ms). */
  readonly probeTimeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
};

/** The Redis replay store. */
export interface RedisReplayStore extends ReplayStore {
  readonly kind: 'redis';
  readonly keyPrefix: string;
}

/** Creates a Redis replay store from a client you own (`redis`) or a URL (`url`, owned by the store). */
export function createRedisReplayStore(init: RedisReplayStoreInit): RedisReplayStore {
  const keyPrefix = init.keyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX;
  const probeTimeoutMs = init.probeTimeoutMs ?? 1_000;
  const handle = openStoreRedis(init, init.logger, 'replay-store');
  const { redis } = handle;
  const probeKey = `${keyPrefix}probe`;

  const fail = (kind: 'timeout' | 'aborted', reason: unknown) => replayStoreUnavailable(kind, reason);

  return {
    kind: 'redis',
    keyPrefix,
    async consume(nonce: string, options: ConsumeOptions): Promise<ConsumeResult> {
      if (options.signal?.aborted === true) throw replayStoreUnavailable('aborted', options.signal.reason);
      if (redis.status !== 'ready') throw replayStoreUnavailable('down');
      const ttlMs = Math.max(1, Math.ceil(options.ttlMs));
      let reply: 'OK' | null;
      try {
        const pending = redis.set(`${keyPrefix}${nonce}`, '1', 'PX', ttlMs, 'NX');
        reply = options.signal === undefined ? await pending : await withDeadline(() => pending, { signal: options.signal }, fail);
      } catch (error) {
        if (isTicketError(error)) throw error;
        throw replayStoreUnavailable('error', error);
      }
      return reply === 'OK' ? 'fresh' : 'replayed';
    },
    async probe(options: ProbeOptions = {}): Promise<void> {
      try {
        await withDeadline(
          async (signal) => {
            await waitReady(redis, signal);
            const reply = await redis.set(probeKey, '1', 'PX', 5_000);
            if (reply !== 'OK') throw new Error('unexpected SET reply');
          },
          { timeoutMs: probeTimeoutMs, signal: options.signal },
          fail,
        );
      } catch (error) {
        if (isTicketError(error)) throw error;
        throw replayStoreUnavailable(redis.status === 'ready' ? 'error' : 'down', error);
      }
    },
    close: () => closeRedis(handle),
  };
}
