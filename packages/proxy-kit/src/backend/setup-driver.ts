/**
 * The setup driver: plays the client to backend B from the session record, so that B takes the
 * player while the client stays in A's world (docs/proxy-kit.md, "The setup driver").
 *
 * - `auth`: B's `ConnectAccept` (swallowed: the client had the proxy's), the password challenge if B
 *   has a password, and B's acceptance of the player: B's ticket check runs next, so a refused ticket
 *   is a `Disconnect` here. Resolves at B's first setup packet (`WorldSettings`), which it puts back on
 *   the link. A first join stops here: the client does the rest of setup itself through forwarding.
 * - `sync`: `WorldSettings` and `ServerInfo`, `RequestAssets` for only the assets the client lacks,
 *   B's asset stream and definitions (`Update*`) handled by the pool's {@link AssetPolicy}, the
 *   captured `ViewRadius` and `PlayerOptions`, then B's `JoinWorld`, held with what came before it for
 *   the client (player list, `ServerTags`) as a {@link HeldWorld}.
 *
 * Both steps are aborted by their signal (the migration's phase deadlines) and hold a bounded number
 * of bytes. They never close the link: the caller does (the migration's `closeTarget`).
 */
import { createHash } from 'node:crypto';
import { copyFrame, isProtocolError, readFrame, type PacketValues, type WireFrame } from '@handoff/protocol';
import { buildPlayerOptionsFrame, buildRequestAssetsFrame, buildViewRadiusFrame, isSessionError, type SessionRecord } from '@handoff/session';
import { raceSignal } from '@handoff/transport';
import type { Logger } from '@handoff/types';
import type { BackendLink, ChannelName, HeldWorld } from '../contracts.js';
import { ProxyError, isProxyError, type ProxyErrorCode } from '../errors.js';
import type { PacketDirection } from '../forward/hooks.js';
import type { FrameSource } from '../frames.js';
import { backendReadError } from './connector.js';

/**
 * What the setup driver does with B's asset stream (`AssetInitialize`/`AssetPart`/`AssetFinalize`,
 * `RequestCommonAssetsRebuild`, `RemoveAssets`) and definitions (`Update*`, `UpdateTranslations`);
 * chosen per pool. Whether they match is judged by hash: B's `WorldSettings.requiredAssets` against
 * the hashes the client holds (the session record's asset set).
 *
 * - `'require-identical'` (default): B must require nothing the client lacks; otherwise the migration
 *   is refused as incompatible (`ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS`, reason `incompatible-assets`)
 *   before anything is requested. B's stream and definitions are dropped.
 * - `'forward-after-cutover'`: B is asked for the missing assets; when any were missing, its asset
 *   stream and definitions are kept in {@link HeldWorld.assetsAfterCutover} for the cutover to send
 *   through the path a server uses for hot reloads; when none were, they are dropped.
 * - `'swallow'`: everything is dropped, whatever the hashes say (for pools whose backends are known
 *   to share one asset pack). A mismatch is still reported (`SyncResult.assets.missing`) and logged.
 *
 * `WorldLoadProgress` and `WorldLoadFinished` belong to the loading screen and are always dropped.
 */
export type AssetPolicy = 'require-identical' | 'forward-after-cutover' | 'swallow';

export const ASSET_POLICIES: readonly AssetPolicy[] = Object.freeze(['require-identical', 'forward-after-cutover', 'swallow']);

/** Default of {@link SetupDriverInit.maxHeldBytes}: 16 MiB. */
export const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024;

/** Construction options of {@link createSetupDriver}. */
export interface SetupDriverInit {
  /** The link to B (`connectBackend`): its Connect is sent, nothing of it read yet. */
  readonly link: BackendLink;
  /** The player's session record: PlayerOptions, ViewRadius, the assets the client holds. */
  readonly record: SessionRecord;
  /** B's server password (its `BackendConfig.password`), if it has one. */
  readonly password?: string | undefined;
  /** Default `'require-identical'`. */
  readonly assetPolicy?: AssetPolicy | undefined;
  /**
   * Bytes of B's frames held for after the cutover (frames before B's JoinWorld meant for the client,
   * and assets an asset policy keeps). Over it, `sync` fails with `ERR_PROXY_SETUP_HOLD_LIMIT`.
   * Default {@link DEFAULT_MAX_HELD_BYTES}.
   */
  readonly maxHeldBytes?: number | undefined;
  /** When given (`migrator.backendReads`), B is not read while it is paused (an awaited hook runs). */
  readonly reads?: { whenReadable(): Promise<void> } | undefined;
  /** Told of every frame the driver sends B or reads from it, and what it did with it (the session's trace). */
  readonly onFrame?: ((event: SetupFrameEvent) => void) | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * A frame of the setup on the link to B (names and sizes are read from `frame`; never keep it).
 * `ToServer`: sent to B — `replayed` (the client's setup, from the session record) or `injected` (a
 * password answer). `ToClient`: read from B — `suppressed` (the client never gets it; `rule` says
 * which part: `handshake`, `setup`, `loading`, `assets`, `refusal`) or `buffered` (held for the cutover).
 */
export interface SetupFrameEvent {
  readonly direction: PacketDirection;
  readonly frame: WireFrame;
  readonly action: 'replayed' | 'injected' | 'suppressed' | 'buffered';
  readonly rule?: string | undefined;
}

/** Per-call options of the steps. */
export interface SetupStepOptions {
  /** Aborts the step (`ERR_PROXY_SETUP_ABORTED`, the signal's reason as cause). */
  readonly signal?: AbortSignal | undefined;
}

/** How `auth` went. */
export interface AuthResult {
  /** `'none'`: B asked for no password; `'accepted'`: B accepted the configured one. */
  readonly password: 'none' | 'accepted';
}

/** What `sync` did with B's assets. */
export interface AssetReport {
  readonly policy: AssetPolicy;
  /** Assets B requires (its WorldSettings). */
  readonly required: number;
  /** Of those, the ones the client lacks: exactly what `RequestAssets` asked B for. */
  readonly missing: number;
  /** `'dropped'`: B's asset stream and definitions were dropped; `'kept'`: kept for after the cutover. */
  readonly action: 'dropped' | 'kept';
  /** Frames of the asset phase dropped (loading progress included), and their bytes. */
  readonly droppedFrames: number;
  readonly droppedBytes: number;
}

/** B's world, held for the cutover, and how setup went. */
export interface SyncResult extends HeldWorld {
  readonly assets: AssetReport;
  /** B's ServerInfo (not forwarded: the client keeps the first server's). */
  readonly serverInfo: PacketValues['ServerInfo'] | undefined;
  /** Bytes held in `beforeJoin`, `joinWorld` and `assetsAfterCutover`. */
  readonly heldBytes: number;
}

/** Plays the client to one backend. One `auth`, then (for a migration) one `sync`. */
export interface SetupDriver {
  /**
   * B's `ConnectAccept`, its password challenge, its acceptance of the player.
   * @throws {BackendDisconnectedError} `ERR_PROXY_SETUP_DISCONNECTED` with B's reason (a refused ticket…).
   * @throws {ProxyError} `ERR_PROXY_SETUP_PASSWORD`, `…_REFERRED`, `…_UNEXPECTED_PACKET`, `…_ABORTED`,
   * `ERR_PROXY_BACKEND_CLOSED`, `ERR_PROXY_BACKEND_PROTOCOL`.
   */
  auth(options?: SetupStepOptions): Promise<AuthResult>;
  /**
   * Setup as the client would do it, up to B's `JoinWorld`.
   * @throws {ProxyError} as `auth`, and `ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS`, `…_HOLD_LIMIT`, `…_INCOMPLETE_RECORD`.
   */
  sync(options?: SetupStepOptions): Promise<SyncResult>;
}

/** `ERR_PROXY_SETUP_DISCONNECTED`: B sent `Disconnect`; its reason is kept. */
export class BackendDisconnectedError extends ProxyError {
  /** B's Disconnect reason, as B sent it (at most 1024 characters kept). */
  readonly backendReason: string | null;
  readonly disconnectType: 'Disconnect' | 'Crash';

  constructor(backend: string, step: string, value: { readonly reason: string | null; readonly type: 'Disconnect' | 'Crash' }) {
    const reason = value.reason === null ? null : value.reason.slice(0, 1024);
    super(
      'ERR_PROXY_SETUP_DISCONNECTED',
      `backend ${backend} disconnected the player during ${step}${reason === null ? '' : `: ${JSON.stringify(reason.slice(0, 160))}`}`,
      { reason: 'disconnected' },
    );
    this.backendReason = reason;
    this.disconnectType = value.type;
  }
}

/** Packets of B's asset stream (kept or dropped as a unit by the asset policy). */
const ASSET_STREAM = new Set(['AssetInitialize', 'AssetPart', 'AssetFinalize', 'RequestCommonAssetsRebuild', 'RemoveAssets']);
/** Loading-screen packets: always dropped. */
const LOADING = new Set(['WorldLoadProgress', 'WorldLoadFinished']);
/** Packets of the handshake: never valid once setup runs. */
const HANDSHAKE = new Set(['ConnectAccept', 'PasswordAccepted', 'PasswordRejected', 'AuthGrant', 'ServerAuthToken', 'WorldSettings']);

/** SHA-256(challenge ‖ UTF-8 password): the server's expected PasswordResponse. */
export function passwordHash(challenge: Uint8Array, password: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(challenge).update(password, 'utf8').digest());
}

/**
 * Creates the setup driver of one backend link.
 *
 * @example
 * ```ts
 * const driver = createSetupDriver({ link, record, password: target.password, assetPolicy: 'require-identical' });
 * await driver.auth({ signal });            // Auth phase
 * const held = await driver.sync({ signal }); // Sync phase: held.joinWorld waits for the cutover
 * ```
 */
export function createSetupDriver(init: SetupDriverInit): SetupDriver {
  const invalid = (reason: string, message: string): ProxyError => new ProxyError('ERR_PROXY_INVALID_ARGUMENT', message, { reason });
  if (typeof init !== 'object' || init === null || typeof init.link?.channel !== 'function') throw invalid('link', 'createSetupDriver needs { link, record }');
  if (typeof init.record?.secret !== 'function') throw invalid('record', 'createSetupDriver needs the session record');
  const policy = init.assetPolicy ?? 'require-identical';
  if (!ASSET_POLICIES.includes(policy)) throw invalid('asset-policy', `assetPolicy must be one of ${ASSET_POLICIES.join(', ')}`);
  const maxHeldBytes = init.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
  if (!Number.isSafeInteger(maxHeldBytes) || maxHeldBytes < 0) throw invalid('max-held-bytes', 'maxHeldBytes must be a non-negative integer');
  return new Driver(init, policy, maxHeldBytes);
}

type DriverState = 'new' | 'auth' | 'authed' | 'sync' | 'synced' | 'failed';

class Driver implements SetupDriver {
  readonly #link: BackendLink;
  readonly #record: SessionRecord;
  readonly #password: string | undefined;
  readonly #policy: AssetPolicy;
  readonly #maxHeldBytes: number;
  readonly #reads: { whenReadable(): Promise<void> } | undefined;
  readonly #logger: Logger | undefined;
  readonly #onFrame: ((event: SetupFrameEvent) => void) | undefined;
  #state: DriverState = 'new';
  #source: FrameSource | undefined;
  #held = 0;

  constructor(init: SetupDriverInit, policy: AssetPolicy, maxHeldBytes: number) {
    this.#link = init.link;
    this.#record = init.record;
    this.#password = init.password;
    this.#policy = policy;
    this.#maxHeldBytes = maxHeldBytes;
    this.#reads = init.reads;
    this.#logger = init.logger;
    this.#onFrame = init.onFrame;
  }

  /** Tells `onFrame` (never throws into the step). */
  #note(direction: PacketDirection, frame: WireFrame | Uint8Array, action: SetupFrameEvent['action'], rule?: string): void {
    if (this.#onFrame === undefined) return;
    try {
      const wire = frame instanceof Uint8Array ? readFrame(this.#link.generation.registry, frame) : frame;
      this.#onFrame({ direction, frame: wire, action, ...(rule === undefined ? {} : { rule }) });
    } catch (error) {
      this.#logger?.debug?.({ backend: this.#id, code: (error as { code?: unknown }).code }, 'setup frame observer failed');
    }
  }

  get #id(): string {
    return this.#link.backend.id;
  }

  auth(options: SetupStepOptions = {}): Promise<AuthResult> {
    return this.#step('auth', 'new', 'authed', options.signal, (signal) => this.#auth(signal));
  }

  sync(options: SetupStepOptions = {}): Promise<SyncResult> {
    return this.#step('sync', 'authed', 'synced', options.signal, (signal) => this.#sync(signal));
  }

  async #step<T>(step: 'auth' | 'sync', from: DriverState, to: DriverState, signal: AbortSignal | undefined, body: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    if (this.#state !== from) {
      throw new ProxyError(
        'ERR_PROXY_INVALID_ARGUMENT',
        `${step} cannot run now (the driver is ${this.#state}): auth once, then sync once`,
        { reason: 'order' },
      );
    }
    this.#state = step;
    try {
      if (signal?.aborted === true) throw this.#aborted(step, signal);
      const result = await body(signal);
      this.#state = to;
      return result;
    } catch (error) {
      this.#state = 'failed';
      const failure = signal?.aborted === true && !isProxyError(error) ? this.#aborted(step, signal) : this.#typed(error, step);
      if (isProxyError(failure)) {
        this.#logger?.debug?.({ backend: this.#id, step, code: failure.code, reason: failure.reason }, 'backend setup failed');
      }
      throw failure;
    }
  }

  /** Codec errors (a packet of B that does not decode) and record errors, as the kit's codes. */
  #typed(error: unknown, step: string): unknown {
    if (isProxyError(error)) return error;
    if (isProtocolError(error)) return backendReadError(this.#link, error, `during ${step}`);
    if (isSessionError(error)) {
      return new ProxyError('ERR_PROXY_SETUP_INCOMPLETE_RECORD', `the session record cannot be replayed to backend ${this.#id} (${error.code})`, {
        reason: error.reason ?? error.code,
        cause: error,
      });
    }
    return error;
  }

  #aborted(step: string, signal: AbortSignal): ProxyError {
    return new ProxyError('ERR_PROXY_SETUP_ABORTED', `${step} with backend ${this.#id} was aborted`, { reason: step, cause: signal.reason });
  }

  // ------------------------------------------------------------------ auth

  async #auth(signal: AbortSignal | undefined): Promise<AuthResult> {
    let stage: 'accept' | 'password' | 'accepted' = 'accept';
    let password: AuthResult['password'] = 'none';
    const g = this.#link.generation;
    for (;;) {
      const frame = await this.#read(signal, 'auth');
      const name = frame.descriptor.name;
      if (name === 'Disconnect' || name === 'ClientReferral') this.#refusal(frame, 'auth');
      if (name !== 'WorldSettings') this.#note('ToClient', frame, 'suppressed', 'handshake');
      if (stage === 'accept' && name === 'ConnectAccept') {
        const challenge = g.packet('ConnectAccept').decodeFrame(frame).passwordChallenge;
        if (challenge === null || challenge.length === 0) {
          stage = 'accepted';
          continue;
        }
        if (this.#password === undefined) {
          throw new ProxyError('ERR_PROXY_SETUP_PASSWORD', `backend ${this.#id} asks for a password and its config has none`, { reason: 'no-password' });
        }
        const answer = g.packet('PasswordResponse').encodeFrame({ hash: passwordHash(challenge, this.#password) });
        await this.#write(answer, signal, 'auth');
        this.#note('ToServer', answer, 'injected');
        stage = 'password';
        continue;
      }
      if (stage === 'password' && name === 'PasswordAccepted') {
        stage = 'accepted';
        password = 'accepted';
        continue;
      }
      if (stage === 'password' && name === 'PasswordRejected') {
        const { attemptsRemaining } = g.packet('PasswordRejected').decodeFrame(frame);
        throw new ProxyError('ERR_PROXY_SETUP_PASSWORD', `backend ${this.#id} rejected the configured password (${attemptsRemaining} attempts left)`, {
          reason: 'rejected',
        });
      }
      if (stage === 'accepted' && name === 'WorldSettings') {
        // B accepted the player (its ticket check passed): setup starts; the frame is for whoever reads next
        this.#link.unread('Default', [frame]);
        this.#logger?.debug?.({ backend: this.#id, password }, 'backend accepted the player');
        return { password };
      }
      throw this.#unexpected(frame, stage === 'accept' ? 'instead of ConnectAccept' : stage === 'password' ? 'instead of the password answer' : 'before setup');
    }
  }

  // ------------------------------------------------------------------ sync

  async #sync(signal: AbortSignal | undefined): Promise<SyncResult> {
    const record = this.#record;
    const g = this.#link.generation;
    const playerOptions = buildPlayerOptionsFrame(record, g);
    if (playerOptions === undefined) {
      throw new ProxyError('ERR_PROXY_SETUP_INCOMPLETE_RECORD', 'the session record holds no PlayerOptions to replay (the client never sent one, or it was over the limit)', {
        reason: 'no-player-options',
      });
    }
    const viewRadius = buildViewRadiusFrame(record, g);

    let serverInfo: PacketValues['ServerInfo'] | undefined;
    let first = await this.#read(signal, 'sync');
    while (first.descriptor.name !== 'WorldSettings') {
      if (first.descriptor.name === 'ServerInfo') {
        serverInfo = g.packet('ServerInfo').decodeFrame(first);
        this.#note('ToClient', first, 'suppressed', 'setup');
      }
      else if (first.descriptor.name === 'Disconnect' || first.descriptor.name === 'ClientReferral') this.#refusal(first, 'sync');
      else throw this.#unexpected(first, 'instead of WorldSettings');
      first = await this.#read(signal, 'sync');
    }
    this.#note('ToClient', first, 'suppressed', 'setup');
    const required = g.packet('WorldSettings').decodeFrame(first).requiredAssets ?? [];
    const { frame: request, assets: missing } = buildRequestAssetsFrame(record, required, g);
    if (this.#policy === 'require-identical' && missing.length > 0) {
      throw new ProxyError(
        'ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS',
        `backend ${this.#id} requires ${missing.length} of its ${required.length} assets that the client does not hold (asset policy require-identical)`,
        { reason: 'incompatible-assets' },
      );
    }
    if (this.#policy === 'swallow' && missing.length > 0) {
      this.#logger?.warn?.({ backend: this.#id, missing: missing.length, required: required.length }, "asset policy 'swallow': the assets the client lacks are dropped");
    }
    const keep = this.#policy === 'forward-after-cutover' && missing.length > 0;
    await this.#write(request, signal, 'sync');
    this.#note('ToServer', request, 'replayed');

    const beforeJoin: WireFrame[] = [];
    const assetsAfterCutover: WireFrame[] = [];
    let droppedFrames = 0;
    let droppedBytes = 0;
    const drop = (frame: WireFrame): void => {
      droppedFrames++;
      droppedBytes += frame.bytes.byteLength;
    };

    // the asset phase: B streams what was requested, its definitions, then WorldLoadFinished
    for (;;) {
      const frame = await this.#read(signal, 'sync');
      const name = frame.descriptor.name;
      if (name === 'WorldLoadFinished') {
        drop(frame);
        this.#note('ToClient', frame, 'suppressed', 'loading');
        break;
      }
      if (name === 'Disconnect' || name === 'ClientReferral') this.#refusal(frame, 'sync');
      if (HANDSHAKE.has(name) || name === 'JoinWorld') throw this.#unexpected(frame, 'while B streams assets');
      if (name === 'ServerInfo') {
        serverInfo = g.packet('ServerInfo').decodeFrame(frame);
        this.#note('ToClient', frame, 'suppressed', 'setup');
      } else if (LOADING.has(name)) {
        drop(frame);
        this.#note('ToClient', frame, 'suppressed', 'loading');
      } else if (ASSET_STREAM.has(name) || name.startsWith('Update')) {
        if (keep) {
          this.#hold(assetsAfterCutover, frame);
          this.#note('ToClient', frame, 'buffered', 'assets');
        } else {
          drop(frame);
          this.#note('ToClient', frame, 'suppressed', 'assets');
        }
      } else {
        this.#hold(beforeJoin, frame);
        this.#note('ToClient', frame, 'buffered');
      }
    }

    // what the client sends once its assets are loaded: its view radius, then its skin (B adds the player)
    if (viewRadius !== undefined) {
      await this.#write(viewRadius, signal, 'sync');
      this.#note('ToServer', viewRadius, 'replayed');
    }
    await this.#write(playerOptions, signal, 'sync');
    this.#note('ToServer', playerOptions, 'replayed');

    let joinWorld: WireFrame;
    for (;;) {
      const frame = await this.#read(signal, 'sync');
      const name = frame.descriptor.name;
      if (name === 'JoinWorld') {
        joinWorld = this.#hold(undefined, frame);
        this.#note('ToClient', frame, 'buffered');
        break;
      }
      if (name === 'Disconnect' || name === 'ClientReferral') this.#refusal(frame, 'sync');
      if (HANDSHAKE.has(name)) throw this.#unexpected(frame, 'before JoinWorld');
      this.#hold(beforeJoin, frame);
      this.#note('ToClient', frame, 'buffered');
    }

    const assets: AssetReport = {
      policy: this.#policy,
      required: required.length,
      missing: missing.length,
      action: keep ? 'kept' : 'dropped',
      droppedFrames,
      droppedBytes,
    };
    this.#logger?.debug?.({ backend: this.#id, ...assets, held: this.#held }, 'backend setup done: JoinWorld held');
    const empty: readonly WireFrame[] = Object.freeze([]);
    const queued: Record<ChannelName, readonly WireFrame[]> = { Default: empty, Chunks: empty, WorldMap: empty };
    return { beforeJoin, joinWorld, queued, assetsAfterCutover, assets, serverInfo, heldBytes: this.#held };
  }

  // ------------------------------------------------------------------ reading and writing

  #hold(list: WireFrame[] | undefined, frame: WireFrame): WireFrame {
    const size = frame.bytes.byteLength;
    if (this.#held + size > this.#maxHeldBytes) {
      throw new ProxyError(
        'ERR_PROXY_SETUP_HOLD_LIMIT',
        `backend ${this.#id}: holding ${frame.descriptor.name} (${size} bytes) would exceed the ${this.#maxHeldBytes}-byte hold limit`,
        { reason: frame.descriptor.name },
      );
    }
    this.#held += size;
    const copy = copyFrame(frame);
    list?.push(copy);
    return copy;
  }

  /** A Disconnect or a ClientReferral from B: the step fails with B's answer. */
  #refusal(frame: WireFrame, step: string): never {
    this.#note('ToClient', frame, 'suppressed', 'refusal');
    const g = this.#link.generation;
    if (frame.descriptor.name === 'Disconnect') throw new BackendDisconnectedError(this.#id, step, g.packet('Disconnect').decodeFrame(frame));
    const { hostTo } = g.packet('ClientReferral').decodeFrame(frame);
    // never the referral data: it may be a ticket
    throw new ProxyError('ERR_PROXY_SETUP_REFERRED', `backend ${this.#id} referred the player elsewhere during ${step}${hostTo === null ? '' : ` (to ${hostTo.host})`}`, {
      reason: 'referred',
    });
  }

  #unexpected(frame: WireFrame, when: string): ProxyError {
    const hint = frame.descriptor.name === 'AuthGrant' ? ': the backend runs in authenticated mode; backends behind a proxy run insecure with a ticket plugin' : '';
    return new ProxyError('ERR_PROXY_SETUP_UNEXPECTED_PACKET', `backend ${this.#id} sent ${frame.descriptor.name} ${when}${hint}`, {
      reason: frame.descriptor.name,
    });
  }

  async #read(signal: AbortSignal | undefined, step: string): Promise<WireFrame> {
    if (this.#reads !== undefined) await raceSignal(this.#reads.whenReadable(), signal);
    this.#source ??= await this.#link.channel('Default', { signal });
    let frame: WireFrame | null;
    try {
      frame = await this.#source.next({ signal });
    } catch (error) {
      if (signal?.aborted === true) throw error;
      throw backendReadError(this.#link, error, `during ${step}`);
    }
    if (frame !== null) return frame;
    const end = await raceSignal(this.#link.ended, signal);
    const detail = end.code === undefined ? '' : ` (code ${end.code}${end.reason ? `: ${end.reason}` : ''})`;
    throw new ProxyError('ERR_PROXY_BACKEND_CLOSED', `backend ${this.#id} ended the connection during ${step}${detail}`, { reason: end.initiator });
  }

  async #write(bytes: Uint8Array, signal: AbortSignal | undefined, step: string): Promise<void> {
    try {
      await raceSignal(this.#link.sink.write(bytes), signal);
    } catch (error) {
      if (signal?.aborted === true) throw error;
      throw new ProxyError('ERR_PROXY_BACKEND_CLOSED', `backend ${this.#id}: writing to it failed during ${step}`, { reason: 'write', cause: error });
    }
  }
}

/** The codes a failed setup step can have (for exhaustive handling). */
export type SetupFailureCode = Extract<ProxyErrorCode, `ERR_PROXY_SETUP_${string}` | `ERR_PROXY_BACKEND_${string}`>;
