/**
 * Every code of `migrationErrorCodes` is reached by a scenario through the public API: thrown (or
 * rejected with) as a MigrationError, or reported as the `reason` of a migration's outcome. The
 * table is a `Record` over the codes, so adding a code without a scenario fails the type-check.
 */
import { HandoffError, parseBackendRef, parseMigrationId, parseSessionId } from '@handoff/types';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferBudget,
  CutoverBarrier,
  MigrationBuffer,
  MigrationError,
  StreamGate,
  allow,
  createMigrator,
  isMigrationError,
  migrationErrorCodes,
  migrationMachine,
  resolveDeadlines,
  type FailureCode,
  type FrameLike,
  type MigrationErrorCode,
  type MigrationSteps,
  type Migrator,
  type MigratorOptions,
} from '../src/index.js';

const A = parseBackendRef({ id: 'A' });
const B = parseBackendRef({ id: 'B' });
const frame = (): FrameLike => ({ id: 211, bytes: new Uint8Array(16), descriptor: { name: 'ChatMessage' } });
const never = () => new Promise<void>(() => {});

const live: Migrator[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.stop();
});

let sessions = 0;
/** A migrator whose steps all succeed at once, but for `over`; it is stopped after the test. */
function migrator(over: Partial<MigrationSteps> = {}, options: Partial<MigratorOptions> = {}, id = `codes-${++sessions}`): Migrator {
  const ok = async () => {};
  const steps: MigrationSteps = {
    prepare: ok,
    auth: ok,
    sync: ok,
    cutover: ok,
    cleanup: ok,
    closeTarget: ok,
    sendDisconnect: ok,
    sendToSource: () => {},
    sendToTarget: () => {},
    ...over,
  };
  const m = createMigrator({ session: { id: parseSessionId(id) }, backend: A, steps, budget: new BufferBudget(), ...options });
  live.push(m);
  return m;
}

/** A migrator whose step `name` reports what `act(m)` threw (the migration then goes on). */
async function thrownInside(name: 'sync', act: (m: Migrator) => unknown): Promise<unknown> {
  let thrown: unknown;
  let m!: Migrator;
  m = migrator({
    [name]: async () => {
      try {
        await act(m);
      } catch (error) {
        thrown = error;
      }
    },
  });
  await m.migrate({ target: B });
  throw thrown;
}

/** Runs a scenario; returns the code it threw (a MigrationError) or reported (an outcome's reason). */
async function codeOf(scenario: () => unknown): Promise<{ code: string; thrown?: unknown }> {
  try {
    const result = (await scenario()) as { reason?: { code?: string } } | undefined;
    return { code: String(result?.reason?.code) };
  } catch (error) {
    return { code: String((error as { code?: unknown })?.code), thrown: error };
  }
}

const scenarios: Record<MigrationErrorCode, () => unknown> = {
  ERR_MIGRATION_CONFIG: () => resolveDeadlines({ prepare: 0 }),
  ERR_MIGRATION_READY_WINDOW: () => resolveDeadlines({ resume: 20_000 }),
  ERR_MIGRATION_DUPLICATE_SESSION: () => {
    migrator({}, {}, 'twice');
    migrator({}, {}, 'twice');
  },
  ERR_MIGRATION_INVALID_REQUEST: () => migrator().migrate({ target: { id: 'not a backend id' } as never }),
  ERR_MIGRATION_IN_FLIGHT: () => thrownInside('sync', (m) => m.persist()),
  ERR_MIGRATION_ACTOR_NOT_PROVIDED: async () => {
    // A machine provided by hand, without its phase actors: the first one it invokes fails, typed.
    const errors: unknown[] = [];
    const machine = migrationMachine.provide({ actors: { beforeMigrate: fromPromise(async () => allow()) } });
    const actor = createActor(machine, {
      input: { session: { id: parseSessionId('by-hand') }, backend: A, deadlines: resolveDeadlines() },
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.event.type.startsWith('xstate.error.actor.')) errors.push((e.event as unknown as { error: unknown }).error);
      },
    }).start();
    const outcome = new Promise((resolve) => actor.on('migration:outcome', resolve));
    actor.send({ type: 'migrate', migrationId: parseMigrationId('m1'), target: B });
    await outcome;
    actor.stop();
    throw errors[0];
  },
  ERR_MIGRATION_DEADLINE: async () => {
    const clock = new SimulatedClock();
    const m = migrator({ sync: never }, { clock });
    const result = m.migrate({ target: B });
    while (m.phase !== 'Sync') await new Promise((r) => setImmediate(r));
    clock.increment(m.deadlines.sync);
    return result;
  },
  ERR_MIGRATION_STEP_FAILED: () => migrator({ prepare: () => Promise.reject(new Error('no route to B')) }).migrate({ target: B }),
  ERR_MIGRATION_BUFFER_OVERFLOW: () => {
    let m!: Migrator;
    m = migrator(
      {
        freeze: async (ctx) => {
          m.clientFrame(frame());
          m.clientFrame(frame()); // over the bound of 1: the machine rolls back
          await new Promise((_, reject) => ctx.signal.addEventListener('abort', reject));
        },
      },
      { limits: { maxPackets: 1 } },
    );
    return m.migrate({ target: B });
  },
  ERR_MIGRATION_ABORTED: () => {
    let m!: Migrator;
    m = migrator({ sync: async () => m.abort('operator') });
    return m.migrate({ target: B });
  },
  ERR_MIGRATION_SOURCE_LOST: () => {
    let m!: Migrator;
    m = migrator({ sync: async () => m.sourceLost('A crashed') });
    return m.migrate({ target: B });
  },
  ERR_MIGRATION_STOPPED: () => {
    let m!: Migrator;
    m = migrator({
      freeze: async () => {
        m.stop();
        await never();
      },
    });
    return m.migrate({ target: B });
  },
  ERR_MIGRATION_BARRIER_NOT_STOPPED: () => {
    const barrier = new CutoverBarrier();
    barrier.gate('Default').enter(); // a frame is being written
    barrier.cut();
  },
  ERR_MIGRATION_BARRIER_CUT: () => {
    const barrier = new CutoverBarrier();
    barrier.cut();
    barrier.resume();
  },
  ERR_MIGRATION_BARRIER_CLOSED: () => {
    const barrier = new CutoverBarrier();
    barrier.close();
    return barrier.whenCut();
  },
  ERR_MIGRATION_BARRIER_ABORTED: () => new CutoverBarrier().whenCut({ signal: AbortSignal.abort(new Error('client left')) }),
  ERR_MIGRATION_GATE_MISUSE: () => new StreamGate('Default').exit(),
  ERR_MIGRATION_BUFFER_STATE: () => new MigrationBuffer({ budget: new BufferBudget() }).drainToSource(() => {}),
};

/** The codes reported in an outcome's `reason` (plain data); every other code is thrown as a MigrationError. */
const REPORTED: ReadonlySet<string> = new Set<FailureCode>([
  'ERR_MIGRATION_DEADLINE',
  'ERR_MIGRATION_STEP_FAILED',
  'ERR_MIGRATION_BUFFER_OVERFLOW',
  'ERR_MIGRATION_ABORTED',
  'ERR_MIGRATION_SOURCE_LOST',
  'ERR_MIGRATION_STOPPED',
]);

describe('migrationErrorCodes', () => {
  it('describes every code in one line with what to do, under the package prefix', () => {
    for (const [code, meaning] of Object.entries(migrationErrorCodes)) {
      expect(code).toMatch(/^ERR_MIGRATION_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(40);
      expect(meaning).not.toContain('\n');
    }
  });

  for (const code of Object.keys(scenarios) as MigrationErrorCode[]) {
    it(`${code} is reachable`, async () => {
      const { code: reached, thrown } = await codeOf(scenarios[code]);
      expect(reached).toBe(code);
      if (REPORTED.has(code)) {
        expect(thrown).toBeUndefined();
      } else {
        expect(thrown).toBeInstanceOf(MigrationError);
        expect(thrown).toBeInstanceOf(HandoffError);
        expect((thrown as Error).name).toBe('MigrationError');
        expect(isMigrationError(thrown, code)).toBe(true);
      }
    });
  }

  it('keeps the cause of an error it wraps', async () => {
    const reason = new Error('client left');
    const error = await new CutoverBarrier().whenCut({ signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect((error as Error).cause).toBe(reason);
  });

  it('isMigrationError reads the brand, so it also knows an error made by another copy of the package', () => {
    const fromOtherCopy = new HandoffError('migration', 'ERR_MIGRATION_BUFFER_STATE', 'drain in state idle');
    expect(isMigrationError(fromOtherCopy)).toBe(true);
    expect(isMigrationError(fromOtherCopy, 'ERR_MIGRATION_BUFFER_STATE')).toBe(true);
    expect(isMigrationError(fromOtherCopy, 'ERR_MIGRATION_CONFIG')).toBe(false);
    expect(isMigrationError(new HandoffError('session', 'ERR_MIGRATION_BUFFER_STATE', 'x'))).toBe(false);
    const lookalike = { name: 'MigrationError', message: 'x', code: 'ERR_MIGRATION_BUFFER_STATE' };
    expect(isMigrationError(lookalike)).toBe(false);
  });
});
