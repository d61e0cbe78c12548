/**
 * The in-memory session directory: the default for a single proxy (and for tests). Entries expire by
 * the injected clock; expired entries are dropped when touched and by a sweep every few hundred calls.
 * Several proxies in one process may share one map (`createMemoryDirectory({ shared })`) to test
 * ownership rules without Redis.
 */
import { SessionError } from './errors.js';
import {
  checkBackend,
  checkId,
  checkPhase,
  checkPlayerId,
  checkTtl,
  notOwner,
  type ClaimInit,
  type ClaimOptions,
  type ClaimResult,
  type DirectoryCallOptions,
  type DirectoryEntry,
  type DirectoryUpdate,
  type SessionDirectory,
} from './directory.js';

/** The map several in-memory directories can share (one per simulated network). */
export class MemoryDirectoryMap {
  /** @internal */
  readonly entries = new Map<string, DirectoryEntry>();
  /** @internal */
  calls = 0;

  /** Live and expired entries not yet swept (for tests). */
  get size(): number {
    return this.entries.size;
  }
}

export interface MemoryDirectoryInit {
  /** This proxy's id (default `local`). */
  readonly proxyId?: string;
  /** Entry lifetime after each claim, heartbeat or update (default 30 s). */
  readonly ttlMs?: number;
  /** Clock (ms since the epoch; default `Date.now`). */
  readonly now?: () => number;
  /** Share entries with other in-memory directories (simulated proxies of one network). */
  readonly shared?: MemoryDirectoryMap;
}

const SWEEP_EVERY = 256;

function checkSignal(options: DirectoryCallOptions | undefined): void {
  if (options?.signal?.aborted === true) {
    throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the call was aborted', { reason: 'aborted' });
  }
}

/** Creates an in-memory session directory. */
export function createMemoryDirectory(init: MemoryDirectoryInit = {}): SessionDirectory {
  const proxyId = checkId(init.proxyId ?? 'local', 'proxyId');
  const ttlMs = checkTtl(init.ttlMs);
  const now = init.now ?? Date.now;
  const map = init.shared ?? new MemoryDirectoryMap();
  const entries = map.entries;
  let closed = false;

  const live = (playerId: string, at: number): DirectoryEntry | undefined => {
    const entry = entries.get(playerId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= at) {
      entries.delete(playerId);
      return undefined;
    }
    return entry;
  };

  const tick = (at: number): void => {
    if (closed) throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the directory is closed', { reason: 'closed' });
    if (++map.calls % SWEEP_EVERY !== 0) return;
    for (const [playerId, entry] of entries) if (entry.expiresAt <= at) entries.delete(playerId);
  };

  const owned = (playerId: string, sessionId: string, at: number): DirectoryEntry => {
    const entry = live(playerId, at);
    if (entry === undefined || entry.proxyId !== proxyId || entry.sessionId !== sessionId) throw notOwner(playerId);
    return entry;
  };

  return {
    kind: 'memory',
    proxyId,
    ttlMs,
    async claim(claim: ClaimInit, options?: ClaimOptions): Promise<ClaimResult> {
      checkSignal(options);
      const playerId = checkPlayerId(claim.playerId);
      const sessionId = checkId(claim.sessionId, 'sessionId');
      const backend = checkBackend(claim.backend);
      const phase = checkPhase(claim.phase ?? 'Idle');
      if (claim.migrationId !== undefined) checkId(claim.migrationId, 'migrationId');
      const at = now();
      tick(at);
      const previous = live(playerId, at);
      let how: 'fresh' | 'renewed' | 'stolen' = 'fresh';
      if (previous !== undefined) {
        if (previous.proxyId === proxyId && previous.sessionId === sessionId) how = 'renewed';
        else if (options?.steal === true) how = 'stolen';
        else return { claimed: false, holder: previous };
      }
      const entry: DirectoryEntry = Object.freeze({
        playerId,
        sessionId,
        proxyId,
        backend,
        phase,
        ...(claim.migrationId === undefined ? {} : { migrationId: claim.migrationId }),
        claimedAt: how === 'renewed' ? previous!.claimedAt : at,
        updatedAt: at,
        expiresAt: at + ttlMs,
      });
      entries.set(playerId, entry);
      return previous === undefined ? { claimed: true, entry, how } : { claimed: true, entry, how, previous };
    },
    async heartbeat(playerId, sessionId, options) {
      checkSignal(options);
      const id = checkPlayerId(playerId);
      const at = now();
      tick(at);
      const entry = Object.freeze({ ...owned(id, sessionId, at), updatedAt: at, expiresAt: at + ttlMs });
      entries.set(id, entry);
      return entry;
    },
    async update(playerId, sessionId, changes: DirectoryUpdate, options) {
      checkSignal(options);
      const id = checkPlayerId(playerId);
      const backend = changes.backend === undefined ? undefined : checkBackend(changes.backend);
      const phase = changes.phase === undefined ? undefined : checkPhase(changes.phase);
      if (typeof changes.migrationId === 'string') checkId(changes.migrationId, 'migrationId');
      const at = now();
      tick(at);
      const current = owned(id, sessionId, at);
      const { migrationId: _drop, ...rest } = current;
      const migrationId = changes.migrationId === undefined ? current.migrationId : (changes.migrationId ?? undefined);
      const entry: DirectoryEntry = Object.freeze({
        ...rest,
        backend: backend ?? current.backend,
        phase: phase ?? current.phase,
        ...(migrationId === undefined ? {} : { migrationId }),
        updatedAt: at,
        expiresAt: at + ttlMs,
      });
      entries.set(id, entry);
      return entry;
    },
    async lookup(playerId, options) {
      checkSignal(options);
      const at = now();
      tick(at);
      return live(checkPlayerId(playerId), at);
    },
    async release(playerId, sessionId, options) {
      checkSignal(options);
      const id = checkPlayerId(playerId);
      const at = now();
      tick(at);
      const entry = live(id, at);
      if (entry === undefined || entry.proxyId !== proxyId || entry.sessionId !== sessionId) return false;
      entries.delete(id);
      return true;
    },
    async close() {
      closed = true;
    },
  };
}
