/**
 * Model-based tests: paths generated from the machine definition with @xstate/graph, replayed on a
 * real actor whose actors are promises settled by the test and whose deadlines run on a
 * SimulatedClock. Every state node and every transition of the definition (every success,
 * failure and deadline edge) must be taken by some replayed path.
 */
import { getAdjacencyMap, getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { __unsafe_getAllOwnEventDescriptors, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { PAUSE_BACKEND_READS, rollbackRules, type MigrationEmitted } from '../src/index.js';
import { A, B, C, OFF, SESSION, StepError, flush, harness, mid, type ActorId, type Harness } from './support/controllable.js';

/** The whole-migration deadline is exercised by explicit events here; its real timer in machine.test.ts. */
const PATH_DEADLINES = { migration: 1e9 };

const variants = [
  { type: 'migrate', migrationId: mid('m1'), target: B },
  { type: 'migrate', migrationId: mid('m2'), target: A },
  { type: 'migrate', migrationId: mid('m3'), target: OFF },
  { type: 'abort', migrationId: mid('m1'), reason: 'operator abort' },
  { type: 'deadline.migration', migrationId: mid('m1') },
  { type: 'buffer.overflow', migrationId: mid('m1'), scope: 'global', dimension: 'bytes' },
  { type: 'source.lost', reason: 'A went away' },
  { type: 'xstate.done.actor.beforeMigrate', output: { action: 'allow' } },
  { type: 'xstate.done.actor.beforeMigrate', output: { action: 'deny', reason: 'maintenance' } },
  { type: 'xstate.done.actor.beforeMigrate', output: { action: 'redirect', target: C } },
  { type: 'xstate.done.actor.beforeMigrate', output: { action: 'redirect', target: A } },
  { type: 'xstate.done.actor.beforeMigrate', output: { action: 'redirect', target: OFF } },
  { type: 'xstate.done.actor.decideFailure', output: { action: 'refer' } },
  { type: 'xstate.done.actor.decideFailure', output: { action: 'disconnect', message: 'transfer failed' } },
] as const;

type Ev = { type: string } & Record<string, unknown>;

const events = (state: Parameters<typeof __unsafe_getAllOwnEventDescriptors>[0]): Ev[] =>
  __unsafe_getAllOwnEventDescriptors(state).flatMap((type): Ev[] => {
    const v = variants.filter((e) => e.type === type);
    if (v.length > 0) return v as unknown as Ev[];
    if (type.startsWith('xstate.error.actor.')) return [{ type, error: { code: 'ERR_TEST', message: 'boom' } }];
    return [{ type }];
  });

const template = harness(PATH_DEADLINES);
const machine = template.machine;
const input = { session: SESSION, backend: A, deadlines: template.deadlines };
template.actor.stop();

/** States that differ only in failure details share a key; backend, failing phase, target (and, where it routes, the failure hook's decision) are kept apart. */
type Snap = ReturnType<typeof template.actor.getSnapshot>;
const coarse = (s: Snap) =>
  JSON.stringify([
    s.value,
    s.context.backend.id,
    s.context.migration?.failure?.phase ?? null,
    s.context.migration?.target.id ?? null,
    // The hook's decision routes only out of failingOver; elsewhere it would only multiply states.
    s.matches({ Failed: 'failingOver' }) ? (s.context.migration?.fallback?.action ?? null) : null,
  ]);

const traversal = { input, events, serializeState: coarse } as never;
/** @xstate/graph's generics do not follow typed `emitted`; the logic is the same object. */
const logic = machine as unknown as AnyStateMachine;

interface Step {
  readonly event: Ev;
  readonly state: Snap;
}

/** Shortest event sequences to every coarse state, built over the adjacency map so each step's snapshot is the one whose edges we list. */
function edgePaths(): { states: number; paths: Step[][] } {
  const adj = getAdjacencyMap(logic, traversal) as unknown as Record<
    string,
    { state: Snap; transitions: Record<string, { event: Ev; state: Snap }> }
  >;
  const initial = Object.keys(adj)[0]!;
  const pathTo = new Map<string, Step[]>([[initial, []]]);
  const order = [initial];
  for (let i = 0; i < order.length; i++) {
    const from = order[i]!;
    for (const t of Object.values(adj[from]!.transitions)) {
      const key = coarse(t.state);
      if (!pathTo.has(key)) {
        pathTo.set(key, [...pathTo.get(from)!, { event: t.event, state: t.state }]);
        order.push(key);
      }
    }
  }
  const paths: Step[][] = [];
  for (const [key, value] of Object.entries(adj)) {
    for (const t of Object.values(value.transitions)) paths.push([...pathTo.get(key)!, { event: t.event, state: t.state }]);
  }
  return { states: Object.keys(adj).length, paths };
}

async function apply(h: Harness, event: Ev): Promise<void> {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event.type);
  if (done) return h.resolve(done[1] as ActorId, event.output);
  const error = /^xstate\.error\.actor\.(.+)$/.exec(event.type);
  if (error) {
    const e = event.error as { code: string; message: string };
    return h.reject(error[1] as ActorId, new StepError(e.code, e.message));
  }
  const after = /^xstate\.after\.([^.]+)\./.exec(event.type);
  if (after) return h.advance(h.deadlines[after[1] as keyof typeof h.deadlines]);
  h.actor.send(event as never);
  await flush();
}

function key(t: AnyTransitionDefinition): string {
  const siblings = t.source.transitions.get(t.eventType) ?? [];
  return `${t.source.id} --${t.eventType}#${siblings.indexOf(t)}--> ${(t.target ?? []).map((n) => n.id).join(',') || '(self)'}`;
}

function allTransitions(node: AnyStateNode, out = new Set<string>()): Set<string> {
  for (const list of node.transitions.values()) for (const t of list) out.add(key(t));
  for (const child of Object.values(node.states)) allTransitions(child as AnyStateNode, out);
  return out;
}

function allStateNodes(node: AnyStateNode, out = new Set<string>()): Set<string> {
  out.add(node.id);
  for (const child of Object.values(node.states)) allStateNodes(child as AnyStateNode, out);
  return out;
}

function inState(s: Snap): string[] {
  return s._nodes.map((n) => n.id);
}

/** Invariants checked after every replayed step. */
function checkStep(h: Harness, before: Snap, event: Ev, emittedBefore: number): void {
  const after = h.actor.getSnapshot();
  const news: MigrationEmitted[] = h.emitted.slice(emittedBefore);
  // One in-flight migration, cleared on every exit path.
  if (after.matches({ Idle: 'ready' }) || after.matches({ Idle: 'closed' })) expect(after.context.migration).toBeNull();
  else expect(after.context.migration).not.toBeNull();
  // B is not read while an awaited hook runs, and only then.
  const hookRunning = after.matches({ Idle: 'deciding' }) || after.matches({ Failed: 'deciding' });
  expect(after.hasTag(PAUSE_BACKEND_READS)).toBe(hookRunning);
  // A failure enters Failed where the design's rollback rule for the failing phase says.
  if (!before.matches('Failed') && after.matches('Failed')) {
    const failure = after.context.migration!.failure!;
    const expected = failure.code === 'ERR_MIGRATION_SOURCE_LOST' ? 'deciding' : rollbackRules[failure.phase].failedState;
    expect(expected).not.toBeNull();
    expect(after.matches({ Failed: expected! })).toBe(true);
  }
  // A request is either taken (it becomes the in-flight migration) or refused, exactly once.
  if (event.type === 'migrate') {
    const refusals = news.filter((e) => e.type === 'migration:refused' && e.refusal.migrationId === event.migrationId);
    const accepted = after.context.migration?.migrationId === event.migrationId && before.context.migration === null;
    expect(refusals.length + (accepted ? 1 : 0)).toBe(1);
    if (before.context.migration !== null) expect(refusals).toMatchObject([{ refusal: { refusal: 'already-migrating' } }]);
  }
  // A migration that ends reports exactly one outcome (or, before Prepare, one refusal), matching where it ended.
  const ended = before.context.migration;
  if (ended && after.context.migration === null) {
    const reports = news.filter(
      (e) =>
        (e.type === 'migration:outcome' && e.outcome.migrationId === ended.migrationId) ||
        (e.type === 'migration:refused' && e.refusal.migrationId === ended.migrationId),
    );
    expect(reports).toHaveLength(1);
    const report = reports[0]!;
    if (report.type === 'migration:outcome') {
      const kind = report.outcome.kind;
      expect(after.matches({ Idle: kind === 'migrated' || kind === 'rolled-back' ? 'ready' : 'closed' })).toBe(true);
      if (kind !== 'migrated') expect(report.outcome).toMatchObject({ reason: ended.failure!, phase: ended.failure!.phase });
      if (kind === 'migrated') expect(after.context.backend).toEqual(ended.target);
      else expect(after.context.backend).toEqual(ended.source);
    } else {
      expect(before.matches({ Idle: 'deciding' })).toBe(true);
    }
  }
}

describe('migration machine: paths generated from the definition', () => {
  const { states, paths } = edgePaths();
  const shortest = getShortestPaths(logic, traversal);

  it('the graph reaches every state node of the definition', () => {
    const reached = new Set(shortest.flatMap((p) => inState(p.state as unknown as Snap)));
    expect([...allStateNodes(machine.root)].filter((id) => !reached.has(id))).toEqual([]);
    expect(shortest.length).toBe(states);
  });

  it(`replays one path per edge of the state graph and takes every transition of the definition`, async () => {
    const covered = new Set<string>();
    for (const path of paths) {
      const h = harness(PATH_DEADLINES);
      try {
        for (const step of path) {
          const before = h.actor.getSnapshot();
          const emittedBefore = h.emitted.length;
          await apply(h, step.event);
          const snap = h.actor.getSnapshot();
          expect(snap.value, `after ${step.event.type}`).toEqual(step.state.value);
          expect(snap.context).toEqual(step.state.context);
          checkStep(h, before, step.event, emittedBefore);
        }
      } finally {
        h.actor.stop();
      }
      for (const t of h.taken) covered.add(key(t));
    }
    const missing = [...allTransitions(machine.root)].filter((k) => !covered.has(k));
    expect(missing).toEqual([]);
    expect(paths.length).toBeGreaterThan(500);
  }, 120_000);

  it('the invariant checks fail on a machine that forgets to clear the in-flight migration', async () => {
    // Guard against a vacuous checkStep: feed it a snapshot that breaks the rule.
    const h = harness(PATH_DEADLINES);
    const before = h.actor.getSnapshot();
    h.actor.send({ type: 'migrate', migrationId: mid('m1'), target: B });
    await flush();
    const broken = { ...h, actor: { getSnapshot: () => ({ ...h.actor.getSnapshot(), matches: () => true }) } } as unknown as Harness;
    expect(() => checkStep(broken, before, { type: 'noop' }, 0)).toThrow();
    h.actor.stop();
  });
});
