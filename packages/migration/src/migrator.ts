import { randomUUID } from 'node:crypto';
import {
  parseBackendRef,
  parseClientUuid,
  parseMigrationId,
  parseSessionId,
  type BackendRef,
  type FrameLike,
  type Logger,
  type MigrationEnds,
  type MigrationId,
  type Phase,
  type SessionRef,
} from '@handoff/types';
import { createActor, fromPromise, type Actor, type StateValue } from 'xstate';
import { CutoverBarrier, StreamGate } from './barrier.js';
import type { BufferBudget, BufferLimits } from './budget.js';
import { MigrationBuffer, type BufferLedger, type SettledEntry } from './buffer.js';
import { resolveDeadlines, type Deadlines } from './deadlines.js';
import { createDrainPolicy, dropRules, type DrainPolicy, type DrainPolicyInit } from './drain-policy.js';
import { MigrationError } from './errors.js';
import { migrationMachine, PAUSE_BACKEND_READS, type MigrationActorName, type MigrationMachine } from './machine.js';
import type { FallbackActorInput, MigrationEmitted, StepActorInput } from './machine-types.js';
import { ReadPause, type BackendReads } from './read-pause.js';
import type { FallbackContext, MigrationHooks, MigrationRequest, MigrationSteps, StepContext } from './steps.js';
import {
  allow,
  disconnect,
  refer,
  type FailureDecision,
  type FailureReason,
  type HookDecision,
  type MigrationRef,
  type MigrationResult,
} from './types.js';

/** Options of {@link createMigrator} besides where the session is (`session`, `backend` or `snapshot`). */
export interface MigratorOptions<F extends FrameLike = FrameLike> {
  readonly steps: MigrationSteps<F>;
  readonly hooks?: MigrationHooks;
  /** Overrides of `defaultDeadlines` (on restore: of the snapshot's deadlines). */
  readonly deadlines?: Partial<Deadlines>;
  /** Per-migration buffer bounds. */
  readonly limits?: Partial<BufferLimits>;
  /** Shared by every migrator of the proxy (default: `sharedBufferBudget`). */
  readonly budget?: BufferBudget;
  /** A policy, or the init of the default one (`isSourcePong: record.pings.isSourcePong`, overrides). */
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

/**
 * What {@link createMigrator} takes: the session and the backend the player is on now (A), or a
 * `snapshot` from `migrator.persist()` to carry on from (its session and backend; if you pass them
 * too, they must match it).
 */
export type MigratorInit<F extends FrameLike = FrameLike> = MigratorOptions<F> &
  (
    | { readonly session: SessionRef; readonly backend: BackendRef; readonly snapshot?: undefined }
    | { readonly snapshot: PersistedMigrator; readonly session?: SessionRef; readonly backend?: BackendRef }
  );

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

/** The in-flight migration, as `migrator.snapshot()` shows it. */
export interface InFlightMigration extends MigrationEnds {
  readonly migrationId: MigrationId;
  readonly phase: Phase;
  /** The first failure, once the migration is in `Failed`. */
  readonly failure: FailureReason | null;
}

/** A read-only, JSON-safe view of a migrator (no ticket, no frames). */
export interface MigratorSnapshot {
  readonly session: SessionRef;
  /** The backend the player is on (B from Cleanup on). */
  readonly backend: BackendRef;
  /** The machine's top-level state. */
  readonly phase: Phase;
  /** The machine's state, dotted: `Idle.ready`, `Freeze.stoppingSource`, `Failed.deciding`. */
  readonly state: string;
  /** True after a referral or Disconnect (or `stop()`): the session is over. */
  readonly closed: boolean;
  readonly migration: InFlightMigration | null;
}

/**
 * What `migrator.persist()` returns, between migrations: JSON-safe and free of secrets. Pass it
 * (parsed from JSON, if you stored it) as `createMigrator({ snapshot, steps, … })` to carry on.
 */
export interface PersistedMigrator {
  readonly version: 1;
  readonly session: SessionRef;
  readonly backend: BackendRef;
  /** True after a referral or Disconnect: the restored migrator refuses every request (`session-closed`). */
  readonly closed: boolean;
  readonly deadlines: Deadlines;
}

type EmittedType = MigrationEmitted['type'];
type EmittedOf<T extends EmittedType> = Extract<MigrationEmitted, { type: T }>;

/**
 * One player session's migrations: the surface the forwarding loop uses (`clientFrame`, `gate`,
 * `backendReads`), `migrate()` and its typed results, and a read-only view of the machine. At most
 * one migration is in flight; `migrate()` resolves with its outcome or refusal.
 *
 * @example
 * ```ts
 * const migrator = createMigrator({ session: { id: parseSessionId('s1') }, backend: parseBackendRef({ id: 'lobby' }), steps });
 * const result = await migrator.migrate({ target: parseBackendRef({ id: 'game-1' }), ticket });
 * if (result.kind === 'migrated') console.log('now on', migrator.backend.id);
 * ```
 */
export interface Migrator<F extends FrameLike = FrameLike> {
  readonly session: SessionRef;
  /** The backend the player is on (B from Cleanup on). */
  readonly backend: BackendRef;
  /** The machine's top-level state. */
  readonly phase: Phase;
  /** True after a referral or Disconnect (or `stop()`): the session is over. */
  readonly closed: boolean;
  /** The resolved deadlines. */
  readonly deadlines: Deadlines;
  /** Paused while an awaited hook runs: do not read from B then. */
  readonly backendReads: BackendReads;
  /** A read-only, JSON-safe view: phase, state, backend, the in-flight migration. */
  snapshot(): MigratorSnapshot;
  /**
   * The migrator's state for `createMigrator({ snapshot })`, between migrations.
   * @throws MigrationError `ERR_MIGRATION_IN_FLIGHT` while a migration is in flight.
   */
  persist(): PersistedMigrator;
  /** The buffer ledger of the in-flight migration. */
  ledger(): BufferLedger | null;
  /**
   * Asks to move the player to `request.target`. Resolves with the outcome, or at once with a
   * refusal (`already-migrating`, `already-on-backend`, `pool-disabled`, `session-closed`; `denied`
   * after the hook). `signal` aborts the migration up to Freeze (it then rolls back). Rejects with
   * `ERR_MIGRATION_INVALID_REQUEST` (nothing started) when the request is malformed.
   */
  migrate(request: MigrationRequest, options?: { signal?: AbortSignal }): Promise<MigrationResult>;
  /** Aborts the in-flight migration if it has not reached Cutover (it rolls back). */
  abort(reason?: string): void;
  /** Tell the machine the connection to A died (mid-migration: fail over, nothing to roll back to). */
  sourceLost(reason?: string): void;
  /**
   * A gate for one stream that forwards from the current backend to the client. Gates made before
   * a cut belong to A and are stopped by the next migration's barrier; made after, to B.
   */
  gate(name: string): StreamGate;
  /** Where the forwarding loop sends one client packet. */
  clientFrame(frame: F): ClientRoute;
  /** Reports only: listeners are never awaited, and a throwing listener is logged and ignored. */
  on<T extends EmittedType>(type: T, listener: (event: EmittedOf<T>) => void): () => void;
  /** The session ended: stop the machine, drop buffered packets (`migration-stopped`), settle `migrate()`. */
  stop(): void;
}

interface Resources<F extends FrameLike> {
  readonly id: MigrationId;
  readonly request: MigrationRequest;
  readonly buffer: MigrationBuffer<F>;
  readonly barrier: CutoverBarrier;
  readonly settle: (result: MigrationResult) => void;
}

/**
 * The live migrators of the process by session id, for the actors of the shared machine. A session
 * id survives a snapshot round trip (a restored machine's context holds new objects). Weak: a
 * migrator dropped without `stop()` does not leak, and leaves its id free once collected.
 */
class SessionRegistry<M extends object> {
  readonly #live = new Map<string, WeakRef<M>>();
  readonly #collected = new FinalizationRegistry<string>((id) => {
    if (this.#live.get(id)?.deref() === undefined) this.#live.delete(id);
  });

  /** @throws MigrationError `ERR_MIGRATION_DUPLICATE_SESSION` when another live migrator has this session id. */
  register(id: string, migrator: M): void {
    const live = this.#live.get(id)?.deref();
    if (live !== undefined && live !== migrator) {
      throw new MigrationError('ERR_MIGRATION_DUPLICATE_SESSION', `a live migrator already exists for session "${id}": stop() it first`);
    }
    this.#live.set(id, new WeakRef(migrator));
    this.#collected.register(migrator, id, migrator);
  }

  unregister(id: string, migrator: M): void {
    if (this.#live.get(id)?.deref() === migrator) this.#live.delete(id);
    this.#collected.unregister(migrator);
  }

  get(id: string): M {
    const migrator = this.#live.get(id)?.deref();
    if (migrator === undefined) throw new MigrationError('ERR_MIGRATION_ACTOR_NOT_PROVIDED', `no live migrator for session "${id}"`);
    return migrator;
  }
}

/** The fail-over actors: they get the failure (and the chosen message). */
type FallbackActor = 'failOver' | 'sendReferral' | 'sendDisconnect';
/** The actors that do the work of a phase or of a rollback (the hooks are apart). */
type WorkActor = Exclude<MigrationActorName, 'beforeMigrate' | 'decideFailure' | FallbackActor>;

/** The dotted path of a state value: `{ Freeze: 'freezing' }` → `Freeze.freezing`. */
function statePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0]!;
  return child === undefined ? key : `${key}.${statePath(child)}`;
}

/** The migrator of one session; private: users hold it as a {@link Migrator}. */
class MigratorImpl<F extends FrameLike = FrameLike> implements Migrator<F> {
  readonly deadlines: Deadlines;
  readonly backendReads = new ReadPause();
  readonly #actor: Actor<MigrationMachine>;
  readonly #options: MigratorOptions<F>;
  readonly #policy: DrainPolicy<F>;
  readonly #logger: Logger;
  readonly #resources = new Map<MigrationId, Resources<F>>();
  readonly #session: SessionRef;
  #sourceGates = new Set<StreamGate>();
  #stopped = false;

  constructor(init: MigratorInit<F>) {
    this.#options = init;
    this.#logger = init.logger ?? {};
    const policy = init.drainPolicy;
    this.#policy = policy && 'decide' in policy ? policy : createDrainPolicy(policy);
    const restored = init.snapshot === undefined ? undefined : checkPersisted(init.snapshot);
    this.#session = checkSession(init.session ?? restored!.session);
    const backend = checkBackend(init.backend ?? restored!.backend);
    if (restored) {
      if (restored.session.id !== this.#session.id) throw configError('session does not match the snapshot');
      if (restored.backend.id !== backend.id) throw configError('backend does not match the snapshot');
    }
    this.deadlines = resolveDeadlines(restored ? { ...restored.deadlines, ...init.deadlines } : init.deadlines);
    const shared = MigratorImpl.#shared();
    const context = { session: this.#session, backend, deadlines: this.deadlines, migration: null };
    // Restored: the machine resumes in Idle (ready, or closed) on the snapshot's backend; `input` is then unused.
    const snapshot = restored
      ? { snapshot: shared.machine.resolveState({ value: { Idle: restored.closed ? 'closed' : 'ready' }, context }) }
      : {};
    this.#actor = createActor(shared.machine, { input: context, ...snapshot, ...(init.clock ? { clock: init.clock } : {}) });
    this.#actor.on('migration:outcome', ({ outcome }) => this.#finish(outcome.migrationId, outcome));
    this.#actor.on('migration:refused', ({ refusal }) => this.#finish(refusal.migrationId, refusal));
    this.#actor.on('migration:phase', (e) => this.#logger.debug?.({ session: this.#session.id, ...e }, 'migration phase'));
    this.#actor.subscribe({
      next: (snapshot) => this.backendReads.set(snapshot.hasTag(PAUSE_BACKEND_READS)),
      error: (error) => this.#logger.error?.({ err: error, session: this.#session.id }, 'migration machine failed'),
    });
    // Last: a migrator that failed to construct never holds its session id.
    shared.registry.register(this.#session.id, this as unknown as MigratorImpl<FrameLike>);
    this.#actor.start();
  }

  get session(): SessionRef {
    return this.#session;
  }

  get backend(): BackendRef {
    return this.#actor.getSnapshot().context.backend;
  }

  get phase(): Phase {
    const value = this.#actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as Phase;
  }

  get closed(): boolean {
    return this.#stopped || this.#actor.getSnapshot().matches({ Idle: 'closed' });
  }

  snapshot(): MigratorSnapshot {
    const s = this.#actor.getSnapshot();
    const m = s.context.migration;
    return structuredClone({
      session: this.#session,
      backend: s.context.backend,
      phase: this.phase,
      state: statePath(s.value),
      closed: this.closed,
      migration: m && { migrationId: m.migrationId, source: m.source, target: m.target, phase: m.phase, failure: m.failure },
    });
  }

  persist(): PersistedMigrator {
    const s = this.#actor.getSnapshot();
    if (s.context.migration !== null) {
      throw new MigrationError('ERR_MIGRATION_IN_FLIGHT', `migration ${s.context.migration.migrationId} is in flight: persist once migrate() settled`);
    }
    return structuredClone({
      version: 1,
      session: this.#session,
      backend: s.context.backend,
      closed: s.matches({ Idle: 'closed' }),
      deadlines: this.deadlines,
    });
  }

  ledger(): BufferLedger | null {
    return this.#active()?.buffer.ledger() ?? null;
  }

  migrate(request: MigrationRequest, options: { signal?: AbortSignal } = {}): Promise<MigrationResult> {
    let target: BackendRef;
    try {
      target = parseBackendRef(request?.target);
    } catch (cause) {
      return Promise.reject(new MigrationError('ERR_MIGRATION_INVALID_REQUEST', 'request.target is not a valid backend reference', { cause }));
    }
    if (request.ticket !== undefined && typeof request.ticket !== 'string') {
      return Promise.reject(new MigrationError('ERR_MIGRATION_INVALID_REQUEST', 'request.ticket must be the compact ticket string'));
    }
    const id = parseMigrationId(randomUUID());
    if (this.#stopped) {
      return Promise.resolve({ kind: 'refused', migrationId: id, target, refusal: 'session-closed' });
    }
    let settle!: (result: MigrationResult) => void;
    const result = new Promise<MigrationResult>((resolve) => (settle = resolve));
    const o = this.#options;
    const buffer = new MigrationBuffer<F>({
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.budget ? { budget: o.budget } : {}),
      ...(o.copyFrames === undefined ? {} : { copy: o.copyFrames }),
      ...(o.logger ? { logger: o.logger } : {}),
      onOverflow: (info) => this.#actor.send({ type: 'buffer.overflow', migrationId: id, ...info }),
      ...(o.onBufferSettled ? { onSettled: (entry) => o.onBufferSettled!(entry, this.#refOf(id)) } : {}),
    });
    const barrier = new CutoverBarrier();
    this.#resources.set(id, { id, request: { ...request, target }, buffer, barrier, settle });
    if (options.signal) {
      const onAbort = () => this.#actor.send({ type: 'abort', migrationId: id, reason: 'aborted by signal' });
      if (options.signal.aborted) queueMicrotask(onAbort);
      else options.signal.addEventListener('abort', onAbort, { once: true });
      void result.then(() => options.signal!.removeEventListener('abort', onAbort));
    }
    this.#actor.send({ type: 'migrate', migrationId: id, target });
    if (this.#resources.has(id) && this.#actor.getSnapshot().context.migration?.migrationId === id) {
      for (const gate of this.#sourceGates) if (gate.state !== 'closed' && gate.state !== 'ended') barrier.add(gate);
    }
    return result;
  }

  abort(reason = 'aborted'): void {
    const id = this.#actor.getSnapshot().context.migration?.migrationId;
    if (id !== undefined) this.#actor.send({ type: 'abort', migrationId: id, reason });
  }

  sourceLost(reason = 'source connection lost'): void {
    this.#actor.send({ type: 'source.lost', reason });
  }

  gate(name: string): StreamGate {
    const gate = new StreamGate(name);
    this.#sourceGates.add(gate);
    const barrier = this.#active()?.barrier;
    if (barrier && barrier.state !== 'cut' && barrier.state !== 'closed') barrier.add(gate);
    return gate;
  }

  clientFrame(frame: F): ClientRoute {
    if (this.closed) return { action: 'drop', rule: dropRules.sessionEnded };
    const migration = this.#actor.getSnapshot().context.migration;
    const active = migration && this.#resources.get(migration.migrationId);
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

  on<T extends EmittedType>(type: T, listener: (event: EmittedOf<T>) => void): () => void {
    const sub = this.#actor.on(type, (event) => {
      try {
        const r = listener(event as EmittedOf<T>) as unknown;
        if (r instanceof Promise) r.catch((err: unknown) => this.#logger.error?.({ err, type }, 'migration listener rejected'));
      } catch (err) {
        this.#logger.error?.({ err, type }, 'migration listener threw');
      }
    });
    return () => sub.unsubscribe();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const migration = this.#actor.getSnapshot().context.migration;
    this.#actor.stop();
    MigratorImpl.#shared().registry.unregister(this.#session.id, this as unknown as MigratorImpl<FrameLike>);
    this.backendReads.set(false);
    for (const r of [...this.#resources.values()]) {
      r.buffer.discard(dropRules.migrationStopped);
      r.barrier.close();
      this.#resources.delete(r.id);
      const current = migration?.migrationId === r.id ? migration : null;
      const phase = current?.phase ?? 'Idle';
      r.settle({
        kind: 'disconnected',
        migrationId: r.id,
        source: current?.source ?? this.backend,
        target: current?.target ?? r.request.target,
        phase,
        reason: { code: 'ERR_MIGRATION_STOPPED', phase, message: 'migrator stopped' },
      });
    }
  }

  #active(): Resources<F> | undefined {
    const id = this.#actor.getSnapshot().context.migration?.migrationId;
    return id === undefined ? undefined : this.#resources.get(id);
  }

  #refOf(id: MigrationId): MigrationRef {
    const m = this.#actor.getSnapshot().context.migration;
    if (m && m.migrationId === id) return { session: this.#session, migrationId: id, source: m.source, target: m.target, phase: m.phase };
    const r = this.#resources.get(id);
    return { session: this.#session, migrationId: id, source: this.backend, target: r?.request.target ?? this.backend, phase: 'Idle' };
  }

  #finish(id: MigrationId, result: MigrationResult): void {
    const r = this.#resources.get(id);
    if (!r) return;
    this.#resources.delete(id);
    const state = r.buffer.state;
    if (state === 'collecting' || state === 'overflowed' || state === 'draining') {
      // Every exit path settles the buffer; this only guards against an actor that never returned.
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

  /** Logs why an actor failed (code and message only), unless it failed because its state was left. */
  async #logFailure(actor: MigrationActorName, input: StepActorInput, signal: AbortSignal, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!signal.aborted) {
        const e = error as { code?: unknown; message?: unknown };
        this.#logger.warn?.(
          {
            migrationId: input.migration.migrationId,
            actor,
            code: typeof e?.code === 'string' ? e.code : undefined,
            message: typeof e?.message === 'string' ? e.message : String(error),
          },
          'migration actor failed',
        );
      }
      throw error;
    }
  }

  #ctx(input: StepActorInput, signal: AbortSignal): StepContext<F> {
    const r = this.#resources.get(input.migration.migrationId);
    if (!r) throw new MigrationError('ERR_MIGRATION_BUFFER_STATE', 'no resources for this migration');
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

  async #beforeMigrate(input: StepActorInput, signal: AbortSignal): Promise<HookDecision> {
    const hook = this.#options.hooks?.beforeMigrate;
    if (!hook) return allow();
    const trigger = this.#ctx(input, signal).request.trigger;
    return checkHookDecision(await hook({ migration: input.migration, signal, ...(trigger === undefined ? {} : { trigger }) }));
  }

  async #decideFailure(input: FallbackActorInput, signal: AbortSignal): Promise<FailureDecision> {
    const canRefer = this.#options.steps.sendReferral !== undefined;
    const hook = this.#options.hooks?.onFailure;
    if (!hook) return canRefer ? refer() : disconnect();
    return checkFailureDecision(await hook({ migration: input.migration, failure: input.failure, canRefer, signal }));
  }

  /**
   * What each actor of the machine does for this migrator. The steps are the proxy's; the rest is
   * the buffer, the barrier and the drains around them. Named like the machine's actors, so the
   * diagram in docs/migration.md shows all of it.
   */
  static readonly #work: Record<WorkActor, (m: MigratorImpl<FrameLike>, ctx: StepContext<FrameLike>) => unknown> = {
    prepare: (m, ctx) => m.#options.steps.prepare(ctx),
    auth: (m, ctx) => m.#options.steps.auth(ctx),
    sync: (m, ctx) => m.#options.steps.sync(ctx),
    // Client→A stops here: clientFrame() buffers from now on.
    openBuffer: (_, ctx) => ctx.buffer.open(),
    freeze: (m, ctx) => m.#options.steps.freeze?.(ctx),
    stopSource: (_, ctx) => ctx.barrier.stop({ signal: ctx.signal }),
    cutBarrier: (m, ctx) => {
      ctx.barrier.cut(); // throws unless every A stream is at a frame boundary
      m.#sourceGates = new Set(); // gates made from now on forward B
    },
    cutover: (m, ctx) => m.#options.steps.cutover(ctx),
    drainToTarget: (m, ctx) =>
      ctx.buffer.drainToTarget(m.#policy, (frame) => m.#options.steps.sendToTarget(frame, ctx), {
        signal: ctx.signal,
        source: ctx.migration.source,
        target: ctx.migration.target,
      }),
    resume: (m, ctx) => m.#options.steps.resume?.(ctx),
    cleanup: (m, ctx) => m.#options.steps.cleanup(ctx),
    closeTarget: (m, ctx) => m.#options.steps.closeTarget(ctx),
    drainToSource: (m, ctx) => {
      const state = ctx.buffer.state;
      if (state !== 'collecting' && state !== 'overflowed') return; // Freeze failed before the buffer opened
      return ctx.buffer.drainToSource((frame) => m.#options.steps.sendToSource(frame, ctx), { signal: ctx.signal });
    },
    resumeSource: (_, ctx) => ctx.barrier.resume(),
  };

  /** The fail-over actors: after the hook decided, the session ends (referral, else Disconnect). */
  static readonly #fallback: Record<FallbackActor, (m: MigratorImpl<FrameLike>, ctx: FallbackContext<FrameLike>) => unknown> = {
    failOver: (_, ctx) => {
      ctx.buffer.discard(dropRules.sessionEnded);
      ctx.barrier.close();
    },
    sendReferral: (m, ctx) => {
      const send = m.#options.steps.sendReferral;
      if (!send) throw new MigrationError('ERR_MIGRATION_ACTOR_NOT_PROVIDED', 'no sendReferral step: referral is not possible');
      return send(ctx);
    },
    sendDisconnect: (m, ctx) => m.#options.steps.sendDisconnect(ctx),
  };

  static #sharedMachine: { machine: MigrationMachine; registry: SessionRegistry<MigratorImpl<FrameLike>> } | undefined;

  /**
   * One provided machine for every migrator of the process (providing it per session costs
   * ~60 KB each). Its actors find the migrator of their session in the registry, by session id.
   */
  static #shared() {
    if (MigratorImpl.#sharedMachine) return MigratorImpl.#sharedMachine;
    const registry = new SessionRegistry<MigratorImpl<FrameLike>>();
    const owner = (input: StepActorInput) => registry.get(input.migration.session.id);
    const work = (name: WorkActor) =>
      fromPromise<void, StepActorInput>(async ({ input, signal }) => {
        const m = owner(input);
        await m.#logFailure(name, input, signal, () => MigratorImpl.#work[name](m, m.#ctx(input, signal)));
      });
    const fallback = (name: FallbackActor) =>
      fromPromise<void, FallbackActorInput>(async ({ input, signal }) => {
        const m = owner(input);
        await m.#logFailure(name, input, signal, () => MigratorImpl.#fallback[name](m, m.#fallbackCtx(input, signal)));
      });
    const actors = {
      beforeMigrate: fromPromise<HookDecision, StepActorInput>(({ input, signal }) => owner(input).#beforeMigrate(input, signal)),
      prepare: work('prepare'),
      auth: work('auth'),
      sync: work('sync'),
      openBuffer: work('openBuffer'),
      freeze: work('freeze'),
      stopSource: work('stopSource'),
      cutBarrier: work('cutBarrier'),
      cutover: work('cutover'),
      drainToTarget: work('drainToTarget'),
      resume: work('resume'),
      cleanup: work('cleanup'),
      closeTarget: work('closeTarget'),
      drainToSource: work('drainToSource'),
      resumeSource: work('resumeSource'),
      decideFailure: fromPromise<FailureDecision, FallbackActorInput>(({ input, signal }) => owner(input).#decideFailure(input, signal)),
      failOver: fallback('failOver'),
      sendReferral: fallback('sendReferral'),
      sendDisconnect: fallback('sendDisconnect'),
    } satisfies Record<MigrationActorName, unknown>;
    const machine = migrationMachine.provide({
      actors,
      guards: {
        isPoolDisabled: ({ context }, p) => {
          const isPoolEnabled = registry.get(context.session.id).#options.isPoolEnabled;
          return p.target !== undefined && isPoolEnabled !== undefined && !isPoolEnabled(p.target);
        },
      },
    });
    MigratorImpl.#sharedMachine = { machine, registry };
    return MigratorImpl.#sharedMachine;
  }
}

function checkHookDecision(d: HookDecision): HookDecision {
  if (d?.action === 'allow') return d;
  if (d?.action === 'deny' && typeof d.reason === 'string') return d;
  // A redirect target is checked like a request's (a TypesError fails the hook: the request is denied).
  if (d?.action === 'redirect') return { action: 'redirect', target: parseBackendRef(d.target) };
  throw new TypeError('beforeMigrate returned an invalid decision');
}

function checkFailureDecision(d: FailureDecision): FailureDecision {
  if (d?.action !== 'refer' && d?.action !== 'disconnect') throw new TypeError('onFailure returned an invalid decision');
  return d;
}

const configError = (message: string, cause?: unknown) =>
  new MigrationError('ERR_MIGRATION_CONFIG', message, cause === undefined ? undefined : { cause });

/** A plain, frozen copy of the session reference, its ids checked. */
function checkSession(session: SessionRef | undefined): SessionRef {
  try {
    const id = parseSessionId(session?.id);
    const uuid = session?.clientUuid;
    return Object.freeze(uuid === undefined ? { id } : { id, clientUuid: parseClientUuid(uuid) });
  } catch (cause) {
    throw configError('session is not a valid session reference', cause);
  }
}

function checkBackend(backend: BackendRef | undefined): BackendRef {
  try {
    return parseBackendRef(backend);
  } catch (cause) {
    throw configError('backend is not a valid backend reference', cause);
  }
}

/** Checks a snapshot (it may come from storage): the shape `persist()` makes, its ids and deadlines. */
function checkPersisted(value: unknown): PersistedMigrator {
  const p = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof PersistedMigrator, unknown>>;
  if (p.version !== 1 || typeof p.closed !== 'boolean' || typeof p.deadlines !== 'object' || p.deadlines === null) {
    throw configError('snapshot is not one that migrator.persist() made');
  }
  return {
    version: 1,
    session: checkSession(p.session as SessionRef),
    backend: checkBackend(p.backend as BackendRef),
    closed: p.closed,
    deadlines: resolveDeadlines(p.deadlines as Partial<Deadlines>),
  };
}

/** Creates the migrator of one player session (or carries one on from `persist()`'s snapshot). */
export function createMigrator<F extends FrameLike = FrameLike>(init: MigratorInit<F>): Migrator<F> {
  return new MigratorImpl(init);
}
