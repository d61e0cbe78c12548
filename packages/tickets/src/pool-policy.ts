/**
 * Pool policy: seamless migration for a pool is enabled only while tickets for it can be obtained and
 * verified: a verification key (and, for proxy-side issuing, a signing key) is active for the pool,
 * and the replay store answered its last probe. Otherwise the pool is reported disabled, so the
 * proxy falls back to referral. Store health comes from real probes, never from assumptions: before
 * the first successful probe every pool is disabled (`replay-store-unprobed`).
 */
import { withDeadline } from '@handoff/store-kit';
import { parsePoolId, type Logger, type PoolId } from '@handoff/types';
import { isTicketError, parseArgument } from './errors.js';
import { assertKeyRing, hasVerificationKey, selectSigningKey, type KeyRing } from './key-ring.js';
import { replayStoreUnavailable, type ReplayStore } from './replay-store.js';

/** Why seamless migration is disabled for a pool. */
export type PoolDisabledReason = 'no-verification-key' | 'no-signing-key' | 'replay-store-unprobed' | 'replay-store-unavailable';

/** Whether a pool may migrate seamlessly now. */
export type PoolStatus =
  | { readonly seamless: true; readonly reason?: undefined }
  | { readonly seamless: false; readonly reason: PoolDisabledReason };

/** The result of the last replay-store probe. */
export interface ReplayStoreHealth {
  readonly healthy: boolean;
  /** `unprobed` before the first probe; otherwise the store's failure reason (`down`, `timeout`, `full`, …). */
  readonly reason: string | undefined;
  /** When the last probe finished (ms since the epoch, policy clock). */
  readonly probedAt: number | undefined;
  /** Round-trip time of the last probe, in ms. */
  readonly latencyMs: number | undefined;
}

/** What the policy reports to subscribers (never awaited). */
export type PoolPolicyEvent =
  | { readonly type: 'pool-status'; readonly pool: PoolId; readonly status: PoolStatus; readonly previous: PoolStatus | undefined; readonly at: number }
  | { readonly type: 'replay-store-health'; readonly health: ReplayStoreHealth; readonly at: number };

/** A point-in-time view for metrics exporters (no secrets). */
export interface PoolPolicySnapshot {
  readonly at: number;
  readonly replayStore: ReplayStoreHealth & { readonly kind: string; readonly probes: number; readonly failures: number };
  readonly pools: Readonly<Record<PoolId, PoolStatus>>;
}

/** Construction options of {@link createPoolPolicy}. */
export interface PoolPolicyInit {
  readonly keyRing: KeyRing;
  readonly replayStore: ReplayStore;
  /** Pools reported in snapshots and events from the start (others are added when first asked about). */
  readonly pools?: readonly PoolId[] | undefined;
  /** Also require a signing key (the proxy issues tickets for the pool itself). Default false. */
  readonly requireSigningKey?: boolean | undefined;
  /** Lifetime the signing key must cover, in seconds (the issuer's ttl; default 30). */
  readonly signingTtlSeconds?: number | undefined;
  /** Period of background probes after `start()`, in ms (default 5000). */
  readonly probeIntervalMs?: number | undefined;
  /** Bound of one probe, in ms (default 1000). */
  readonly probeTimeoutMs?: number | undefined;
  /** Minimum gap between probes requested by `requestProbe()`, in ms (default 1000). */
  readonly minProbeGapMs?: number | undefined;
  /** Clock in ms since the epoch (default `Date.now`), also used for key windows. */
  readonly now?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
}

/** Decides, per pool, whether seamless migration is enabled. */
export interface PoolPolicy {
  /** The pool's status now. */
  status(pool: PoolId): PoolStatus;
  /** Probes the replay store now (bounded) and re-evaluates every pool. Never throws. */
  probe(options?: { readonly signal?: AbortSignal | undefined }): Promise<ReplayStoreHealth>;
  /** Asks for a probe soon (deduplicated, rate-limited); e.g. from a verifier's `onReplayStoreUnavailable`. */
  requestProbe(): void;
  /** Re-evaluates every known pool (key windows move with time) and emits changes. */
  refresh(): void;
  subscribe(listener: (event: PoolPolicyEvent) => void): () => void;
  snapshot(): PoolPolicySnapshot;
  /** Starts background probing (first probe at once). */
  start(): void;
  /** Stops background probing and key-ring tracking (call when discarding the policy). */
  stop(): void;
}

const MAX_TRACKED_POOLS = 1024;

function sameStatus(a: PoolStatus | undefined, b: PoolStatus): boolean {
  return a !== undefined && a.seamless === b.seamless && a.reason === b.reason;
}

/** Creates a pool policy. */
export function createPoolPolicy(init: PoolPolicyInit): PoolPolicy {
  assertKeyRing(init.keyRing);
  const { keyRing, replayStore, logger } = init;
  const now = init.now ?? Date.now;
  const requireSigningKey = init.requireSigningKey ?? false;
  const signingTtlMs = (init.signingTtlSeconds ?? 30) * 1000;
  const probeIntervalMs = init.probeIntervalMs ?? 5_000;
  const probeTimeoutMs = init.probeTimeoutMs ?? 1_000;
  const minProbeGapMs = init.minProbeGapMs ?? 1_000;
  const listeners = new Set<(event: PoolPolicyEvent) => void>();
  const known = new Map<PoolId, PoolStatus>();
  let health: ReplayStoreHealth = { healthy: false, reason: 'unprobed', probedAt: undefined, latencyMs: undefined };
  let probes = 0;
  let failures = 0;
  let inFlight: Promise<ReplayStoreHealth> | undefined;
  let lastRequestedAt = -Infinity;
  let timer: ReturnType<typeof setInterval> | undefined;

  const checkPool = (pool: PoolId): void => {
    parseArgument(parsePoolId, pool, 'pool-id', 'pool must be a PoolId (parsePoolId)');
  };

  const emit = (event: PoolPolicyEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // events only report; a listener cannot change the policy
      }
    }
  };

  const evaluate = (pool: PoolId, at: number): PoolStatus => {
    if (!hasVerificationKey(keyRing, pool, at)) return { seamless: false, reason: 'no-verification-key' };
    if (requireSigningKey && selectSigningKey(keyRing, at, pool, signingTtlMs) === undefined) {
      return { seamless: false, reason: 'no-signing-key' };
    }
    if (!health.healthy) return { seamless: false, reason: health.reason === 'unprobed' ? 'replay-store-unprobed' : 'replay-store-unavailable' };
    return { seamless: true };
  };

  const track = (pool: PoolId, status: PoolStatus, at: number): void => {
    const previous = known.get(pool);
    if (previous === undefined && known.size >= MAX_TRACKED_POOLS) return;
    known.set(pool, status);
    if (sameStatus(previous, status)) return;
    if (!status.seamless) logger?.warn?.({ pool, reason: status.reason }, 'seamless migration disabled for pool');
    else if (previous !== undefined) logger?.info?.({ pool }, 'seamless migration enabled for pool');
    emit({ type: 'pool-status', pool, status, previous, at });
  };

  const refresh = (): void => {
    const at = now();
    for (const pool of known.keys()) track(pool, evaluate(pool, at), at);
  };

  for (const pool of init.pools ?? []) {
    checkPool(pool);
    known.set(pool, evaluate(pool, now()));
  }
  // Keys added, retired or removed at runtime change pool statuses at once.
  let unsubscribeRing: (() => void) | undefined = keyRing.subscribe(() => refresh());

  const runProbe = async (signal: AbortSignal | undefined): Promise<ReplayStoreHealth> => {
    const started = now();
    let next: ReplayStoreHealth;
    try {
      await withDeadline((inner) => replayStore.probe({ signal: inner }), { timeoutMs: probeTimeoutMs, signal }, (kind, reason) =>
        replayStoreUnavailable(kind, reason),
      );
      const at = now();
      next = { healthy: true, reason: undefined, probedAt: at, latencyMs: Math.max(0, at - started) };
    } catch (error) {
      failures += 1;
      const at = now();
      next = { healthy: false, reason: isTicketError(error) ? (error.reason ?? 'error') : 'error', probedAt: at, latencyMs: Math.max(0, at - started) };
    }
    probes += 1;
    const changed = next.healthy !== health.healthy || next.reason !== health.reason;
    health = next;
    if (changed) {
      if (next.healthy) logger?.info?.({ store: replayStore.kind }, 'replay store healthy');
      else logger?.warn?.({ store: replayStore.kind, reason: next.reason }, 'replay store unavailable');
      emit({ type: 'replay-store-health', health: next, at: next.probedAt ?? now() });
    }
    refresh();
    return next;
  };

  const policy: PoolPolicy = {
    status(pool) {
      checkPool(pool);
      const at = now();
      const status = evaluate(pool, at);
      track(pool, status, at);
      return status;
    },
    probe(options = {}) {
      if (inFlight !== undefined) return inFlight;
      const pending = runProbe(options.signal).finally(() => {
        if (inFlight === pending) inFlight = undefined;
      });
      inFlight = pending;
      return pending;
    },
    requestProbe() {
      const at = now();
      if (inFlight !== undefined || at - lastRequestedAt < minProbeGapMs) return;
      lastRequestedAt = at;
      void policy.probe();
    },
    refresh,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    snapshot() {
      refresh();
      return {
        at: now(),
        replayStore: { kind: replayStore.kind, ...health, probes, failures },
        pools: Object.fromEntries(known),
      };
    },
    start() {
      if (timer !== undefined) return;
      void policy.probe();
      timer = setInterval(() => void policy.probe(), probeIntervalMs);
      timer.unref?.();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      unsubscribeRing?.();
      unsubscribeRing = undefined;
    },
  };
  return policy;
}
