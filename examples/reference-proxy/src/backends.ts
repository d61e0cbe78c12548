/**
 * The proxy's backends as the operator sees them: their pool, the state last observed (a join or a
 * migration into it worked: `up`; it could not be dialled or its connection was lost: `down`), whether
 * it is draining, and how a target is chosen in a pool.
 */
import type { BackendConfig } from '@handoff/proxy-kit';
import type { BackendId, BackendRef, PoolId } from '@handoff/types';

/** What the proxy last saw of a backend. `unknown` until the first join or migration tried it. */
export type BackendState = 'up' | 'down' | 'unknown';

/** One backend, with its runtime state. */
export interface BackendEntry {
  readonly id: BackendId;
  readonly pool: PoolId;
  readonly transport: 'quic' | 'tcp';
  /** `host:port` as configured. */
  readonly address: string;
  readonly config: BackendConfig;
  state: BackendState;
  /** Why it was marked `down` (an error code), if it was. */
  lastError: string | undefined;
  /** When the state last changed (ms since the epoch). */
  changedAt: number;
  /** Whether the operator is draining it: no new player or migration is sent to it. */
  draining: boolean;
}

/** The backends of a proxy, in configuration order. */
export class BackendRegistry {
  readonly #entries = new Map<string, BackendEntry>();
  readonly #now: () => number;

  constructor(entries: readonly Omit<BackendEntry, 'state' | 'lastError' | 'changedAt' | 'draining'>[], now: () => number = Date.now) {
    this.#now = now;
    for (const entry of entries) {
      this.#entries.set(entry.id, { ...entry, state: 'unknown', lastError: undefined, changedAt: now(), draining: false });
    }
  }

  get(id: string): BackendEntry | undefined {
    return this.#entries.get(id);
  }

  all(): BackendEntry[] {
    return [...this.#entries.values()];
  }

  configs(): BackendConfig[] {
    return this.all().map((entry) => entry.config);
  }

  pools(): PoolId[] {
    return [...new Set(this.all().map((entry) => entry.pool))];
  }

  inPool(pool: string): BackendEntry[] {
    return this.all().filter((entry) => entry.pool === pool);
  }

  /** Records what a join or migration showed of `ref`. */
  observe(ref: BackendRef | string, state: 'up' | 'down', error?: string): void {
    const entry = this.#entries.get(typeof ref === 'string' ? ref : ref.id);
    if (!entry) return;
    if (entry.state !== state) entry.changedAt = this.#now();
    entry.state = state;
    entry.lastError = state === 'down' ? error : undefined;
  }

  /**
   * The backend to send a player to in `poolOrBackend` (a pool id, or a backend id): never a draining
   * or excluded one; backends not known to be down first, then the fewest players, then the
   * configuration order. `undefined` when none is left.
   */
  choose(poolOrBackend: string, players: (id: BackendId) => number, exclude: ReadonlySet<string> = new Set()): BackendEntry | undefined {
    const direct = this.#entries.get(poolOrBackend);
    const candidates = (direct ? [direct] : this.inPool(poolOrBackend)).filter((entry) => !entry.draining && !exclude.has(entry.id));
    let best: BackendEntry | undefined;
    let bestKey: [number, number] | undefined;
    for (const entry of candidates) {
      const key: [number, number] = [entry.state === 'down' ? 1 : 0, players(entry.id)];
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = entry;
        bestKey = key;
      }
    }
    return best;
  }

  /** Whether `name` is a pool or a backend id. */
  resolves(name: string): 'backend' | 'pool' | undefined {
    if (this.#entries.has(name)) return 'backend';
    return this.all().some((entry) => entry.pool === name) ? 'pool' : undefined;
  }
}
