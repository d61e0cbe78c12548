/**
 * `@handoff/migration`: the XState migration machine — phases, deadlines, bounded buffering, the
 * cutover barrier, rollback and typed outcomes. The proxy supplies the I/O as steps; each phase's
 * work is a named actor of the machine (see docs/migration.md).
 *
 * @example
 * ```ts
 * import { parseBackendRef, parseSessionId } from '@handoff/types';
 * import { BufferBudget, createMigrator, forwardThroughGate } from '@handoff/migration';
 *
 * const migrator = createMigrator({
 *   session: { id: parseSessionId('s1') },
 *   backend: parseBackendRef({ id: 'lobby' }),
 *   steps, // prepare, auth, sync, cutover, cleanup, closeTarget, sendDisconnect, sendToSource, sendToTarget, …
 *   drainPolicy: { isSourcePong: record.pings.isSourcePong },
 *   budget: new BufferBudget(),
 * });
 * forwardThroughGate(framesFromA, migrator.gate('Default'), (f) => toClient.write(f.bytes));
 * const route = migrator.clientFrame(frameFromClient); // forward | buffered | hold | drop
 * const result = await migrator.migrate({ target: parseBackendRef({ id: 'game-1' }), ticket });
 * if (result.kind === 'migrated') console.log('now on', migrator.backend.id);
 * ```
 */
export type {
  BackendRef,
  FrameLike,
  Logger,
  MigrationEnds,
  MigrationId,
  Phase,
  SessionRef,
  SourcePongTest,
} from '@handoff/types';
export { allow, deny, disconnect, redirect, refer } from './types.js';
export type {
  CleanupResult,
  FailureCode,
  FailureDecision,
  FailureReason,
  HookDecision,
  MigrationOutcome,
  MigrationRef,
  MigrationRefusal,
  MigrationResult,
  OverflowDimension,
  OverflowScope,
  RefusalCode,
} from './types.js';
export {
  CLIENT_READY_MARGIN_MS,
  CLIENT_READY_WINDOW_MS,
  deadlineDocs,
  defaultDeadlines,
  resolveDeadlines,
  type DeadlineName,
  type Deadlines,
} from './deadlines.js';
export { MigrationError, isMigrationError, migrationErrorCodes, type MigrationErrorCode } from './errors.js';
export { PAUSE_BACKEND_READS, migrationMachine, type MigrationActorName, type MigrationMachine } from './machine.js';
export type {
  FallbackActorInput,
  MigrationContext,
  MigrationEmitted,
  MigrationEvent,
  MigrationMachineInput,
  MigrationRecord,
  StepActorInput,
} from './machine-types.js';
export { rollbackRules, type FailedState, type RollbackRule } from './rollback.js';
export {
  BufferBudget,
  defaultBufferLimits,
  defaultGlobalLimits,
  sharedBufferBudget,
  type BudgetUsage,
  type BufferLimits,
} from './budget.js';
export {
  DEFAULT_SOURCE_BOUND,
  createDrainPolicy,
  dropRuleDocs,
  dropRules,
  type DrainContext,
  type DrainDecision,
  type DrainOverride,
  type DrainPolicy,
  type DrainPolicyInit,
  type TargetReadyTest,
} from './drain-policy.js';
export {
  MigrationBuffer,
  type BufferLedger,
  type BufferState,
  type Destination,
  type DrainOptions,
  type DrainToTargetOptions,
  type MigrationBufferInit,
  type Offer,
  type OverflowInfo,
  type SettledEntry,
} from './buffer.js';
export {
  CutoverBarrier,
  StreamGate,
  forwardThroughGate,
  type BarrierState,
  type BarrierWaitOptions,
  type GateState,
} from './barrier.js';
export type { BackendReads } from './read-pause.js';
export type {
  BeforeMigrateContext,
  FailureHookContext,
  FallbackContext,
  MigrationHooks,
  MigrationRequest,
  MigrationSteps,
  StepContext,
} from './steps.js';
export {
  createMigrator,
  type ClientRoute,
  type InFlightMigration,
  type MigrationClock,
  type Migrator,
  type MigratorInit,
  type MigratorOptions,
  type MigratorSnapshot,
  type PersistedMigrator,
} from './migrator.js';
