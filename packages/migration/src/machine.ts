/**
 * The migration state machine. Pure: it imports only xstate, local types and the package's error
 * class. Every side effect is an actor supplied with `.provide({ actors })` (`createMigrator` does
 * it, or provide them yourself); the placeholders below reject with `ERR_MIGRATION_ACTOR_NOT_PROVIDED`.
 *
 * One actor per player session. `Idle.ready` is "on `context.backend`"; a `migrate` request walks
 * Prepare → Auth → Sync → Freeze → Cutover → Resume → Cleanup and back to `Idle.ready` on B, or
 * fails into `Failed`. Each phase invokes its work as named actors, in order:
 *
 * | phase   | actors (substates)                                                                   |
 * |---------|--------------------------------------------------------------------------------------|
 * | Prepare | `prepare`                                                                            |
 * | Auth    | `auth`                                                                               |
 * | Sync    | `sync`                                                                               |
 * | Freeze  | `openBuffer` (client→A stops), `freeze`, `stopSource` (A's streams stop at a frame boundary) |
 * | Cutover | `cutBarrier` (A's gates close, B's writers go), `cutover`                            |
 * | Resume  | `drainToTarget` (the buffer to B by the drain policy), `resume`                      |
 * | Cleanup | `cleanup`                                                                            |
 *
 * `Failed`'s substate is the rollback rule of the failing phase: before Freeze `closingTarget`
 * (`closeTarget`: close B, stay on A); Freeze `restoringSource` (`drainToSource`, `resumeSource`,
 * `closeTarget`); Cutover/Resume `deciding` (`decideFailure`) → `failingOver` (`failOver`: drop
 * the buffer, close the barrier) → `referring` (`sendReferral`) | `disconnecting` (`sendDisconnect`),
 * and the session ends in `Idle.closed`. Each phase's deadline bounds the whole phase.
 * `context.migration` (the one in-flight migration) is cleared on every exit path.
 */
import type { BackendRef, MigrationId, Phase } from '@handoff/types';
import { assign, emit, fromPromise, raise, setup } from 'xstate';
import type { DeadlineName } from './deadlines.js';
import { MigrationError } from './errors.js';
import type { FallbackActorInput, MigrationContext, MigrationEmitted, MigrationEvent, MigrationMachineInput, StepActorInput } from './machine-types.js';
import type {
  CleanupResult,
  FailureDecision,
  FailureReason,
  HookDecision,
  MigrationOutcome,
  MigrationRef,
  OverflowDimension,
  OverflowScope,
  RefusalCode,
} from './types.js';

/** Tag of the states in which an awaited hook runs: the forwarding loop must not read from B. */
export const PAUSE_BACKEND_READS = 'pause-backend-reads';

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() =>
    Promise.reject(new MigrationError('ERR_MIGRATION_ACTOR_NOT_PROVIDED', `actor "${name}" was not provided: supply it with .provide({ actors })`)),
  );
}

const AFTER = /^xstate\.after\.([^.]+)\./;
const ACTOR_ERROR = /^xstate\.error\.actor\.(.+)$/;

/** Turns the event that failed a phase into a typed, secret-free reason. */
function failureOf(phase: Phase, event: { type: string } & Record<string, unknown>): FailureReason {
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
      const actor = ACTOR_ERROR.exec(event.type)?.[1];
      const error = event.error as { code?: unknown; message?: unknown } | undefined;
      const cause = typeof error?.code === 'string' ? error.code : undefined;
      const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : 'step failed';
      return {
        code: 'ERR_MIGRATION_STEP_FAILED',
        phase,
        ...(actor === undefined ? {} : { actor }),
        ...(cause === undefined ? {} : { cause }),
        message,
      };
    }
  }
}

function refOf(context: MigrationContext): MigrationRef {
  const m = context.migration!;
  return { session: context.session, migrationId: m.migrationId, source: m.source, target: m.target, phase: m.phase };
}

function outcomeOf(context: MigrationContext, kind: MigrationOutcome['kind']): MigrationOutcome {
  const m = context.migration!;
  const base = { migrationId: m.migrationId, source: m.source, target: m.target };
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

const step = (name: string) => notProvided<void, StepActorInput>(name);

/** Every actor the machine invokes: what `.provide({ actors })` must supply (`createMigrator` does). */
const actors = {
  /** `Idle.deciding`: the awaited `beforeMigrate` hook. */
  beforeMigrate: notProvided<HookDecision, StepActorInput>('beforeMigrate'),
  prepare: step('prepare'),
  auth: step('auth'),
  sync: step('sync'),
  /** Freeze: start buffering the client's packets (client→A forwarding stops). */
  openBuffer: step('openBuffer'),
  freeze: step('freeze'),
  /** Freeze: stop every A→client stream at a frame boundary (the barrier). */
  stopSource: step('stopSource'),
  /** Cutover: cut the barrier (A's gates close, B's writers are released). */
  cutBarrier: step('cutBarrier'),
  cutover: step('cutover'),
  /** Resume: deliver the buffer to B by the drain policy. */
  drainToTarget: step('drainToTarget'),
  resume: step('resume'),
  cleanup: step('cleanup'),
  /** Rollback: close B. */
  closeTarget: step('closeTarget'),
  /** Rollback from Freeze: deliver the buffer to A, in order. */
  drainToSource: step('drainToSource'),
  /** Rollback from Freeze: reopen A's streams (the barrier resumes). */
  resumeSource: step('resumeSource'),
  /** `Failed.deciding`: the awaited failure hook. */
  decideFailure: notProvided<FailureDecision, FallbackActorInput>('decideFailure'),
  /** Fail-over: drop what is still buffered (`session-ended`) and close the barrier. */
  failOver: notProvided<void, FallbackActorInput>('failOver'),
  sendReferral: notProvided<void, FallbackActorInput>('sendReferral'),
  sendDisconnect: notProvided<void, FallbackActorInput>('sendDisconnect'),
};

/** The name of every actor the machine invokes. */
export type MigrationActorName = keyof typeof actors;

const migrationSetup = setup({
  types: {} as {
    context: MigrationContext;
    events: MigrationEvent;
    input: MigrationMachineInput;
    emitted: MigrationEmitted;
    tags: typeof PAUSE_BACKEND_READS;
  },
  actors,
  guards: {
    isSameBackend: ({ context }, p: { target: BackendRef | undefined }) => p.target?.id === context.backend.id,
    /**
     * Provided by the caller (pool policy); the default lets every pool through. `target` is
     * `undefined` when the hook did not redirect: an implementation must then return false.
     */
    isPoolDisabled: (_, _p: { target: BackendRef | undefined }) => false,
    isCurrentMigration: ({ context, event }) => 'migrationId' in event && event.migrationId === context.migration?.migrationId,
    decisionIs: ({ event }, p: { action: HookDecision['action'] }) => (event as { output?: { action?: string } }).output?.action === p.action,
    fallbackIs: ({ context }, p: { action: FailureDecision['action'] }) => context.migration?.fallback?.action === p.action,
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
    refuse: emit((_, p: { migrationId: MigrationId; target: BackendRef; refusal: RefusalCode; reason?: string }) => ({
      type: 'migration:refused' as const,
      refusal: { kind: 'refused' as const, ...p },
    })),
    beginMigration: assign({
      migration: ({ context, event }) => {
        const e = event as Extract<MigrationEvent, { type: 'migrate' }>;
        return { migrationId: e.migrationId, source: context.backend, target: e.target, phase: 'Idle' as Phase, failure: null, fallback: null, cleanup: null };
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
      migrationId: context.migration!.migrationId,
      phase: p.phase,
    })),
    armMigrationDeadline: raise(({ context }) => ({ type: 'deadline.migration' as const, migrationId: context.migration!.migrationId }), {
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

/** Invokes one actor of a phase: when it is done go to `next`; when it fails, `onError` (the phase's rollback rule). */
const run = <const A extends MigrationActorName>(actor: A, next: string, onError: ReturnType<typeof failTo>) =>
  ({ invoke: { id: actor, src: actor, input: stepInput, onDone: next, onError } }) as const;

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
      const base = { migrationId: context.migration!.migrationId, target, refusal };
      return why === undefined ? base : { ...base, reason: why };
    },
  }) as const;

/** The hook's redirect target, or `undefined` (the target guards are then false). */
const redirectTarget = ({ event }: { event: unknown }) => {
  const output = (event as { output?: HookDecision }).output;
  return { target: output?.action === 'redirect' ? output.target : undefined };
};

const CLOSE_TARGET = '#migration.Failed.closingTarget';
const RESTORE_SOURCE = '#migration.Failed.restoringSource';
const DECIDE = '#migration.Failed.deciding';

/** Failure edges shared by the phases before Freeze: close B, stay on A. */
const beforeFreeze = (phase: Phase) => ({
  'deadline.migration': { guard: 'isCurrentMigration', ...failTo(CLOSE_TARGET, phase) },
  abort: { guard: 'isCurrentMigration', ...failTo(CLOSE_TARGET, phase) },
  'source.lost': failTo(DECIDE, phase),
}) as const;

/** Failure edges shared by Cutover and Resume: no way back to A; referral, else Disconnect. */
const afterCut = (phase: Phase) => ({
  'deadline.migration': { guard: 'isCurrentMigration', ...failTo(DECIDE, phase) },
  'buffer.overflow': { guard: 'isCurrentMigration', ...failTo(DECIDE, phase) },
  'source.lost': failTo(DECIDE, phase),
}) as const;

/** After the failure hook: referral, unless it chose a Disconnect. */
const toFallback = [{ guard: { type: 'fallbackIs', params: { action: 'disconnect' } }, target: 'disconnecting' }, { target: 'referring' }] as const;

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
      ...run('prepare', 'Auth', failTo(CLOSE_TARGET, 'Prepare')),
      after: { prepare: failTo(CLOSE_TARGET, 'Prepare') },
      on: beforeFreeze('Prepare'),
    },
    Auth: {
      entry: enter('Auth'),
      ...run('auth', 'Sync', failTo(CLOSE_TARGET, 'Auth')),
      after: { auth: failTo(CLOSE_TARGET, 'Auth') },
      on: beforeFreeze('Auth'),
    },
    Sync: {
      entry: enter('Sync'),
      ...run('sync', 'Freeze', failTo(CLOSE_TARGET, 'Sync')),
      after: { sync: failTo(CLOSE_TARGET, 'Sync') },
      on: beforeFreeze('Sync'),
    },
    Freeze: {
      entry: enter('Freeze'),
      initial: 'openingBuffer',
      states: {
        openingBuffer: run('openBuffer', 'freezing', failTo(RESTORE_SOURCE, 'Freeze')),
        freezing: run('freeze', 'stoppingSource', failTo(RESTORE_SOURCE, 'Freeze')),
        stoppingSource: run('stopSource', '#migration.Cutover', failTo(RESTORE_SOURCE, 'Freeze')),
      },
      after: { freeze: failTo(RESTORE_SOURCE, 'Freeze') },
      on: {
        'deadline.migration': { guard: 'isCurrentMigration', ...failTo(RESTORE_SOURCE, 'Freeze') },
        'buffer.overflow': { guard: 'isCurrentMigration', ...failTo(RESTORE_SOURCE, 'Freeze') },
        abort: { guard: 'isCurrentMigration', ...failTo(RESTORE_SOURCE, 'Freeze') },
        'source.lost': failTo(DECIDE, 'Freeze'),
      },
    },
    Cutover: {
      entry: enter('Cutover'),
      initial: 'cuttingBarrier',
      states: {
        cuttingBarrier: run('cutBarrier', 'cuttingOver', failTo(DECIDE, 'Cutover')),
        cuttingOver: run('cutover', '#migration.Resume', failTo(DECIDE, 'Cutover')),
      },
      after: { cutover: failTo(DECIDE, 'Cutover') },
      on: afterCut('Cutover'),
    },
    Resume: {
      entry: enter('Resume'),
      initial: 'drainingToTarget',
      states: {
        drainingToTarget: run('drainToTarget', 'resuming', failTo(DECIDE, 'Resume')),
        resuming: run('resume', '#migration.Cleanup', failTo(DECIDE, 'Resume')),
      },
      after: { resume: failTo(DECIDE, 'Resume') },
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
        /** Rollback from Freeze; if A cannot be restored, fail over as after the cut. */
        restoringSource: {
          initial: 'drainingToSource',
          states: {
            drainingToSource: { invoke: { id: 'drainToSource', src: 'drainToSource', input: stepInput, onDone: 'resumingSource', onError: DECIDE } },
            resumingSource: { invoke: { id: 'resumeSource', src: 'resumeSource', input: stepInput, onDone: 'closingTarget', onError: DECIDE } },
            /** A is back; a failure to close B is only logged. */
            closingTarget: {
              invoke: { id: 'closeTarget', src: 'closeTarget', input: stepInput, onDone: finish('rolled-back'), onError: finish('rolled-back') },
            },
          },
          after: { rollback: 'deciding' },
          on: { 'source.lost': 'deciding' },
        },
        deciding: {
          tags: [PAUSE_BACKEND_READS],
          invoke: { id: 'decideFailure', src: 'decideFailure', input: fallbackInput, onDone: { target: 'failingOver', actions: 'recordFallback' }, onError: 'failingOver' },
          after: { failureHook: 'failingOver' },
        },
        failingOver: {
          invoke: { id: 'failOver', src: 'failOver', input: fallbackInput, onDone: toFallback, onError: toFallback },
          after: { fallback: toFallback },
        },
        referring: {
          invoke: { id: 'sendReferral', src: 'sendReferral', input: fallbackInput, onDone: finish('referred'), onError: 'disconnecting' },
          after: { fallback: 'disconnecting' },
        },
        disconnecting: {
          invoke: { id: 'sendDisconnect', src: 'sendDisconnect', input: fallbackInput, onDone: finish('disconnected'), onError: finish('disconnected') },
          after: { fallback: finish('disconnected') },
        },
      },
    },
  },
});

export type MigrationMachine = typeof migrationMachine;
