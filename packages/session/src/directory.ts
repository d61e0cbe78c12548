/**
 * The session directory: which proxy holds which player, on which backend, in which migration phase.
 * Shared by every proxy of a network (Redis), or local to one process (memory, the default). It never
 * holds secrets: an entry is ids, a backend reference, a phase and timestamps.
 *
 * Ownership is atomic: an entry belongs to one (proxy, session) pair. A claim succeeds when there is no
 * live entry, or the caller already owns it; otherwise it reports the holder and changes nothing,
 * unless the caller steals on purpose (`steal: true`). Entries live `ttlMs` after the last claim,
 * heartbeat or update: a proxy that dies stops heartbeating and its entries expire.
 */
import { isUuid } from '@handoff/protocol';
import { SessionError } from './errors.js';
import type { SessionRecord } from './record.js';
import { backendRef, type BackendRef, type SessionPhase } from './refs.js';

/** One player's directory entry. */
export interface DirectoryEntry {
  /** The client's UUID (lowercase). */
  readonly playerId: string;
  readonly sessionId: string;
  /** The proxy holding the player's connection. */
  readonly proxyId: string;
  readonly backend: BackendRef;
  readonly phase: SessionPhase;
  /** The migration in flight, if any. */
  readonly migrationId?: string;
  /** When the owner first claimed it (ms since the epoch, the directory's clock). */
  readonly claimedAt: number;
  readonly updatedAt: number;
  /** When it expires without a heartbeat. */
  readonly expiresAt: number;
}

/** What a proxy claims for one of its sessions. */
export interface ClaimInit {
  readonly playerId: string;
  readonly sessionId: string;
  readonly backend: BackendRef;
  /** Default `Idle`. */
  readonly phase?: SessionPhase;
  readonly migrationId?: string;
}

/** Per-call options. */
export interface DirectoryCallOptions {
  readonly signal?: AbortSignal;
}

export interface ClaimOptions extends DirectoryCallOptions {
  /** Take the entry even from a live holder (e.g. the player logged in again through this proxy). */
  readonly steal?: boolean;
}

export type ClaimResult =
  | {
      readonly claimed: true;
      readonly entry: DirectoryEntry;
      /** `fresh`: there was no live entry; `renewed`: the caller already owned it; `stolen`: taken with `steal`. */
      readonly how: 'fresh' | 'renewed' | 'stolen';
      /** The entry that was replaced (renewed or stolen). */
      readonly previous?: DirectoryEntry;
    }
  | {
      readonly claimed: false;
      /** The live entry of another proxy or session (nothing was changed). */
      readonly holder: DirectoryEntry;
    };

/** What an owner may change. `migrationId: null` clears it. */
export interface DirectoryUpdate {
  readonly backend?: BackendRef;
  readonly phase?: SessionPhase;
  readonly migrationId?: string | null;
}

/** A session directory (memory or Redis). */
export interface SessionDirectory {
  readonly kind: 'memory' | 'redis';
  /** This proxy's id: the owner of every entry it claims. */
  readonly proxyId: string;
  readonly ttlMs: number;
  /** Claims the player's entry for `sessionId` on this proxy (see {@link ClaimResult}). */
  claim(init: ClaimInit, options?: ClaimOptions): Promise<ClaimResult>;
  /** Extends the owner's entry by `ttlMs`. `ERR_SESSION_NOT_OWNER` when it is no longer ours. */
  heartbeat(playerId: string, sessionId: string, options?: DirectoryCallOptions): Promise<DirectoryEntry>;
  /** Changes backend, phase or migration of the owner's entry and extends it. `ERR_SESSION_NOT_OWNER` otherwise. */
  update(playerId: string, sessionId: string, changes: DirectoryUpdate, options?: DirectoryCallOptions): Promise<DirectoryEntry>;
  /** The player's live entry, whoever holds it. */
  lookup(playerId: string, options?: DirectoryCallOptions): Promise<DirectoryEntry | undefined>;
  /** Removes the owner's entry; `false` when it was not ours (or already gone). */
  release(playerId: string, sessionId: string, options?: DirectoryCallOptions): Promise<boolean>;
  /** Closes what the directory owns (its Redis client). */
  close(): Promise<void>;
}

/** Default entry lifetime: a proxy heartbeats every `ttlMs / 3` or so. */
export const DEFAULT_DIRECTORY_TTL_MS = 30_000;

const ID = /^[\x21-\x7e]{1,128}$/;

/** @internal Validates a printable id (proxy, session, backend, pool, migration). */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', `${what} must be 1–128 printable ASCII characters without spaces`);
  }
  return value;
}

/** @internal Validates and normalises a player UUID. */
export function checkPlayerId(value: unknown): string {
  if (!isUuid(value)) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'playerId must be a UUID');
  return value.toLowerCase();
}

/** @internal */
export function checkTtl(ttlMs: number | undefined): number {
  const ttl = ttlMs ?? DEFAULT_DIRECTORY_TTL_MS;
  if (!Number.isInteger(ttl) || ttl < 10 || ttl > 86_400_000) {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'ttlMs must be an integer from 10 ms to 24 h');
  }
  return ttl;
}

/** @internal */
export function checkBackend(backend: BackendRef | undefined): BackendRef {
  if (backend === undefined || backend === null || typeof backend !== 'object') {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'backend must be { id, pool? }');
  }
  checkId(backend.id, 'backend.id');
  if (backend.pool !== undefined) checkId(backend.pool, 'backend.pool');
  return backendRef(backend);
}

/** @internal */
export function checkPhase(phase: unknown): SessionPhase {
  if (typeof phase !== 'string' || !ID.test(phase)) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'phase must be 1–128 printable ASCII characters');
  return phase;
}

/** @internal */
export function notOwner(playerId: string): SessionError {
  return new SessionError('ERR_SESSION_NOT_OWNER', `the directory entry of player ${playerId} is not owned by this proxy and session`);
}

/**
 * What to claim for a record: its player UUID (from the captured Connect), id, backend and phase.
 * `ERR_SESSION_INVALID_ARGUMENT` before the Connect or without a backend.
 */
export function claimOf(record: SessionRecord): ClaimInit {
  const playerId = record.playerId;
  const backend = record.backend;
  if (playerId === undefined) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the record has no Connect yet: no player UUID to claim');
  if (backend === undefined) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the record has no backend to claim');
  return { playerId, sessionId: record.id, backend, phase: record.phase };
}

/**
 * The entry of a successful claim; `ERR_SESSION_CLAIM_CONFLICT` (naming the holding proxy, never more)
 * when another proxy or session holds the player.
 */
export function assertClaimed(result: ClaimResult): DirectoryEntry {
  if (result.claimed) return result.entry;
  throw new SessionError('ERR_SESSION_CLAIM_CONFLICT', `the player is held by proxy ${result.holder.proxyId}`, { reason: 'held' });
}
