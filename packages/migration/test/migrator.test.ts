import { parseBackendRef, parseClientUuid, parseSessionId } from '@handoff/types';
import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferBudget,
  createMigrator,
  deny,
  disconnect,
  forwardThroughGate,
  isMigrationError,
  redirect,
  type ClientRoute,
  type FrameLike,
  type MigrationSteps,
  type Migrator,
  type MigratorOptions,
  type MigratorSnapshot,
  type PersistedMigrator,
  type SettledEntry,
  type StepContext,
} from '../src/index.js';
import { StepError } from './support/controllable.js';

const tick = () => new Promise<void>((r) => setImmediate(r));
const A = parseBackendRef({ id: 'A' });
const B = parseBackendRef({ id: 'B' });
const C = parseBackendRef({ id: 'C' });
const CLIENT_UUID = '6f1d2c3b-0a9e-4f8d-8c7b-5a4e3d2c1b0a';

let n = 0;
interface F extends FrameLike {
  readonly n: number;
}
const frame = (name = 'ChatMessage'): F => ({ id: 0, n: n++, bytes: new Uint8Array(12), descriptor: { name } });

interface Fake {
  readonly log: string[];
  readonly toA: number[];
  readonly toB: number[];
  readonly steps: MigrationSteps<F>;
  readonly contexts: Map<string, StepContext<F>>;
}

/** Steps that record what they were asked to do; `over` replaces any of them. */
function fake(over: Partial<MigrationSteps<F>> = {}): Fake {
  const log: string[] = [];
  const toA: number[] = [];
  const toB: number[] = [];
  const contexts = new Map<string, StepContext<F>>();
  const rec = (name: string) => async (ctx: StepContext<F>) => {
    contexts.set(name, ctx);
    log.push(name);
  };
  const steps: MigrationSteps<F> = {
    prepare: rec('prepare'),
    auth: rec('auth'),
    sync: rec('sync'),
    cutover: rec('cutover'),
    cleanup: rec('cleanup'),
    closeTarget: rec('closeTarget'),
    sendReferral: rec('sendReferral'),
    sendDisconnect: rec('sendDisconnect'),
    sendToSource: (f) => void toA.push(f.n),
    sendToTarget: (f) => void toB.push(f.n),
    ...over,
  };
  return { log, toA, toB, steps, contexts };
}

/** Every migrator a test makes is stopped after it (one live migrator per session id). */
const live: Migrator<F>[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.stop();
});

function migrator(f: Fake, init: Partial<MigratorOptions<F>> & { session?: { id: string } } = {}): Migrator<F> {
  const { session, ...rest } = init;
  const m = createMigrator<F>({
    session: { id: parseSessionId(session?.id ?? 'session-1'), clientUuid: parseClientUuid(CLIENT_UUID) },
    backend: A,
    steps: f.steps,
    budget: new BufferBudget(),
    ...rest,
  });
  live.push(m);
  return m;
}

/** What the forwarding loop would do with a route (hold: wait, then route again). */
async function deliver(m: Migrator<F>, fr: F, toA: number[], toB: number[]): Promise<ClientRoute['action']> {
  for (;;) {
    const r = m.clientFrame(fr);
    if (r.action === 'hold') {
      await r.until;
      continue;
    }
    if (r.action === 'forward') (r.backend.id === 'A' ? toA : toB).push(fr.n);
    return r.action;
  }
}

describe('Migrator: a migration that succeeds', () => {
  it('forwards to A, buffers from Freeze, drains to B by policy, then forwards to B', async () => {
    const settled: SettledEntry<F>[] = [];
    let m!: Migrator<F>;
    const sentDuringFreeze: F[] = [];
    const f = fake({
      freeze: async () => {
        for (const name of ['Pong', 'MouseInteraction', 'ChatMessage']) {
          const fr = frame(name);
          sentDuringFreeze.push(fr);
          expect(m.clientFrame(fr)).toEqual({ action: 'buffered' });
        }
      },
      cutover: async (ctx) => {
        const fr = frame('ClientReady'); // the client answers B's JoinWorld
        sentDuringFreeze.push(fr);
        expect(m.clientFrame(fr)).toEqual({ action: 'buffered' });
        expect(ctx.barrier.state).toBe('cut');
      },
    });
    m = migrator(f, { onBufferSettled: (e) => settled.push(e) });
    const before = frame();
    expect(await deliver(m, before, f.toA, f.toB)).toBe('forward');
    const outcome = await m.migrate({ target: B });
    expect(outcome).toMatchObject({ kind: 'migrated', source: A, target: B, cleanup: 'done' });
    const after = frame();
    await deliver(m, after, f.toA, f.toB);
    expect(f.toA).toEqual([before.n]);
    const [pong, mouse, chat, ready] = sentDuringFreeze.map((x) => x.n);
    expect(f.toB).toEqual([chat, ready, after.n]);
    expect(settled.map((e) => [e.frame.n, e.fate, e.rule])).toEqual([
      [pong, 'dropped', 'pong-for-source'],
      [mouse, 'dropped', 'source-bound'],
      [chat, 'target', undefined],
      [ready, 'target', undefined],
    ]);
    expect(f.log).toEqual(['prepare', 'auth', 'sync', 'cleanup']);
    expect(m.backend).toEqual(B);
    expect(m.snapshot().migration).toBeNull();
  });

  it("cuts only once every A stream stopped at a frame boundary, and B's writer waits for the cut", async () => {
    const events: string[] = [];
    let release!: () => void;
    const f = fake({
      sync: async (ctx) => {
        // B's uni-stream writer exists before Freeze; it must not write before the cut.
        void ctx.barrier.whenCut().then(() => events.push('B writes'));
      },
      cutover: async () => void events.push('cutover step'),
    });
    const m = migrator(f);
    const gate = m.gate('Chunks');
    const frames = (async function* () {
      yield 'A chunk 1';
      await new Promise<void>((r) => (release = r));
      yield 'A chunk 2';
    })();
    const forwarding = forwardThroughGate(frames, gate, async (x) => {
      events.push(`${x} start`);
      await tick();
      events.push(`${x} end`);
    });
    while (!events.includes('A chunk 1 start')) await Promise.resolve();
    // Freeze starts while chunk 1 is half written: the cut must wait for its end.
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'migrated' });
    release();
    expect(await forwarding).toBe('cut');
    expect(events.slice(0, 2)).toEqual(['A chunk 1 start', 'A chunk 1 end']);
    expect(events.slice(2).sort()).toEqual(['B writes', 'cutover step']);
    expect(gate.droppedAfterCut).toBe(1);
  });

  it('gates made after the cut forward B, and the next migration stops them', async () => {
    const f = fake();
    const m = migrator(f);
    const gateOfA = m.gate('Default');
    await m.migrate({ target: B });
    expect(gateOfA.state).toBe('closed');
    const gateOfB = m.gate('Default');
    expect(gateOfB.state).toBe('open');
    let seen!: string;
    f.steps.freeze = async (ctx) => void (seen = ctx.barrier.gates.map((g) => g.state).join());
    await m.migrate({ target: C });
    expect(seen).toBe('open');
    expect(gateOfB.state).toBe('closed');
  });
});

describe('Migrator: rolling back', () => {
  it('a failure in Freeze delivers the buffered packets to A in order, resumes A and closes B', async () => {
    let m!: Migrator<F>;
    const buffered: number[] = [];
    const f = fake({
      freeze: async () => {
        for (let i = 0; i < 3; i++) {
          const fr = frame();
          buffered.push(fr.n);
          m.clientFrame(fr);
        }
        throw new StepError('ERR_STREAM_RESET', 'stream reset');
      },
    });
    m = migrator(f);
    const aWrites: string[] = [];
    const gate = m.gate('Default');
    const outcome = await m.migrate({ target: B });
    expect(outcome).toMatchObject({ kind: 'rolled-back', phase: 'Freeze', reason: { code: 'ERR_MIGRATION_STEP_FAILED', cause: 'ERR_STREAM_RESET' } });
    expect(f.toA).toEqual(buffered);
    expect(f.toB).toEqual([]);
    expect(f.log).toContain('closeTarget');
    expect(gate.state).toBe('open');
    expect(gate.enter()).toBe(true);
    aWrites.push('A still forwards');
    gate.exit();
    expect(m.backend).toEqual(A);
    const later = frame();
    await deliver(m, later, f.toA, f.toB);
    expect(f.toA.at(-1)).toBe(later.n);
  });

  it('an overflow rolls back; the packet that did not fit waits with the caller and then goes to A, after the rest', async () => {
    let m!: Migrator<F>;
    const order: number[] = [];
    const routes: Promise<unknown>[] = [];
    const f = fake({
      freeze: async (ctx) => {
        for (let i = 0; i < 4; i++) {
          const fr = frame();
          order.push(fr.n);
          routes.push(deliver(m, fr, f.toA, f.toB));
        }
        await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    });
    m = migrator(f, { limits: { maxPackets: 2 } });
    const outcome = await m.migrate({ target: B });
    await Promise.all(routes);
    expect(outcome).toMatchObject({ kind: 'rolled-back', phase: 'Freeze', reason: { code: 'ERR_MIGRATION_BUFFER_OVERFLOW', overflow: { scope: 'migration', dimension: 'packets' } } });
    expect(f.toA).toEqual(order);
  });

  it('a step failure before Freeze closes B and stays on A; nothing was buffered', async () => {
    const f = fake({ auth: async () => Promise.reject(new Error('bad ticket')) });
    const m = migrator(f);
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'rolled-back', phase: 'Auth' });
    expect(f.log).toEqual(['prepare', 'closeTarget']);
    expect(m.clientFrame(frame())).toEqual({ action: 'forward', backend: A });
  });

  it('a Freeze that cannot stop a stalled A stream hits its deadline and rolls back', async () => {
    const clock = new SimulatedClock();
    const f = fake();
    const m = migrator(f, { clock });
    const gate = m.gate('Chunks');
    gate.enter(); // a frame being written to a stalled client stream
    const result = m.migrate({ target: B });
    await tick();
    expect(m.phase).toBe('Freeze');
    clock.increment(m.deadlines.freeze);
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Freeze', reason: { deadline: 'freeze' } });
    expect(f.log).not.toContain('cutover');
  });

  it('abort via the signal before Cutover rolls back', async () => {
    const controller = new AbortController();
    const f = fake({ sync: async (ctx) => new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('x')))) });
    const m = migrator(f);
    const result = m.migrate({ target: B }, { signal: controller.signal });
    await tick();
    controller.abort();
    expect(await result).toMatchObject({ kind: 'rolled-back', phase: 'Sync', reason: { code: 'ERR_MIGRATION_ABORTED' } });
  });
});

describe('Migrator: failing over after the cut', () => {
  it('refers by default, drops what is still buffered under a named rule, and closes the session', async () => {
    let m!: Migrator<F>;
    const f = fake({
      freeze: async () => {
        m.clientFrame(frame());
        m.clientFrame(frame());
      },
      cutover: async () => Promise.reject(new Error('B vanished')),
    });
    const settled: SettledEntry<F>[] = [];
    m = migrator(f, { onBufferSettled: (e) => settled.push(e) });
    const outcome = await m.migrate({ target: B });
    expect(outcome).toMatchObject({ kind: 'referred', phase: 'Cutover', reason: { message: 'B vanished' } });
    expect(f.log.at(-1)).toBe('sendReferral');
    expect(f.contexts.get('sendReferral')!.barrier.state).toBe('cut');
    expect(settled.map((e) => e.rule)).toEqual(['session-ended', 'session-ended']);
    expect(m.closed).toBe(true);
    expect(m.clientFrame(frame())).toEqual({ action: 'drop', rule: 'session-ended' });
    expect(await m.migrate({ target: C })).toMatchObject({ refusal: 'session-closed' });
  });

  it('disconnects when there is no sendReferral step, or when the failure hook says so (with its message)', async () => {
    const noRefer = fake({ cutover: async () => Promise.reject(new Error('x')) });
    delete (noRefer.steps as { sendReferral?: unknown }).sendReferral;
    expect(await migrator(noRefer).migrate({ target: B })).toMatchObject({ kind: 'disconnected' });

    const hooked = fake({ cutover: async () => Promise.reject(new Error('x')) });
    const m = migrator(hooked, { session: { id: 'session-2' }, hooks: { onFailure: ({ failure, canRefer }) => (canRefer && failure.phase === 'Cutover' ? disconnect('Please rejoin') : disconnect()) } });
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'disconnected', message: 'Please rejoin' });
    expect((hooked.contexts.get('sendDisconnect') as unknown as { message: string }).message).toBe('Please rejoin');
  });

  it('losing A mid-migration fails over', async () => {
    let m!: Migrator<F>;
    const f = fake({ sync: async () => void m.sourceLost('A crashed') });
    m = migrator(f);
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'referred', reason: { code: 'ERR_MIGRATION_SOURCE_LOST', message: 'A crashed' } });
  });
});

describe('Migrator: requests, hooks and events', () => {
  it('refuses a second request while one is in flight, and a request for the current backend', async () => {
    let release!: () => void;
    const f = fake({ sync: () => new Promise<void>((r) => (release = r)) });
    const m = migrator(f);
    const first = m.migrate({ target: B });
    await tick();
    expect(await m.migrate({ target: C })).toMatchObject({ kind: 'refused', refusal: 'already-migrating', target: C });
    release();
    expect(await first).toMatchObject({ kind: 'migrated' });
    expect(await m.migrate({ target: B })).toMatchObject({ refusal: 'already-on-backend' });
  });

  it('refuses a target whose pool is disabled', async () => {
    const m = migrator(fake(), { isPoolEnabled: (t) => t.pool !== 'event' });
    expect(await m.migrate({ target: parseBackendRef({ id: 'E', pool: 'event' }) })).toMatchObject({ refusal: 'pool-disabled' });
    expect(await m.migrate({ target: parseBackendRef({ id: 'F', pool: 'games' }) })).toMatchObject({ kind: 'migrated' });
  });

  it('pauses B reads while the awaited hook runs, and honours deny and redirect', async () => {
    let decide!: (d: ReturnType<typeof deny>) => void;
    const f = fake();
    const m = migrator(f, { hooks: { beforeMigrate: ({ trigger }) => (trigger === 'redirect-me' ? redirect(C) : new Promise((r) => (decide = r))) } });
    const gateOfA = m.gate('Default');
    const result = m.migrate({ target: B });
    expect(m.backendReads.paused).toBe(true);
    let readable = false;
    void m.backendReads.whenReadable().then(() => (readable = true));
    await tick();
    expect(readable).toBe(false);
    decide(deny('B is in maintenance'));
    expect(await result).toMatchObject({ refusal: 'denied', reason: 'B is in maintenance' });
    await tick();
    expect(readable).toBe(true);
    expect(f.log).toEqual([]);
    expect(gateOfA.state).toBe('open'); // a refused request leaves A's streams alone
    expect(await m.migrate({ target: B, trigger: 'redirect-me' })).toMatchObject({ kind: 'migrated', target: C });
  });

  it('a hook returning nonsense denies the request', async () => {
    const m = migrator(fake(), { hooks: { beforeMigrate: () => ({ action: 'maybe' }) as never } });
    expect(await m.migrate({ target: B })).toMatchObject({ refusal: 'denied' });
  });

  it('events only report: a throwing or rejecting listener does not disturb the migration', async () => {
    const errors: string[] = [];
    const m = migrator(fake(), { logger: { error: (_, msg) => void errors.push(msg!) } });
    const phases: string[] = [];
    m.on('migration:phase', (e) => {
      phases.push(e.phase);
      throw new Error('listener bug');
    });
    m.on('migration:outcome', async () => Promise.reject(new Error('async listener bug')));
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'migrated' });
    await tick();
    expect(phases).toEqual(['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Idle']);
    expect(errors).toContain('migration listener threw');
    expect(errors).toContain('migration listener rejected');
  });

  it('never puts the ticket in the snapshot, events, outcome or logs; the prepare step gets it', async () => {
    const ticket = 'TICKET-BODY-5f1c-SECRET';
    const lines: string[] = [];
    const sink = (obj: object, msg?: string) => void lines.push(JSON.stringify(obj) + (msg ?? ''));
    const f = fake({ sync: async () => Promise.reject(new Error('setup failed')) });
    const m = migrator(f, { logger: { debug: sink, info: sink, warn: sink, error: sink } });
    const emitted: unknown[] = [];
    m.on('migration:phase', (e) => emitted.push(e));
    m.on('migration:outcome', (e) => emitted.push(e));
    let snapshots = '';
    // Every public view of the migrator, at every phase and inside every step.
    m.on('migration:phase', () => (snapshots += JSON.stringify(m.snapshot())));
    for (const name of ['prepare', 'auth', 'closeTarget'] as const) {
      const step = f.steps[name];
      f.steps[name] = async (ctx) => {
        snapshots += JSON.stringify(m.snapshot()) + JSON.stringify(ctx.migration);
        return step(ctx);
      };
    }
    const outcome = await m.migrate({ target: B, ticket });
    snapshots += JSON.stringify(m.snapshot()) + JSON.stringify(m.persist());
    expect(f.contexts.get('prepare')!.request.ticket).toBe(ticket);
    expect(snapshots).toContain('"phase":"Sync"');
    expect(JSON.stringify([outcome, emitted, lines]) + snapshots).not.toContain(ticket);
    expect(lines.length).toBeGreaterThan(0);
  });
});

describe('Migrator: drain policy context', () => {
  it("gives the policy each migration's source and target, so one ping-ledger predicate serves every migration", async () => {
    const seen: string[] = [];
    let m!: Migrator<F>;
    const f = fake({ freeze: async () => void m.clientFrame(frame('Pong')) });
    m = migrator(f, {
      drainPolicy: {
        isSourcePong: (_, ends) => {
          seen.push(`${ends.source.id}->${ends.target.id}`);
          return true;
        },
      },
    });
    await m.migrate({ target: B });
    await m.migrate({ target: C });
    expect(seen).toEqual(['A->B', 'B->C']);
    expect(f.toB).toEqual([]); // both Pongs answered the source of their migration: dropped
  });
});

describe('Migrator: many sessions', () => {
  it('migrators share one machine but each runs only its own steps', async () => {
    const one = fake();
    const two = fake({ auth: async () => Promise.reject(new Error('two fails')) });
    const [r1, r2] = await Promise.all([
      migrator(one, { session: { id: 'one' } }).migrate({ target: B }),
      migrator(two, { session: { id: 'two' } }).migrate({ target: C }),
    ]);
    expect(r1).toMatchObject({ kind: 'migrated', target: B });
    expect(r2).toMatchObject({ kind: 'rolled-back', phase: 'Auth', target: C });
    expect(one.log).toEqual(['prepare', 'auth', 'sync', 'cutover', 'cleanup']);
    expect(two.log).toEqual(['prepare', 'closeTarget']);
    expect(one.contexts.get('prepare')!.migration.target).toEqual(B);
    expect(one.contexts.get('prepare')!.migration.session.id).toBe('one');
  });

  it('refuses a second live migrator for the same session id; once the first is stopped the id is free', async () => {
    const first = migrator(fake(), { session: { id: 'same' } });
    expect(() => migrator(fake(), { session: { id: 'same' } })).toThrow(
      expect.objectContaining({ name: 'MigrationError', code: 'ERR_MIGRATION_DUPLICATE_SESSION' }),
    );
    expect(await first.migrate({ target: B })).toMatchObject({ kind: 'migrated' }); // the refused one took nothing over
    first.stop();
    const second = fake();
    expect(await migrator(second, { session: { id: 'same' } }).migrate({ target: C })).toMatchObject({ kind: 'migrated', source: A });
    expect(second.log).toEqual(['prepare', 'auth', 'sync', 'cutover', 'cleanup']);
  });
});

describe('Migrator: snapshots', () => {
  it('snapshot() is a read-only, JSON-safe view: phase, state, backend and the in-flight migration', async () => {
    let seen!: MigratorSnapshot;
    let m!: Migrator<F>;
    const f = fake({ freeze: async () => void (seen = m.snapshot()) });
    m = migrator(f);
    expect(m.snapshot()).toEqual({ session: m.session, backend: A, phase: 'Idle', state: 'Idle.ready', closed: false, migration: null });
    const outcome = await m.migrate({ target: B });
    expect(seen).toEqual({
      session: { id: 'session-1', clientUuid: CLIENT_UUID },
      backend: A,
      phase: 'Freeze',
      state: 'Freeze.freezing',
      closed: false,
      migration: { migrationId: outcome.migrationId, source: A, target: B, phase: 'Freeze', failure: null },
    });
    expect(JSON.parse(JSON.stringify(seen))).toEqual(seen);
    (seen.backend as { id: string }).id = 'tampered';
    expect(m.snapshot()).toMatchObject({ backend: B, phase: 'Idle', migration: null });
  });

  it('a persisted snapshot, rehydrated into a new migrator, carries on and completes a migration', async () => {
    const first = migrator(fake());
    await first.migrate({ target: B });
    const stored = JSON.stringify(first.persist());
    expect(stored).not.toContain('steps');
    first.stop();

    const f = fake();
    const restored = createMigrator<F>({ snapshot: JSON.parse(stored) as PersistedMigrator, steps: f.steps, budget: new BufferBudget() });
    live.push(restored);
    expect(restored.session).toEqual(first.session);
    expect(restored.backend).toEqual(B);
    expect(restored.snapshot()).toMatchObject({ phase: 'Idle', state: 'Idle.ready', closed: false });
    const gate = restored.gate('Default');
    const outcome = await restored.migrate({ target: C });
    expect(outcome).toMatchObject({ kind: 'migrated', source: B, target: C, cleanup: 'done' });
    expect(f.log).toEqual(['prepare', 'auth', 'sync', 'cutover', 'cleanup']);
    expect(gate.state).toBe('closed'); // its barrier ran
    expect(restored.backend).toEqual(C);
  });

  it('a restored migrator keeps the deadlines it was persisted with, unless told otherwise', () => {
    const first = migrator(fake(), { deadlines: { sync: 12_345 } });
    const snapshot = first.persist();
    first.stop();
    const same = createMigrator<F>({ snapshot, steps: fake().steps });
    expect(same.deadlines.sync).toBe(12_345);
    same.stop();
    const other = createMigrator<F>({ snapshot, steps: fake().steps, deadlines: { sync: 5_000 } });
    expect(other.deadlines.sync).toBe(5_000);
    other.stop();
  });

  it('a session that ended (referral) persists as closed, and the restored migrator refuses every request', async () => {
    const m = migrator(fake({ cutover: async () => Promise.reject(new Error('B vanished')) }));
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'referred' });
    const snapshot = m.persist();
    expect(snapshot).toMatchObject({ closed: true, backend: A });
    m.stop();
    const restored = createMigrator<F>({ snapshot, steps: fake().steps });
    live.push(restored);
    expect(restored.closed).toBe(true);
    expect(await restored.migrate({ target: C })).toMatchObject({ kind: 'refused', refusal: 'session-closed' });
  });

  it('persist() refuses while a migration is in flight; a snapshot that does not match or was tampered with is refused', async () => {
    let m!: Migrator<F>;
    let inFlight: unknown;
    const f = fake({
      sync: async () => {
        try {
          m.persist();
        } catch (error) {
          inFlight = error;
        }
      },
    });
    m = migrator(f);
    await m.migrate({ target: B });
    expect(isMigrationError(inFlight, 'ERR_MIGRATION_IN_FLIGHT')).toBe(true);
    const snapshot = m.persist();
    m.stop();
    const config = expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' });
    expect(() => createMigrator<F>({ snapshot, session: { id: parseSessionId('someone-else') }, steps: f.steps })).toThrow(config);
    expect(() => createMigrator<F>({ snapshot, backend: A, steps: f.steps })).toThrow(config); // the snapshot says B
    expect(() => createMigrator<F>({ snapshot: { ...snapshot, backend: { id: 'not a backend id!' } } as never, steps: f.steps })).toThrow(config);
    expect(() => createMigrator<F>({ snapshot: { ...snapshot, version: 2 } as never, steps: f.steps })).toThrow(config);
    expect(() => createMigrator<F>({ snapshot: { ...snapshot, deadlines: { ...snapshot.deadlines, resume: -1 } }, steps: f.steps })).toThrow(config);
  });
});

describe('Migrator: bad input', () => {
  it('createMigrator refuses an invalid session or backend id (ERR_MIGRATION_CONFIG, the parser error as cause)', () => {
    const f = fake();
    let error: unknown;
    try {
      createMigrator<F>({ session: { id: 'has spaces' as never }, backend: A, steps: f.steps });
    } catch (e) {
      error = e;
    }
    expect(isMigrationError(error, 'ERR_MIGRATION_CONFIG')).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 'ERR_TYPES_INVALID_ID' });
    expect(() => createMigrator<F>({ session: { id: parseSessionId('s-ok') }, backend: { id: '' } as never, steps: f.steps })).toThrow(
      expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' }),
    );
  });

  it('migrate() rejects a malformed request (ERR_MIGRATION_INVALID_REQUEST) and starts nothing', async () => {
    const f = fake();
    const m = migrator(f);
    await expect(m.migrate({ target: { id: 'no such/id' } as never })).rejects.toMatchObject({ code: 'ERR_MIGRATION_INVALID_REQUEST' });
    await expect(m.migrate({ target: B, ticket: { body: 'x' } as never })).rejects.toMatchObject({ code: 'ERR_MIGRATION_INVALID_REQUEST' });
    expect(f.log).toEqual([]);
    expect(m.snapshot().migration).toBeNull();
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'migrated' });
  });

  it('a beforeMigrate hook that redirects to an invalid backend denies the request', async () => {
    const f = fake();
    const m = migrator(f, { hooks: { beforeMigrate: () => redirect({ id: '' } as never) } });
    expect(await m.migrate({ target: B })).toMatchObject({ kind: 'refused', refusal: 'denied', reason: 'beforeMigrate hook failed' });
    expect(f.log).toEqual([]);
  });
});

describe('Migrator: shared budget and stopping', () => {
  it('one budget bounds every concurrent migration', async () => {
    const budget = new BufferBudget({ maxPackets: 3 });
    let one!: Migrator<F>;
    let two!: Migrator<F>;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fOne = fake({ freeze: async () => void [1, 2, 3].forEach(() => one.clientFrame(frame())), cutover: () => gate });
    const fTwo = fake({ freeze: async () => void two.clientFrame(frame()) });
    one = migrator(fOne, { budget });
    two = migrator(fTwo, { budget, session: { id: 'session-2' } });
    const first = one.migrate({ target: B });
    await tick();
    expect(budget.usage().packets).toBe(3);
    expect(await two.migrate({ target: B })).toMatchObject({ kind: 'rolled-back', reason: { overflow: { scope: 'global', dimension: 'packets' } } });
    release();
    expect(await first).toMatchObject({ kind: 'migrated' });
    expect(budget.usage()).toMatchObject({ packets: 0, bytes: 0 });
  });

  it('stop() mid-migration settles migrate(), aborts the running step, and returns the budget', async () => {
    const budget = new BufferBudget();
    let m!: Migrator<F>;
    let aborted = false;
    const f = fake({
      freeze: async (ctx) => {
        m.clientFrame(frame());
        ctx.signal.addEventListener('abort', () => (aborted = true));
        await new Promise(() => {});
      },
    });
    const settled: SettledEntry<F>[] = [];
    m = migrator(f, { budget, onBufferSettled: (e) => settled.push(e) });
    const result = m.migrate({ target: B });
    await tick();
    expect(budget.usage().packets).toBe(1);
    m.stop();
    expect(await result).toMatchObject({ kind: 'disconnected', phase: 'Freeze', reason: { code: 'ERR_MIGRATION_STOPPED' } });
    expect(aborted).toBe(true);
    expect(settled.map((e) => e.rule)).toEqual(['migration-stopped']);
    expect(budget.usage().packets).toBe(0);
    expect(await m.migrate({ target: C })).toMatchObject({ refusal: 'session-closed' });
  });
});
