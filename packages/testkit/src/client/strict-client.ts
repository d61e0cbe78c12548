/**
 * The strict client: a simulated Hytale client over QUIC that plays a player (development or
 * authenticated join, password, setup, world entry, pings, movement, referrals) and judges whether
 * what happens to it is seamless (docs/testkit.md § Strict client). Every way it is not becomes a
 * typed {@link Violation} in its list; the client never throws for one.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  FrameSplitter,
  getGeneration,
  isProtocolError,
  portFromWire,
  portToWire,
  type Channel,
  type Generation,
  type PacketName,
  type PacketValues,
  type WireFrame,
} from '@handoff/protocol';
import type { Address, BidiStream, CloseInfo, Connection, IncomingStream } from '@handoff/transport';
import {
  certificateFingerprint,
  certificatesFromPem,
  createSelfSignedCertificate,
  quic,
  type CertificateInit,
  type QuicDialInit,
  type QuicTransport,
  type ServerTrust,
} from '@handoff/transport-quic';
import { parseClientUuid, type ClientUuid, type Logger } from '@handoff/types';
import { chunkOwner } from '../backend/world.js';
import { TestkitError, isTestkitError } from '../errors.js';
import type { PlayerCredentials } from '../session-service/credentials.js';
import { SessionServiceHttpError, sessionServiceClient, type SessionServiceClient } from '../session-service/http-client.js';
import { TokenError, verifyServerAccessToken } from '../session-service/verify.js';
import { frameDigest } from '../backend/player.js';
import type { SimulatedBackend } from '../backend/types.js';
import { account, deliveryLogOf, isSimulatedBackend, type AccountOptions, type DeliveryLog, type SentPacket } from './accounting.js';
import { movementFrame } from './movement.js';
import { CHUNK_PACKETS, SETUP_PACKETS, type Violation, type ViolationDetails, type ViolationKind } from './violations.js';

/** Where the client is in a player's life. */
export type StrictClientState = 'connecting' | 'authenticating' | 'password' | 'setup' | 'joining' | 'playing' | 'ended';

/** How the client authenticates (omit for a development join: no identity token). */
export interface StrictClientAuth {
  /** The session service's base URL (the fake's `service.url`). */
  readonly sessionService: string | URL;
  /** The player's credentials (`service.createPlayer()`). */
  readonly credentials: PlayerCredentials;
  /** Check the server's access token against the server certificate (default true). */
  readonly verifyServerToken?: boolean;
}

/** A chunk packet as {@link StrictClientInit.chunkWorld} sees it. */
export interface ChunkPacket {
  readonly name: string;
  readonly frame: WireFrame;
  readonly generation: Generation;
}

/** `connectStrictClient()` options. */
export interface StrictClientInit {
  /** The server (a proxy or a backend) to join. */
  readonly address: Address;
  /** `G1`, `G2` or `G3` (default `G3`): the Connect layout, the ALPN offered, the streams expected. */
  readonly generation?: string;
  /** The player's UUID; default the credentials' UUID, else a random one. */
  readonly clientUuid?: ClientUuid | string;
  /** The player's name (1–16 ASCII characters); default the credentials', else `Player`. */
  readonly username?: string;
  /** Authenticated join against a session service; omitted: development join. */
  readonly auth?: StrictClientAuth;
  /** Answer a password challenge with this password. */
  readonly password?: string;
  /** The client's TLS certificate (default: a new self-signed one, as a Hytale client makes). */
  readonly certificate?: CertificateInit;
  /** How to check the server's certificate (default `'insecure-any'`: servers use self-signed ones). */
  readonly serverTrust?: ServerTrust;
  /** ALPN offered (default: the generation's first, `hytale/2` for G2/G3, `hytale/1` for G1). */
  readonly alpn?: readonly string[];
  /** QUIC idle timeout, ms (default 30 000). */
  readonly idleTimeout?: number;
  /** `Connect.language` (default `en`). */
  readonly language?: string;
  /** `Connect.clientVersion` for G2/G3 (default `handoff-testkit`). */
  readonly clientVersion?: string;
  /** View radius in blocks sent in setup (default 192). */
  readonly viewRadius?: number;
  /** `PlayerOptions.skin` (default none). */
  readonly skin?: PacketValues['PlayerOptions']['skin'];
  /** Asset hashes the client already holds: it requests only the others. */
  readonly knownAssets?: Iterable<string>;
  /** Follow a ClientReferral by reconnecting (default true; a reconnect is a violation). */
  readonly followReferrals?: boolean;
  /**
   * The world UUID a chunk packet belongs to, when its content says so. Default: the simulated
   * backend's convention (its SetChunk data names the backend and world).
   */
  readonly chunkWorld?: (chunk: ChunkPacket) => string | undefined;
  /** Bound (ms of real time) of every wait (`inWorld()`, `worldChange()`, …) unless given per call; default 20 000. */
  readonly waitTimeoutMs?: number;
  /** The QUIC transport (default a new `quic()`). */
  readonly transport?: QuicTransport;
  /** Receives state changes and violations (kinds and packet names only: never a token). */
  readonly logger?: Logger;
}

/** One world the client entered. */
export interface WorldVisit {
  /** 1, 2, … across the client's life. */
  readonly index: number;
  readonly connection: number;
  readonly worldUuid: string;
  readonly clearWorld: boolean;
  /** From SetClientId; `undefined` until it arrives. */
  readonly clientId: number | undefined;
}

/** What the client has done and seen. */
export interface StrictClientCounters {
  connections: number;
  reconnects: number;
  referrals: number;
  /** Worlds fully entered (JoinWorld then SetClientId). */
  worlds: number;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  pings: number;
  pongsSent: number;
  movementSent: number;
  chunksReceived: number;
  assetsReceived: number;
  passwordAttempts: number;
  passwordRejected: number;
}

/** One connection of the client, as reported. */
export interface ConnectionReport {
  readonly index: number;
  readonly remote: Address;
  readonly alpn: string | undefined;
  readonly close?: { readonly initiator: string; readonly code?: number | undefined; readonly reason?: string | undefined; readonly error?: string | undefined };
}

/** The client's report: safe to log and snapshot (no token, no grant, no packet bytes). */
export interface StrictClientReport {
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly generation: string;
  readonly mode: 'development' | 'authenticated';
  readonly state: StrictClientState;
  /** No violation so far (nor in the last accounting). */
  readonly seamless: boolean;
  readonly violations: readonly Violation[];
  readonly counters: Readonly<StrictClientCounters>;
  readonly worlds: readonly WorldVisit[];
  readonly connections: readonly ConnectionReport[];
}

/** Options of the waits. */
export interface WaitOptions {
  readonly signal?: AbortSignal;
  /** Bound in ms of real time (default: the client's `waitTimeoutMs`). */
  readonly timeoutMs?: number;
}

interface World {
  readonly index: number;
  readonly connection: number;
  readonly worldUuid: string;
  readonly clearWorld: boolean;
  clientId: number | undefined;
  left: boolean;
}

interface SentRecord {
  readonly connection: number;
  readonly name: string;
  readonly id: number;
  readonly digest: string;
  readonly world: number;
  readonly pong?: { readonly pingId: number; readonly type: string; readonly pingWorld: number };
}

interface Conn {
  readonly index: number;
  readonly address: Address;
  readonly connection: Connection;
  readonly bidi: BidiStream;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  phase: StrictClientState;
  uniStreams: number;
  enteredWorld: boolean;
  awaitingClientId: boolean;
  optionsSent: boolean;
  /** We closed it (referral, test close, protocol error): its end is not a violation. */
  retired: boolean;
  disconnected: boolean;
  closeInfo: CloseInfo | undefined;
  /** Hashes of WorldSettings' required assets, by hash → name. */
  readonly required: Map<string, string>;
  currentAsset: string | undefined;
}

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const PONG_TYPES = ['Raw', 'Direct', 'Tick'] as const;
const USERNAME = /^[\x21-\x7e]{1,16}$/;

function describeError(error: unknown): string {
  if (isTestkitError(error) || isProtocolError(error)) return error.code;
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') return (error as { code: string }).code;
  return error instanceof Error ? error.name : 'unknown';
}

/**
 * A strict client. Make one with {@link connectStrictClient}.
 *
 * @example
 * ```ts
 * const client = await connectStrictClient({ address: proxy.address, generation: 'G3' });
 * await client.inWorld();
 * client.startMovement({ intervalMs: 20 });
 * await migrate(); // whatever the proxy under test does
 * await client.worldChange();
 * await client.leave();
 * client.account([backendA, backendB]); // their packet logs: every packet delivered once, in order
 * expect(client.violations).toEqual([]);
 * ```
 */
export class StrictClient {
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly generation: Generation;
  readonly #init: StrictClientInit;
  readonly #transport: QuicTransport;
  readonly #logger: Logger | undefined;
  readonly #certificate: CertificateInit;
  readonly #fingerprint: string;
  readonly #sessions: SessionServiceClient | undefined;
  readonly #known: Set<string>;
  readonly #waitTimeout: number;
  readonly #counters: StrictClientCounters = {
    connections: 0,
    reconnects: 0,
    referrals: 0,
    worlds: 0,
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    pings: 0,
    pongsSent: 0,
    movementSent: 0,
    chunksReceived: 0,
    assetsReceived: 0,
    passwordAttempts: 0,
    passwordRejected: 0,
  };
  readonly #violations: Violation[] = [];
  #accounting: Violation[] = [];
  readonly #worlds: World[] = [];
  readonly #conns: Conn[] = [];
  readonly #sent: SentRecord[] = [];
  readonly #waiters = new Set<Waiter>();
  #at = 0;
  #state: StrictClientState = 'connecting';
  #ended = false;
  #endedResolve!: (report: StrictClientReport) => void;
  #movementTimer: ReturnType<typeof setInterval> | undefined;
  #movementSeq = 0;
  #reconnecting = false;

  /** Resolves with the final report once the client has ended (never rejects). */
  readonly ended: Promise<StrictClientReport>;

  private constructor(init: StrictClientInit, certificate: CertificateInit, fingerprint: string) {
    this.#init = init;
    this.generation = getGeneration(init.generation ?? 'G3');
    const fromCredentials = init.auth?.credentials;
    this.clientUuid = parseClientUuid(init.clientUuid ?? fromCredentials?.clientUuid ?? randomUUID());
    this.username = init.username ?? fromCredentials?.username ?? 'Player';
    this.#transport = init.transport ?? quic();
    this.#logger = init.logger;
    this.#certificate = certificate;
    this.#fingerprint = fingerprint;
    this.#sessions = init.auth ? sessionServiceClient({ url: init.auth.sessionService }) : undefined;
    this.#known = new Set(init.knownAssets ?? []);
    this.#waitTimeout = init.waitTimeoutMs ?? 20_000;
    this.ended = new Promise((resolve) => {
      this.#endedResolve = resolve;
    });
  }

  // ------------------------------------------------------------------ public surface

  /** Where the client is now. */
  get state(): StrictClientState {
    return this.#state;
  }

  /** Every violation so far, then those of the last {@link account} call. */
  get violations(): readonly Violation[] {
    return [...this.#violations, ...this.#accounting];
  }

  /** A copy of the counters. */
  get counters(): Readonly<StrictClientCounters> {
    return { ...this.#counters };
  }

  /** The worlds entered so far, oldest first. */
  get worlds(): readonly WorldVisit[] {
    return this.#worlds.map((w) => ({ index: w.index, connection: w.connection, worldUuid: w.worldUuid, clearWorld: w.clearWorld, clientId: w.clientId }));
  }

  /** The world the client is in (or entering), if any. */
  get world(): WorldVisit | undefined {
    return this.worlds.at(-1);
  }

  /** The client's certificate fingerprint (its tokens' `cnf.x5t#S256`). */
  get certificateFingerprint(): string {
    return this.#fingerprint;
  }

  /** The report: state, violations, counters, worlds, connections. Safe to log. */
  report(): StrictClientReport {
    const violations = this.violations;
    return {
      clientUuid: this.clientUuid,
      username: this.username,
      generation: this.generation.id,
      mode: this.#init.auth ? 'authenticated' : 'development',
      state: this.#state,
      seamless: violations.length === 0,
      violations,
      counters: this.counters,
      worlds: this.worlds,
      connections: this.#conns.map((c) => ({
        index: c.index,
        remote: { host: c.address.host, port: c.address.port },
        alpn: c.connection.alpn,
        ...(c.closeInfo ? { close: closeSummary(c.closeInfo) } : {}),
      })),
    };
  }

  /** Resolves once `check()` holds (checked after every frame and state change). */
  until(check: () => boolean, options: WaitOptions = {}): Promise<void> {
    if (check()) return Promise.resolve();
    if (this.#ended) return Promise.reject(this.#endedError());
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#waitTimeout;
      const cleanup = (): void => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        check,
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.reject(new TestkitError('ERR_TESTKIT_TIMEOUT', `the strict client waited ${timeoutMs} ms in state ${this.#state}`)), timeoutMs);
      timer.unref?.();
      const onAbort = (): void => waiter.reject(new TestkitError('ERR_TESTKIT_ABORTED', 'the wait was aborted', { cause: options.signal?.reason }));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Resolves with the first world once the client has fully entered it (JoinWorld, then SetClientId). */
  async inWorld(options: WaitOptions = {}): Promise<WorldVisit> {
    await this.until(() => this.#completedWorlds() >= 1, options);
    return this.worlds.find((w) => w.clientId !== undefined)!;
  }

  /** Resolves with the next world the client fully enters after this call (a world change or a reconnect). */
  async worldChange(options: WaitOptions = {}): Promise<WorldVisit> {
    const before = this.#completedWorlds();
    await this.until(() => this.#completedWorlds() > before, options);
    return this.worlds.filter((w) => w.clientId !== undefined)[before]!;
  }

  /** Resolves once the client has fully entered `count` worlds. */
  async worldsEntered(count: number, options: WaitOptions = {}): Promise<WorldVisit> {
    await this.until(() => this.#completedWorlds() >= count, options);
    return this.worlds.filter((w) => w.clientId !== undefined)[count - 1]!;
  }

  /** Resolves once the client has sent this many movement packets (they are written, not yet delivered). */
  async movementSent(count: number, options: WaitOptions = {}): Promise<void> {
    await this.until(() => this.#counters.movementSent >= count, options);
  }

  /**
   * Sends `count` movement-like packets now (each with the next sequence number). Only once in a world
   * (between a JoinWorld and the end); returns how many were sent.
   */
  sendMovement(count = 1): number {
    if (!Number.isInteger(count) || count < 0) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'count must be a non-negative integer');
    const conn = this.#current();
    if (!conn || !conn.enteredWorld || conn.retired) {
      throw new TestkitError('ERR_TESTKIT_CLIENT_STATE', `cannot move in state ${this.#state}: enter a world first`);
    }
    let sent = 0;
    for (let i = 0; i < count; i++) {
      if (!this.#send(conn, 'ClientMovement', movementFrame(this.generation, this.#movementSeq))) break;
      this.#movementSeq += 1;
      this.#counters.movementSent += 1;
      sent += 1;
    }
    if (sent > 0) this.#notify();
    return sent;
  }

  /**
   * Starts a steady stream of movement-like packets, one every `intervalMs` (default 50, a 20 Hz
   * client), whenever the client is in a world: it keeps moving through a migration.
   */
  startMovement(options: { readonly intervalMs?: number } = {}): void {
    const intervalMs = options.intervalMs ?? 50;
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'intervalMs must be at least 1');
    if (this.#ended) throw new TestkitError('ERR_TESTKIT_CLIENT_CLOSED', 'the client has ended');
    this.stopMovement();
    this.#movementTimer = setInterval(() => {
      const conn = this.#current();
      if (conn?.enteredWorld && !conn.retired) this.sendMovement(1);
    }, intervalMs);
    this.#movementTimer.unref?.();
  }

  /** Stops the movement stream. */
  stopMovement(): void {
    if (this.#movementTimer !== undefined) clearInterval(this.#movementTimer);
    this.#movementTimer = undefined;
  }

  /**
   * Checks that every packet the client sent after entering a world reached exactly one backend, in
   * order, against the backends' logs (simulated backends, or logs built for other peers). Replaces
   * the findings of an earlier call; returns them. Call it once the backends have everything (after
   * {@link leave}, once each backend saw the player go).
   */
  account(sources: readonly (DeliveryLog | SimulatedBackend)[], options: AccountOptions = {}): readonly Violation[] {
    const logs = sources.map((source) => (isSimulatedBackend(source) ? deliveryLogOf(source, this.clientUuid) : source));
    const sent: SentPacket[] = this.#sent.map((record, index) => {
      const pingWorld = record.pong ? this.#worlds[record.pong.pingWorld - 1] : undefined;
      return {
        index,
        name: record.name,
        id: record.id,
        digest: record.digest,
        connection: record.connection,
        world: record.world,
        ...(record.pong
          ? {
              pong: {
                ...record.pong,
                pingWorldUuid: pingWorld?.worldUuid,
                pingWorldLeft: pingWorld?.left ?? false,
              },
            }
          : {}),
      };
    });
    const switches = Math.max(0, this.#worlds.length - 1);
    this.#accounting = account(sent, logs, switches, options).map((finding) => {
      const violation = {
        kind: finding.kind,
        at: this.#at,
        connection: finding.sent?.connection ?? this.#conns.length,
        world: finding.sent?.world ?? this.#worlds.length,
        message: finding.message,
        ...finding.details,
      } as Violation;
      this.#logger?.warn?.({ kind: violation.kind, clientUuid: this.clientUuid }, violation.message);
      return violation;
    });
    return this.#accounting;
  }

  /**
   * The player quits: stops moving, ends its stream (so everything it sent is ahead of the end), and
   * waits for the server to close the connection (closes it itself after `timeoutMs`, default 10 000).
   */
  async leave(options: { readonly timeoutMs?: number } = {}): Promise<StrictClientReport> {
    this.stopMovement();
    const conn = this.#current();
    if (conn && !this.#ended) {
      this.#checkPendingJoin(conn);
      await this.#endGracefully(conn, 'Player left', options.timeoutMs ?? 10_000);
    }
    this.#end();
    return this.ended;
  }

  /** Closes the connection now (application code 0) and ends the client. Idempotent. */
  async close(): Promise<StrictClientReport> {
    this.stopMovement();
    const conn = this.#current();
    if (conn && !this.#ended) {
      this.#checkPendingJoin(conn);
      conn.retired = true;
      await conn.connection.close({ code: 0, reason: 'Client closed' }).catch(() => {});
    }
    this.#end();
    return this.ended;
  }

  toJSON(): StrictClientReport {
    return this.report();
  }


  /** Validates `init`, makes the certificate, connects (see {@link connectStrictClient}). */
  static async connect(init: StrictClientInit): Promise<StrictClient> {
    if (typeof init?.address?.host !== 'string' || !Number.isInteger(init.address.port)) {
      throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'address must be { host, port }');
    }
    try {
      getGeneration(init.generation ?? 'G3');
      if (init.clientUuid !== undefined) parseClientUuid(init.clientUuid);
    } catch (error) {
      throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'unknown generation or invalid clientUuid', { cause: error });
    }
    const username = init.username ?? init.auth?.credentials.username ?? 'Player';
    if (!USERNAME.test(username)) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'username must be 1 to 16 printable ASCII characters');
    if (init.auth && init.clientUuid !== undefined && parseClientUuid(init.clientUuid) !== init.auth.credentials.clientUuid) {
      throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', "clientUuid differs from the credentials' UUID");
    }
    let certificate: CertificateInit;
    let fingerprint: string;
    if (init.certificate) {
      certificate = init.certificate;
      let leaf: Uint8Array | undefined;
      try {
        [leaf] = certificatesFromPem(init.certificate.certPem);
      } catch (error) {
        throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'certificate.certPem is not a PEM certificate', { cause: error });
      }
      if (!leaf) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'certificate.certPem holds no certificate');
      fingerprint = certificateFingerprint(leaf);
    } else {
      const generated = await createSelfSignedCertificate({ commonName: 'hytale-client', usage: 'client' });
      certificate = generated;
      fingerprint = generated.fingerprint;
    }
    const client = new StrictClient(init, certificate, fingerprint);
    try {
      await client.#open(init.address);
    } catch (error) {
      throw new TestkitError('ERR_TESTKIT_CLIENT_CLOSED', `could not connect to ${init.address.host}:${init.address.port}: ${describeError(error)}`, { cause: error });
    }
    return client;
  }

  // ------------------------------------------------------------------ connection

  /** Dials, opens the stream and sends Connect. */
  async #open(address: Address, referral?: { readonly data: Uint8Array | null; readonly source: Address }): Promise<void> {
    const init = this.#init;
    const dialInit: QuicDialInit = {
      address,
      alpn: init.alpn ?? [this.generation.alpn[0]!],
      certificate: this.#certificate,
      serverTrust: init.serverTrust ?? 'insecure-any',
      idleTimeout: init.idleTimeout ?? 30_000,
      // room for more streams than the server may open, so a peer that opens too many is seen
      maxStreams: { bidi: 1, uni: this.generation.serverUniStreams.length + 2 },
    };
    const connection = await this.#transport.dial(dialInit);
    let bidi: BidiStream;
    try {
      bidi = await connection.openStream({ kind: 'bidi', channel: 'Default' });
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
    this.#counters.connections += 1;
    const conn: Conn = {
      index: this.#conns.length + 1,
      address: { host: address.host, port: address.port },
      connection,
      bidi,
      writer: bidi.writable.getWriter(),
      phase: 'connecting',
      uniStreams: 0,
      enteredWorld: false,
      awaitingClientId: false,
      optionsSent: false,
      retired: false,
      disconnected: false,
      closeInfo: undefined,
      required: new Map(),
      currentAsset: undefined,
    };
    this.#conns.push(conn);
    this.#setState(conn, 'connecting');
    void connection.closed.then((info) => this.#onConnectionClosed(conn, info));
    void this.#readLoop(conn, bidi, this.generation.serverUniStreams.length > 0 ? 'Default' : undefined);
    void this.#acceptLoop(conn);
    this.#send(conn, 'Connect', this.#connectFrame(referral));
    if (this.#init.auth) this.#setState(conn, 'authenticating');
  }

  #connectFrame(referral?: { readonly data: Uint8Array | null; readonly source: Address }): Uint8Array {
    const g = this.generation;
    const identityToken = this.#init.auth?.credentials.identityToken ?? null;
    const referralData = referral?.data ?? null;
    const referralSource = referral ? { host: referral.source.host, port: portToWire(referral.source.port) } : null;
    const language = this.#init.language ?? 'en';
    const common = { clientType: 'Game', uuid: this.clientUuid, username: this.username, identityToken, language, referralData, referralSource };
    const value =
      g.identify.protocolHash !== undefined
        ? { ...common, protocolHash: g.identify.protocolHash }
        : {
            ...common,
            protocolCrc: g.identify.protocolCrc!,
            protocolBuildNumber: g.identify.protocolBuildNumber!,
            clientVersion: this.#init.clientVersion ?? 'handoff-testkit',
          };
    return g.packet('Connect').encodeFrame(value as never);
  }

  async #acceptLoop(conn: Conn): Promise<void> {
    for (;;) {
      let stream: IncomingStream;
      try {
        stream = await conn.connection.acceptStream();
      } catch {
        return; // the connection is over
      }
      const expected = this.generation.serverUniStreams;
      // the adapter names a peer's uni streams by QUIC stream number (Chunks, then WorldMap)
      const channel = stream.kind === 'uni' ? stream.channel : undefined;
      if (channel === undefined || !expected.includes(channel) || conn.uniStreams >= expected.length) {
        this.#violate(conn, 'unexpected-stream', { streamKind: stream.kind, streamId: stream.id }, `the server opened a ${stream.kind} stream (${stream.id}) a ${this.generation.id} client does not expect`);
        stream.abort({ code: 0 });
        continue;
      }
      conn.uniStreams += 1;
      void this.#readLoop(conn, stream, channel);
    }
  }

  async #readLoop(conn: Conn, stream: IncomingStream | BidiStream, channel: Channel | undefined): Promise<void> {
    const splitter = new FrameSplitter(this.generation.registry, { direction: 'ToClient', ...(channel ? { channel } : {}) });
    const reader = stream.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        let frames: WireFrame[];
        try {
          frames = splitter.push(value);
        } catch (error) {
          await this.#protocolError(conn, error, channel);
          return;
        }
        for (const frame of frames) await this.#onFrame(conn, frame, channel ?? 'Default');
      }
    } catch {
      // the stream or connection ended: #onConnectionClosed judges how
    } finally {
      reader.releaseLock();
    }
  }

  async #protocolError(conn: Conn, error: unknown, channel: Channel | undefined, packet?: string): Promise<void> {
    if (conn.retired) return;
    const code = describeError(error);
    this.#violate(conn, 'protocol-error', { code, channel: channel ?? 'Default', ...(packet ? { packet } : {}) }, `unreadable frame${packet ? ` (${packet})` : ''} on ${channel ?? 'the stream'}: ${code}`);
    conn.retired = true;
    await conn.connection.close({ code: 0, reason: 'Protocol error' }).catch(() => {});
    this.#end();
  }

  #onConnectionClosed(conn: Conn, info: CloseInfo): void {
    conn.closeInfo = info;
    if (!conn.retired && !conn.disconnected && !this.#ended) {
      const summary = closeSummary(info);
      this.#violate(conn, 'connection-closed', summary, `the connection ended (${summary.initiator}${summary.code === undefined ? '' : `, code ${summary.code}`}${summary.reason ? `: ${summary.reason}` : ''}${summary.error ? `, ${summary.error}` : ''})`);
    }
    if (conn === this.#current() && !this.#reconnecting) this.#end();
  }

  // ------------------------------------------------------------------ packets

  async #onFrame(conn: Conn, frame: WireFrame, channel: Channel): Promise<void> {
    this.#at += 1;
    this.#counters.packetsReceived += 1;
    this.#counters.bytesReceived += frame.bytes.length;
    const name = frame.descriptor.name;
    if (conn.retired) return;
    try {
      if (conn.enteredWorld && SETUP_PACKETS.has(name)) {
        this.#violate(conn, 'setup-after-world-entry', { packet: name }, `${name} arrived after the world entry`);
        return; // a client in play does not act on it
      }
      if (CHUNK_PACKETS.has(name)) {
        this.#onChunk(conn, frame);
        return;
      }
      switch (name) {
        case 'ConnectAccept':
          return this.#onAccepted(conn, this.#decode('ConnectAccept', frame).passwordChallenge, 'ConnectAccept');
        case 'AuthGrant':
          return await this.#onAuthGrant(conn, this.#decode('AuthGrant', frame));
        case 'ServerAuthToken':
          return await this.#onServerAuthToken(conn, this.#decode('ServerAuthToken', frame));
        case 'PasswordAccepted':
          if (conn.phase !== 'password') return this.#unexpected(conn, name);
          return this.#setState(conn, 'setup');
        case 'PasswordRejected':
          this.#counters.passwordRejected += 1;
          if (conn.phase !== 'password') return this.#unexpected(conn, name);
          return; // the same password would fail again: the server ends the connection
        case 'WorldSettings':
          return this.#onWorldSettings(conn, this.#decode('WorldSettings', frame));
        case 'AssetInitialize':
          conn.currentAsset = this.#decode('AssetInitialize', frame).asset.hash;
          return;
        case 'AssetFinalize':
          if (conn.currentAsset !== undefined) this.#known.add(conn.currentAsset);
          conn.currentAsset = undefined;
          this.#counters.assetsReceived += 1;
          return;
        case 'WorldLoadFinished':
          return this.#onWorldLoaded(conn);
        case 'JoinWorld':
          return this.#onJoinWorld(conn, this.#decode('JoinWorld', frame));
        case 'SetClientId':
          return this.#onSetClientId(conn, this.#decode('SetClientId', frame).clientId);
        case 'Ping':
          return this.#onPing(conn, this.#decode('Ping', frame));
        case 'ClientReferral':
          return this.#onReferral(conn, this.#decode('ClientReferral', frame));
        case 'Disconnect': {
          const value = this.#decode('Disconnect', frame);
          conn.disconnected = true;
          this.#violate(conn, 'disconnected', { reason: value.reason, type: value.type }, `the server disconnected the client: ${value.reason ?? '(no reason)'}`);
          return;
        }
        default:
          return;
      }
    } catch (error) {
      await this.#protocolError(conn, error, channel, name);
    } finally {
      this.#notify();
    }
  }

  #decode<N extends PacketName>(name: N, frame: WireFrame): PacketValues[N] {
    return this.generation.packet(name).decodeFrame(frame);
  }

  #unexpected(conn: Conn, packet: string): void {
    this.#violate(conn, 'unexpected-packet', { packet, state: conn.phase }, `${packet} is not expected in state ${conn.phase}`);
  }

  #onAccepted(conn: Conn, challenge: Uint8Array | null, packet: string): void {
    if (conn.phase !== 'connecting' && conn.phase !== 'authenticating') return this.#unexpected(conn, packet);
    if (challenge === null) return this.#setState(conn, 'setup');
    this.#setState(conn, 'password');
    this.#answerChallenge(conn, challenge);
  }

  #answerChallenge(conn: Conn, challenge: Uint8Array): void {
    // SHA-256(challenge ‖ UTF-8 password), what the server compares with
    const hash = new Uint8Array(createHash('sha256').update(challenge).update(this.#init.password ?? '', 'utf8').digest());
    this.#counters.passwordAttempts += 1;
    this.#send(conn, 'PasswordResponse', this.generation.packet('PasswordResponse').encodeFrame({ hash }));
  }

  async #onAuthGrant(conn: Conn, grant: PacketValues['AuthGrant']): Promise<void> {
    const auth = this.#init.auth;
    if (!auth || !this.#sessions || conn.phase !== 'authenticating') return this.#unexpected(conn, 'AuthGrant');
    try {
      if (!grant.authorizationGrant) throw new SessionServiceHttpError('AuthGrant', undefined, 'no authorization grant');
      const sessionToken = auth.credentials.sessionToken;
      const accessToken = await this.#sessions.exchangeAuthGrant({
        authorizationGrant: grant.authorizationGrant,
        certificateFingerprint: this.#fingerprint,
        sessionToken,
      });
      // mutual authentication: a grant for the server, which it exchanges for its own access token
      const serverAuthorizationGrant = grant.serverIdentityToken
        ? await this.#sessions.requestAuthGrant({ identityToken: grant.serverIdentityToken, audience: this.clientUuid, sessionToken })
        : null;
      if (conn.retired) return;
      this.#send(conn, 'AuthToken', this.generation.packet('AuthToken').encodeFrame({ accessToken, serverAuthorizationGrant }));
    } catch (error) {
      const status = error instanceof SessionServiceHttpError ? error.status : undefined;
      this.#violate(conn, 'auth-failed', { code: describeError(error), ...(status === undefined ? {} : { status }) }, `authentication failed: ${describeError(error)}${status ? ` (HTTP ${status})` : ''}`);
      await this.#retire(conn, 'Authentication failed');
    }
  }

  async #onServerAuthToken(conn: Conn, value: PacketValues['ServerAuthToken']): Promise<void> {
    const auth = this.#init.auth;
    if (!auth || conn.phase !== 'authenticating') return this.#unexpected(conn, 'ServerAuthToken');
    if (auth.verifyServerToken !== false) {
      const serverFingerprint = conn.connection.peerCertificateFingerprint;
      try {
        if (!serverFingerprint) throw new TokenError('ERR_TESTKIT_TOKEN_BINDING', 'server-access', 'the server presented no certificate');
        await verifyServerAccessToken(value.serverAccessToken, { jwks: this.#sessions!.jwksUrl, certificateFingerprint: serverFingerprint });
      } catch (error) {
        this.#violate(conn, 'server-token-refused', { code: describeError(error) }, `the server access token was refused: ${describeError(error)}`);
        await this.#retire(conn, 'Server authentication failed');
        return;
      }
    }
    this.#onAccepted(conn, value.passwordChallenge, 'ServerAuthToken');
  }

  #onWorldSettings(conn: Conn, value: PacketValues['WorldSettings']): void {
    if (conn.phase !== 'setup') return this.#unexpected(conn, 'WorldSettings');
    const missing: { hash: string; name: string }[] = [];
    for (const asset of value.requiredAssets ?? []) {
      conn.required.set(asset.hash, asset.name);
      if (!this.#known.has(asset.hash)) missing.push({ hash: asset.hash, name: asset.name });
    }
    this.#send(conn, 'RequestAssets', this.generation.packet('RequestAssets').encodeFrame({ assets: missing }));
  }

  #onWorldLoaded(conn: Conn): void {
    if (conn.phase !== 'setup' || conn.optionsSent) return this.#unexpected(conn, 'WorldLoadFinished');
    conn.optionsSent = true;
    this.#send(conn, 'ViewRadius', this.generation.packet('ViewRadius').encodeFrame({ value: this.#init.viewRadius ?? 192 }));
    this.#send(conn, 'PlayerOptions', this.generation.packet('PlayerOptions').encodeFrame({ skin: this.#init.skin ?? null }));
  }

  #onJoinWorld(conn: Conn, value: PacketValues['JoinWorld']): void {
    const change = conn.enteredWorld;
    if (change) this.#checkPendingJoin(conn);
    else if (conn.phase !== 'setup') this.#unexpected(conn, 'JoinWorld');
    for (const world of this.#worlds) if (world.connection === conn.index) world.left = true;
    this.#worlds.push({ index: this.#worlds.length + 1, connection: conn.index, worldUuid: value.worldUuid, clearWorld: value.clearWorld, clientId: undefined, left: false });
    if (change && !value.clearWorld) {
      this.#violate(conn, 'join-world-without-clear', { worldUuid: value.worldUuid }, `JoinWorld(${value.worldUuid}) after the world entry without clearWorld`);
    }
    conn.enteredWorld = true;
    conn.awaitingClientId = true;
    this.#setState(conn, 'joining');
    this.#send(conn, 'ClientReady', this.generation.packet('ClientReady').encodeFrame({ readyForChunks: true, readyForGameplay: false }));
  }

  #checkPendingJoin(conn: Conn): void {
    if (!conn.awaitingClientId) return;
    const world = this.#worlds.at(-1)!;
    conn.awaitingClientId = false;
    this.#violate(conn, 'missing-set-client-id', { worldUuid: world.worldUuid }, `JoinWorld(${world.worldUuid}) was never followed by a SetClientId`);
  }

  #onSetClientId(conn: Conn, clientId: number): void {
    if (!conn.awaitingClientId) {
      this.#violate(conn, 'set-client-id-without-join-world', { clientId }, `SetClientId(${clientId}) without a JoinWorld before it`);
      return;
    }
    conn.awaitingClientId = false;
    this.#worlds.at(-1)!.clientId = clientId;
    this.#counters.worlds += 1;
    this.#setState(conn, 'playing');
    this.#send(conn, 'ClientReady', this.generation.packet('ClientReady').encodeFrame({ readyForChunks: false, readyForGameplay: true }));
  }

  #onChunk(conn: Conn, frame: WireFrame): void {
    this.#counters.chunksReceived += 1;
    const current = this.#worlds.at(-1);
    if (!current) return;
    const name = frame.descriptor.name;
    const chunkWorld = (this.#init.chunkWorld ?? defaultChunkWorld)({ name, frame, generation: this.generation });
    if (chunkWorld !== undefined) {
      const left = this.#worlds.some((w) => w.left && w.worldUuid === chunkWorld);
      if (chunkWorld !== current.worldUuid && left) {
        this.#violate(conn, 'old-world-chunk', { packet: name, chunkWorldUuid: chunkWorld, worldUuid: current.worldUuid }, `${name} of the world left (${chunkWorld}) arrived in ${current.worldUuid}`);
      }
      return;
    }
    // one stream carries everything (G1, G2): between a world change's JoinWorld and its SetClientId,
    // the new backend has sent no chunk yet (it streams them after ClientReady, after SetClientId)
    const changing = conn.awaitingClientId && this.#worlds.filter((w) => w.connection === conn.index).length > 1;
    if (this.generation.serverUniStreams.length === 0 && changing) {
      const previous = this.#worlds.filter((w) => w.connection === conn.index).at(-2)!;
      this.#violate(conn, 'old-world-chunk', { packet: name, worldUuid: current.worldUuid }, `${name} arrived between JoinWorld(${current.worldUuid}) and its SetClientId: it can only be of ${previous.worldUuid}`);
    }
  }

  #onPing(conn: Conn, ping: PacketValues['Ping']): void {
    this.#counters.pings += 1;
    const pingWorld = this.#worlds.length;
    const pong = this.generation.packet('Pong');
    for (const type of PONG_TYPES) {
      const sent = this.#send(conn, 'Pong', pong.encodeFrame({ id: ping.id, time: ping.time, type, packetQueueSize: 0 }), { pingId: ping.id, type, pingWorld });
      if (sent) this.#counters.pongsSent += 1;
    }
  }

  #onReferral(conn: Conn, referral: PacketValues['ClientReferral']): void {
    this.#counters.referrals += 1;
    if (this.#init.followReferrals === false || !referral.hostTo) return;
    const target = { host: referral.hostTo.host, port: portFromWire(referral.hostTo.port) };
    this.#violate(conn, 'reconnect', { reason: 'referral', host: target.host, port: target.port }, `referred to ${target.host}:${target.port}: the client reconnects`);
    void this.#reconnect(conn, target, referral.data);
  }

  async #reconnect(conn: Conn, target: Address, data: Uint8Array | null): Promise<void> {
    this.#reconnecting = true;
    this.#checkPendingJoin(conn);
    // what the client sent before the referral still reaches the referring server
    await this.#endGracefully(conn, 'Following a referral', 5_000);
    try {
      this.#counters.reconnects += 1;
      await this.#open(target, { data, source: conn.address });
    } catch (error) {
      this.#violate(conn, 'reconnect-failed', { host: target.host, port: target.port, code: describeError(error) }, `could not reconnect to ${target.host}:${target.port}: ${describeError(error)}`);
      this.#reconnecting = false;
      this.#end();
      return;
    }
    this.#reconnecting = false;
    this.#notify();
  }

  // ------------------------------------------------------------------ plumbing

  #current(): Conn | undefined {
    return this.#conns.at(-1);
  }

  #completedWorlds(): number {
    return this.#worlds.filter((w) => w.clientId !== undefined).length;
  }

  #send(conn: Conn, name: string, frame: Uint8Array, pong?: SentRecord['pong']): boolean {
    if (conn.retired || this.#ended) return false;
    this.#at += 1;
    this.#counters.packetsSent += 1;
    this.#counters.bytesSent += frame.length;
    if (conn.enteredWorld) {
      const id = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(4, true);
      this.#sent.push({ connection: conn.index, name, id, digest: frameDigest(frame), world: this.#worlds.length, ...(pong ? { pong } : {}) });
    }
    conn.writer.write(frame).catch(() => {
      // the stream ended under the write: the connection's close is judged on its own
    });
    return true;
  }

  /**
   * Ends the client's stream (FIN: everything written is ahead of it, so the server reads it all),
   * then waits for the server to close the connection, as a server does when a client's stream ends;
   * closes it itself after `timeoutMs`.
   */
  async #endGracefully(conn: Conn, reason: string, timeoutMs: number): Promise<void> {
    conn.retired = true;
    await conn.writer.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([conn.connection.closed, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') await conn.connection.close({ code: 0, reason }).catch(() => {});
  }

  async #retire(conn: Conn, reason: string): Promise<void> {
    conn.retired = true;
    await conn.connection.close({ code: 0, reason }).catch(() => {});
    this.#end();
  }

  #setState(conn: Conn, state: StrictClientState): void {
    conn.phase = state;
    if (conn !== this.#current() || this.#ended) return;
    if (this.#state !== state) this.#logger?.debug?.({ clientUuid: this.clientUuid, connection: conn.index, state }, 'strict client state');
    this.#state = state;
    this.#notify();
  }

  #violate<K extends ViolationKind>(conn: Conn, kind: K, details: ViolationDetails[K], message: string): void {
    const violation = { kind, at: this.#at, connection: conn.index, world: this.#worlds.length, message, ...details } as unknown as Violation;
    this.#violations.push(violation);
    this.#logger?.warn?.({ clientUuid: this.clientUuid, kind, connection: conn.index, world: violation.world }, message);
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) if (waiter.check()) waiter.resolve();
  }

  #endedError(): TestkitError {
    return new TestkitError('ERR_TESTKIT_CLIENT_CLOSED', `the strict client ended (${this.#violations.map((v) => v.kind).join(', ') || 'no violation'})`);
  }

  #end(): void {
    if (this.#ended) return;
    this.stopMovement();
    this.#notify();
    this.#ended = true;
    this.#state = 'ended';
    const error = this.#endedError();
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    for (const conn of this.#conns) {
      if (!conn.closeInfo) {
        conn.retired = true;
        void conn.connection.close({ code: 0, reason: 'Client ended' }).catch(() => {});
      }
    }
    this.#logger?.debug?.({ clientUuid: this.clientUuid, violations: this.#violations.length }, 'strict client ended');
    this.#endedResolve(this.report());
  }
}

function closeSummary(info: CloseInfo): { initiator: string; code?: number; reason?: string; error?: string } {
  return {
    initiator: info.initiator,
    ...(info.code === undefined ? {} : { code: info.code }),
    ...(info.reason ? { reason: info.reason } : {}),
    ...(info.error ? { error: info.error.code } : {}),
  };
}

/** The simulated backend's convention: SetChunk data starts with a tag naming the backend and its world. */
export function defaultChunkWorld(chunk: ChunkPacket): string | undefined {
  if (chunk.name !== 'SetChunk' || !chunk.generation.isModelled('SetChunk')) return undefined;
  try {
    return chunkOwner(chunk.generation.packet('SetChunk').decodeFrame(chunk.frame).data)?.worldUuid;
  } catch {
    return undefined;
  }
}

/**
 * Connects a strict client: dials the server over QUIC (ALPN of the generation, a client certificate),
 * opens the stream and sends Connect. The join then runs by itself; await {@link StrictClient.inWorld}.
 *
 * @throws {TestkitError} `ERR_TESTKIT_INVALID_ARGUMENT` for bad options, `ERR_TESTKIT_CLIENT_CLOSED` when the connection cannot be made.
 */
export function connectStrictClient(init: StrictClientInit): Promise<StrictClient> {
  return StrictClient.connect(init);
}
