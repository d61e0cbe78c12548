/**
 * The Redis state store: by-reference state bytes under `<prefix><ref>` (`SET … PX`), read with `GET`.
 * Source and target backends of a network share it (a Java plugin reads the same key).
 */
import { randomBytes } from 'node:crypto';
import { isTicketError } from './errors.js';
import type { Logger } from '@handoff/types';
import { closeRedis, waitReady, withDeadline, type RedisSource } from '@handoff/store-kit';
import { openStoreRedis } from './replay-store.js';
import { newStateRef, stateUnavailable, type TicketStateStore } from './state.js';
import { STATE_REF_PATTERN } from './format.js';

/** Default key prefix of state records. The full key is `<prefix><ref>`. */
export const DEFAULT_STATE_KEY_PREFIX = 'handoff:ticket:state:';

/** Construction options of {@link createRedisStateStore}. */
export type RedisStateStoreInit = RedisSource & {
  readonly keyPrefix?: string | undefined;
  readonly logger?: Logger | undefined;
  readonly random?: ((size: number) => Uint8Array) | undefined;
};

/** Creates a Redis state store from a client you own (`redis`) or a URL (owned by the store). */
export function createRedisStateStore(init: RedisStateStoreInit): TicketStateStore & { readonly kind: 'redis'; readonly keyPrefix: string } {
  const keyPrefix = init.keyPrefix ?? DEFAULT_STATE_KEY_PREFIX;
  const random = init.random ?? ((size: number) => randomBytes(size));
  const handle = openStoreRedis(init, init.logger, 'state-store');
  const { redis } = handle;
  const run = async <T>(signal: AbortSignal | undefined, operation: () => Promise<T>): Promise<T> => {
    if (signal?.aborted === true) throw stateUnavailable('aborted', signal.reason);
    // Unlike nonce records (which fail fast), state may wait for a reconnect within the caller's deadline.
    if (redis.status !== 'ready' && signal === undefined) throw stateUnavailable('down');
    try {
      return await withDeadline(
        async (inner) => {
          if (redis.status !== 'ready') await waitReady(redis, inner);
          return operation();
        },
        { signal },
        (kind, reason) => stateUnavailable(redis.status === 'ready' ? kind : 'down', reason),
      );
    } catch (error) {
      if (isTicketError(error)) throw error;
      throw stateUnavailable('error', error);
    }
  };
  return {
    kind: 'redis',
    keyPrefix,
    async put(bytes, options) {
      const ref = newStateRef(random);
      const ttlMs = Math.max(1, Math.ceil(options.ttlMs));
      await run(options.signal, () => redis.set(`${keyPrefix}${ref}`, Buffer.from(bytes), 'PX', ttlMs));
      return ref;
    },
    async get(ref, options = {}) {
      if (!STATE_REF_PATTERN.test(ref)) return undefined;
      const bytes = await run(options.signal, () => redis.getBuffer(`${keyPrefix}${ref}`));
      return bytes === null ? undefined : new Uint8Array(bytes);
    },
    close: () => closeRedis(handle),
  };
}
