/**
 * The migration state machine. Pure: it imports only xstate and local types. Every side effect is
 * an actor supplied with `.provide({ actors })` (see `createMigrator`, or provide them yourself);
 * the placeholders below reject with `ERR_MIGRATION_ACTOR_NOT_PROVIDED`.
 *
 * One actor per player session. `Idle.ready` is "on `context.backend`"; a `migrate` request walks
 * Prepare → Auth → Sync → Freeze → Cutover → Resume → Cleanup and back to `Idle.ready` on B, or
 * fails into `Failed`, whose substate is the rollback rule of the failing phase:
 * before Freeze `closingTarget` (close B, stay on A), Freeze `restoringSource` (drain the buffer to
 * A, resume A), Cutover/Resume `deciding` → `referring` | `disconnecting` (the session ends in
 * `Idle.closed`). `context.migration` (the one in-flight migration) is cleared on every exit path.
 */
import { assign, emit, fromPromise, raise, setup } from 'xstate';
import type { DeadlineName } from './deadlines.js';
import type {
  FallbackActorInput,
  MigrationContext,
  MigrationEmitted,
  MigrationEvent,
  MigrationMachineInput,
  StepActorInput,
} from './machine-types.js';
import type {
  BackendRef,
  CleanupResult,
  FailureDecision,
  FailureReason,
  HookDecision,
  MigrationOutcome,
  MigrationRef,
  OverflowDimension,
  OverflowScope,
  Phase,
  RefusalCode,
} from './types.js';

export type * from './machine-types.js';

/** Tag of the states in which an awaited hook runs: the forwarding loop must not read from B. */
export const PAUSE_BACKEND_READS = 'pause-backend-reads';

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() =>
    Promise.reject(
      Object.assign(new Error(`actor "${name}" was not provided`), { code: 'ERR_MIGRATION_ACTOR_NOT_PROVIDED' }),
    ),
  );
}

const AFTER = /^xstate\.after\.([^.]+)\./;

/** Turns the event that failed a phase into a typed, secret-free reason. */
export function failureOf(phase: Phase, event: { type: string } & Record<string, unknown>): FailureReason {
  const after = AFTER.exec(event.type);
  if (after) return { code: 'ERR_MIGRATION_DEADLINE', phase, deadline: after[1]!, message: `${after[1]} deadline expired` };
  switch (event.type) {
    case 'deadline.migration':
      return { code: 'ERR_MIGRATION_DEADLINE', phase, deadline: 'migration', message: 'migration deadline expired' };
    case 'buffer.overflow': {
      const overflow = { scope: event.scope as OverflowScope, dimension: event.dimension as OverflowDimension };
      return { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', phase, overflow, message: `${overflow.scope} buffer full (${overflow.dimension})` };
    }
    case 'abort':
      return { code: 'ERR_MIGRATION_ABORTED', phase, message: String(event.reason ?? 'aborted') };
    case 'source.lost':
      return { code: 'ERR_MIGRATION_SOURCE_LOST', phase, message: String(event.reason ?? 'source connection lost') };
    default: {
      const error = event.error as { code?: unknown; message?: unknown } | undefined;
      const cause = typeof error?.code === 'string' ? error.code : undefined;
      const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : 'step failed';
      return cause === undefined
        ? { code: 'ERR_MIGRATION_STEP_FAILED', phase, message }
        : { code: 'ERR_MIGRATION_STEP_FAILED', phase, cause, message };
    }
  }
}

function refOf(context: MigrationContext): MigrationRef {
  const m = context.migration!;
  return { session: context.session, migrationId: m.id, source: m.source, target: m.target, phase: m.phase };
}

function outcomeOf(context: MigrationContext, kind: MigrationOutcome['kind']): MigrationOutcome {
  const m = context.migration!;
  const base = { migrationId: m.id, source: m.source, target: m.target };
  if (kind === 'migrated') return { ...base, kind, cleanup: m.cleanup ?? 'done' };
  const reason = m.failure!;
  if (kind === 'disconnected' && m.fallback?.action === 'disconnect' && m.fallback.message !== undefined) {
    return { ...base, kind, phase: reason.phase, reason, message: m.fallback.message };
  }
  return { ...base, kind, phase: reason.phase, reason };
}

const deadline =
  (name: DeadlineName) =>
  ({ context }: { context: MigrationContext }): number =>
    context.deadlines[name];

const stepInput = ({ context }: { context: MigrationContext }): StepActorInput => ({ migration: refOf(context) });
const fallbackInput = ({ context }: { context: MigrationContext }): FallbackActorInput => {
  const m = context.migration!;
  const message = m.fallback?.action === 'disconnect' ? m.fallback.message : undefined;
  return message === undefined
    ? { migration: refOf(context), failure: m.failure! }
    : { migration: refOf(context), failure: m.failure!, message };
};

export const migrationSetup = setup({
  types: {} as {
    context: MigrationContext;
    events: MigrationEvent;
    input: MigrationMachineInput;
    emitted: MigrationEmitted;
    tags: typeof PAUSE_BACKEND_READS;
  },
  actors: {
    beforeMigrate: notProvided<HookDecision, StepActorInput>('beforeMigrate'),
    connectBackend: notProvided<void, StepActorInput>('connectBackend'),
    authenticate: notProvided<void, StepActorInput>('authenticate'),
    driveSetup: notProvided<void, StepActorInput>('driveSetup'),
    freeze: notProvided<void, StepActorInput>('freeze'),
    cutover: notProvided<void, StepActorInput>('cutover'),
    drain: notProvided<void, StepActorInput>('drain'),
    cleanup: notProvided<void, StepActorInput>('cleanup'),
    closeTarget: notProvided<void, StepActorInput>('closeTarget'),
    restoreSource: notProvided<void, StepActorInput>('restoreSource'),
    decideFailure: notProvided<FailureDecision, FallbackActorInput>('decideFailure'),
    refer: notProvided<void, FallbackActorInput>('refer'),
    disconnect: notProvided<void, FallbackActorInput>('disconnect'),
  },
  guards: {
    isSameBackend: ({ context }, p: { target: BackendRef | undefined }) => p.target?.id === context.backend.id,
    /**
     * Provided by the caller (pool policy); the default lets every pool through. `target` is
     * `undefined` when the hook did not redirect: an implementation must then return false.
     */
    isPoolDisabled: (_, _p: { target: BackendRef | undefined }) => false,
    isCurrentMigration: ({ context, event }) => 'migrationId' in event && event.migrationId === context.migration?.id,
    decisionIs: ({ event }, p: { action: HookDecision['action'] | FailureDecision['action'] }) =>
      (event as { output?: { action?: string } }).output?.action === p.action,
  },
  delays: {
    beforeMigrateHook: deadline('beforeMigrateHook'),
    prepare: deadline('prepare'),
    auth: deadline('auth'),
    sync: deadline('sync'),
    freeze: deadline('freeze'),
    cutover: deadline('cutover'),
    resume: deadline('resume'),
    cleanup: deadline('cleanup'),
    rollback: deadline('rollback'),
    failureHook: deadline('failureHook'),
    fallback: deadline('fallback'),
    migration: deadline('migration'),
  } satisfies Record<DeadlineName, unknown>,
  actions: {
    refuse: emit((_, p: { migrationId: string; target: BackendRef; refusal: RefusalCode; reason?: string }) => ({
      type: 'migration:refused' as const,
      refusal: { kind: 'refused' as const, ...p },
    })),
    beginMigration: assign({
      migration: ({ context, event }) => {
        const e = event as Extract<MigrationEvent, { type: 'migrate' }>;
        return { id: e.migrationId, source: context.backend, target: e.target, phase: 'Idle' as Phase, failure: null, fallback: null, cleanup: null };
      },
    }),
    applyRedirect: assign({
      migration: ({ context, event }) => {
        const output = (event as { output?: HookDecision }).output;
        return output?.action === 'redirect' ? { ...context.migration!, target: output.target } : context.migration;
      },
    }),
    setPhase: assign({ migration: ({ context }, p: { phase: Phase }) => ({ ...context.migration!, phase: p.phase }) }),
    announcePhase: emit(({ context }, p: { phase: Phase }) => ({
      type: 'migration:phase' as const,
      migrationId: context.migration!.id,
      phase: p.phase,
    })),
    armMigrationDeadline: raise(({ context }) => ({ type: 'deadline.migration' as const, migrationId: context.migration!.id }), {
      delay: 'migration',
    }),
    recordFailure: assign({
      migration: ({ context, event }, p: { phase: Phase }) =>
        context.migration!.failure ? context.migration : { ...context.migration!, failure: failureOf(p.phase, event as never) },
    }),
    recordFallback: assign({
      migration: ({ context, event }) => ({ ...context.migration!, fallback: (event as { output?: FailureDecision }).output ?? null }),
    }),
    recordCleanup: assign({ migration: ({ context }, p: { cleanup: CleanupResult }) => ({ ...context.migration!, cleanup: p.cleanup }) }),
    adoptTarget: assign({ backend: ({ context }) => context.migration!.target }),
    announceOutcome: emit(({ context }, p: { kind: MigrationOutcome['kind'] }) => ({
      type: 'migration:outcome' as const,
      outcome: outcomeOf(context, p.kind),
    })),
    clearMigration: assign({ migration: null }),
  },
});

const enter = (phase: Phase) =>
  [
    { type: 'setPhase', params: { phase } },
    { type: 'announcePhase', params: { phase } },
  ] as const;

const failTo = (target: string, phase: Phase) => ({ target, actions: { type: 'recordFailure', params: { phase } } }) as const;

/** Ends the migration in `Idle.ready` (`kind` migrated/rolled-back) or `Idle.closed` (referred/disconnected). */
const finish = (kind: MigrationOutcome['kind'], cleanup?: CleanupResult) => ({
  target: kind === 'migrated' || kind === 'rolled-back' ? '#migration.Idle.ready' : '#migration.Idle.closed',
  actions: [
    ...(cleanup ? [{ type: 'recordCleanup', params: { cleanup } } as const] : []),
    { type: 'announcePhase', params: { phase: 'Idle' } } as const,
    { type: 'announceOutcome', params: { kind } } as const,
    'clearMigration' as const,
  ],
});

const refuseRequest = (refusal: RefusalCode) =>
  ({
    type: 'refuse',
    params: ({ event }: { event: Extract<MigrationEvent, { type: 'migrate' }> }) => ({
      migrationId: event.migrationId,
      target: event.target,
      refusal,
    }),
  }) as const;

const refuseCurrent = (refusal: RefusalCode, reason?: string) =>
  ({
    type: 'refuse',
    params: ({ context, event }: { context: MigrationContext; event: unknown }) => {
      const output = (event as { output?: HookDecision }).output;
      const target = output?.action === 'redirect' ? output.target : context.migration!.target;
      const why = reason ?? (output?.action === 'deny' ? output.reason : undefined);
      const base = { migrationId: context.migration!.id, target, refusal };
      return why === undefined ? base : { ...base, reason: why };
    },
  }) as const;

/** The hook's redirect target, or `undefined` (the target guards are then false). */
const redirectTarget = ({ event }: { event: unknown }) => {
  const output = (event as { output?: HookDecision }).output;
  return { target: output?.action === 'redirect' ? output.target : undefined };
};

/** Failure edges shared by the phases before Freeze: close B, stay on A. */
const beforeFreeze = (phase: Phase) => ({
  'deadline.migration': { guard: 'isCurrentMigration', ...failTo('#migration.Failed.closingTarget', phase) },
  abort: { guard: 'isCurrentMigration', ...failTo('#migration.Failed.closingTarget', phase) },
  'source.lost': failTo('#migration.Failed.deciding', phase),
}) as const;

/** Failure edges shared by Cutover and Resume: no way back to A; referral, else Disconnect. */
const afterCut = (phase: Phase) => ({
  'deadline.migration': { guard: 'isCurrentMigration', ...failTo('#migration.Failed.deciding', phase) },
  'buffer.overflow': { guard: 'isCurrentMigration', ...failTo('#migration.Failed.deciding', phase) },
  'source.lost': failTo('#migration.Failed.deciding', phase),
}) as const;

export const migrationMachine = migrationSetup.createMachine({
  id: 'migration',
  context: ({ input }) => ({ session: input.session, backend: input.backend, deadlines: input.deadlines, migration: null }),
  initial: 'Idle',
  on: { migrate: { actions: refuseRequest('already-migrating') } },
  states: {
    Idle: {
      initial: 'ready',
      states: {
        ready: {
          on: {
            migrate: [
              { guard: { type: 'isSameBackend', params: ({ event }) => ({ target: event.target }) }, actions: refuseRequest('already-on-backend') },
              { guard: { type: 'isPoolDisabled', params: ({ event }) => ({ target: event.target }) }, actions: refuseRequest('pool-disabled') },
              { target: 'deciding', actions: 'beginMigration' },
            ],
          },
        },
        deciding: {
          tags: [PAUSE_BACKEND_READS],
          invoke: {
            id: 'beforeMigrate',
            src: 'beforeMigrate',
            input: stepInput,
            onDone: [
              { guard: { type: 'decisionIs', params: { action: 'deny' } }, target: 'ready', actions: [refuseCurrent('denied'), 'clearMigration'] },
              {
                guard: { type: 'isSameBackend', params: redirectTarget },
                target: 'ready',
                actions: [refuseCurrent('already-on-backend'), 'clearMigration'],
              },
              {
                guard: { type: 'isPoolDisabled', params: redirectTarget },
                target: 'ready',
                actions: [refuseCurrent('pool-disabled'), 'clearMigration'],
              },
              { target: '#migration.Prepare', actions: 'applyRedirect' },
            ],
            onError: { target: 'ready', actions: [refuseCurrent('denied', 'beforeMigrate hook failed'), 'clearMigration'] },
          },
          after: {
            beforeMigrateHook: { target: 'ready', actions: [refuseCurrent('denied', 'beforeMigrate hook timed out'), 'clearMigration'] },
          },
        },
        /** After a referral or Disconnect: the session is over. */
        closed: { on: { migrate: { actions: refuseRequest('session-closed') } } },
      },
    },
    Prepare: {
      entry: [...enter('Prepare'), 'armMigrationDeadline'],
      invoke: { id: 'connectBackend', src: 'connectBackend', input: stepInput, onDone: 'Auth', onError: failTo('#migration.Failed.closingTarget', 'Prepare') },
      after: { prepare: failTo('#migration.Failed.closingTarget', 'Prepare') },
      on: beforeFreeze('Prepare'),
    },
    Auth: {
      entry: enter('Auth'),
      invoke: { id: 'authenticate', src: 'authenticate', input: stepInput, onDone: 'Sync', onError: failTo('#migration.Failed.closingTarget', 'Auth') },
      after: { auth: failTo('#migration.Failed.closingTarget', 'Auth') },
      on: beforeFreeze('Auth'),
    },
    Sync: {
      entry: enter('Sync'),
      invoke: { id: 'driveSetup', src: 'driveSetup', input: stepInput, onDone: 'Freeze', onError: failTo('#migration.Failed.closingTarget', 'Sync') },
      after: { sync: failTo('#migration.Failed.closingTarget', 'Sync') },
      on: beforeFreeze('Sync'),
    },
    Freeze: {
      entry: enter('Freeze'),
      invoke: { id: 'freeze', src: 'freeze', input: stepInput, onDone: 'Cutover', onError: failTo('#migration.Failed.restoringSource', 'Freeze') },
      after: { freeze: failTo('#migration.Failed.restoringSource', 'Freeze') },
      on: {
        'deadline.migration': { guard: 'isCurrentMigration', ...failTo('#migration.Failed.restoringSource', 'Freeze') },
        'buffer.overflow': { guard: 'isCurrentMigration', ...failTo('#migration.Failed.restoringSource', 'Freeze') },
        abort: { guard: 'isCurrentMigration', ...failTo('#migration.Failed.restoringSource', 'Freeze') },
        'source.lost': failTo('#migration.Failed.deciding', 'Freeze'),
      },
    },
    Cutover: {
      entry: enter('Cutover'),
      invoke: { id: 'cutover', src: 'cutover', input: stepInput, onDone: 'Resume', onError: failTo('#migration.Failed.deciding', 'Cutover') },
      after: { cutover: failTo('#migration.Failed.deciding', 'Cutover') },
      on: afterCut('Cutover'),
    },
    Resume: {
      entry: enter('Resume'),
      invoke: { id: 'drain', src: 'drain', input: stepInput, onDone: 'Cleanup', onError: failTo('#migration.Failed.deciding', 'Resume') },
      after: { resume: failTo('#migration.Failed.deciding', 'Resume') },
      on: afterCut('Resume'),
    },
    Cleanup: {
      entry: [...enter('Cleanup'), 'adoptTarget'],
      invoke: { id: 'cleanup', src: 'cleanup', input: stepInput, onDone: finish('migrated', 'done'), onError: finish('migrated', 'failed') },
      after: { cleanup: finish('migrated', 'deadline') },
    },
    Failed: {
      entry: enter('Failed'),
      initial: 'deciding',
      states: {
        closingTarget: {
          invoke: { id: 'closeTarget', src: 'closeTarget', input: stepInput, onDone: finish('rolled-back'), onError: finish('rolled-back') },
          after: { rollback: finish('rolled-back') },
        },
        restoringSource: {
          invoke: { id: 'restoreSource', src: 'restoreSource', input: stepInput, onDone: finish('rolled-back'), onError: 'deciding' },
          after: { rollback: 'deciding' },
          on: { 'source.lost': 'deciding' },
        },
        deciding: {
          tags: [PAUSE_BACKEND_READS],
          invoke: {
            id: 'decideFailure',
            src: 'decideFailure',
            input: fallbackInput,
            onDone: [
              { guard: { type: 'decisionIs', params: { action: 'disconnect' } }, target: 'disconnecting', actions: 'recordFallback' },
              { target: 'referring', actions: 'recordFallback' },
            ],
            onError: 'referring',
          },
          after: { failureHook: 'referring' },
        },
        referring: {
          invoke: { id: 'refer', src: 'refer', input: fallbackInput, onDone: finish('referred'), onError: 'disconnecting' },
          after: { fallback: 'disconnecting' },
        },
        disconnecting: {
          invoke: { id: 'disconnect', src: 'disconnect', input: fallbackInput, onDone: finish('disconnected'), onError: finish('disconnected') },
          after: { fallback: finish('disconnected') },
        },
      },
    },
  },
});

export type MigrationMachine = typeof migrationMachine;

