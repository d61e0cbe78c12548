/**
 * The types of the migration machine: its context, input, events, emitted events and actor
 * inputs. Plain data only (no secrets), so snapshots and events can be logged.
 */
import type { BackendRef, MigrationId, Phase, SessionRef } from '@handoff/types';
import type { Deadlines } from './deadlines.js';
import type {
  CleanupResult,
  FailureDecision,
  FailureReason,
  MigrationOutcome,
  MigrationRef,
  MigrationRefusal,
  OverflowDimension,
  OverflowScope,
} from './types.js';

/** The one in-flight migration. */
export interface MigrationRecord {
  readonly migrationId: MigrationId;
  readonly source: BackendRef;
  readonly target: BackendRef;
  readonly phase: Phase;
  readonly failure: FailureReason | null;
  readonly fallback: FailureDecision | null;
  readonly cleanup: CleanupResult | null;
}

export interface MigrationContext {
  readonly session: SessionRef;
  /** The backend the player is on (A; B once Cleanup starts). */
  readonly backend: BackendRef;
  readonly deadlines: Deadlines;
  readonly migration: MigrationRecord | null;
}

export interface MigrationMachineInput {
  readonly session: SessionRef;
  readonly backend: BackendRef;
  /** Fully resolved: use `resolveDeadlines()`. */
  readonly deadlines: Deadlines;
}

export type MigrationEvent =
  | { type: 'migrate'; migrationId: MigrationId; target: BackendRef }
  /** Honoured from Prepare to Freeze (rollback); ignored once Cutover started. */
  | { type: 'abort'; migrationId: MigrationId; reason: string }
  | { type: 'buffer.overflow'; migrationId: MigrationId; scope: OverflowScope; dimension: OverflowDimension }
  /** The connection to A died: nothing to roll back to. */
  | { type: 'source.lost'; reason: string }
  /** Raised (delayed) on entering Prepare; carries the id so a stale one is ignored. */
  | { type: 'deadline.migration'; migrationId: MigrationId };

export type MigrationEmitted =
  | { type: 'migration:phase'; migrationId: MigrationId; phase: Phase }
  | { type: 'migration:outcome'; outcome: MigrationOutcome }
  | { type: 'migration:refused'; refusal: MigrationRefusal };

/** Input of every actor but the fail-over ones. */
export interface StepActorInput {
  readonly migration: MigrationRef;
}
/** Input of the fail-over actors (`decideFailure`, `failOver`, `sendReferral`, `sendDisconnect`). */
export interface FallbackActorInput extends StepActorInput {
  readonly failure: FailureReason;
  /** For `sendDisconnect`: the text the failure hook chose. */
  readonly message?: string;
}
