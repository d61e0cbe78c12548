/**
 * The types of the migration machine: its context, input, events, emitted events and actor
 * inputs. Plain data only (no secrets), so snapshots and events can be logged.
 */
import type { Deadlines } from './deadlines.js';
import type {
  BackendRef,
  CleanupResult,
  FailureDecision,
  FailureReason,
  MigrationOutcome,
  MigrationRef,
  MigrationRefusal,
  OverflowDimension,
  OverflowScope,
  Phase,
  SessionRef,
} from './types.js';

/** The one in-flight migration. */
export interface MigrationRecord {
  readonly id: string;
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
  | { type: 'migrate'; migrationId: string; target: BackendRef }
  /** Honoured from Prepare to Freeze (rollback); ignored once Cutover started. */
  | { type: 'abort'; migrationId: string; reason: string }
  | { type: 'buffer.overflow'; migrationId: string; scope: OverflowScope; dimension: OverflowDimension }
  /** The connection to A died: nothing to roll back to. */
  | { type: 'source.lost'; reason: string }
  /** Raised (delayed) on entering Prepare; carries the id so a stale one is ignored. */
  | { type: 'deadline.migration'; migrationId: string };

export type MigrationEmitted =
  | { type: 'migration:phase'; migrationId: string; phase: Phase }
  | { type: 'migration:outcome'; outcome: MigrationOutcome }
  | { type: 'migration:refused'; refusal: MigrationRefusal };

/** Input of every step actor. */
export interface StepActorInput {
  readonly migration: MigrationRef;
}
/** Input of the failure-path actors (`decideFailure`, `refer`, `disconnect`). */
export interface FallbackActorInput extends StepActorInput {
  readonly failure: FailureReason;
  /** For `disconnect`: the text the failure hook chose. */
  readonly message?: string;
}
