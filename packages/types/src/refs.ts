/**
 * Plain references every package passes across its seams: which backend, which session. JSON-safe
 * and free of secrets, so they may appear in snapshots, events, logs and the session directory.
 */
import type { BackendId, ClientUuid, PoolId, SessionId } from './ids.js';
import { parseBackendId, parsePoolId } from './ids.js';

/** A backend the player can be on. `id` is what the proxy routes by; `pool` groups backends for policy. */
export interface BackendRef {
  readonly id: BackendId;
  readonly pool?: PoolId;
}

/** A player session: its id and, once the client's Connect is read, the player's UUID. */
export interface SessionRef {
  readonly id: SessionId;
  readonly clientUuid?: ClientUuid;
}

/** The two ends of one migration: the backend the player leaves (`source`, A) and joins (`target`, B). */
export interface MigrationEnds {
  readonly source: BackendRef;
  readonly target: BackendRef;
}

/**
 * Parses a backend reference from untrusted input (`{ id, pool? }`) into a plain, frozen object;
 * any other field is dropped.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when the id or the pool is invalid.
 */
export function parseBackendRef(value: unknown): BackendRef {
  const raw = (typeof value === 'object' && value !== null ? value : {}) as { id?: unknown; pool?: unknown };
  const id = parseBackendId(raw.id);
  return Object.freeze(raw.pool === undefined ? { id } : { id, pool: parsePoolId(raw.pool) });
}

/** Copies a backend reference into a plain, frozen object (drops any other field a caller attached). */
export function backendRef(ref: BackendRef): BackendRef {
  return Object.freeze(ref.pool === undefined ? { id: ref.id } : { id: ref.id, pool: ref.pool });
}

/** True when both references name the same backend (the pool is a property of the backend, not compared). */
export function sameBackend(a: BackendRef, b: BackendRef): boolean {
  return a.id === b.id;
}
