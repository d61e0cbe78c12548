/**
 * Test support: the machine with every actor replaced by a promise the test settles by hand, on a
 * SimulatedClock, recording emitted events and the transition definitions taken.
 */
import { parseBackendRef, parseMigrationId, parseSessionId, type MigrationId } from '@handoff/types';
import { createActor, fromPromise, SimulatedClock, type AnyTransitionDefinition } from 'xstate';
import {
  migrationMachine,
  resolveDeadlines,
  type BackendRef,
  type Deadlines,
  type MigrationActorName,
  type MigrationEmitted,
} from '../../src/index.js';

/** Every actor of the machine (a test checks this list against the machine's own). */
export const ACTOR_IDS = [
  'beforeMigrate',
  'prepare',
  'auth',
  'sync',
  'openBuffer',
  'freeze',
  'stopSource',
  'cutBarrier',
  'cutover',
  'drainToTarget',
  'resume',
  'cleanup',
  'closeTarget',
  'drainToSource',
  'resumeSource',
  'decideFailure',
  'failOver',
  'sendReferral',
  'sendDisconnect',
] as const satisfies readonly MigrationActorName[];
export type ActorId = (typeof ACTOR_IDS)[number];

export const A: BackendRef = parseBackendRef({ id: 'A' });
export const B: BackendRef = parseBackendRef({ id: 'B' });
export const C: BackendRef = parseBackendRef({ id: 'C' });
/** A backend in a disabled pool (the test machine's pool guard). */
export const OFF: BackendRef = parseBackendRef({ id: 'X', pool: 'off' });
export const SESSION = { id: parseSessionId('session-1') };
/** A migration id from a short test name (`mid('m1')`). */
export const mid = (name: string): MigrationId => parseMigrationId(name);

/** A step error with a code, as another package's typed error would carry. */
export class StepError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(output: unknown): void;
  reject(error: unknown): void;
  input: unknown;
  signal: AbortSignal;
}

interface Sink {
  readonly pending: Map<ActorId, Pending>;
  readonly started: ActorId[];
}

/** The harness of each running actor system: the shared machine's actors report to it. */
const sinks = new WeakMap<object, Sink>();
let provided: ReturnType<typeof provide> | undefined;

function provide() {
  const actors = Object.fromEntries(
    ACTOR_IDS.map((id) => [
      id,
      fromPromise<unknown, unknown>(
        ({ input, signal, system }) =>
          new Promise((resolve, reject) => {
            const sink = sinks.get(system)!;
            sink.started.push(id);
            sink.pending.set(id, { resolve, reject, input, signal });
          }),
      ),
    ]),
  );
  return migrationMachine.provide({
    actors: actors as never,
    guards: { isPoolDisabled: (_, p) => p.target?.pool === 'off' },
  });
}

/**
 * The machine with the test pool guard; every actor is a promise its harness settles by hand.
 * Provided once (providing costs milliseconds, and the path test makes thousands of harnesses).
 */
export function controllableMachine() {
  provided ??= provide();
  return provided;
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
  /** Resolves each actor of `ids` in turn (a phase's actors, in order). */
  resolveAll(ids: readonly ActorId[]): Promise<void>;
  /** Advances the simulated clock by `ms` and lets promises settle. */
  advance(ms: number): Promise<void>;
  value(): unknown;
  /** The top-level state (the phase). */
  phase(): string;
}

export function harness(deadlines: Partial<Deadlines> = {}, backend: BackendRef = A): Harness {
  const pending = new Map<ActorId, Pending>();
  const started: ActorId[] = [];
  const machine = controllableMachine();
  const clock = new SimulatedClock();
  const emitted: MigrationEmitted[] = [];
  const taken = new Set<AnyTransitionDefinition>();
  const resolved = resolveDeadlines(deadlines);
  const actor = createActor(machine, {
    clock,
    input: { session: SESSION, backend, deadlines: resolved },
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(t);
    },
  });
  sinks.set(actor.system, { pending, started });
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
  const h: Harness = {
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
    async reject(id, error = new StepError('ERR_TEST', 'boom')) {
      running(id).reject(error);
      await flush();
    },
    async resolveAll(ids) {
      for (const id of ids) await h.resolve(id);
    },
    async advance(ms) {
      clock.increment(ms);
      await flush();
    },
    value: () => actor.getSnapshot().value,
    phase: () => {
      const value = actor.getSnapshot().value;
      return typeof value === 'string' ? value : Object.keys(value)[0]!;
    },
  };
  return h;
}
