/**
 * The plain-data vocabulary of a migration: phases, references, failure reasons, outcomes,
 * refusals and hook decisions. Everything here is JSON-serialisable and free of secrets, so it
 * may appear in machine snapshots, events and logs.
 */

/** The phases of the design (ARCHITECTURE.md), in the order a successful migration visits them. */
export const PHASES = ['Idle', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

/** A backend the player can be on. `id` is what the proxy routes by; `pool` groups backends for policy. */
export interface BackendRef {
  readonly id: string;
  readonly pool?: string;
}

/**
 * The player session a migration machine belongs to. Only ids: the session record itself
 * (captured packets, ping ledger) lives in `@handoff/session` and is reached through the steps.
 */
export interface SessionRef {
  readonly id: string;
  /** The client's UUID, where known (the one-in-flight-migration rule is per player). */
  readonly playerId?: string;
}

/** What every actor receives: which migration, from where to where, in which phase. */
export interface MigrationRef {
  readonly session: SessionRef;
  readonly migrationId: string;
  readonly source: BackendRef;
  readonly target: BackendRef;
  readonly phase: Phase;
}

/** Stable codes of the ways a started migration fails (also listed in `errorCodes`). */
export type FailureCode =
  | 'ERR_MIGRATION_DEADLINE'
  | 'ERR_MIGRATION_STEP_FAILED'
  | 'ERR_MIGRATION_BUFFER_OVERFLOW'
  | 'ERR_MIGRATION_ABORTED'
  | 'ERR_MIGRATION_SOURCE_LOST'
  | 'ERR_MIGRATION_STOPPED';

export type OverflowScope = 'migration' | 'global';
export type OverflowDimension = 'packets' | 'bytes';

/** Why a migration failed: the first failure wins; later ones (during rollback) only go to the log. */
export interface FailureReason {
  readonly code: FailureCode;
  /** The phase that failed. */
  readonly phase: Phase;
  readonly message: string;
  /** For `ERR_MIGRATION_DEADLINE`: which deadline expired. */
  readonly deadline?: string;
  /** For `ERR_MIGRATION_STEP_FAILED`: the `code` of the step's error, when it had one. */
  readonly cause?: string;
  /** For `ERR_MIGRATION_BUFFER_OVERFLOW`: which bound was hit. */
  readonly overflow?: { readonly scope: OverflowScope; readonly dimension: OverflowDimension };
}

/** How Cleanup went; the player is on B in every case. */
export type CleanupResult = 'done' | 'failed' | 'deadline';

interface OutcomeBase {
  readonly migrationId: string;
  readonly source: BackendRef;
  readonly target: BackendRef;
}

/** The typed result of a migration that started (passed the refusal checks and the hook). */
export type MigrationOutcome =
  | (OutcomeBase & { readonly kind: 'migrated'; readonly cleanup: CleanupResult })
  | (OutcomeBase & { readonly kind: 'rolled-back'; readonly phase: Phase; readonly reason: FailureReason })
  | (OutcomeBase & { readonly kind: 'referred'; readonly phase: Phase; readonly reason: FailureReason })
  | (OutcomeBase & {
      readonly kind: 'disconnected';
      readonly phase: Phase;
      readonly reason: FailureReason;
      /** The text shown to the player, if the failure hook chose one. */
      readonly message?: string;
    });

/** Why a new request did not start a migration. */
export type RefusalCode = 'already-migrating' | 'already-on-backend' | 'pool-disabled' | 'denied' | 'session-closed';

export interface MigrationRefusal {
  readonly kind: 'refused';
  readonly migrationId: string;
  readonly target: BackendRef;
  readonly refusal: RefusalCode;
  /** For `denied`: the hook's reason (or why the hook could not decide). */
  readonly reason?: string;
}

export type MigrationResult = MigrationOutcome | MigrationRefusal;

/** What the awaited `beforeMigrate` hook decides. */
export type HookDecision =
  | { readonly action: 'allow' }
  | { readonly action: 'deny'; readonly reason: string }
  | { readonly action: 'redirect'; readonly target: BackendRef };

/** What the awaited failure hook decides once a migration can no longer roll back to A. */
export type FailureDecision =
  | { readonly action: 'refer' }
  | { readonly action: 'disconnect'; readonly message?: string };

export const allow = (): HookDecision => ({ action: 'allow' });
export const deny = (reason: string): HookDecision => ({ action: 'deny', reason });
export const redirect = (target: BackendRef): HookDecision => ({ action: 'redirect', target });
export const refer = (): FailureDecision => ({ action: 'refer' });
export const disconnect = (message?: string): FailureDecision =>
  message === undefined ? { action: 'disconnect' } : { action: 'disconnect', message };
