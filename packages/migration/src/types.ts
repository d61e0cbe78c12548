/**
 * The plain-data vocabulary of a migration: its reference, failure reasons, outcomes, refusals and
 * hook decisions. The shared vocabulary (`BackendRef`, `SessionRef`, `Phase`, the branded ids) comes
 * from `@handoff/types`. Everything here is JSON-serialisable and free of secrets, so it may appear
 * in snapshots, events and logs.
 */
import type { BackendRef, MigrationEnds, MigrationId, Phase, SessionRef } from '@handoff/types';
import type { MigrationErrorCode } from './errors.js';

/** What every actor receives: which migration, from where to where, in which phase. */
export interface MigrationRef extends MigrationEnds {
  readonly session: SessionRef;
  readonly migrationId: MigrationId;
  readonly phase: Phase;
}

/** Stable codes of the ways a started migration fails (also listed in `migrationErrorCodes`). */
export type FailureCode = Extract<
  MigrationErrorCode,
  | 'ERR_MIGRATION_DEADLINE'
  | 'ERR_MIGRATION_STEP_FAILED'
  | 'ERR_MIGRATION_BUFFER_OVERFLOW'
  | 'ERR_MIGRATION_ABORTED'
  | 'ERR_MIGRATION_SOURCE_LOST'
  | 'ERR_MIGRATION_STOPPED'
>;

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
  /** For `ERR_MIGRATION_STEP_FAILED`: the actor that rejected (`prepare`, `stopSource`, `drainToTarget`…). */
  readonly actor?: string;
  /** For `ERR_MIGRATION_STEP_FAILED`: the `code` of the actor's error, when it had one. */
  readonly cause?: string;
  /** For `ERR_MIGRATION_BUFFER_OVERFLOW`: which bound was hit. */
  readonly overflow?: { readonly scope: OverflowScope; readonly dimension: OverflowDimension };
}

/** How Cleanup went; the player is on B in every case. */
export type CleanupResult = 'done' | 'failed' | 'deadline';

interface OutcomeBase extends MigrationEnds {
  readonly migrationId: MigrationId;
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
  readonly migrationId: MigrationId;
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

/** What the awaited failure hook decides once a migration can no longer roll back to A (see the `sendReferral` / `sendDisconnect` steps). */
export type FailureDecision =
  | { readonly action: 'refer' }
  | { readonly action: 'disconnect'; readonly message?: string };

/** `beforeMigrate` decision: go ahead. */
export const allow = (): HookDecision => ({ action: 'allow' });
/** `beforeMigrate` decision: refuse the request (`denied`, with `reason`). */
export const deny = (reason: string): HookDecision => ({ action: 'deny', reason });
/** `beforeMigrate` decision: migrate to `target` instead. */
export const redirect = (target: BackendRef): HookDecision => ({ action: 'redirect', target });
/** Failure-hook decision: send the client a referral (the `sendReferral` step). */
export const refer = (): FailureDecision => ({ action: 'refer' });
/** Failure-hook decision: send the client a Disconnect with `message` (the `sendDisconnect` step). */
export const disconnect = (message?: string): FailureDecision =>
  message === undefined ? { action: 'disconnect' } : { action: 'disconnect', message };
