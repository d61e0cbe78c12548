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
import {
  isPhase,
  parseBackendRef,
  parseClientUuid,
  parseMigrationId,
  parseSessionId,
  type BackendRef,
  type ClientUuid,
  type MigrationId,
  type Phase,
  type SessionId,
} from '@handoff/types';
import { SessionError, parseArgument } from './errors.js';
import type { SessionRecord } from './record.js';

/** One player's directory entry. */
export interface DirectoryEntry {
  /** The player's UUID (lowercase). */
  readonly clientUuid: ClientUuid;
  readonly sessionId: SessionId;
  /** The proxy holding the player's connection. */
  readonly proxyId: string;
  readonly backend: BackendRef;
  readonly phase: Phase;
  /** The migration in flight, if any. */
  readonly migrationId?: MigrationId;
  /** When the owner first claimed it (ms since the epoch, the directory's clock). */
  readonly claimedAt: number;
  readonly updatedAt: number;
  /** When it expires without a heartbeat. */
  readonly expiresAt: number;
}

/** What a proxy claims for one of its sessions. */
export interface ClaimInit {
  readonly clientUuid: ClientUuid;
  readonly sessionId: SessionId;
  readonly backend: BackendRef;
  /** Default `Idle`. */
  readonly phase?: Phase;
  readonly migrationId?: MigrationId;
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
  readonly phase?: Phase;
  readonly migrationId?: MigrationId | null;
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
  heartbeat(clientUuid: ClientUuid, sessionId: SessionId, options?: DirectoryCallOptions): Promise<DirectoryEntry>;
  /** Changes backend, phase or migration of the owner's entry and extends it. `ERR_SESSION_NOT_OWNER` otherwise. */
  update(clientUuid: ClientUuid, sessionId: SessionId, changes: DirectoryUpdate, options?: DirectoryCallOptions): Promise<DirectoryEntry>;
  /** The player's live entry, whoever holds it. */
  lookup(clientUuid: ClientUuid, options?: DirectoryCallOptions): Promise<DirectoryEntry | undefined>;
  /** Removes the owner's entry; `false` when it was not ours (or already gone). */
  release(clientUuid: ClientUuid, sessionId: SessionId, options?: DirectoryCallOptions): Promise<boolean>;
  /** Closes what the directory owns (its Redis client). */
  close(): Promise<void>;
}

/** Default entry lifetime: a proxy heartbeats every `ttlMs / 3` or so. */
export const DEFAULT_DIRECTORY_TTL_MS = 30_000;

const PROXY_ID = /^[\x21-\x7e]{1,128}$/;

// Argument checks shared by the memory and the Redis directory (not exported from the package).

/** Validates a proxy id: 1–128 printable ASCII characters without spaces. */
export function checkProxyId(value: unknown): string {
  if (typeof value !== 'string' || !PROXY_ID.test(value)) {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'proxyId must be 1–128 printable ASCII characters without spaces', { reason: 'proxyId' });
  }
  return value;
}

/** Validates and normalises (lowercases) a client UUID. */
export function checkClientUuid(value: unknown): ClientUuid {
  return parseArgument(parseClientUuid, value, 'clientUuid');
}

/** Validates a session id. */
export function checkSessionId(value: unknown): SessionId {
  return parseArgument(parseSessionId, value, 'sessionId');
}

/** Validates a migration id. */
export function checkMigrationId(value: unknown): MigrationId {
  return parseArgument(parseMigrationId, value, 'migrationId');
}

/** Validates the entry lifetime. */
export function checkTtl(ttlMs: number | undefined): number {
  const ttl = ttlMs ?? DEFAULT_DIRECTORY_TTL_MS;
  if (!Number.isInteger(ttl) || ttl < 10 || ttl > 86_400_000) {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'ttlMs must be an integer from 10 ms to 24 h', { reason: 'ttlMs' });
  }
  return ttl;
}

/** Validates a backend reference into a plain, frozen `{ id, pool? }`. */
export function checkBackend(backend: unknown): BackendRef {
  return parseArgument(parseBackendRef, backend, 'backend');
}

/** Validates a phase. */
export function checkPhase(phase: unknown): Phase {
  if (!isPhase(phase)) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'phase must be a migration phase', { reason: 'phase' });
  return phase;
}

/** The error of a write by anyone but the owner. */
export function notOwner(clientUuid: ClientUuid): SessionError {
  return new SessionError('ERR_SESSION_NOT_OWNER', `the directory entry of player ${clientUuid} is not owned by this proxy and session`);
}

/**
 * What to claim for a record: its client UUID (from the captured Connect), id, backend and phase.
 * `ERR_SESSION_INVALID_ARGUMENT` before the Connect or without a backend.
 */
export function claimOf(record: SessionRecord): ClaimInit {
  const clientUuid = record.clientUuid;
  const backend = record.backend;
  if (clientUuid === undefined) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the record has no Connect yet: no client UUID to claim', { reason: 'not-connected' });
  if (backend === undefined) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the record has no backend to claim', { reason: 'no-backend' });
  return { clientUuid, sessionId: record.id, backend, phase: record.phase };
}

/**
 * The entry of a successful claim; `ERR_SESSION_CLAIM_CONFLICT` (naming the holding proxy, never more)
 * when another proxy or session holds the player.
 */
export function assertClaimed(result: ClaimResult): DirectoryEntry {
  if (result.claimed) return result.entry;
  throw new SessionError('ERR_SESSION_CLAIM_CONFLICT', `the player is held by proxy ${result.holder.proxyId}`, { reason: 'held' });
}
