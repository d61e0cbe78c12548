/**
 * The proxy session: one player, one client connection, the backends it is joined to, and the
 * migrations between them. It owns the forwarders (backend → client per channel, client → backend
 * by the one rule), the migrator with its steps wired to the backend side (connect, handshake,
 * setup) and to the cutover, the session record and the directory entry, and the player's fate when
 * a backend dies or kicks it (docs/proxy-kit.md).
 */
import {
  createDrainPolicy,
  createMigrator,
  type DrainPolicy,
  type BufferBudget,
  type BufferLimits,
  type Deadlines,
  type DrainPolicyInit,
  type FallbackContext,
  type MigrationClock,
  type MigrationHooks,
  type MigrationOutcome,
  type MigrationRef,
  type MigrationResult,
  type MigrationSteps,
  type Migrator,
  type RefusalCode,
  type StepContext,
} from '@handoff/migration';
import { portToWire, readFrame, type Frame, type Generation, type WireFrame } from '@handoff/protocol';
import { claimOf, createCaptureTap, type CaptureTap, type SessionDirectory, type SessionRecord } from '@handoff/session';
import type { Address } from '@handoff/transport';
import {
  parseBackendId,
  parseBackendRef,
  type BackendId,
  type BackendRef,
  type ClientUuid,
  type Logger,
  type MigrationId,
  type Phase,
  type SessionId,
} from '@handoff/types';
import { connectBackend } from './backend/connector.js';
import { createSetupDriver, type AssetPolicy, type SetupDriver, type SetupFrameEvent } from './backend/setup-driver.js';
import type { ReferralDecision, TicketPolicy } from './backend/ticket-policy.js';
import type { AcceptedClient, BackendConfig, BackendEnd, BackendLink, ChannelName, HeldWorld } from './contracts.js';
import { cleanupWrites, rewriteJoinWorld, wire } from './cutover.js';
import { ProxyError } from './errors.js';
import { Emitter } from './events.js';
import { forwardBackend, type ForwardEnd } from './forward/backend-forwarder.js';
import { clientChannels, type ClientChannels } from './forward/client-channels.js';
import { forwardClient, type ClientLoopEnd } from './forward/client-forwarder.js';
import { PacketHooks, type PacketDirection, type PacketHook, type PacketHookContext } from './forward/hooks.js';
import { allPermits, HookPause } from './forward/read-pause.js';
import type { FrameSink } from './frames.js';
import type { TraceAction, TraceRecorder } from './trace.js';

// ------------------------------------------------------------------ what the session needs

/**
 * The backend side of a migration: dial B and send its Connect (Prepare), complete B's handshake
 * (Auth), play the client to B until its JoinWorld (Sync). By default the session uses the kit's
 * connector (`connectBackend`) and setup driver (`createSetupDriver`); anything with these three
 * calls plugs in instead.
 */
export interface BackendJoiner {
  /** Prepare: dials `target` and sends the Connect built from `record`, with `ticket` in its referral data. */
  connect(target: BackendConfig, options: { readonly record: SessionRecord; readonly ticket: string | undefined; readonly signal: AbortSignal }): Promise<BackendLink>;
  /** Auth: B's ConnectAccept, its password challenge answered, B's acceptance of the player. */
  accept(link: BackendLink, options: { readonly target: BackendConfig; readonly signal: AbortSignal }): Promise<unknown>;
  /** Sync: the client's setup replayed to B from `record`; resolves with B's JoinWorld and what it holds for the cutover. */
  sync(link: BackendLink, options: { readonly record: SessionRecord; readonly target: BackendConfig; readonly signal: AbortSignal }): Promise<HeldWorld>;
}

/** Options of {@link backendJoiner}. */
export interface BackendJoinerInit {
  /** The proxy's address as backends see it: `referralSource` of every Connect (backends map it to the proxy's id). */
  readonly proxyAddress: Address;
  /** What the setup driver does with B's assets, per target (default `'require-identical'`). */
  readonly assetPolicy?: AssetPolicy | ((target: BackendConfig) => AssetPolicy) | undefined;
  /** B is not read while this is paused (the session passes `migrator.backendReads`). */
  readonly reads?: { whenReadable(): Promise<void> } | undefined;
  /** Told of every frame on a target's link: the Connect sent, then the setup driver's frames (the session's trace). */
  readonly onFrame?: ((backend: BackendRef, event: SetupFrameEvent) => void) | undefined;
  readonly logger?: Logger | undefined;
}

/** The kit's joiner: `connectBackend`, then one `createSetupDriver` per link for `auth` and `sync`. */
export function backendJoiner(init: BackendJoinerInit): BackendJoiner {
  const drivers = new WeakMap<BackendLink, SetupDriver>();
  const driverOf = (link: BackendLink, record: SessionRecord, target: BackendConfig): SetupDriver => {
    let driver = drivers.get(link);
    if (!driver) {
      const policy = typeof init.assetPolicy === 'function' ? init.assetPolicy(target) : init.assetPolicy;
      driver = createSetupDriver({
        link,
        record,
        password: target.password,
        ...(policy === undefined ? {} : { assetPolicy: policy }),
        ...(init.reads ? { reads: init.reads } : {}),
        ...(init.onFrame ? { onFrame: (event: SetupFrameEvent) => init.onFrame!(link.backend, event) } : {}),
        ...(init.logger ? { logger: init.logger } : {}),
      });
      drivers.set(link, driver);
    }
    return driver;
  };
  const records = new WeakMap<BackendLink, SessionRecord>();
  return {
    async connect(target, { record, ticket, signal }) {
      const observe = init.onFrame;
      const link = await connectBackend(target, {
        record,
        ticket,
        proxyAddress: init.proxyAddress,
        signal,
        ...(init.logger ? { logger: init.logger } : {}),
        ...(observe && record.generation
          ? { onConnectSent: (bytes: Uint8Array) => observe(target.ref, { direction: 'ToServer', frame: readFrame(record.generation!.registry, bytes), action: 'replayed' }) }
          : {}),
      });
      records.set(link, record);
      return link;
    },
    accept: (link, { target, signal }) => driverOf(link, records.get(link)!, target).auth({ signal }),
    sync: (link, { record, target, signal }) => driverOf(link, record, target).sync({ signal }),
  };
}

/** Why the player's backend is gone. */
export type BackendLoss =
  /** it sent Disconnect (a kick) */
  | { readonly kind: 'kick'; readonly reason: string }
  /** its connection ended without one (a crash, a lost network) */
  | { readonly kind: 'lost'; readonly end: BackendEnd };

/** What happens when the player's backend dies or kicks it (crash failover). */
export interface FailoverPolicy {
  /**
   * Where to move the player, on the same client connection (usually a backend of a fallback pool);
   * `undefined`: no failover. The move goes through the migration path (`trigger: 'failover'`); the
   * pool must allow proxy-issued tickets (`tickets.isPoolEnabled`), like any migration.
   */
  target?(context: { readonly from: BackendRef; readonly loss: BackendLoss; readonly clientUuid: ClientUuid }): BackendRef | undefined | Promise<BackendRef | undefined>;
  /** A kick that must not fail over (a ban): the client gets the backend's Disconnect as it is. Default: none is final. */
  isFinalKick?(reason: string, from: BackendRef): boolean;
  /** Without a failover (or when it fails before the player moved): `'refer'` the client to `referral`, or `'disconnect'` it with the backend's reason (default). */
  otherwise?: 'refer' | 'disconnect';
}

/** The awaited hooks of a session. */
export interface ProxySessionHooks extends MigrationHooks {
  /** Packet hooks (inspect, rewrite, drop, inject), in order. */
  readonly packets?: readonly PacketHook[];
  /** Awaited in Freeze, after the client's packets started being buffered and before A's streams stop. */
  freeze?(context: { readonly migration: MigrationRef; readonly signal: AbortSignal }): Promise<void>;
}

/** The migrator's settings for this session (see docs/migration.md). */
export interface SessionMigrationOptions {
  readonly deadlines?: Partial<Deadlines>;
  readonly limits?: Partial<BufferLimits>;
  /** Shared by every session of the proxy (default: the process-wide budget). */
  readonly budget?: BufferBudget;
  /**
   * Drain-policy overrides; the ping ledger's `isSourcePong` is always the record's, and
   * `isTargetClientReady` the session's (which ClientReady the client sent on B's JoinWorld).
   */
  readonly drainPolicy?: Omit<DrainPolicyInit, 'isSourcePong' | 'isTargetClientReady'>;
  /** xstate clock for the deadlines (tests: `SimulatedClock`). */
  readonly clock?: MigrationClock;
}

/** Options of {@link createProxySession}. */
export interface ProxySessionInit {
  /** The accepted client (`acceptClient`). */
  readonly client: AcceptedClient;
  /**
   * The first backend: joined with its handshake done (ConnectAccept read, password answered), so
   * that its next frame is the setup the client plays (`WorldSettings`…).
   */
  readonly backend: BackendLink;
  /** The backends the player may be moved to: a list, or a lookup by reference. */
  readonly backends: Iterable<BackendConfig> | ((ref: BackendRef) => BackendConfig | undefined);
  /** The proxy's address as backends see it: `referralSource` of every Connect to a backend. */
  readonly proxyAddress: Address;
  /** What the setup driver does with a target's assets (default `'require-identical'`). */
  readonly assetPolicy?: AssetPolicy | ((target: BackendConfig) => AssetPolicy) | undefined;
  /** Replaces the kit's connector and setup driver (tests, custom backends). */
  readonly joiner?: BackendJoiner | undefined;
  /**
   * The proxy's ticket trust (`createTicketPolicy`): a ticket for every join, the pools' status
   * (`pool-disabled` refusals), the verdict on a backend's referral. Without it, targets get no
   * ticket (development joins) and every referral is forwarded to the client.
   */
  readonly tickets?: TicketPolicy | undefined;
  /** The session directory (memory or Redis): claimed on start, kept in step, released at the end. */
  readonly directory?: SessionDirectory | undefined;
  readonly hooks?: ProxySessionHooks | undefined;
  readonly failover?: FailoverPolicy | undefined;
  /** Where a referral sends the client (the proxy's public address), and its data. Without it, a failure after the cut disconnects. */
  readonly referral?: { readonly address: Address; readonly data?: Uint8Array | undefined } | undefined;
  readonly migration?: SessionMigrationOptions | undefined;
  /**
   * How long the client may take to leave after a referral before the proxy closes its connection
   * (ms, default 10 000).
   */
  readonly referralGraceMs?: number | undefined;
  readonly trace?: TraceRecorder | undefined;
  readonly logger?: Logger | undefined;
}

// ------------------------------------------------------------------ what the session offers

/** Why a migration was asked for. */
export type MigrationTrigger = 'api' | 'referral' | 'failover' | (string & {});

/** Refusals of a proxy session: the migrator's, plus the kit's own. */
export type ProxyRefusalCode =
  | RefusalCode
  /** the target's asset policy requires identical assets and B requires some the client lacks (B was opened and closed; the player stayed) */
  | 'incompatible-assets'
  /** the player has not entered its first world yet: there is nothing to replay to B */
  | 'not-in-world';

/** The typed result of `session.migrate()`. */
export type ProxyMigrationResult =
  | (MigrationOutcome & { readonly trigger: MigrationTrigger })
  | {
      readonly kind: 'refused';
      readonly migrationId: MigrationId | null;
      readonly target: BackendRef;
      readonly refusal: ProxyRefusalCode;
      readonly reason?: string | undefined;
      readonly trigger: MigrationTrigger;
    };

/** How a session ended. */
export interface SessionEnd {
  readonly reason:
    | 'client-left'
    | 'client-error'
    | 'closed'
    | 'kicked'
    | 'referred'
    | 'disconnected'
    | 'backend-lost';
  /** What the player was told (a Disconnect's text), or what went wrong. */
  readonly message?: string | undefined;
}

/** Counters of a session (numbers only, JSON-safe). */
export interface ProxySessionStats {
  readonly toClient: { readonly frames: number; readonly bytes: number };
  readonly toServer: { readonly frames: number; readonly bytes: number };
  /** Client frames that went nowhere, by rule (`pong-for-other-backend`, `hook:<reason>`, `session-ended`…). */
  readonly droppedToServer: Readonly<Record<string, number>>;
  /** Backend frames that did not reach the client, by rule (`after-cut`, `hook:<reason>`…). */
  readonly droppedToClient: Readonly<Record<string, number>>;
  /** Migration results by kind (and refusals by code, as `refused:<code>`). */
  readonly migrations: Readonly<Record<string, number>>;
  readonly hookErrors: number;
}

/** What a session reports (never awaited). */
export interface ProxySessionEvents {
  'migration:phase': { readonly migrationId: MigrationId; readonly phase: Phase };
  'migration:result': { readonly result: ProxyMigrationResult };
  'backend:lost': { readonly backend: BackendRef; readonly loss: BackendLoss; readonly role: 'player' | 'source' | 'target' };
  'referral': {
    readonly from: BackendRef;
    /** `migrate`: a ticket of `from` for this player (seamless move); `forward`: an ordinary referral, sent to the client; `ignored`: a migration was in flight */
    readonly action: 'migrate' | 'forward' | 'ignored';
    readonly target?: BackendRef | undefined;
    /** For `forward`: why the ticket did not do (`no-ticket`, `invalid-ticket`, `pool-disabled`…). */
    readonly reason?: string | undefined;
  };
  'failover': { readonly from: BackendRef; readonly loss: BackendLoss; readonly target: BackendRef | undefined; readonly result?: ProxyMigrationResult | undefined };
  /** A packet hook threw or answered something that is not a decision: its packet was dropped (`hook-failed`). */
  'hook:failed': { readonly hook: string | undefined; readonly direction: PacketDirection; readonly error: unknown };
  'closed': SessionEnd;
}

/** One player's session on the proxy. */
export interface ProxySession {
  readonly id: SessionId;
  readonly clientUuid: ClientUuid;
  readonly username: string;
  /** The session record (secrets inside stay private; `JSON.stringify` shows none). */
  readonly record: SessionRecord;
  /** The backend the player is on (B from the migration's Cleanup on). */
  readonly backend: BackendRef;
  /** The migration phase (`Idle` between migrations). */
  readonly phase: Phase;
  /** Whether the session has ended. */
  readonly isClosed: boolean;
  /** Resolves once the session ended, with why. */
  readonly closed: Promise<SessionEnd>;
  /**
   * Moves the player to `target` (a reference of one of the session's backends, or its id) without
   * a reconnect. Resolves with the typed result; rejects only for a target that is not one of the
   * session's backends (`ERR_PROXY_UNKNOWN_BACKEND`).
   */
  migrate(target: BackendRef | string, options?: { readonly trigger?: MigrationTrigger; readonly ticket?: string; readonly signal?: AbortSignal }): Promise<ProxyMigrationResult>;
  /** Ends the session: the client gets `Disconnect(message)` (default "Server closed"), every backend a player leave. */
  close(message?: string): Promise<void>;
  on<K extends keyof ProxySessionEvents>(type: K, listener: (event: ProxySessionEvents[K]) => void): () => void;
  stats(): ProxySessionStats;
}

// ------------------------------------------------------------------ internals

interface LinkState {
  readonly link: BackendLink;
  alive: boolean;
  /** Why it is gone, when the kit did not close it. */
  loss: BackendLoss | undefined;
  /** The kit is closing it (Cleanup, rollback, the session's end): its end is not a loss. */
  closingByKit: boolean;
  /** Its loss was handled (a kick, then the end). */
  lossHandled: boolean;
  /** A kick the kit let through to the client (a final kick). */
  finalKick: boolean;
}

interface Pending {
  readonly migrationId: MigrationId;
  readonly source: BackendRef;
  readonly target: BackendConfig;
  link: LinkState | undefined;
  held: HeldWorld | undefined;
  /** The cut happened: A is left behind whatever comes. */
  cut: boolean;
  /**
   * The ordinal of B's JoinWorld among the JoinWorlds the client got (set at the cut): the client's
   * world-entry ClientReady of the same ordinal is the first packet it sent in B's world.
   */
  targetWorld: number | undefined;
  /** That ClientReady, once the drain policy kept it for B: Resume ends when it was written to B. */
  readyFrame: WireFrame | undefined;
  clientReady: Deferred;
  /** B was lost after the cut; the step waiting on it fails. */
  targetLost: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  settled: boolean;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  const d: Deferred = {
    promise,
    settled: false,
    resolve: () => {
      d.settled = true;
      resolve();
    },
    reject: (error) => {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

const DEFAULT_CLOSE_MESSAGE = 'Server closed';
const DEFAULT_FAILED_TRANSFER = 'Server transfer failed';
const DEFAULT_LOST_MESSAGE = 'The server you were on closed the connection';

/** Where a client ClientReady stands: a world entry (readyForChunks alone) or not, and its world. */
interface ReadyMark {
  /** The client's answer to a JoinWorld (`readyForChunks` without `readyForGameplay`). */
  readonly entry: boolean;
  /** How many world entries the client had sent up to and including it. */
  readonly world: number;
}

/** Rejects with the signal's reason once it aborts (no listener left behind when `promise` wins). */
async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

class ProxySessionImpl implements ProxySession {
  readonly id: SessionId;
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly record: SessionRecord;
  readonly closed: Promise<SessionEnd>;

  readonly #init: ProxySessionInit;
  readonly #client: AcceptedClient;
  readonly #generation: Generation;
  readonly #logger: Logger;
  readonly #tap: CaptureTap;
  readonly #channels: ClientChannels;
  readonly #hooks: PacketHooks | undefined;
  readonly #hookPause = new HookPause();
  readonly #migrator: Migrator<WireFrame>;
  readonly #events: Emitter<ProxySessionEvents>;
  readonly #abort = new AbortController();
  readonly #links = new Map<string, LinkState>();
  readonly #lookup: (ref: BackendRef) => BackendConfig | undefined;
  readonly #joiner: BackendJoiner;
  readonly #drainPolicy: DrainPolicy<WireFrame>;
  #pending: Pending | undefined;
  #changed = deferred();
  #ending: SessionEnd | undefined;
  #resolveClosed!: (end: SessionEnd) => void;
  #directoryQueue: Promise<void> = Promise.resolve();
  #claimed = false;
  #failingOver = false;
  /** JoinWorld frames written to the client (from any backend, or rewritten at a cut). */
  #worldsJoined = 0;
  /** World-entry ClientReadys the client sent, counted as they arrive (in the client's order). */
  #worldsEntered = 0;
  /** The client's ClientReadys in the migration buffer, in order (shifted as the buffer settles them). */
  #bufferedReadies: ReadyMark[] = [];
  /** The ClientReady the direct path is deciding (the client loop routes one frame at a time). */
  #admitting: ReadyMark | undefined;

  readonly #stats = {
    toClient: { frames: 0, bytes: 0 },
    toServer: { frames: 0, bytes: 0 },
    droppedToServer: {} as Record<string, number>,
    droppedToClient: {} as Record<string, number>,
    migrations: {} as Record<string, number>,
    hookErrors: 0,
  };

  constructor(init: ProxySessionInit) {
    this.#init = init;
    const client = init.client;
    this.#client = client;
    this.record = client.record;
    this.id = client.record.id;
    this.clientUuid = client.clientUuid;
    this.username = client.username;
    this.#generation = client.generation;
    this.#logger = init.logger ?? {};
    this.#events = new Emitter(this.#logger);
    this.#lookup = backendLookup(init.backends);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // the tap the handshake fed (it knows the generation and holds the Connect); a stand-in client may bring none
    this.#tap = client.tap ?? createCaptureTap(this.record, { generation: this.#generation, logger: this.#logger });
    this.#channels = clientChannels(client.connection, this.#generation, client.sink);
    this.#hooks = init.hooks?.packets?.length ? new PacketHooks(init.hooks.packets, this.#generation) : undefined;
    const first = init.backend.backend;
    this.record.setBackend(first);
    const tickets = init.tickets;
    const migration = init.migration ?? {};
    this.#drainPolicy = createDrainPolicy<WireFrame>({
      ...(migration.drainPolicy ?? {}),
      isSourcePong: this.record.pings.isSourcePong,
      isTargetClientReady: (frame) => this.#isTargetClientReady(frame),
    });
    this.#migrator = createMigrator<WireFrame>({
      session: this.record.ref,
      backend: first,
      steps: this.#steps(),
      hooks: {
        ...(init.hooks?.beforeMigrate ? { beforeMigrate: init.hooks.beforeMigrate.bind(init.hooks) } : {}),
        ...(init.hooks?.onFailure ? { onFailure: init.hooks.onFailure.bind(init.hooks) } : {}),
      },
      drainPolicy: this.#drainPolicy,
      ...(migration.deadlines ? { deadlines: migration.deadlines } : {}),
      ...(migration.limits ? { limits: migration.limits } : {}),
      ...(migration.budget ? { budget: migration.budget } : {}),
      ...(migration.clock ? { clock: migration.clock } : {}),
      ...(tickets ? { isPoolEnabled: (target: BackendRef) => tickets.poolStatus(target).seamless } : {}),
      onBufferSettled: (entry) => {
        if (entry.frame.descriptor.name === 'ClientReady') this.#bufferedReadies.shift();
        if (entry.fate === 'dropped') {
          this.#count('ToServer', entry.rule ?? 'dropped');
          this.#trace('ToServer', 'Default', entry.frame, 'dropped', undefined, entry.rule ?? 'dropped');
        } else this.#trace('ToServer', 'Default', entry.frame, 'replayed', entry.fate === 'source' ? this.#pending?.source.id : this.#pending?.target.ref.id);
      },
      logger: this.#logger,
    });
    this.#migrator.on('migration:phase', ({ migrationId, phase }) => this.#onPhase(migrationId, phase));
    this.#joiner =
      init.joiner ??
      backendJoiner({
        proxyAddress: init.proxyAddress,
        assetPolicy: init.assetPolicy,
        reads: this.#migrator.backendReads,
        ...(init.trace ? { onFrame: (backend: BackendRef, event: SetupFrameEvent) => this.#trace(event.direction, 'Default', event.frame, event.action, backend.id, event.rule, 'backend') } : {}),
        ...(init.logger ? { logger: init.logger } : {}),
      });
  }

  // ---------------------------------------------------------------- public surface

  get backend(): BackendRef {
    return this.#migrator.backend;
  }

  get phase(): Phase {
    return this.#migrator.phase;
  }

  get isClosed(): boolean {
    return this.#ending !== undefined;
  }

  on<K extends keyof ProxySessionEvents>(type: K, listener: (event: ProxySessionEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  stats(): ProxySessionStats {
    return structuredClone(this.#stats);
  }

  async migrate(
    target: BackendRef | string,
    options: { readonly trigger?: MigrationTrigger; readonly ticket?: string; readonly signal?: AbortSignal } = {},
  ): Promise<ProxyMigrationResult> {
    const trigger = options.trigger ?? 'api';
    let ref: BackendRef;
    try {
      ref = typeof target === 'string' ? parseBackendRef({ id: target }) : parseBackendRef(target);
    } catch (cause) {
      throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'the migration target is not a backend reference', { cause });
    }
    const config = this.#lookup(ref);
    if (!config) throw new ProxyError('ERR_PROXY_UNKNOWN_BACKEND', `no backend "${ref.id}" among the session's backends`);
    ref = config.ref;
    if (this.#ending) return this.#result({ kind: 'refused', migrationId: null, target: ref, refusal: 'session-closed', trigger });
    if (this.record.playerOptions === undefined || this.record.joinWorld === undefined) {
      return this.#result({ kind: 'refused', migrationId: null, target: ref, refusal: 'not-in-world', trigger });
    }
    const result = await this.#migrator.migrate(
      { target: ref, trigger, ...(options.ticket === undefined ? {} : { ticket: options.ticket }) },
      options.signal ? { signal: options.signal } : {},
    );
    const settled = this.#settle(result, trigger);
    await this.#directoryQueue; // the directory is in step with the outcome before it is reported
    return this.#result(settled);
  }

  async close(message: string = DEFAULT_CLOSE_MESSAGE): Promise<void> {
    if (this.#ending) {
      await this.closed;
      return;
    }
    await this.#disconnectClient(message).catch(() => {});
    await this.#end({ reason: 'closed', message });
  }

  // ---------------------------------------------------------------- start

  /** Claims the directory entry and starts every forwarder. */
  async start(): Promise<void> {
    const directory = this.#init.directory;
    if (directory) {
      let claim: Awaited<ReturnType<SessionDirectory['claim']>> | undefined;
      try {
        claim = await directory.claim(claimOf(this.record));
        if (!claim.claimed && claim.holder.proxyId === directory.proxyId) {
          // the same player through this proxy: the older session is ending (a reconnect)
          claim = await directory.claim(claimOf(this.record), { steal: true });
        }
      } catch (error) {
        // a directory that cannot answer does not keep the player out: the session runs unlisted
        this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'directory claim failed: the session is not listed');
      }
      if (claim && !claim.claimed) {
        await this.#disconnectClient('You are already logged in on that account!').catch(() => {});
        await this.#init.backend.close('Player already connected').catch(() => {});
        await this.#end({ reason: 'closed', message: 'already connected through another proxy' });
        throw new ProxyError('ERR_PROXY_DUPLICATE_SESSION', `player ${this.clientUuid} is held by proxy ${claim.holder.proxyId}`);
      }
      if (claim) {
        this.#claimed = true;
        this.#heartbeat(directory);
      }
    }
    const first = this.#adopt(this.#init.backend);
    this.#forward(first);
    void this.#client.connection.closed.then(() => {
      if (!this.#ending) void this.#end({ reason: 'client-left', message: 'the client connection ended' });
    });
    void this.#runClient();
  }

  // ---------------------------------------------------------------- forwarding

  #adopt(link: BackendLink): LinkState {
    const state: LinkState = { link, alive: true, loss: undefined, closingByKit: false, lossHandled: false, finalKick: false };
    this.#links.set(link.backend.id, state);
    void link.ended.then((end) => this.#onLinkEnded(state, end));
    return state;
  }

  #forward(state: LinkState, queued?: HeldWorld['queued']): void {
    const reads = allPermits(this.#migrator.backendReads, this.#hookPause);
    forwardBackend({
      link: state.link,
      channels: this.#channels,
      gate: (name) => this.#migrator.gate(name),
      reads,
      hookPause: this.#hookPause,
      hooks: this.#hooks,
      hookContext: (channel) => this.#hookContext('ToClient', channel, state.link.backend),
      onHookError: (hook, error) => this.#hookError('ToClient', hook, error),
      intercept: (frame) => this.#intercept(state, frame),
      onFrame: (frame, channel, action, rule) => {
        if (action === 'dropped') {
          this.#count('ToClient', rule ?? 'dropped');
          this.#trace('ToClient', channel, frame, action, state.link.backend.id, rule);
          return;
        }
        if (action !== 'suppressed') {
          this.#tapToClient(frame, state.link.backend.id);
          this.#stats.toClient.frames += 1;
          this.#stats.toClient.bytes += frame.bytes.length;
        }
        this.#trace('ToClient', channel, frame, action, state.link.backend.id, undefined, action === 'suppressed' ? 'client' : 'tapped');
      },
      queued,
      onEnd: (end) => this.#onForwardEnd(state, end),
      signal: this.#abort.signal,
    });
  }

  #onForwardEnd(state: LinkState, end: ForwardEnd): void {
    if (end.kind === 'client-failed') {
      if (!this.#ending) void this.#end({ reason: 'client-left', message: 'writing to the client failed' });
      return;
    }
    if (end.kind === 'backend-failed' && state.alive && !state.closingByKit) {
      // a backend whose bytes are not frames (or whose stream failed) is closed; its end is a loss
      this.#logger.warn?.({ backend: state.link.backend.id, channel: end.channel, code: codeOf(end.error) }, 'reading the backend failed');
      void state.link.close('Protocol error').catch(() => {});
    }
  }

  async #runClient(): Promise<void> {
    const end: ClientLoopEnd = await forwardClient({
      frames: this.#client.frames,
      tap: {
        clientToServer: (frame) => {
          if (frame.descriptor.name === 'ClientReady' && this.#readyMark(frame).entry) this.#worldsEntered += 1;
          return this.#tap.clientToServer(frame);
        },
      },
      migrator: this.#migrator,
      router: {
        sinkOf: (backend) => this.#sinkOf(backend),
        changed: () => this.#changed.promise,
        admit: (frame, backend) => this.#admit(frame, backend),
      },
      hooks: this.#hooks,
      hookContext: () => this.#hookContext('ToServer', 'Default', this.#migrator.backend),
      onHookError: (hook, error) => this.#hookError('ToServer', hook, error),
      onPlayerOptions: () => this.#channels.open(),
      onFrame: (frame, action, backend, rule) => {
        if (action === 'dropped') this.#count('ToServer', rule ?? 'dropped');
        else if (action === 'buffered') {
          // decided when the buffer drains: remember which world the client sent it in (now: it is the frame just read)
          if (frame.descriptor.name === 'ClientReady') this.#bufferedReadies.push(this.#readyMark(frame));
        } else {
          this.#stats.toServer.frames += 1;
          this.#stats.toServer.bytes += frame.bytes.length;
          if (backend && frame.descriptor.name === 'ClientReady') this.#clientReadyReached(backend, frame);
        }
        this.#trace('ToServer', 'Default', frame, action, backend?.id, rule, 'tapped');
      },
      signal: this.#abort.signal,
    });
    if (this.#ending) return;
    if (end.kind === 'ended') await this.#end({ reason: 'client-left' });
    else if (end.kind === 'client-error') {
      this.#logger.info?.({ session: this.id, code: codeOf(end.error) }, 'client stream failed');
      await this.#client.connection.close({ code: 10, reason: 'PROTOCOL_VIOLATION' }).catch(() => {});
      await this.#end({ reason: 'client-error', message: codeOf(end.error) });
    }
  }

  /**
   * After the cut and before the client's ClientReady for B reached B, frames for B were sent in A's
   * world (the ClientReady for B itself is kept, and ends Resume once written).
   */
  #admit(frame: WireFrame, backend: BackendRef): string | undefined {
    const pending = this.#pending;
    if (!pending?.cut || pending.clientReady.settled || pending.target.ref.id !== backend.id) return undefined;
    this.#admitting = frame.descriptor.name === 'ClientReady' ? this.#readyMark(frame) : undefined;
    try {
      const decision = this.#drainPolicy.decide(frame, { afterClientReady: false, source: pending.source, target: pending.target.ref });
      return decision.action === 'drop' ? decision.rule : undefined;
    } finally {
      this.#admitting = undefined;
    }
  }

  /**
   * A client ClientReady as it arrives (or is routed: the client loop handles one frame at a time, so
   * the count is the frame's own): a world entry or not, and how many world entries the client sent.
   */
  #readyMark(frame: Frame): ReadyMark {
    let entry = false;
    try {
      const ready = this.#generation.packet('ClientReady').decodeFrame(frame);
      entry = ready.readyForChunks === true && ready.readyForGameplay !== true;
    } catch {
      // a malformed ClientReady enters no world
    }
    return { entry, world: this.#worldsEntered };
  }

  /**
   * The drain policy's `isTargetClientReady`, asked in the client's order (the buffer's drain, then
   * the direct path): true for the world-entry ClientReady that answers B's JoinWorld, the client's
   * n-th world entry for the n-th JoinWorld it got. Anything before it was sent in A's world.
   */
  #isTargetClientReady(frame: WireFrame): boolean {
    const pending = this.#pending;
    const mark = this.#admitting ?? this.#bufferedReadies[0];
    if (!pending?.cut || pending.targetWorld === undefined || mark === undefined) return false;
    if (!mark.entry || mark.world < pending.targetWorld) return false;
    pending.readyFrame = frame;
    return true;
  }

  /** A frame written to the client: tapped; JoinWorlds counted (the client answers each with a world entry). */
  #tapToClient(frame: WireFrame, backend: BackendId): void {
    if (frame.descriptor.name === 'JoinWorld') this.#worldsJoined += 1;
    this.#tap.serverToClient(frame, backend);
  }

  #sinkOf(backend: BackendRef): FrameSink | undefined {
    const state = this.#links.get(backend.id);
    return state && state.alive ? state.link.sink : undefined;
  }

  #notifyChanged(): void {
    const previous = this.#changed;
    this.#changed = deferred();
    previous.resolve();
  }

  #hookContext(direction: PacketDirection, channel: ChannelName, backend: BackendRef): PacketHookContext {
    return {
      direction,
      channel,
      backend,
      clientUuid: this.clientUuid,
      sessionId: this.id,
      phase: this.#migrator.phase,
      signal: this.#abort.signal,
      injectToClient: async (bytes, to = channel) => {
        const frames = this.#hooks!.split(bytes, 'ToClient', to);
        for (const frame of frames) {
          this.#tapToClient(frame, backend.id);
          this.#trace('ToClient', to, frame, 'injected', backend.id, undefined, 'tapped');
          await this.#channels.write(to, frame.bytes);
        }
      },
      injectToBackend: async (bytes) => {
        const frames = this.#hooks!.split(bytes, 'ToServer', 'Default');
        const sink = this.#sinkOf(backend);
        if (!sink) throw new ProxyError('ERR_PROXY_BACKEND_LOST', `backend ${backend.id} is gone`);
        for (const frame of frames) {
          this.#trace('ToServer', 'Default', frame, 'injected', backend.id);
          await sink.write(frame.bytes);
        }
      },
    };
  }

  #hookError(direction: PacketDirection, hook: PacketHook, error: unknown): void {
    this.#stats.hookErrors += 1;
    this.#logger.warn?.({ session: this.id, hook: hook.name, code: codeOf(error) }, 'packet hook failed; the packet was dropped');
    this.#events.emit('hook:failed', { hook: hook.name, direction, error });
  }

  #count(direction: PacketDirection, rule: string): void {
    const table = direction === 'ToServer' ? this.#stats.droppedToServer : this.#stats.droppedToClient;
    table[rule] = (table[rule] ?? 0) + 1;
  }

  /**
   * One trace record. `link`: `'tapped'` for a frame on the client's connection the capture tap was
   * given (the record says whether it captured from it), `'client'` for one it was not, `'backend'`
   * for a frame on a migration target's link that the client never sees.
   */
  #trace(
    direction: PacketDirection,
    channel: ChannelName,
    frame: WireFrame,
    action: TraceAction,
    backend?: string,
    rule?: string,
    link: 'tapped' | 'client' | 'backend' = 'client',
  ): void {
    const trace = this.#init.trace;
    if (!trace) return;
    try {
      const migrationId = this.#pending?.migrationId;
      trace.record({
        time: Date.now(),
        session: this.id,
        generation: this.#generation.id,
        direction,
        channel,
        link: link === 'backend' ? 'backend' : 'client',
        ...(backend === undefined ? {} : { backend: backend as BackendId }),
        id: frame.id,
        name: frame.descriptor.name,
        size: frame.bytes.length,
        phase: this.#migrator.phase,
        ...(migrationId === undefined ? {} : { migrationId }),
        action,
        ...(link === 'tapped' && this.#tap.captures(direction, frame.id) ? { captured: true as const } : {}),
        ...(rule === undefined ? {} : { rule }),
      });
    } catch (err) {
      this.#logger.debug?.({ err }, 'trace recorder threw');
    }
  }

  // ---------------------------------------------------------------- kicks and referrals

  /** A backend's Disconnect or ClientReferral: true when the kit keeps it from the client. */
  async #intercept(state: LinkState, frame: WireFrame): Promise<boolean> {
    const from = state.link.backend;
    const pending = this.#pending;
    const isPlayers = this.#isPlayersBackend(state);
    if (frame.descriptor.name === 'Disconnect') {
      let reason = '';
      try {
        reason = this.#generation.packet('Disconnect').decodeFrame(frame).reason ?? '';
      } catch {
        // an unreadable Disconnect is still a kick
      }
      if (!isPlayers) return true; // A after the cut, or a backend being closed: not the player's any more
      const final = this.#init.failover?.isFinalKick?.(reason, from) ?? false;
      if (final) {
        state.finalKick = true;
        this.#kickedWith = reason;
        this.#logger.info?.({ session: this.id, backend: from.id }, 'final kick: no failover');
        return false; // the client gets it as the backend sent it; the session ends with the link
      }
      void this.#backendGone(state, { kind: 'kick', reason });
      return true;
    }
    // ClientReferral
    if (!isPlayers || pending) {
      this.#events.emit('referral', { from, action: 'ignored' });
      this.#count('ToClient', 'referral-while-migrating');
      return true;
    }
    const tickets = this.#init.tickets;
    let decision: ReferralDecision | undefined;
    if (tickets) {
      try {
        decision = await tickets.interceptReferral(frame, {
          clientUuid: this.clientUuid,
          source: from,
          generation: this.#generation,
          sessionId: this.id,
          signal: this.#abort.signal,
        });
      } catch (error) {
        this.#logger.warn?.({ session: this.id, backend: from.id, code: codeOf(error) }, 'referral check failed: forwarded as an ordinary referral');
      }
    }
    if (decision?.action === 'migrate' && this.#lookup(decision.target.ref)) {
      const target = decision.target.ref;
      this.#events.emit('referral', { from, action: 'migrate', target });
      void this.migrate(target, { trigger: 'referral', ticket: decision.ticket }).catch((error: unknown) =>
        this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'referral migration failed to start'),
      );
      return true;
    }
    this.#events.emit('referral', { from, action: 'forward', ...(decision?.action === 'forward' ? { reason: decision.reason } : {}) });
    // the client follows it by reconnecting: the session ends when it leaves (or after the grace)
    this.#awaitClientLeave();
    return false;
  }

  /** Whether `state` is the backend whose world the client is in (A until the cut, B after it). */
  #isPlayersBackend(state: LinkState): boolean {
    const pending = this.#pending;
    if (pending?.cut) return pending.link === state;
    return this.#links.get(this.#migrator.backend.id) === state;
  }

  #onLinkEnded(state: LinkState, end: BackendEnd): void {
    state.alive = false;
    this.#notifyChanged();
    if (this.#links.get(state.link.backend.id) === state && state.closingByKit) this.#links.delete(state.link.backend.id);
    if (state.closingByKit || this.#ending) return;
    if (state.finalKick) {
      void this.#closeClientAfterKick();
      return;
    }
    const loss: BackendLoss = end.disconnect && end.disconnect.reason !== null ? { kind: 'kick', reason: end.disconnect.reason } : { kind: 'lost', end };
    void this.#backendGone(state, loss);
  }

  async #closeClientAfterKick(): Promise<void> {
    await this.#client.connection.close({ code: 0 }).catch(() => {});
    await this.#end({ reason: 'kicked', message: this.#kickedWith });
  }

  /** A backend died or kicked the player: decide by its role. */
  async #backendGone(state: LinkState, loss: BackendLoss): Promise<void> {
    if (state.lossHandled || this.#ending) return;
    state.lossHandled = true;
    state.alive = false;
    state.loss = loss;
    this.#notifyChanged();
    const backend = state.link.backend;
    const pending = this.#pending;
    if (pending && pending.link === state) {
      // B, the target of the migration in flight: before the cut it rolls back; after it, the waiting step fails
      this.#events.emit('backend:lost', { backend, loss, role: 'target' });
      if (!pending.cut) this.#migrator.abort(`target ${backend.id} lost`);
      else pending.targetLost.reject(new ProxyError('ERR_PROXY_BACKEND_LOST', `backend ${backend.id} was lost after the cut`));
      return; // if the player ends up on it (lost during Cleanup), the failover runs once the migration settles
    }
    if (this.#links.get(backend.id) !== state) return; // an old link
    if (this.#migrator.snapshot().migration !== null) {
      // A, the source of the migration in flight: nothing to roll back to before the cut; after it, A is left anyway
      this.#events.emit('backend:lost', { backend, loss, role: 'source' });
      if (!pending?.cut) this.#migrator.sourceLost(loss.kind === 'kick' ? 'the source kicked the player' : 'the source connection was lost');
      return;
    }
    this.#events.emit('backend:lost', { backend, loss, role: 'player' });
    await this.#failover(backend, loss);
  }

  /** After a migration settled: the player's backend may have died meanwhile. */
  #afterMigration(): void {
    const current = this.#links.get(this.#migrator.backend.id);
    if (this.#ending || !current || current.alive || !current.loss) return;
    void this.#failover(current.link.backend, current.loss);
  }

  /** A failover asked while one runs: it runs next. */
  #nextFailover: { readonly from: BackendRef; readonly loss: BackendLoss } | undefined;

  async #failover(from: BackendRef, loss: BackendLoss): Promise<void> {
    if (this.#ending) return;
    if (this.#failingOver) {
      this.#nextFailover = { from, loss };
      return;
    }
    this.#failingOver = true;
    try {
      let next: { readonly from: BackendRef; readonly loss: BackendLoss } | undefined = { from, loss };
      while (next && !this.#ending) {
        this.#nextFailover = undefined;
        await this.#failoverOnce(next.from, next.loss);
        next = this.#nextFailover;
      }
    } finally {
      this.#failingOver = false;
    }
  }

  async #failoverOnce(from: BackendRef, loss: BackendLoss): Promise<void> {
    {
      const policy = this.#init.failover;
      let target: BackendRef | undefined;
      try {
        target = await policy?.target?.({ from, loss, clientUuid: this.clientUuid });
      } catch (error) {
        this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'failover target lookup failed');
      }
      let result: ProxyMigrationResult | undefined;
      if (target !== undefined && !this.#ending) {
        try {
          result = await this.migrate(target, { trigger: 'failover' });
        } catch (error) {
          this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'failover could not start');
        }
      }
      this.#events.emit('failover', { from, loss, target, result });
      if (this.#ending || result?.kind === 'migrated') return;
      // no failover, or it failed before the player moved: the player's backend is gone
      const message = loss.kind === 'kick' ? loss.reason || DEFAULT_LOST_MESSAGE : DEFAULT_LOST_MESSAGE;
      if ((policy?.otherwise ?? 'disconnect') === 'refer' && this.#init.referral) {
        await this.#referClient().catch(() => {});
        this.#awaitClientLeave();
        return;
      }
      await this.#disconnectClient(message).catch(() => {});
      await this.#end({ reason: loss.kind === 'kick' ? 'kicked' : 'backend-lost', message });
    }
  }

  // ---------------------------------------------------------------- migration

  #settle(result: MigrationResult, trigger: MigrationTrigger): ProxyMigrationResult {
    // a refusal (a second request while one is in flight) leaves the migration in flight alone
    if (result.kind === 'refused') return { ...result, trigger };
    if (this.#pending?.migrationId === result.migrationId) this.#pending = undefined;
    this.#notifyChanged();
    queueMicrotask(() => this.#afterMigration());
    this.record.recordMigration({
      migrationId: result.migrationId,
      source: result.source,
      target: result.target,
      outcome: result.kind,
      ...(result.kind === 'migrated' ? {} : { phase: result.phase, reason: result.reason.code }),
    });
    this.record.setPhase('Idle');
    if (result.kind === 'migrated') {
      this.#directory({ backend: result.target, phase: 'Idle', migrationId: null });
    } else {
      this.#directory({ phase: 'Idle', migrationId: null });
    }
    if (result.kind === 'rolled-back' && result.reason.cause === 'ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS') {
      return { kind: 'refused', migrationId: result.migrationId, target: result.target, refusal: 'incompatible-assets', reason: result.reason.message, trigger };
    }
    return { ...result, trigger };
  }

  #result(result: ProxyMigrationResult): ProxyMigrationResult {
    const key = result.kind === 'refused' ? `refused:${result.refusal}` : result.kind;
    this.#stats.migrations[key] = (this.#stats.migrations[key] ?? 0) + 1;
    this.#events.emit('migration:result', { result });
    return result;
  }

  #onPhase(migrationId: MigrationId, phase: Phase): void {
    try {
      this.record.setPhase(phase);
    } catch {
      // a phase is always valid here
    }
    this.#directory(phase === 'Idle' ? { phase, migrationId: null } : { phase, migrationId });
    this.#notifyChanged();
    this.#events.emit('migration:phase', { migrationId, phase });
  }

  #directory(update: { readonly backend?: BackendRef; readonly phase?: Phase; readonly migrationId?: MigrationId | null }): void {
    const directory = this.#init.directory;
    if (!directory || !this.#claimed) return;
    this.#directoryQueue = this.#directoryQueue
      .then(() => directory.update(this.clientUuid, this.id, update))
      .then(
        () => {},
        (error: unknown) => this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'directory update failed'),
      );
  }

  /** Keeps the directory entry alive (every third of its lifetime); a lost entry ends the session. */
  #heartbeat(directory: SessionDirectory): void {
    const every = Math.max(1_000, Math.floor(directory.ttlMs / 3));
    const timer = setInterval(() => {
      directory.heartbeat(this.clientUuid, this.id).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ERR_SESSION_NOT_OWNER') {
          this.#logger.warn?.({ session: this.id }, 'the directory entry was taken over: ending the session');
          void this.close('You logged in again with the account!');
        } else {
          this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'directory heartbeat failed');
        }
      });
    }, every);
    timer.unref?.();
    void this.closed.then(() => clearInterval(timer));
  }

  /** Resume ends once the client's ClientReady for B (never an earlier one: A's) was written to B. */
  #clientReadyReached(backend: BackendRef, frame: WireFrame): void {
    const pending = this.#pending;
    if (pending && pending.target.ref.id === backend.id && pending.cut && pending.readyFrame === frame) pending.clientReady.resolve();
  }

  #steps(): MigrationSteps<WireFrame> {
    const need = (ctx: StepContext<WireFrame>): Pending => {
      const pending = this.#pending;
      if (!pending || pending.migrationId !== ctx.migration.migrationId) {
        throw new ProxyError('ERR_PROXY_CLOSED', 'no migration of this id is in flight');
      }
      return pending;
    };
    const targetLink = (ctx: StepContext<WireFrame>): LinkState => {
      const state = need(ctx).link;
      if (!state || !state.alive) throw new ProxyError('ERR_PROXY_BACKEND_LOST', `backend ${ctx.migration.target.id} is gone`);
      return state;
    };
    return {
      prepare: async (ctx) => {
        const target = this.#lookup(ctx.migration.target);
        if (!target) throw new ProxyError('ERR_PROXY_UNKNOWN_BACKEND', `no backend "${ctx.migration.target.id}"`);
        const pending: Pending = {
          migrationId: ctx.migration.migrationId,
          source: ctx.migration.source,
          target,
          link: undefined,
          held: undefined,
          cut: false,
          targetWorld: undefined,
          readyFrame: undefined,
          clientReady: deferred(),
          targetLost: deferred(),
        };
        this.#pending = pending;
        this.#bufferedReadies = []; // the last migration's buffer settled every packet it took
        const tickets = this.#init.tickets;
        const ticket =
          ctx.request.ticket ??
          (tickets ? await tickets.issue({ clientUuid: this.clientUuid, sessionId: this.id, target: target.ref }, { signal: ctx.signal }) : undefined);
        ctx.signal.throwIfAborted();
        const link = await this.#joiner.connect(target, { record: this.record, ticket, signal: ctx.signal });
        if (ctx.signal.aborted || this.#pending !== pending) {
          await link.close('migration abandoned').catch(() => {});
          ctx.signal.throwIfAborted();
          throw new ProxyError('ERR_PROXY_CLOSED', 'the migration ended while its backend was dialled');
        }
        const previous = this.#links.get(target.ref.id);
        if (previous && previous.alive) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `a link to ${target.ref.id} is already open`);
        pending.link = this.#adopt(link);
      },
      auth: async (ctx) => {
        const pending = need(ctx);
        await this.#joiner.accept(targetLink(ctx).link, { target: pending.target, signal: ctx.signal });
      },
      sync: async (ctx) => {
        const pending = need(ctx);
        pending.held = await this.#joiner.sync(targetLink(ctx).link, { record: this.record, target: pending.target, signal: ctx.signal });
      },
      freeze: async (ctx) => {
        await this.#init.hooks?.freeze?.({ migration: ctx.migration, signal: ctx.signal });
        targetLink(ctx); // B died before the cut: roll back to A
      },
      cutover: async (ctx) => {
        const pending = need(ctx);
        const state = targetLink(ctx);
        const held = pending.held;
        if (!held) throw new ProxyError('ERR_PROXY_BACKEND_LOST', 'no JoinWorld of the target is held');
        pending.cut = true;
        const g = this.#generation;
        const targetId = pending.target.ref.id;
        // 1–3: what A left on the client
        const cleanup = cleanupWrites(this.record, g);
        for (const write of cleanup.writes) await this.#writeOwn(write.channel, write.frames, 'injected', undefined, ctx.signal);
        this.record.forgetWorld();
        // 4–6: B's world
        await this.#writeOwn('Default', held.beforeJoin, 'forwarded', targetId, ctx.signal);
        await this.#writeOwn('Default', [rewriteJoinWorld(held.joinWorld, g)], 'rewritten', targetId, ctx.signal);
        pending.targetWorld = this.#worldsJoined; // the client's world entry of this ordinal is B's
        await this.#writeOwn('Default', held.assetsAfterCutover, 'forwarded', targetId, ctx.signal);
        // 7: B's queued frames, then its channels, live (gates made after the cut belong to B)
        this.#forward(state, held.queued);
        pending.held = undefined;
      },
      resume: async (ctx) => {
        const pending = need(ctx);
        targetLink(ctx);
        await raceSignal(Promise.race([pending.clientReady.promise, pending.targetLost.promise]), ctx.signal);
      },
      cleanup: async (ctx) => {
        const source = this.#links.get(ctx.migration.source.id);
        if (!source || source === this.#pending?.link) return;
        source.closingByKit = true;
        this.#links.delete(ctx.migration.source.id);
        const closing = source.link.close('Player moved to another server').catch(() => {});
        await raceSignal(closing, ctx.signal).catch(() => {
          // the deadline: the close goes on in the background
        });
      },
      sendToSource: async (frame) => {
        const sink = this.#sinkOf(this.#pending?.source ?? this.#migrator.backend);
        if (!sink) throw new ProxyError('ERR_PROXY_BACKEND_LOST', 'the source backend is gone');
        await sink.write(frame.bytes);
        this.#stats.toServer.frames += 1;
        this.#stats.toServer.bytes += frame.bytes.length;
      },
      sendToTarget: async (frame, ctx) => {
        const state = targetLink(ctx);
        await state.link.sink.write(frame.bytes);
        this.#stats.toServer.frames += 1;
        this.#stats.toServer.bytes += frame.bytes.length;
        if (frame.descriptor.name === 'ClientReady') this.#clientReadyReached(state.link.backend, frame);
      },
      closeTarget: async () => {
        const state = this.#pending?.link;
        if (!state) return;
        state.closingByKit = true;
        if (this.#links.get(state.link.backend.id) === state) this.#links.delete(state.link.backend.id);
        await state.link.close('Migration rolled back').catch(() => {});
      },
      ...(this.#init.referral
        ? {
            sendReferral: async () => {
              await this.#referClient();
              this.#awaitClientLeave();
            },
          }
        : {}),
      sendDisconnect: async (ctx: FallbackContext<WireFrame>) => {
        const message = ctx.message ?? DEFAULT_FAILED_TRANSFER;
        await this.#disconnectClient(message).catch(() => {});
        void this.#end({ reason: 'disconnected', message });
      },
    };
  }

  /** Writes frames the kit sends the client itself (cutover), tapped and traced. */
  async #writeOwn(channel: ChannelName, frames: readonly WireFrame[], action: TraceAction, backend: BackendId | undefined, signal: AbortSignal): Promise<void> {
    for (const frame of frames) {
      signal.throwIfAborted();
      this.#tapToClient(frame, backend ?? this.#migrator.backend.id);
      this.#stats.toClient.frames += 1;
      this.#stats.toClient.bytes += frame.bytes.length;
      this.#trace('ToClient', channel, frame, action, backend, undefined, 'tapped');
      try {
        await this.#channels.write(channel, frame.bytes);
      } catch (cause) {
        throw new ProxyError('ERR_PROXY_CLIENT_GONE', 'writing the cutover to the client failed', { cause });
      }
    }
  }

  // ---------------------------------------------------------------- the end

  /** A ClientReferral to the proxy's public address (the client reconnects). */
  async #referClient(): Promise<void> {
    const referral = this.#init.referral!;
    const frame = this.#generation
      .packet('ClientReferral')
      .encodeFrame({ hostTo: { host: referral.address.host, port: portToWire(referral.address.port) }, data: referral.data ?? null });
    this.#trace('ToClient', 'Default', wire(this.#generation, frame), 'injected');
    await this.#channels.write('Default', frame);
  }

  /** After a referral: the client ends its stream and reconnects; close it if it stays. */
  #awaitClientLeave(): void {
    const grace = this.#init.referralGraceMs ?? 10_000;
    const timer = setTimeout(() => {
      void this.#client.connection.close({ code: 0, reason: 'Referred' }).catch(() => {});
      void this.#end({ reason: 'referred' });
    }, grace);
    timer.unref?.();
    void this.closed.then(() => clearTimeout(timer));
    this.#referred = true;
  }

  #referred = false;
  /** The reason of a final kick let through to the client. */
  #kickedWith: string | undefined;

  async #disconnectClient(message: string): Promise<void> {
    const frame = this.#generation.packet('Disconnect').encodeFrame({ reason: message, type: 'Disconnect' });
    this.#trace('ToClient', 'Default', wire(this.#generation, frame), 'injected');
    await this.#channels.write('Default', frame);
  }

  async #end(end: SessionEnd): Promise<void> {
    if (this.#ending) return;
    const final: SessionEnd =
      end.reason !== 'client-left'
        ? end
        : this.#kickedWith !== undefined
          ? { reason: 'kicked', message: this.#kickedWith }
          : this.#referred
            ? { reason: 'referred' }
            : end;
    this.#ending = final;
    this.#abort.abort(new ProxyError('ERR_PROXY_CLOSED', `session ended (${final.reason})`));
    this.#migrator.stop();
    this.#notifyChanged();
    const closes: Promise<unknown>[] = [];
    for (const state of this.#links.values()) {
      state.closingByKit = true;
      closes.push(state.link.close(final.reason === 'client-left' ? 'Player left' : (final.message ?? 'Session ended')).catch(() => {}));
    }
    this.#links.clear();
    closes.push(this.#channels.close());
    await Promise.all(closes);
    await this.#client.connection.close({ code: 0, ...(final.message ? { reason: final.message.slice(0, 100) } : {}) }).catch(() => {});
    const directory = this.#init.directory;
    if (directory && this.#claimed) {
      await this.#directoryQueue;
      await directory.release(this.clientUuid, this.id).catch((error: unknown) => this.#logger.warn?.({ session: this.id, code: codeOf(error) }, 'directory release failed'));
    }
    this.#logger.info?.({ session: this.id, reason: final.reason }, 'session ended');
    this.#events.emit('closed', final);
    this.#resolveClosed(final);
  }
}

function backendLookup(backends: ProxySessionInit['backends']): (ref: BackendRef) => BackendConfig | undefined {
  if (typeof backends === 'function') {
    return (ref) => {
      const config = backends(ref);
      return config && config.ref.id === ref.id ? config : undefined;
    };
  }
  const byId = new Map<string, BackendConfig>();
  for (const config of backends) {
    const ref = parseBackendRef(config?.ref);
    if (byId.has(ref.id)) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `backend "${ref.id}" is listed twice`);
    byId.set(ref.id, config);
  }
  return (ref) => byId.get(ref.id);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : undefined;
}

/**
 * Starts a proxy session for an accepted client and its first backend: claims the directory entry,
 * starts the forwarders, and returns the session. The first backend must be past its handshake.
 *
 * @throws ProxyError `ERR_PROXY_INVALID_ARGUMENT` for bad options; `ERR_PROXY_DUPLICATE_SESSION` when
 * the directory says another proxy holds the player (the client was told so and closed).
 */
export async function createProxySession(init: ProxySessionInit): Promise<ProxySession> {
  checkInit(init);
  const session = new ProxySessionImpl(init);
  await session.start();
  return session;
}

function checkInit(init: ProxySessionInit): void {
  const fail = (what: string): never => {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', what);
  };
  if (!init || typeof init !== 'object') fail('createProxySession needs an init object');
  if (!init.client?.connection || !init.client.frames || !init.client.sink || !init.client.record) fail('client must be an AcceptedClient');
  if (!init.backend?.sink || typeof init.backend.channel !== 'function') fail('backend must be a BackendLink');
  if (init.joiner !== undefined && (typeof init.joiner?.connect !== 'function' || typeof init.joiner.accept !== 'function' || typeof init.joiner.sync !== 'function')) {
    fail('joiner must provide connect, accept and sync');
  }
  if (init.joiner === undefined) {
    const { host, port } = init.proxyAddress ?? {};
    if (typeof host !== 'string' || !host || !Number.isInteger(port)) fail('proxyAddress must be the address backends see the proxy at');
  }
  if (init.backends === undefined || init.backends === null) fail('backends must list the backends (or look them up)');
  if (init.referral) {
    const { host, port } = init.referral.address ?? {};
    if (typeof host !== 'string' || !host || !Number.isInteger(port) || port! < 1 || port! > 65535) fail('referral.address must be a host and a port 1–65535');
  }
  if (init.client.generation.id !== init.backend.generation.id) fail('the first backend speaks another protocol generation than the client');
  void parseBackendId(init.backend.backend.id);
}
