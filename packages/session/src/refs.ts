/**
 * Plain references shared with `@handoff/migration` by shape (no import: the packages stay independent).
 */

/** A backend the player can be on. `id` is what the proxy routes by; `pool` groups backends for policy. */
export interface BackendRef {
  readonly id: string;
  readonly pool?: string;
}

/** A player session: its id and, once the Connect is read, the client's UUID. */
export interface SessionRef {
  readonly id: string;
  readonly playerId?: string;
}

/**
 * A migration phase as `@handoff/migration` names them (`Idle`, `Prepare`, `Auth`, `Sync`, `Freeze`,
 * `Cutover`, `Resume`, `Cleanup`, `Failed`); any other string is kept as given.
 */
export type SessionPhase = 'Idle' | 'Prepare' | 'Auth' | 'Sync' | 'Freeze' | 'Cutover' | 'Resume' | 'Cleanup' | 'Failed' | (string & {});

/** One finished (or refused) migration, as the record keeps it. */
export interface MigrationHistoryEntry {
  readonly migrationId: string;
  readonly from: BackendRef;
  readonly to: BackendRef;
  /** `migrated`, `rolled-back`, `referred`, `disconnected`, `refused` (or any string the caller uses). */
  readonly outcome: string;
  /** When it ended (ms since the epoch, from the record's clock). */
  readonly at: number;
  /** The phase it failed in, if it failed. */
  readonly phase?: string;
  /** A failure or refusal code. Never secret. */
  readonly reason?: string;
}

/** Copies a backend reference into a plain, frozen object (drops any other field a caller attached). */
export function backendRef(ref: BackendRef): BackendRef {
  return Object.freeze(ref.pool === undefined ? { id: ref.id } : { id: ref.id, pool: ref.pool });
}
