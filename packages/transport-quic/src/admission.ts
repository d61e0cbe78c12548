/**
 * Admission control of the QUIC listener: connection counts (in total and per source address) and
 * handshake rates (token buckets, per source address and in total). Pure bookkeeping, no I/O: the
 * listener asks `admit()` for every connection the library creates and reports its end with
 * `release()`.
 */
import { isIPv6 } from 'node:net';

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.burst;
    this.#last = now;
  }

  #refill(now: number): void {
    if (now > this.#last) {
      this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#last) / 1000) * this.limit.perSecond);
      this.#last = now;
    }
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Full again: nothing to remember. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.limit.burst;
  }
}

/**
 * The key per-address limits count under. IPv4 (and IPv4-mapped IPv6) addresses count one by one;
 * IPv6 addresses by their /64 prefix, since one subscriber usually holds a whole /64.
 */
export function addressKey(host: string): string {
  const bare = host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
  if (!isIPv6(bare)) return bare;
  const [head = '', tail = ''] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = bare.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

/** Why a connection was refused. */
export type RefusalReason = 'handshake-rate' | 'handshake-rate-per-address' | 'connections' | 'connections-per-address';

/** The listener's admission limits, resolved. */
export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly handshakeRate: RateLimit;
  readonly handshakeRatePerAddress: RateLimit;
  /** Refusals per second that are told why (a full handshake, then the rate-limit close code). */
  readonly refusalRate: RateLimit;
}

interface AddressState {
  connections: number;
  bucket: TokenBucket;
}

/** Addresses remembered at most; beyond, idle ones (no connection, full bucket) are forgotten first. */
const MAX_TRACKED_ADDRESSES = 65_536;

export type Admission =
  | { readonly admitted: true; readonly key: string }
  | { readonly admitted: false; readonly key: string; readonly reason: RefusalReason; readonly tell: boolean };

export class AdmissionControl {
  readonly #limits: AdmissionLimits;
  readonly #total: TokenBucket;
  readonly #refusals: TokenBucket;
  readonly #addresses = new Map<string, AddressState>();
  #connections = 0;

  constructor(limits: AdmissionLimits, now = performance.now()) {
    this.#limits = limits;
    this.#total = new TokenBucket(limits.handshakeRate, now);
    this.#refusals = new TokenBucket(limits.refusalRate, now);
  }

  /** Connections counted now (admitted and refused ones that have not ended). */
  get connections(): number {
    return this.#connections;
  }

  /** Addresses with state now (for tests and metrics). */
  get trackedAddresses(): number {
    return this.#addresses.size;
  }

  /**
   * Decides about a new connection from `host` and counts it (admitted or not) until `release`.
   * A refusal says whether to `tell` the peer (spend a handshake to close with the rate-limit
   * code) or to turn it away at once, when refusals themselves come too fast.
   */
  admit(host: string, now = performance.now()): Admission {
    const key = addressKey(host);
    const state = this.#state(key, now);
    let reason: RefusalReason | undefined;
    if (this.#connections >= this.#limits.maxConnections) reason = 'connections';
    else if (state.connections >= this.#limits.maxConnectionsPerAddress) reason = 'connections-per-address';
    else if (!state.bucket.take(now)) reason = 'handshake-rate-per-address';
    else if (!this.#total.take(now)) reason = 'handshake-rate';
    this.#connections++;
    state.connections++;
    if (reason === undefined) return { admitted: true, key };
    return { admitted: false, key, reason, tell: this.#refusals.take(now) };
  }

  /** A connection counted by `admit` has ended. */
  release(key: string): void {
    this.#connections = Math.max(0, this.#connections - 1);
    const state = this.#addresses.get(key);
    if (state !== undefined) state.connections = Math.max(0, state.connections - 1);
  }

  #state(key: string, now: number): AddressState {
    let state = this.#addresses.get(key);
    if (state !== undefined) {
      // most recently used last, so pruning meets the oldest first
      this.#addresses.delete(key);
      this.#addresses.set(key, state);
      return state;
    }
    if (this.#addresses.size >= MAX_TRACKED_ADDRESSES) this.#prune(now);
    state = { connections: 0, bucket: new TokenBucket(this.#limits.handshakeRatePerAddress, now) };
    this.#addresses.set(key, state);
    return state;
  }

  /** Forgets idle addresses (no connection, bucket full), oldest first, down to three quarters. */
  #prune(now: number): void {
    const target = Math.floor(MAX_TRACKED_ADDRESSES * 0.75);
    for (const [key, state] of this.#addresses) {
      if (this.#addresses.size <= target) return;
      if (state.connections === 0 && state.bucket.full(now)) this.#addresses.delete(key);
    }
    // still too many: every remembered address holds a connection or is rate-limited; forget
    // the oldest idle-connection ones anyway (their bucket restarts full: a bounded leniency)
    for (const [key, state] of this.#addresses) {
      if (this.#addresses.size <= target) return;
      if (state.connections === 0) this.#addresses.delete(key);
    }
  }
}
