import { randomUUID } from 'node:crypto';
import { createActor, fromPromise, type Actor } from 'xstate';
import { CutoverBarrier, StreamGate } from './barrier.js';
import type { BufferBudget, BufferLimits } from './budget.js';
import { MigrationBuffer, type BufferLedger, type SettledEntry } from './buffer.js';
import { resolveDeadlines, type Deadlines } from './deadlines.js';
import { createDrainPolicy, dropRules, type DrainPolicy, type DrainPolicyInit } from './drain-policy.js';
import { MigrationError } from './errors.js';
import type { FrameLike } from './frame-like.js';
import type { Logger } from './logger.js';
import {
  migrationMachine,
  PAUSE_BACKEND_READS,
  type FallbackActorInput,
  type MigrationEmitted,
  type MigrationMachine,
  type MigrationRecord,
  type StepActorInput,
} from './machine.js';
import { ReadPause } from './read-pause.js';
import type { FallbackContext, MigrationHooks, MigrationRequest, MigrationSteps, StepContext } from './steps.js';
import {
  allow,
  disconnect,
  refer,
  type BackendRef,
  type FailureDecision,
  type HookDecision,
  type MigrationRef,
  type MigrationResult,
  type Phase,
  type SessionRef,
} from './types.js';

export interface MigratorInit<F extends FrameLike = FrameLike> {
  readonly session: SessionRef;
  /** The backend the player is on now (A). */
  readonly backend: BackendRef;
  readonly steps: MigrationSteps<F>;
  readonly hooks?: MigrationHooks;
  readonly deadlines?: Partial<Deadlines>;
  /** Per-migration buffer bounds. */
  readonly limits?: Partial<BufferLimits>;
  /** Shared by every migrator of the proxy (default: `sharedBufferBudget`). */
  readonly budget?: BufferBudget;
  /** A policy, or the init of the default one (`isSourcePong` from the session's ping ledger, overrides). */
  readonly drainPolicy?: DrainPolicy<F> | DrainPolicyInit<F>;
  /** Pool policy: false refuses the request with `pool-disabled`. Default: every pool enabled. */
  readonly isPoolEnabled?: (target: BackendRef) => boolean;
  /** Copy buffered frames out of their arrival buffer (default true). */
  readonly copyFrames?: boolean;
  /** Told where every buffered client packet ended (traces, tests). */
  readonly onBufferSettled?: (entry: SettledEntry<F>, migration: MigrationRef) => void;
  /** xstate clock for the deadlines (a `SimulatedClock` in tests). */
  readonly clock?: MigrationClock;
  readonly logger?: Logger;
}

type StepName = 'connect' | 'authenticate' | 'sync' | 'freeze' | 'cutover' | 'drain' | 'cleanup' | 'closeTarget' | 'restoreSource';

/** Session ref (the migrator's own copy) → migrator, for the shared machine's actors. */
const owners = new WeakMap<SessionRef, Migrator>();

/** What the forwarding loop does with one client packet. */
export type ClientRoute =
  | { readonly action: 'forward'; readonly backend: BackendRef }
  | { readonly action: 'buffered' }
  /** Stop reading the client; once `until` resolves, route the same packet again. */
  | { readonly action: 'hold'; readonly until: Promise<void> }
  | { readonly action: 'drop'; readonly rule: string };

/** The clock xstate schedules deadlines on (`SimulatedClock` satisfies it). */
export interface MigrationClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

type EmittedType = MigrationEmitted['type'];
type EmittedOf<T extends EmittedType> = Extract<MigrationEmitted, { type: T }>;

interface Resources<F extends FrameLike> {
  readonly id: string;
  readonly request: MigrationRequest;
  readonly buffer: MigrationBuffer<F>;
  readonly barrier: CutoverBarrier;
  readonly settle: (result: MigrationResult) => void;
}

/**
 * One player session's migrations: the machine (with its actors provided from `steps` and
 * `hooks`), a buffer and a barrier per migration, and the surface the forwarding loop uses
 * (`clientFrame`, `gate`, `backendReads`). At most one migration is in flight; `migrate()`
 * resolves with its typed outcome or refusal.
 *
 * @example
 * ```ts
 * const migrator = createMigrator({ session: { id: 's1' }, backend: { id: 'lobby' }, steps });
 * const result = await migrator.migrate({ target: { id: 'game-1' }, ticket });
 * if (result.kind === 'migrated') console.log('now on', migrator.backend.id);
 * ```
 */
export class Migrator<F extends FrameLike = FrameLike> {
  readonly actor: Actor<MigrationMachine>;
  readonly deadlines: Deadlines;
  /** Paused while an awaited hook runs: do not read from B then. */
  readonly backendReads = new ReadPause();
  readonly #init: MigratorInit<F>;
  readonly #policy: DrainPolicy<F>;
  readonly #logger: Logger;
  readonly #resources = new Map<string, Resources<F>>();
  readonly #session: SessionRef;
  #sourceGates = new Set<StreamGate>();
  #stopped = false;

  constructor(init: MigratorInit<F>) {
    this.#init = init;
    this.#logger = init.logger ?? {};
    this.deadlines = resolveDeadlines(init.deadlines);
    const policy = init.drainPolicy;
    this.#policy = policy && 'decide' in policy ? policy : createDrainPolicy(policy);
    // A copy: the machine carries this object by reference, and the shared actors find their
    // migrator by it. (One provided machine for every migrator: providing per session costs ~60 KB.)
    this.#session = Object.freeze({ ...init.session });
    owners.set(this.#session, this as unknown as Migrator);
    this.actor = createActor(Migrator.#machine(), {
      input: { session: this.#session, backend: init.backend, deadlines: this.deadlines },
      ...(init.clock ? { clock: init.clock } : {}),
    });
    this.actor.on('migration:outcome', ({ outcome }) => this.#finish(outcome.migrationId, outcome));
    this.actor.on('migration:refused', ({ refusal }) => this.#finish(refusal.migrationId, refusal));
    this.actor.on('migration:phase', (e) => this.#logger.debug?.({ session: init.session.id, ...e }, 'migration phase'));
    this.actor.subscribe({
      next: (snapshot) => this.backendReads.set(snapshot.hasTag(PAUSE_BACKEND_READS)),
      error: (error) => this.#logger.error?.({ err: error, session: init.session.id }, 'migration machine failed'),
    });
    this.actor.start();
  }

  get session(): SessionRef {
    return this.#session;
  }

  /** The backend the player is on (B from Cleanup on). */
  get backend(): BackendRef {
    return this.actor.getSnapshot().context.backend;
  }

  /** The machine's top-level state. */
  get phase(): Phase {
    const value = this.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as Phase;
  }

  /** The in-flight migration, or null. */
  get migration(): MigrationRecord | null {
    return this.actor.getSnapshot().context.migration;
  }

  /** True after a referral or Disconnect (or `stop()`): the session is over. */
  get closed(): boolean {
    return this.#stopped || this.actor.getSnapshot().matches({ Idle: 'closed' });
  }

  /** The buffer ledger of the in-flight migration. */
  ledger(): BufferLedger | null {
    const id = this.migration?.id;
    return id === undefined ? null : (this.#resources.get(id)?.buffer.ledger() ?? null);
  }

  /**
   * Asks to move the player to `request.target`. Resolves with the outcome, or at once with a
   * refusal (`already-migrating`, `already-on-backend`, `pool-disabled`, `session-closed`; `denied`
   * after the hook). `signal` aborts the migration up to Freeze (it then rolls back).
   */
  migrate(request: MigrationRequest, options: { signal?: AbortSignal } = {}): Promise<MigrationResult> {
    const id = randomUUID();
    if (this.#stopped) {
      return Promise.resolve({ kind: 'refused', migrationId: id, target: request.target, refusal: 'session-closed' });
    }
    let settle!: (result: MigrationResult) => void;
    const result = new Promise<MigrationResult>((resolve) => (settle = resolve));
    const barrier = new CutoverBarrier();
    const buffer = new MigrationBuffer<F>({
      ...(this.#init.limits ? { limits: this.#init.limits } : {}),
      ...(this.#init.budget ? { budget: this.#init.budget } : {}),
      ...(this.#init.copyFrames === undefined ? {} : { copy: this.#init.copyFrames }),
      ...(this.#init.logger ? { logger: this.#init.logger } : {}),
      onOverflow: (info) => this.actor.send({ type: 'buffer.overflow', migrationId: id, ...info }),
      ...(this.#init.onBufferSettled ? { onSettled: (entry) => this.#init.onBufferSettled!(entry, this.#refOf(id)) } : {}),
    });
    this.#resources.set(id, { id, request, buffer, barrier, settle });
    if (options.signal) {
      const onAbort = () => this.actor.send({ type: 'abort', migrationId: id, reason: 'aborted by signal' });
      if (options.signal.aborted) queueMicrotask(onAbort);
      else options.signal.addEventListener('abort', onAbort, { once: true });
      void result.then(() => options.signal!.removeEventListener('abort', onAbort));
    }
    this.actor.send({ type: 'migrate', migrationId: id, target: request.target });
    if (this.#resources.has(id) && this.migration?.id === id) {
      for (const gate of this.#sourceGates) if (gate.state !== 'closed' && gate.state !== 'ended') barrier.add(gate);
    }
    return result;
  }

  /** Aborts the in-flight migration if it has not reached Cutover (it rolls back). */
  abort(reason = 'aborted'): void {
    const id = this.migration?.id;
    if (id !== undefined) this.actor.send({ type: 'abort', migrationId: id, reason });
  }

  /** Tell the machine the connection to A died (mid-migration: fail over, nothing to roll back to). */
  sourceLost(reason = 'source connection lost'): void {
    this.actor.send({ type: 'source.lost', reason });
  }

  /**
   * A gate for one stream that forwards from the current backend to the client. Gates made before
   * a cut belong to A and are stopped by the next migration's barrier; made after, to B.
   */
  gate(name: string): StreamGate {
    const gate = new StreamGate(name);
    this.#sourceGates.add(gate);
    const barrier = this.#active()?.barrier;
    if (barrier && barrier.state !== 'cut' && barrier.state !== 'closed') barrier.add(gate);
    return gate;
  }

  /** Where the forwarding loop sends one client packet. */
  clientFrame(frame: F): ClientRoute {
    if (this.closed) return { action: 'drop', rule: dropRules.sessionEnded };
    const active = this.#active();
    const migration = this.migration;
    if (!active || !migration) return { action: 'forward', backend: this.backend };
    const offer = active.buffer.offer(frame);
    switch (offer.status) {
      case 'forward':
        return { action: 'forward', backend: offer.to === 'source' ? migration.source : migration.target };
      case 'buffered':
        return { action: 'buffered' };
      case 'hold':
        return { action: 'hold', until: offer.until };
      case 'drop':
        return { action: 'drop', rule: offer.rule };
    }
  }

  /** Reports only: listeners are never awaited, and a throwing listener is logged and ignored. */
  on<T extends EmittedType>(type: T, listener: (event: EmittedOf<T>) => void): () => void {
    const sub = this.actor.on(type, (event) => {
      try {
        const r = listener(event as EmittedOf<T>) as unknown;
        if (r instanceof Promise) r.catch((err: unknown) => this.#logger.error?.({ err, type }, 'migration listener rejected'));
      } catch (err) {
        this.#logger.error?.({ err, type }, 'migration listener threw');
      }
    });
    return () => sub.unsubscribe();
  }

  /** The session ended: stop the machine, drop buffered packets (`migration-stopped`), settle `migrate()`. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const migration = this.migration;
    this.actor.stop();
    this.backendReads.set(false);
    for (const r of [...this.#resources.values()]) {
      r.buffer.discard(dropRules.migrationStopped);
      r.barrier.close();
      this.#resources.delete(r.id);
      const phase = migration?.id === r.id ? migration.phase : 'Idle';
      const source = migration?.id === r.id ? migration.source : this.backend;
      r.settle({
        kind: 'disconnected',
        migrationId: r.id,
        source,
        target: migration?.id === r.id ? migration.target : r.request.target,
        phase,
        reason: { code: 'ERR_MIGRATION_STOPPED', phase, message: 'migrator stopped' },
      });
    }
  }

  #active(): Resources<F> | undefined {
    const id = this.migration?.id;
    return id === undefined ? undefined : this.#resources.get(id);
  }

  #refOf(id: string): MigrationRef {
    const m = this.migration;
    if (m && m.id === id) return { session: this.#session, migrationId: id, source: m.source, target: m.target, phase: m.phase };
    const r = this.#resources.get(id);
    return { session: this.#session, migrationId: id, source: this.backend, target: r?.request.target ?? this.backend, phase: 'Idle' };
  }

  #finish(id: string, result: MigrationResult): void {
    const r = this.#resources.get(id);
    if (!r) return;
    this.#resources.delete(id);
    const state = r.buffer.state;
    if (state === 'collecting' || state === 'overflowed' || state === 'draining') {
      // Every exit path settles the buffer; this only guards against a step that never returned.
      this.#logger.warn?.({ migrationId: id, state }, 'migration ended with an unsettled buffer; dropping');
      r.buffer.discard(dropRules.sessionEnded);
    }
    // A's gates stay as the rollback left them (open); a barrier left mid-stop is settled here.
    const barrier = r.barrier.state;
    if (barrier === 'stopping' || barrier === 'stopped') {
      if (result.kind === 'rolled-back' || result.kind === 'refused') r.barrier.resume();
      else r.barrier.close();
    }
    if (result.kind === 'refused') this.#logger.info?.({ migrationId: id, refusal: result.refusal }, 'migration refused');
    else this.#logger.info?.({ migrationId: id, kind: result.kind }, 'migration finished');
    r.settle(result);
  }

  /** Logs why a step failed (code and message only), unless it failed because its phase ended. */
  async #logFailure(step: string, input: StepActorInput, signal: AbortSignal, run: Promise<void>): Promise<void> {
    try {
      await run;
    } catch (error) {
      if (!signal.aborted) {
        const e = error as { code?: unknown; message?: unknown };
        this.#logger.warn?.(
          { migrationId: input.migration.migrationId, step, code: typeof e?.code === 'string' ? e.code : undefined, message: typeof e?.message === 'string' ? e.message : String(error) },
          'migration step failed',
        );
      }
      throw error;
    }
  }

  #resourcesOf(input: StepActorInput): Resources<F> {
    const r = this.#resources.get(input.migration.migrationId);
    if (!r) throw new MigrationError('ERR_BUFFER_STATE', 'no resources for this migration');
    return r;
  }

  #ctx(input: StepActorInput, signal: AbortSignal): StepContext<F> {
    const r = this.#resourcesOf(input);
    return {
      migration: input.migration,
      request: r.request,
      signal,
      buffer: r.buffer,
      barrier: r.barrier,
      backendReads: this.backendReads,
      logger: this.#logger,
    };
  }

  #fallbackCtx(input: FallbackActorInput, signal: AbortSignal): FallbackContext<F> {
    const ctx = this.#ctx(input, signal);
    return input.message === undefined ? { ...ctx, failure: input.failure } : { ...ctx, failure: input.failure, message: input.message };
  }

  static #shared: MigrationMachine | undefined;

  static #machine() {
    Migrator.#shared ??= Migrator.#build();
    return Migrator.#shared;
  }

  /** The machine with every actor provided once, dispatching to the session's migrator. */
  static #build(): MigrationMachine {
    const owner = (session: SessionRef) => {
      const m = owners.get(session);
      if (!m) throw new MigrationError('ERR_MIGRATION_ACTOR_NOT_PROVIDED', 'no migrator owns this session');
      return m;
    };
    const step = (name: StepName) =>
      fromPromise<void, StepActorInput>(({ input, signal }) => owner(input.migration.session).#runStep(name, input, signal));
    const fallback = (name: 'refer' | 'disconnect') =>
      fromPromise<void, FallbackActorInput>(({ input, signal }) => owner(input.migration.session).#runFallback(name, input, signal));
    return migrationMachine.provide({
      actors: {
        beforeMigrate: fromPromise<HookDecision, StepActorInput>(({ input, signal }) => owner(input.migration.session).#beforeMigrate(input, signal)),
        connectBackend: step('connect'),
        authenticate: step('authenticate'),
        driveSetup: step('sync'),
        freeze: step('freeze'),
        cutover: step('cutover'),
        drain: step('drain'),
        cleanup: step('cleanup'),
        closeTarget: step('closeTarget'),
        restoreSource: step('restoreSource'),
        decideFailure: fromPromise<FailureDecision, FallbackActorInput>(({ input, signal }) =>
          owner(input.migration.session).#decideFailure(input, signal),
        ),
        refer: fallback('refer'),
        disconnect: fallback('disconnect'),
      },
      guards: {
        isPoolDisabled: ({ context }, p) => p.target !== undefined && owner(context.session).#poolDisabled(p.target),
      },
    });
  }

  #poolDisabled(target: BackendRef): boolean {
    const isPoolEnabled = this.#init.isPoolEnabled;
    return isPoolEnabled !== undefined && !isPoolEnabled(target);
  }

  async #beforeMigrate(input: StepActorInput, signal: AbortSignal): Promise<HookDecision> {
    const hook = this.#init.hooks?.beforeMigrate;
    if (!hook) return allow();
    const trigger = this.#resourcesOf(input).request.trigger;
    return checkHookDecision(await hook({ migration: input.migration, signal, ...(trigger === undefined ? {} : { trigger }) }));
  }

  async #decideFailure(input: FallbackActorInput, signal: AbortSignal): Promise<FailureDecision> {
    const canRefer = this.#init.steps.refer !== undefined;
    const hook = this.#init.hooks?.onFailure;
    if (!hook) return canRefer ? refer() : disconnect();
    return checkFailureDecision(await hook({ migration: input.migration, failure: input.failure, canRefer, signal }));
  }

  #runStep(name: StepName, input: StepActorInput, signal: AbortSignal): Promise<void> {
    const steps = this.#init.steps;
    const ctx = this.#ctx(input, signal);
    const run = async (): Promise<void> => {
      switch (name) {
        case 'connect':
          return steps.connect(ctx);
        case 'authenticate':
          return steps.authenticate(ctx);
        case 'sync':
          return steps.sync(ctx);
        case 'freeze':
          ctx.buffer.open(); // client→A stops here: clientFrame() buffers from now on
          await steps.freeze?.(ctx);
          return ctx.barrier.stop({ signal });
        case 'cutover':
          ctx.barrier.cut(); // throws unless every A stream is at a frame boundary
          this.#sourceGates = new Set(); // gates made from now on forward B
          return steps.cutover(ctx);
        case 'drain':
          await ctx.buffer.drainToTarget(this.#policy, (frame) => steps.sendToTarget(frame, ctx), {
            signal,
            source: ctx.migration.source,
            target: ctx.migration.target,
          });
          return steps.resume?.(ctx);
        case 'cleanup':
          return steps.cleanup(ctx);
        case 'closeTarget':
          return steps.closeTarget(ctx);
        case 'restoreSource': {
          const state = ctx.buffer.state;
          if (state === 'collecting' || state === 'overflowed') {
            await ctx.buffer.drainToSource((frame) => steps.sendToSource(frame, ctx), { signal });
          }
          ctx.barrier.resume();
          try {
            await steps.closeTarget(ctx);
          } catch (err) {
            this.#logger.warn?.({ err, migrationId: ctx.migration.migrationId }, 'closing B after rollback failed');
          }
          return;
        }
      }
    };
    return this.#logFailure(name, input, signal, run());
  }

  #runFallback(name: 'refer' | 'disconnect', input: FallbackActorInput, signal: AbortSignal): Promise<void> {
    const ctx = this.#fallbackCtx(input, signal);
    ctx.buffer.discard(dropRules.sessionEnded);
    ctx.barrier.close();
    const steps = this.#init.steps;
    const run = async (): Promise<void> => {
      if (name === 'disconnect') return steps.disconnect(ctx);
      if (!steps.refer) throw new MigrationError('ERR_MIGRATION_ACTOR_NOT_PROVIDED', 'no refer step: referral is not possible');
      return steps.refer(ctx);
    };
    return this.#logFailure(name, input, signal, run());
  }
}

function checkHookDecision(d: HookDecision): HookDecision {
  const ok =
    d?.action === 'allow' ||
    (d?.action === 'deny' && typeof d.reason === 'string') ||
    (d?.action === 'redirect' && typeof d.target?.id === 'string');
  if (!ok) throw new TypeError('beforeMigrate returned an invalid decision');
  return d;
}

function checkFailureDecision(d: FailureDecision): FailureDecision {
  if (d?.action !== 'refer' && d?.action !== 'disconnect') throw new TypeError('onFailure returned an invalid decision');
  return d;
}

/** Creates the migrator of one player session. */
export function createMigrator<F extends FrameLike = FrameLike>(init: MigratorInit<F>): Migrator<F> {
  return new Migrator(init);
}
