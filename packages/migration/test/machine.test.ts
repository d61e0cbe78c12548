/**
 * Transition tests of the machine, phase by phase, on a SimulatedClock: success, step failure and
 * deadline of every phase, the rollback rule each leads to, hooks, refusals and the
 * whole-migration deadline.
 */
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  defaultDeadlines,
  migrationMachine,
  PAUSE_BACKEND_READS,
  resolveDeadlines,
  type MigrationOutcome,
  type Phase,
} from '../src/index.js';
import { A, B, C, OFF, flush, harness, type ActorId, type Harness } from './support/controllable.js';

const STEP: Record<string, { actor: ActorId; deadline: keyof typeof defaultDeadlines; next: string }> = {
  Prepare: { actor: 'connectBackend', deadline: 'prepare', next: 'Auth' },
  Auth: { actor: 'authenticate', deadline: 'auth', next: 'Sync' },
  Sync: { actor: 'driveSetup', deadline: 'sync', next: 'Freeze' },
  Freeze: { actor: 'freeze', deadline: 'freeze', next: 'Cutover' },
  Cutover: { actor: 'cutover', deadline: 'cutover', next: 'Resume' },
  Resume: { actor: 'drain', deadline: 'resume', next: 'Cleanup' },
};
const ORDER = ['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume'] as const;

/** Starts a migration to B and walks it (allowing the hook) until `phase` is entered. */
async function reach(h: Harness, phase: Phase): Promise<void> {
  h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
  await h.resolve('beforeMigrate', { action: 'allow' });
  for (const p of ORDER) {
    if (p === phase) break;
    await h.resolve(STEP[p]!.actor);
  }
  expect(h.value()).toEqual(phase);
}

function outcomes(h: Harness): MigrationOutcome[] {
  return h.emitted.flatMap((e) => (e.type === 'migration:outcome' ? [e.outcome] : []));
}

/** Settles the rollback actor the rule of `phase` starts, and returns the single outcome. */
async function finishRollback(h: Harness, phase: Phase): Promise<MigrationOutcome> {
  if (phase === 'Prepare' || phase === 'Auth' || phase === 'Sync') {
    expect(h.value()).toEqual({ Failed: 'closingTarget' });
    await h.resolve('closeTarget');
  } else if (phase === 'Freeze') {
    expect(h.value()).toEqual({ Failed: 'restoringSource' });
    await h.resolve('restoreSource');
  } else {
    expect(h.value()).toEqual({ Failed: 'deciding' });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(true);
    await h.resolve('decideFailure', { action: 'refer' });
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.resolve('refer');
  }
  const all = outcomes(h);
  expect(all).toHaveLength(1);
  expect(h.actor.getSnapshot().context.migration).toBeNull();
  return all[0]!;
}

const expectedKind = (phase: Phase) => (phase === 'Cutover' || phase === 'Resume' ? 'referred' : 'rolled-back');

describe.each(ORDER)('%s', (phase) => {
  const { actor, deadline, next } = STEP[phase]!;

  it(`succeeds into ${next} when its step resolves`, async () => {
    const h = harness();
    await reach(h, phase);
    await h.resolve(actor);
    expect(h.value()).toEqual(next);
    h.actor.stop();
  });

  it('fails by its rollback rule when its step rejects', async () => {
    const h = harness();
    await reach(h, phase);
    await h.reject(actor, Object.assign(new Error('no route to B'), { code: 'ERR_TRANSPORT_UNREACHABLE' }));
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({
      kind: expectedKind(phase),
      phase,
      reason: { code: 'ERR_MIGRATION_STEP_FAILED', phase, cause: 'ERR_TRANSPORT_UNREACHABLE', message: 'no route to B' },
    });
    expect(h.actor.getSnapshot().context.backend).toEqual(A);
    h.actor.stop();
  });

  it(`fails by its rollback rule when the "${deadline}" deadline expires, not a millisecond before`, async () => {
    const h = harness();
    await reach(h, phase);
    await h.advance(h.deadlines[deadline] - 1);
    expect(h.value()).toEqual(phase);
    await h.advance(1);
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({ kind: expectedKind(phase), phase, reason: { code: 'ERR_MIGRATION_DEADLINE', deadline } });
    h.actor.stop();
  });
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
    ['Freeze', { Failed: 'restoringSource' }],
    ['Resume', { Failed: 'deciding' }],
  ] as const)('expiring in %s applies that phase rule', async (phase, failed) => {
    // Per-phase deadlines longer than the whole one, so only the whole one can fire.
    const h = harness({ migration: 1_000, prepare: 5_000, auth: 5_000, sync: 5_000, freeze: 5_000, cutover: 5_000, resume: 5_000 });
    await reach(h, phase);
    await h.advance(999);
    expect(h.value()).toEqual(phase);
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
    h.actor.send({ type: 'migrate', migrationId: 'm2', target: A });
    await h.resolve('beforeMigrate', { action: 'allow' });
    await h.resolve('connectBackend');
    await h.resolve('authenticate');
    await h.advance(30_000); // t=60 s: m1's deadline fires
    expect(h.value()).toEqual('Sync');
    await h.advance(30_000); // t=90 s: m2's own deadline
    expect(h.actor.getSnapshot().context.migration!.failure).toMatchObject({ deadline: 'migration' });
  });
});

describe('requests and the beforeMigrate hook', () => {
  it('refuses a request for the backend the player is on, or a disabled pool, without starting', async () => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: 'x', target: A });
    h.actor.send({ type: 'migrate', migrationId: 'y', target: OFF });
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
    if (where === 'Idle.deciding') h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    else await reach(h, where);
    h.actor.send({ type: 'migrate', migrationId: 'm9', target: C });
    await flush();
    expect(h.emitted.filter((e) => e.type === 'migration:refused')).toEqual([
      { type: 'migration:refused', refusal: { kind: 'refused', migrationId: 'm9', target: C, refusal: 'already-migrating' } },
    ]);
    expect(h.actor.getSnapshot().context.migration!.id).toBe('m1');
  });

  it('pauses B reads while the hook runs', async () => {
    const h = harness();
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(false);
    h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(true);
    await h.resolve('beforeMigrate', { action: 'allow' });
    expect(h.actor.getSnapshot().hasTag(PAUSE_BACKEND_READS)).toBe(false);
  });

  it('deny refuses with the reason; nothing is opened', async () => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
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
    h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    await h.resolve('beforeMigrate', { action: 'redirect', target: C });
    expect(h.value()).toEqual('Prepare');
    expect(h.pending.get('connectBackend')!.input).toMatchObject({ migration: { target: C, source: A, migrationId: 'm1' } });
  });

  it.each([
    [A, 'already-on-backend'],
    [OFF, 'pool-disabled'],
  ] as const)('redirect to %o is refused (%s)', async (target, refusal) => {
    const h = harness();
    h.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    await h.resolve('beforeMigrate', { action: 'redirect', target });
    expect(h.value()).toEqual({ Idle: 'ready' });
    expect(h.emitted.at(-1)).toMatchObject({ refusal: { refusal, target } });
  });

  it('a hook that fails or hangs past its deadline refuses (denied)', async () => {
    const failing = harness();
    failing.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    await failing.reject('beforeMigrate');
    expect(failing.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'denied', reason: 'beforeMigrate hook failed' } });

    const hanging = harness();
    hanging.actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    await hanging.advance(hanging.deadlines.beforeMigrateHook);
    expect(hanging.value()).toEqual({ Idle: 'ready' });
    expect(hanging.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'denied', reason: 'beforeMigrate hook timed out' } });
  });

  it('an actor that was not provided fails with ERR_MIGRATION_ACTOR_NOT_PROVIDED', async () => {
    const actor = createActor(migrationMachine, { input: { session: { id: 's' }, backend: A, deadlines: resolveDeadlines() } }).start();
    const errors: unknown[] = [];
    actor.on('migration:refused', (e) => errors.push(e.refusal.reason));
    actor.send({ type: 'migrate', migrationId: 'm1', target: B });
    await flush();
    expect(errors).toEqual(['beforeMigrate hook failed']);
    actor.stop();
  });
});

describe('failing over after the cut', () => {
  it('the failure hook can choose Disconnect with a message; the session is then closed', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    await h.reject('cutover');
    await h.resolve('decideFailure', { action: 'disconnect', message: 'Transfer failed, please rejoin' });
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    expect(h.pending.get('disconnect')!.input).toMatchObject({ message: 'Transfer failed, please rejoin', failure: { phase: 'Cutover' } });
    await h.resolve('disconnect');
    expect(h.value()).toEqual({ Idle: 'closed' });
    expect(outcomes(h)[0]).toMatchObject({ kind: 'disconnected', phase: 'Cutover', message: 'Transfer failed, please rejoin' });
    h.actor.send({ type: 'migrate', migrationId: 'late', target: C });
    expect(h.emitted.at(-1)).toMatchObject({ refusal: { refusal: 'session-closed' } });
  });

  it('a failure hook that hangs defaults to referral; a failed referral becomes a Disconnect', async () => {
    const h = harness();
    await reach(h, 'Resume');
    await h.reject('drain');
    await h.advance(h.deadlines.failureHook);
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.reject('refer');
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    await h.reject('disconnect');
    expect(outcomes(h)).toEqual([expect.objectContaining({ kind: 'disconnected', phase: 'Resume' })]);
  });

  it('a referral that hangs past the fallback deadline becomes a Disconnect, which is bounded too', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    await h.advance(h.deadlines.cutover);
    await h.reject('decideFailure');
    expect(h.value()).toEqual({ Failed: 'referring' });
    await h.advance(h.deadlines.fallback);
    expect(h.value()).toEqual({ Failed: 'disconnecting' });
    await h.advance(h.deadlines.fallback);
    expect(h.value()).toEqual({ Idle: 'closed' });
    expect(outcomes(h)[0]).toMatchObject({ kind: 'disconnected', reason: { deadline: 'cutover' } });
  });

  it('a rollback from Freeze that cannot reach A fails over (the first failure is the reason)', async () => {
    const h = harness();
    await reach(h, 'Freeze');
    h.actor.send({ type: 'buffer.overflow', migrationId: 'm1', scope: 'migration', dimension: 'packets' });
    expect(h.value()).toEqual({ Failed: 'restoringSource' });
    await h.reject('restoreSource');
    expect(h.value()).toEqual({ Failed: 'deciding' });
    await h.resolve('decideFailure', { action: 'refer' });
    await h.resolve('refer');
    expect(outcomes(h)[0]).toMatchObject({
      kind: 'referred',
      phase: 'Freeze',
      reason: { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', overflow: { scope: 'migration', dimension: 'packets' } },
    });
  });
});

describe('external events', () => {
  it.each(['Prepare', 'Auth', 'Sync', 'Freeze'] as const)('abort in %s rolls back', async (phase) => {
    const h = harness();
    await reach(h, phase);
    h.actor.send({ type: 'abort', migrationId: 'm1', reason: 'operator' });
    const outcome = await finishRollback(h, phase);
    expect(outcome).toMatchObject({ kind: 'rolled-back', phase, reason: { code: 'ERR_MIGRATION_ABORTED', message: 'operator' } });
  });

  it('abort is ignored once Cutover started, and an abort for another migration is ignored', async () => {
    const h = harness();
    await reach(h, 'Sync');
    h.actor.send({ type: 'abort', migrationId: 'other', reason: 'x' });
    expect(h.value()).toEqual('Sync');
    await h.resolve('driveSetup');
    await h.resolve('freeze');
    h.actor.send({ type: 'abort', migrationId: 'm1', reason: 'x' });
    expect(h.value()).toEqual('Cutover');
  });

  it('overflow in Cutover cannot roll back: it fails over', async () => {
    const h = harness();
    await reach(h, 'Cutover');
    h.actor.send({ type: 'buffer.overflow', migrationId: 'm1', scope: 'global', dimension: 'bytes' });
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
