/**
 * Transition tests of the machine, phase by phase, on a SimulatedClock: success, failure of every
 * actor and deadline of every phase, the rollback rule each leads to, hooks, refusals and the
 * whole-migration deadline.
 */
import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  allow,
  defaultDeadlines,
  migrationMachine,
  PAUSE_BACKEND_READS,
  resolveDeadlines,
  type MigrationActorName,
  type MigrationOutcome,
  type Phase,
} from '../src/index.js';
import { A, ACTOR_IDS, B, C, OFF, SESSION, StepError, flush, harness, mid, type ActorId, type Harness } from './support/controllable.js';

/** Each phase's actors, in the order the phase invokes them. */
const PHASE: Record<string, { actors: readonly ActorId[]; deadline: keyof typeof defaultDeadlines; next: string }> = {
  Prepare: { actors: ['prepare'], deadline: 'prepare', next: 'Auth' },
  Auth: { actors: ['auth'], deadline: 'auth', next: 'Sync' },
  Sync: { actors: ['sync'], deadline: 'sync', next: 'Freeze' },
  Freeze: { actors: ['openBuffer', 'freeze', 'stopSource'], deadline: 'freeze', next: 'Cutover' },
  Cutover: { actors: ['cutBarrier', 'cutover'], deadline: 'cutover', next: 'Resume' },
  Resume: { actors: ['drainToTarget', 'resume'], deadline: 'resume', next: 'Cleanup' },
};
const ORDER = ['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume'] as const;
const m1 = mid('m1');

/** Starts a migration to B and walks it (allowing the hook) until `phase` is entered. */
async function reach(h: Harness, phase: Phase): Promise<void> {
  h.actor.send({ type: 'migrate', migrationId: m1, target: B });
  await h.resolve('beforeMigrate', { action: 'allow' });
  for (const p of ORDER) {
    if (p === phase) break;
    await h.resolveAll(PHASE[p]!.actors);
  }
  expect(h.phase()).toEqual(phase);
}

function outcomes(h: Harness): MigrationOutcome[] {
  return h.emitted.flatMap((e) => (e.type === 'migration:outcome' ? [e.outcome] : []));
}

/** Settles the rollback actors the rule of `phase` starts, and returns the single outcome. */
async function finishRollback(h: Harness, phase: Phase): Promise<MigrationOutcome> {
  if (phase === 'Prepare' || phase === 'Auth' || phase === 'Sync') {
    expect(h.value()).toEqual({ Failed: 'closingTarget' });
    await h.resolve('closeTarget');
  } else if (phase === 'Freeze') {
    expect(h.value()).toEqual({ Failed: { restoringSource: 'drainingToSource' } });
    await h.resolve('drainToSource');
    expect(h.value()).toEqual({ Failed: { restoringSource: 'resumingSource' } });
    await h.resolve('resumeSource');
    expect(h.value()).toEqual({ Failed: { restoringSource: 'closingTarget' } });
    await h.resolve('closeTarget');
  } else {
    expect(h.value()).toEqual({ Failed: 'deciding' });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(true);
    await h.resolve('decideFailure', { action: 'refer' });
    expect(h.value()).toEqual({ Failed: 'failingOver' });
    await h.resolve('failOver');
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.resolve('sendReferral');
  }
  const all = outcomes(h);
  expect(all).toHaveLength(1);
  expect(h.actor.getSnapshot().context.migration).toBeNull();
  return all[0]!;
}

const expectedKind = (phase: Phase) => (phase === 'Cutover' || phase === 'Resume' ? 'referred' : 'rolled-back');

describe.each(ORDER)('%s', (phase) => {
  const { actors, deadline, next } = PHASE[phase]!;

  it(`runs ${actors.join(', ')} in order, then enters ${next}`, async () => {
    const h = harness();
    await reach(h, phase);
    const before = h.started.length - 1; // entering the phase started its first actor
    await h.resolveAll(actors);
    expect(h.started.slice(before, before + actors.length)).toEqual(actors);
    expect(h.phase()).toEqual(next);
    h.actor.stop();
  });

  it.each(actors)('fails by its rollback rule when %s rejects', async (failing) => {
    const h = harness();
    await reach(h, phase);
    await h.resolveAll(actors.slice(0, actors.indexOf(failing)));
    await h.reject(failing, new StepError('ERR_TRANSPORT_UNREACHABLE', 'no route to B'));
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({
      kind: expectedKind(phase),
      phase,
      reason: { code: 'ERR_MIGRATION_STEP_FAILED', phase, actor: failing, cause: 'ERR_TRANSPORT_UNREACHABLE', message: 'no route to B' },
    });
    expect(h.actor.getSnapshot().context.backend).toEqual(A);
    h.actor.stop();
  });

  it(`fails by its rollback rule when the "${deadline}" deadline expires, not a millisecond before`, async () => {
    const h = harness();
    await reach(h, phase);
    await h.advance(h.deadlines[deadline] - 1);
    expect(h.phase()).toEqual(phase);
    await h.advance(1);
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({ kind: expectedKind(phase), phase, reason: { code: 'ERR_MIGRATION_DEADLINE', deadline } });
    h.actor.stop();
  });

  if (actors.length > 1) {
    it(`the "${deadline}" deadline bounds the whole phase, not each of its actors`, async () => {
      const h = harness();
      await reach(h, phase);
      await h.advance(h.deadlines[deadline] - 1);
      await h.resolveAll(actors.slice(0, -1)); // the last actor starts 1 ms before the deadline
      expect(h.phase()).toEqual(phase);
      await h.advance(1);
      expect(h.phase()).toEqual('Failed');
      expect(h.actor.getSnapshot().context.migration!.failure).toMatchObject({ code: 'ERR_MIGRATION_DEADLINE', deadline, phase });
      h.actor.stop();
    });
  }
});

describe('Cleanup', () => {
  it('ends migrated on B when A is closed', async () => {
    const h = harness();
    await reach(h, 'Cleanup');
    expect(h.actor.getSnapshot().context.backend).toEqual(B);
    await h.resolve('cleanup');
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(outcomes(h)).toEqual([{ kind: 'migrated', migrationId: 'm1', source: A, target: B, cleanup: 'done' }]);
  });

  it('still ends migrated when closing A fails or times out, and says so', async () => {
    const failed = harness();
    await reach(failed, 'Cleanup');
    await failed.reject('cleanup');
    expect(outcomes(failed)[0]).toMatchObject({ kind: 'migrated', cleanup: 'failed' });

    const late = harness();
    await reach(late, 'Cleanup');
    await late.advance(late.deadlines.cleanup);
    expect(outcomes(late)[0]).toMatchObject({ kind: 'migrated', cleanup: 'deadline' });
    expect(late.actor.getSnapshot().context.backend).toEqual(B);
  });

  it('emits one phase event per phase, in order, then the outcome', async () => {
    const h = harness();
    await reach(h, 'Cleanup');
    await h.resolve('cleanup');
    expect(h.emitted.map((e) => (e.type === 'migration:phase' ? e.phase : e.type))).toEqual([
      'Prepare',
      'Auth',
      'Sync',
      'Freeze',
      'Cutover',
      'Resume',
      'Cleanup',
      'Idle',
      'migration:outcome',
    ]);
  });
});

describe('the whole-migration deadline', () => {
  it.each([
    ['Sync', { Failed: 'closingTarget' }],
    ['Freeze', { Failed: { restoringSource: 'drainingToSource' } }],
    ['Resume', { Failed: 'deciding' }],
  ] as const)('expiring in %s applies that phase rule', async (phase, failed) => {
    // Per-phase deadlines longer than the whole one, so only the whole one can fire.
    const h = harness({ migration: 1_000, prepare: 5_000, auth: 5_000, sync: 5_000, freeze: 5_000, cutover: 5_000, resume: 5_000 });
    await reach(h, phase);
    await h.advance(999);
    expect(h.phase()).toEqual(phase);
    await h.advance(1);
    expect(h.value()).toEqual(failed);
    expect(h.actor.getSnapshot().context.migration!.failure).toMatchObject({ code: 'ERR_MIGRATION_DEADLINE', deadline: 'migration', phase });
    h.actor.stop();
  });

  it('from an earlier migration is ignored by the next one', async () => {
    const h = harness({ migration: 60_000, sync: 70_000 });
    await reach(h, 'Cleanup');
    await h.resolve('cleanup'); // m1 done at t=0; its whole deadline is still scheduled for t=60 s
    await h.advance(30_000);
    h.actor.send({ type: 'migrate', migrationId: mid('m2'), target: A });
    await h.resolve('beforeMigrate', { action: 'allow' });
    await h.resolve('prepare');
    await h.resolve('auth');
    await h.advance(30_000); // t=60 s: m1's deadline fires
    expect(h.value()).toEqual('Sync');
    await h.advance(30_000); // t=90 s: m2's own deadline
    expect(h.actor.getSnapshot().context.migration!.failure).toMatchObject({ deadline: 'migration' });
  });
});

describe('requests and the beforeMigrate hook', () => {
  it('refuses a request for the backend the player is on, or a disabled pool, without starting', async () => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: mid('x'), target: A });
    h.actor.send({ type: 'migrate', migrationId: mid('y'), target: OFF });
    await flush();
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(h.started).toEqual([]);
    expect(h.emitted).toEqual([
      { type: 'migration:refused', refusal: { kind: 'refused', migrationId: 'x', target: A, refusal: 'already-on-backend' } },
      { type: 'migration:refused', refusal: { kind: 'refused', migrationId: 'y', target: OFF, refusal: 'pool-disabled' } },
    ]);
  });

  it.each(['Idle.deciding', 'Prepare', 'Freeze', 'Cleanup'] as const)('refuses a second request while one is in flight (%s)', async (where) => {
    const h = harness();
    if (where === 'Idle.deciding') h.actor.send({ type: 'migrate', migrationId: m1, target: B });
    else await reach(h, where);
    h.actor.send({ type: 'migrate', migrationId: mid('m9'), target: C });
    await flush();
    expect(h.emitted.filter((e) => e.type === 'migration:refused')).toEqual([
      { type: 'migration:refused', refusal: { kind: 'refused', migrationId: 'm9', target: C, refusal: 'already-migrating' } },
    ]);
    expect(h.actor.getSnapshot().context.migration!.migrationId).toBe('m1');
  });

  it('pauses B reads while the hook runs', async () => {
    const h = harness();
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(false);
    h.actor.send({ type: 'migrate', migrationId: m1, target: B });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(true);
    await h.resolve('beforeMigrate', { action: 'allow' });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(false);
  });

  it('deny refuses with the reason; nothing is opened', async () => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: m1, target: B });
    await h.resolve('beforeMigrate', { action: 'deny', reason: 'B is full' });
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(h.started).toEqual(['beforeMigrate']);
    expect(h.emitted.at(-1)).toEqual({
      type: 'migration:refused',
      refusal: { kind: 'refused', migrationId: 'm1', target: B, refusal: 'denied', reason: 'B is full' },
    });
  });

  it('redirect migrates to the new target', async () => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: m1, target: B });
    await h.resolve('beforeMigrate', { action: 'redirect', target: C });
    expect(h.value()).toEqual('Prepare');
    expect(h.pending.get('prepare')!.input).toMatchObject({ migration: { target: C, source: A, migrationId: 'm1' } });
  });

  it.each([
    [A, 'already-on-backend'],
    [OFF, 'pool-disabled'],
  ] as const)('redirect to %o is refused (%s)', async (target, refusal) => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: m1, target: B });
    await h.resolve('beforeMigrate', { action: 'redirect', target });
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(h.emitted.at(-1)).toMatchObject({ refusal: { refusal, target } });
  });

  it('a hook that fails or hangs past its deadline refuses (denied)', async () => {
    const failing = harness();
    failing.actor.send({ type: 'migrate', migrationId: m1, target: B });
    await failing.reject('beforeMigrate');
    expect(failing.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'denied', reason: 'beforeMigrate hook failed' } });

    const hanging = harness();
    hanging.actor.send({ type: 'migrate', migrationId: m1, target: B });
    await hanging.advance(hanging.deadlines.beforeMigrateHook);
    expect(hanging.value()).toEqual({ Idle: 'ready' });
    expect(hanging.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'denied', reason: 'beforeMigrate hook timed out' } });
  });
});

describe('providing the actors', () => {
  it('the test harness supplies exactly the actors the machine declares', () => {
    expect(Object.keys(migrationMachine.implementations.actors).sort()).toEqual([...ACTOR_IDS].sort());
  });

  it('an actor that was not provided fails with ERR_MIGRATION_ACTOR_NOT_PROVIDED', async () => {
    const actor = createActor(migrationMachine, { input: { session: SESSION, backend: A, deadlines: resolveDeadlines() } }).start();
    const errors: unknown[] = [];
    actor.on('migration:refused', (e) => errors.push(e.refusal.reason));
    actor.send({ type: 'migrate', migrationId: m1, target: B });
    await flush();
    expect(errors).toEqual(['beforeMigrate hook failed']);
    actor.stop();
  });

  const WORK: readonly MigrationActorName[] = ['prepare', 'auth', 'sync', 'openBuffer', 'freeze', 'stopSource', 'cutBarrier', 'cutover', 'drainToTarget', 'resume'];
  it.each(WORK)('a machine provided without %s never skips it: the migration fails there, typed', async (missing) => {
    const done = fromPromise(async () => {});
    const actors = Object.fromEntries(ACTOR_IDS.filter((id) => id !== missing).map((id) => [id, done]));
    const machine = migrationMachine.provide({
      actors: { ...actors, beforeMigrate: fromPromise(async () => allow()), decideFailure: fromPromise(async () => ({ action: 'refer' as const })) } as never,
    });
    const actor = createActor(machine, { input: { session: SESSION, backend: A, deadlines: resolveDeadlines() } }).start();
    const result = new Promise<MigrationOutcome>((resolve) => actor.on('migration:outcome', (e) => resolve(e.outcome)));
    actor.send({ type: 'migrate', migrationId: m1, target: B });
    const outcome = await result;
    expect(outcome.kind).not.toBe('migrated');
    expect(outcome).toMatchObject({ reason: { code: 'ERR_MIGRATION_STEP_FAILED', actor: missing, cause: 'ERR_MIGRATION_ACTOR_NOT_PROVIDED' } });
    actor.stop();
  });
});

describe('failing over after the cut', () => {
  it('the failure hook can choose Disconnect with a message; the session is then closed', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    await h.resolve('cutBarrier');
    await h.reject('cutover');
    await h.resolve('decideFailure', { action: 'disconnect', message: 'Transfer failed, please rejoin' });
    expect(h.value()).toEqual({ Failed: 'failingOver' });
    expect(h.pending.get('failOver')!.input).toMatchObject({ failure: { phase: 'Cutover' } });
    await h.resolve('failOver');
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    expect(h.pending.get('sendDisconnect')!.input).toMatchObject({ message: 'Transfer failed, please rejoin', failure: { phase: 'Cutover' } });
    await h.resolve('sendDisconnect');
    expect(h.value()).toEqual({ Idle: 'closed' });
    expect(outcomes(h)[0]).toMatchObject({ kind: 'disconnected', phase: 'Cutover', message: 'Transfer failed, please rejoin' });
    h.actor.send({ type: 'migrate', migrationId: mid('late'), target: C });
    expect(h.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'session-closed' } });
  });

  it('a failure hook that hangs defaults to referral; a failed referral becomes a Disconnect', async () => {
    const h = harness();
    await reach(h, 'Resume');
    await h.reject('drainToTarget');
    await h.advance(h.deadlines.failureHook);
    expect(h.value()).toEqual({ Failed: 'failingOver' });
    await h.resolve('failOver');
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.reject('sendReferral');
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    await h.reject('sendDisconnect');
    expect(outcomes(h)).toEqual([expect.objectContaining({ kind: 'disconnected', phase: 'Resume' })]);
  });

  it('a referral that hangs past the fallback deadline becomes a Disconnect, which is bounded too', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    await h.advance(h.deadlines.cutover);
    await h.reject('decideFailure');
    expect(h.value()).toEqual({ Failed: 'failingOver' });
    await h.resolve('failOver');
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.advance(h.deadlines.fallback);
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    await h.advance(h.deadlines.fallback);
    expect(h.value()).toEqual({ Idle: 'closed' });
    expect(outcomes(h)[0]).toMatchObject({ kind: 'disconnected', reason: { deadline: 'cutover' } });
  });

  it('failing over that fails or hangs still goes on to the decided referral or Disconnect', async () => {
    const failed = harness();
    await reach(failed, 'Cutover');
    await failed.resolve('cutBarrier');
    await failed.reject('cutover');
    await failed.resolve('decideFailure', { action: 'disconnect' });
    await failed.reject('failOver');
    expect(failed.value()).toEqual({ Failed: 'disconnecting' });

    const hanging = harness();
    await reach(hanging, 'Resume');
    await hanging.reject('drainToTarget');
    await hanging.resolve('decideFailure', { action: 'refer' });
    await hanging.advance(hanging.deadlines.fallback - 1);
    expect(hanging.value()).toEqual({ Failed: 'failingOver' });
    await hanging.advance(1);
    expect(hanging.value()).toEqual({ Failed: 'referring' });
  });

  it('a rollback from Freeze that cannot reach A fails over (the first failure is the reason)', async () => {
    const h = harness();
    await reach(h, 'Freeze');
    h.actor.send({ type: 'buffer.overflow', migrationId: m1, scope: 'migration', dimension: 'packets' });
    expect(h.value()).toEqual({ Failed: { restoringSource: 'drainingToSource' } });
    await h.reject('drainToSource');
    expect(h.value()).toEqual({ Failed: 'deciding' });
    await h.resolve('decideFailure', { action: 'refer' });
    await h.resolve('failOver');
    await h.resolve('sendReferral');
    expect(outcomes(h)[0]).toMatchObject({
      kind: 'referred',
      phase: 'Freeze',
      reason: { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', overflow: { scope: 'migration', dimension: 'packets' } },
    });
  });

  it('once A is restored, a failure to close B still ends rolled back', async () => {
    const h = harness();
    await reach(h, 'Freeze');
    await h.reject('openBuffer');
    await h.resolve('drainToSource');
    await h.resolve('resumeSource');
    await h.reject('closeTarget');
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(outcomes(h)).toEqual([expect.objectContaining({ kind: 'rolled-back', phase: 'Freeze', reason: expect.objectContaining({ actor: 'openBuffer' }) })]);
  });
});

describe('external events', () => {
  it.each(['Prepare', 'Auth', 'Sync', 'Freeze'] as const)('abort in %s rolls back', async (phase) => {
    const h = harness();
    await reach(h, phase);
    h.actor.send({ type: 'abort', migrationId: m1, reason: 'operator' });
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({ kind: 'rolled-back', phase, reason: { code: 'ERR_MIGRATION_ABORTED', message: 'operator' } });
  });

  it('abort is ignored once Cutover started, and an abort for another migration is ignored', async () => {
    const h = harness();
    await reach(h, 'Sync');
    h.actor.send({ type: 'abort', migrationId: mid('other'), reason: 'x' });
    expect(h.value()).toEqual('Sync');
    await h.resolve('sync');
    await h.resolveAll(PHASE.Freeze!.actors);
    h.actor.send({ type: 'abort', migrationId: m1, reason: 'x' });
    expect(h.phase()).toEqual('Cutover');
  });

  it('overflow in Cutover cannot roll back: it fails over', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    h.actor.send({ type: 'buffer.overflow', migrationId: m1, scope: 'global', dimension: 'bytes' });
    expect(h.value()).toEqual({ Failed: 'deciding' });
  });

  it.each(['Auth', 'Freeze', 'Resume'] as const)('losing A in %s fails over: there is nothing to roll back to', async (phase) => {
    const h = harness();
    await reach(h, phase);
    h.actor.send({ type: 'source.lost', reason: 'A closed the connection' });
    expect(h.value()).toEqual({ Failed: 'deciding' });
    expect(h.actor.getSnapshot().context.migration!.failure).toMatchObject({ code: 'ERR_MIGRATION_SOURCE_LOST', phase });
  });

  it('the deadline delays come from the configured values', async () => {
    const h = harness({ auth: 1_234 });
    await reach(h, 'Auth');
    await h.advance(1_233);
    expect(h.value()).toEqual('Auth');
    await h.advance(1);
    expect(h.value()).toEqual({ Failed: 'closingTarget' });
  });
});
