/**
 * The in-memory replay store: for one process (tests, a single proxy). Entries live for the `ttlMs`
 * the verifier asks for (the ticket's `exp` plus tolerance); expired entries are reclaimed on every
 * call. When full of live entries it refuses new nonces instead of evicting any.
 */
import { TicketError } from './errors.js';
import { ExpiryHeap } from './expiry-heap.js';
import { replayStoreUnavailable, type ConsumeOptions, type ConsumeResult, type ReplayStore } from './replay-store.js';

/** Construction options of {@link createMemoryReplayStore}. */
export interface MemoryReplayStoreInit {
  /** Live entries at most (default 100 000). A full store refuses (`reason: 'full'`). */
  readonly maxEntries?: number | undefined;
  /** Clock in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined;
}

/** The in-memory replay store, with its live-entry count for metrics. */
export interface MemoryReplayStore extends ReplayStore {
  readonly kind: 'memory';
  /** Live entries (after reclaiming expired ones). */
  size(): number;
  readonly capacity: number;
}

/** Creates an in-memory replay store. */
export function createMemoryReplayStore(init: MemoryReplayStoreInit = {}): MemoryReplayStore {
  const capacity = init.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'maxEntries must be a positive integer', { reason: 'maxEntries' });
  }
  const now = init.now ?? Date.now;
  const entries = new Map<string, number>();
  const heap = new ExpiryHeap();
  let closed = false;

  const reclaim = (at: number): void => {
    heap.popExpired(at, (key, expiresAt) => {
      if (entries.get(key) === expiresAt) entries.delete(key);
    });
  };

  return {
    kind: 'memory',
    capacity,
    async consume(nonce: string, options: ConsumeOptions): Promise<ConsumeResult> {
      if (closed) throw replayStoreUnavailable('closed');
      if (options.signal?.aborted === true) throw replayStoreUnavailable('aborted', options.signal.reason);
      const at = now();
      reclaim(at);
      const expiresAt = entries.get(nonce);
      if (expiresAt !== undefined && expiresAt > at) return 'replayed';
      if (entries.size >= capacity) throw replayStoreUnavailable('full');
      const until = at + Math.max(1, Math.ceil(options.ttlMs));
      entries.set(nonce, until);
      heap.push(until, nonce);
      return 'fresh';
    },
    async probe(): Promise<void> {
      if (closed) throw replayStoreUnavailable('closed');
      reclaim(now());
      if (entries.size >= capacity) throw replayStoreUnavailable('full');
    },
    size(): number {
      reclaim(now());
      return entries.size;
    },
    async close(): Promise<void> {
      closed = true;
      entries.clear();
      heap.clear();
    },
  };
}
