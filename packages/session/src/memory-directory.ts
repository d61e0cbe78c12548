/**
 * The in-memory session directory: the default for a single proxy (and for tests). Entries expire by
 * the injected clock; expired entries are dropped when touched and by a sweep every few hundred calls.
 * Several proxies in one process may share one map (`createMemoryDirectory({ shared })`) to test
 * ownership rules without Redis.
 */
import type { ClientUuid, SessionId } from '@handoff/types';
import { SessionError } from './errors.js';
import {
  checkBackend,
  checkClientUuid,
  checkMigrationId,
  checkPhase,
  checkProxyId,
  checkSessionId,
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
  readonly #entries = new Map<ClientUuid, DirectoryEntry>();
  #calls = 0;

  /** Live and expired entries not yet swept (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** The entries (by client UUID), for the directories that share this map. */
  static entriesOf(map: MemoryDirectoryMap): Map<ClientUuid, DirectoryEntry> {
    return map.#entries;
  }

  /** Counts a call; true every `every` calls (time to sweep). */
  static tick(map: MemoryDirectoryMap, every: number): boolean {
    return ++map.#calls % every === 0;
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
  const proxyId = checkProxyId(init.proxyId ?? 'local');
  const ttlMs = checkTtl(init.ttlMs);
  const now = init.now ?? Date.now;
  const map = init.shared ?? new MemoryDirectoryMap();
  const entries = MemoryDirectoryMap.entriesOf(map);
  let closed = false;

  const live = (clientUuid: ClientUuid, at: number): DirectoryEntry | undefined => {
    const entry = entries.get(clientUuid);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= at) {
      entries.delete(clientUuid);
      return undefined;
    }
    return entry;
  };

  const tick = (at: number): void => {
    if (closed) throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the directory is closed', { reason: 'closed' });
    if (!MemoryDirectoryMap.tick(map, SWEEP_EVERY)) return;
    for (const [clientUuid, entry] of entries) if (entry.expiresAt <= at) entries.delete(clientUuid);
  };

  const owned = (clientUuid: ClientUuid, sessionId: SessionId, at: number): DirectoryEntry => {
    const entry = live(clientUuid, at);
    if (entry === undefined || entry.proxyId !== proxyId || entry.sessionId !== sessionId) throw notOwner(clientUuid);
    return entry;
  };

  return {
    kind: 'memory',
    proxyId,
    ttlMs,
    async claim(claim: ClaimInit, options?: ClaimOptions): Promise<ClaimResult> {
      checkSignal(options);
      const clientUuid = checkClientUuid(claim.clientUuid);
      const sessionId = checkSessionId(claim.sessionId);
      const backend = checkBackend(claim.backend);
      const phase = checkPhase(claim.phase ?? 'Idle');
      if (claim.migrationId !== undefined) checkMigrationId(claim.migrationId);
      const at = now();
      tick(at);
      const previous = live(clientUuid, at);
      let how: 'fresh' | 'renewed' | 'stolen' = 'fresh';
      if (previous !== undefined) {
        if (previous.proxyId === proxyId && previous.sessionId === sessionId) how = 'renewed';
        else if (options?.steal === true) how = 'stolen';
        else return { claimed: false, holder: previous };
      }
      const entry: DirectoryEntry = Object.freeze({
        clientUuid,
        sessionId,
        proxyId,
        backend,
        phase,
        ...(claim.migrationId === undefined ? {} : { migrationId: claim.migrationId }),
        claimedAt: how === 'renewed' ? previous!.claimedAt : at,
        updatedAt: at,
        expiresAt: at + ttlMs,
      });
      entries.set(clientUuid, entry);
      return previous === undefined ? { claimed: true, entry, how } : { claimed: true, entry, how, previous };
    },
    async heartbeat(clientUuid, sessionId, options) {
      checkSignal(options);
      const id = checkClientUuid(clientUuid);
      checkSessionId(sessionId);
      const at = now();
      tick(at);
      const entry = Object.freeze({ ...owned(id, sessionId, at), updatedAt: at, expiresAt: at + ttlMs });
      entries.set(id, entry);
      return entry;
    },
    async update(clientUuid, sessionId, changes: DirectoryUpdate, options) {
      checkSignal(options);
      const id = checkClientUuid(clientUuid);
      checkSessionId(sessionId);
      const backend = changes.backend === undefined ? undefined : checkBackend(changes.backend);
      const phase = changes.phase === undefined ? undefined : checkPhase(changes.phase);
      if (changes.migrationId !== undefined && changes.migrationId !== null) checkMigrationId(changes.migrationId);
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
    async lookup(clientUuid, options) {
      checkSignal(options);
      const id = checkClientUuid(clientUuid);
      const at = now();
      tick(at);
      return live(id, at);
    },
    async release(clientUuid, sessionId, options) {
      checkSignal(options);
      const id = checkClientUuid(clientUuid);
      checkSessionId(sessionId);
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
