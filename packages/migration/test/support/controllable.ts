/**
 * Test support: the machine with every actor replaced by a promise the test settles by hand, on a
 * SimulatedClock, recording emitted events and the transition definitions taken.
 */
import { createActor, fromPromise, SimulatedClock, type AnyTransitionDefinition } from 'xstate';
import {
  migrationMachine,
  resolveDeadlines,
  type BackendRef,
  type Deadlines,
  type MigrationEmitted,
} from '../../src/index.js';

export const ACTOR_IDS = [
  'beforeMigrate',
  'connectBackend',
  'authenticate',
  'driveSetup',
  'freeze',
  'cutover',
  'drain',
  'cleanup',
  'closeTarget',
  'restoreSource',
  'decideFailure',
  'refer',
  'disconnect',
] as const;
export type ActorId = (typeof ACTOR_IDS)[number];

export const A: BackendRef = { id: 'A' };
export const B: BackendRef = { id: 'B' };
export const C: BackendRef = { id: 'C' };
/** A backend in a disabled pool (the test machine's pool guard). */
export const OFF: BackendRef = { id: 'X', pool: 'off' };

interface Pending {
  resolve(output: unknown): void;
  reject(error: unknown): void;
  input: unknown;
  signal: AbortSignal;
}

/** The machine with the test pool guard; every actor is a hand-settled promise. */
export function controllableMachine(pending: Map<ActorId, Pending>, started: ActorId[] = []) {
  const actors = Object.fromEntries(
    ACTOR_IDS.map((id) => [
      id,
      fromPromise<unknown, unknown>(
        ({ input, signal }) =>
          new Promise((resolve, reject) => {
            started.push(id);
            pending.set(id, { resolve, reject, input, signal });
          }),
      ),
    ]),
  );
  return migrationMachine.provide({
    actors: actors as never,
    guards: { isPoolDisabled: (_, p) => p.target?.pool === 'off' },
  });
}

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Harness {
  readonly actor: ReturnType<typeof createActor<ReturnType<typeof controllableMachine>>>;
  readonly clock: SimulatedClock;
  readonly pending: Map<ActorId, Pending>;
  readonly started: ActorId[];
  readonly emitted: MigrationEmitted[];
  readonly taken: Set<AnyTransitionDefinition>;
  readonly machine: ReturnType<typeof controllableMachine>;
  readonly deadlines: Deadlines;
  /** Settles the pending promise of `id` (throws if that actor is not running). */
  resolve(id: ActorId, output?: unknown): Promise<void>;
  reject(id: ActorId, error?: unknown): Promise<void>;
  /** Advances the simulated clock by `ms` and lets promises settle. */
  advance(ms: number): Promise<void>;
  value(): unknown;
}

export function harness(deadlines: Partial<Deadlines> = {}, backend: BackendRef = A): Harness {
  const pending = new Map<ActorId, Pending>();
  const started: ActorId[] = [];
  const machine = controllableMachine(pending, started);
  const clock = new SimulatedClock();
  const emitted: MigrationEmitted[] = [];
  const taken = new Set<AnyTransitionDefinition>();
  const resolved = resolveDeadlines(deadlines);
  const actor = createActor(machine, {
    clock,
    input: { session: { id: 'session-1' }, backend, deadlines: resolved },
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(t);
    },
  });
  for (const type of ['migration:phase', 'migration:outcome', 'migration:refused'] as const) {
    actor.on(type, (e) => emitted.push(e));
  }
  actor.start();
  const running = (id: ActorId) => {
    const p = pending.get(id);
    if (!p || p.signal.aborted) throw new Error(`actor ${id} is not running (state ${JSON.stringify(actor.getSnapshot().value)})`);
    pending.delete(id);
    return p;
  };
  return {
    actor,
    clock,
    pending,
    started,
    emitted,
    taken,
    machine,
    deadlines: resolved,
    async resolve(id, output) {
      running(id).resolve(output);
      await flush();
    },
    async reject(id, error = Object.assign(new Error('boom'), { code: 'ERR_TEST' })) {
      running(id).reject(error);
      await flush();
    },
    async advance(ms) {
      clock.increment(ms);
      await flush();
    },
    value: () => actor.getSnapshot().value,
  };
}
