/**
 * One player's connection to the simulated backend: the server's handler chain (Initial → Password →
 * Setup → Game) for one QUIC or TCP connection, with its stage timers, its packet-inactivity check,
 * the ClientReady window, pings with three Pong FIFOs, and the packet log.
 *
 * Bad input never escapes: a frame the server's decoder would refuse closes the connection as a
 * protocol violation, a packet a handler does not take gets the server's Disconnect, and anything a
 * handler throws ends as the server's "Internal server error!".
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import {
  FrameSplitter,
  ProtocolError,
  decompressPayload,
  portToWire,
  type Frame,
  type Generation,
  type PacketDescriptor,
  type PacketInputs,
  type PacketName,
  type WireFrame,
} from '@handoff/protocol';
import { CloseCode, type BidiStream, type CloseInfo, type Connection, type SendStream } from '@handoff/transport';
import { parseClientUuid, type BackendId, type ClientUuid, type Logger } from '@handoff/types';
import type { Clock, ClockTimer } from './clock.js';
import * as opaque from './opaque.js';
import type { TicketCheck } from './ticket-seam.js';
import type {
  BackendCounters,
  BackendEvent,
  BackendPlayer,
  BackendStage,
  BackendTimeouts,
  DisconnectKind,
  PacketLogMode,
  PlayerCounters,
  ReceivedPacket,
  SetupConnectDecision,
} from './types.js';
import { chunkData, type BackendAsset } from './world.js';

/**
 * The QUIC transport error a Hytale server closes with on a protocol violation is PROTOCOL_VIOLATION
 * (0x0a). The transport contract has application closes only, so the simulated backend closes with
 * application code 10 and this reason instead (a TCP peer sees a plain close either way).
 */
export const PROTOCOL_VIOLATION_CLOSE = Object.freeze({ code: 0x0a, reason: 'PROTOCOL_VIOLATION' });

/** The server's stage-timeout message (`PacketHandler.setStageTimeout`). */
export const STAGE_TIMEOUT_REASON = 'Either you took too long to login or we took too long to process your request! Retry again in a moment.';

/** SHA-256 of a whole frame (header included), base64url: the `digest` of a {@link ReceivedPacket}. */
export function frameDigest(frame: Uint8Array): string {
  return createHash('sha256').update(frame).digest('base64url');
}

/** @internal What every player shares with its backend. */
export interface BackendContext {
  readonly id: BackendId;
  readonly generation: Generation;
  /** 1, 2 or 3. */
  readonly level: number;
  readonly clock: Clock;
  readonly timeouts: BackendTimeouts;
  readonly password: string | undefined;
  readonly requireTicket: boolean;
  readonly ticketCheck: TicketCheck | undefined;
  readonly onSetupConnect: ((player: BackendPlayer) => SetupConnectDecision | Promise<SetupConnectDecision>) | undefined;
  readonly assets: readonly BackendAsset[];
  readonly assetsByHash: ReadonlyMap<string, BackendAsset>;
  readonly assetPartSize: number;
  readonly worldUuid: string;
  readonly chunkRadius: number;
  readonly chunkBytes: number;
  readonly entitySeed: number;
  readonly serverName: string;
  readonly motd: string;
  readonly maxPlayers: number;
  readonly serverVersion: string;
  readonly serverBuild: number;
  readonly maxViewRadius: number;
  readonly rateLimit: { readonly burst: number; readonly perSecond: number } | undefined;
  readonly packetLog: PacketLogMode;
  readonly packetLogLimit: number;
  /** Packet ids the game handler takes (every other id is "no handler": an internal error). */
  readonly playIds: ReadonlySet<number>;
  readonly counters: BackendCounters;
  /** Players added to the universe (past PlayerOptions), by UUID. */
  readonly universe: Map<ClientUuid, PlayerConnection>;
  readonly logger: Logger | undefined;
  shuttingDown: boolean;
  nextClientId(): number;
  emit(player: PlayerConnection, event: Record<string, unknown> & { type: BackendEvent['type'] }): BackendEvent;
  onClosed(player: PlayerConnection): void;
}

type Handler = 'initial' | 'password' | 'setup' | 'game' | 'closed';

interface PingSent {
  readonly id: number;
  readonly sentAt: number;
}

const PONG_TYPES = ['Raw', 'Direct', 'Tick'] as const;

class InternalError extends Error {}

/** A player's connection. Implements the read-only {@link BackendPlayer} view. */
export class PlayerConnection implements BackendPlayer {
  readonly key: string;
  readonly backend: BackendId;
  readonly #ctx: BackendContext;
  readonly #connection: Connection;
  readonly #singleStream: boolean;
  readonly #splitter: FrameSplitter;
  readonly #frames: WireFrame[] = [];

  #handler: Handler = 'initial';
  #stage: BackendStage = 'initial';
  #packetTimeout: number;
  #lastPacketAt: number;
  #stageTimer: ClockTimer | undefined;
  #tickTimer: ClockTimer | undefined;
  #clientReadyTimer: ClockTimer | undefined;
  #pingTimer: ClockTimer | undefined;
  #timers = new Set<ClockTimer>();

  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #channelWriters = new Map<string, WritableStreamDefaultWriter<Uint8Array>>();
  #streams: (BidiStream | SendStream)[] = [];
  #lastWrite: Promise<void> = Promise.resolve();

  #closing = false;
  #closeKind: DisconnectKind | undefined;
  #closeReason: string | undefined;
  #closeCode: number | undefined;
  #closeDetail: string | undefined;
  #resolveClosed!: (event: BackendEvent & { type: 'disconnected' }) => void;
  readonly closed: Promise<BackendEvent & { type: 'disconnected' }>;

  #stalled = false;
  #resume: (() => void) | undefined;
  #resumed: Promise<void> = Promise.resolve();
  #deferred: (() => void)[] = [];

  // Connect and after
  #receivedConnect = false;
  #clientUuid: ClientUuid | undefined;
  #username: string | undefined;
  #language: string | undefined;
  #referralData: Uint8Array | null = null;
  #referralSource: { host: string; port: number } | null = null;
  #challenge: Uint8Array | null = null;
  #attemptsRemaining = 3;
  #sentWorldSettings = false;
  #receivedRequest = false;
  #viewRadiusChunks = 6;
  #inUniverse = false;
  #awaitingClientReady = false;
  #inWorld = false;
  #clientId: number | undefined;
  #ticket: BackendPlayer['ticket'];
  #fifos: PingSent[][] = [[], [], []];
  #lastPing = [0, 0, 0];
  #tokens: number;
  #tokensAt: number;

  readonly #received: ReceivedPacket[] = [];
  #receivedDropped = 0;
  #seq = 0;
  readonly #events: BackendEvent[] = [];
  readonly counters: PlayerCounters = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, pingsSent: 0, pongsAccepted: 0 };

  constructor(ctx: BackendContext, connection: Connection, key: string, singleStream: boolean) {
    this.#ctx = ctx;
    this.#connection = connection;
    this.key = key;
    this.backend = ctx.id;
    this.#singleStream = singleStream;
    this.#splitter = new FrameSplitter(ctx.generation.registry, { direction: 'ToServer' });
    this.#packetTimeout = ctx.timeouts.initial;
    this.#lastPacketAt = ctx.clock.now();
    this.#tokens = ctx.rateLimit?.burst ?? 0;
    this.#tokensAt = this.#lastPacketAt;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  // ---------------------------------------------------------------- the read-only view

  get remoteAddress() {
    return this.#connection.remoteAddress;
  }
  get alpn() {
    return this.#connection.alpn;
  }
  get certificateFingerprint() {
    return this.#connection.peerCertificateFingerprint;
  }
  get clientUuid() {
    return this.#clientUuid;
  }
  get username() {
    return this.#username;
  }
  get language() {
    return this.#language;
  }
  get stage() {
    return this.#stage;
  }
  get clientId() {
    return this.#clientId;
  }
  get inWorld() {
    return this.#inWorld;
  }
  get stalled() {
    return this.#stalled;
  }
  get received(): readonly ReceivedPacket[] {
    return this.#received;
  }
  get receivedDropped() {
    return this.#receivedDropped;
  }
  get events(): readonly BackendEvent[] {
    return this.#events;
  }
  get ticket() {
    return this.#ticket;
  }
  /** @internal */
  get inUniverse() {
    return this.#inUniverse;
  }
  /** @internal */
  get isClosing() {
    return this.#closing;
  }
  /** @internal */
  get hasConnected() {
    return this.#receivedConnect;
  }

  toJSON() {
    return { key: this.key, backend: this.backend, clientUuid: this.#clientUuid, username: this.#username, stage: this.#stage, inWorld: this.#inWorld };
  }

  // ---------------------------------------------------------------- life cycle

  /** Runs the connection until it ends. Never rejects. */
  async run(): Promise<void> {
    const { ctx } = { ctx: this.#ctx };
    const remote = this.#connection.remoteAddress;
    this.#emit({ type: 'connected', remote: `${remote.host}:${remote.port}`, alpn: this.#connection.alpn });
    void this.#connection.closed.then((info) => this.#finish(info));
    this.#armTick();
    // InitialPacketHandler.registered0: stage 'initial', condition: a Connect arrived
    this.#setStageTimeout('initial', ctx.timeouts.initial, () => this.#receivedConnect);
    try {
      const alpn = this.#connection.alpn;
      const alpnVersion = alpn === undefined ? undefined : Number(/^hytale\/(\d+)$/.exec(alpn)?.[1] ?? NaN);
      const stream = await this.#acceptStream();
      if (stream === undefined) return;
      this.#writer = stream.writable.getWriter();
      this.#writer.closed.catch(() => {});
      if (ctx.level >= 2 && alpnVersion !== undefined && alpnVersion < 2) {
        await this.#rejectOutdated();
        return;
      }
      await this.#readLoop(stream);
    } catch (error) {
      this.#internalError(error);
    }
  }

  async #acceptStream(): Promise<BidiStream | undefined> {
    try {
      const stream = await this.#connection.acceptStream();
      if (stream.kind !== 'bidi') {
        // a client cannot open uni streams towards a server that allows none; be safe anyway
        this.#protocolViolation('uni stream from the client');
        return undefined;
      }
      this.#streams.push(stream);
      return stream;
    } catch {
      return undefined; // the connection ended before the client opened its stream
    }
  }

  /** G2/G3 with ALPN `hytale/1`: "Your game client needs to be updated.", then code 5 after 100 ms. */
  async #rejectOutdated(): Promise<void> {
    this.#closing = true;
    this.#closeKind = 'outdated';
    this.#closeReason = 'Your game client needs to be updated.';
    this.#closeCode = CloseCode.CLIENT_OUTDATED;
    this.#clearTimers();
    this.#write(this.#encode('Disconnect', { reason: this.#closeReason, type: 'Disconnect' }), true);
    this.#arm(this.#ctx.timeouts.outdatedClose, () => {
      void this.#connection.close({ code: CloseCode.CLIENT_OUTDATED }).catch(() => {});
    });
  }

  async #readLoop(stream: BidiStream): Promise<void> {
    const reader = stream.readable.getReader();
    const frames = this.#frames;
    for (;;) {
      let chunk: Uint8Array;
      try {
        const { value, done } = await reader.read();
        if (done) break;
        chunk = value;
      } catch {
        return; // the connection ended: #finish reports how
      }
      if (this.#stalled) await this.#resumed;
      if (this.#closing) return;
      frames.length = 0;
      let splitError: unknown;
      try {
        this.#splitter.pushTo(chunk, frames);
      } catch (error) {
        splitError = error;
      }
      for (const frame of frames) {
        if (this.#stalled) await this.#resumed;
        if (this.#closing) return;
        const pending = this.#onFrame(frame);
        if (pending !== undefined) await pending;
      }
      if (splitError !== undefined) {
        this.#protocolViolation(splitError instanceof ProtocolError ? splitError.code : 'bad frame');
        return;
      }
    }
    // the client finished its stream: the server's channel goes inactive and closes
    if (!this.#closing) this.#closeWith('client-closed', CloseCode.NO_ERROR);
  }

  #finish(info: CloseInfo): void {
    if (this.#handler === 'closed') return;
    this.#handler = 'closed';
    this.#closing = true;
    this.#clearTimers();
    if (this.#closeKind === undefined) {
      this.#closeKind = info.error === undefined ? 'client-closed' : 'connection-lost';
      if (info.initiator === 'remote' && info.code !== undefined) this.#closeCode = info.code;
    }
    if (this.#inUniverse) {
      this.#inUniverse = false;
      if (this.#clientUuid !== undefined && this.#ctx.universe.get(this.#clientUuid) === this) this.#ctx.universe.delete(this.#clientUuid);
      // ServerPlayerListModule.onPlayerDisconnect: everyone else removes this player
      for (const other of this.#ctx.universe.values()) {
        if (other !== this && this.#clientUuid !== undefined) other.#sendPacket('RemoveFromServerPlayerList', { players: [this.#clientUuid] });
      }
    }
    this.#setStage('closed');
    this.#ctx.counters.disconnects++;
    const event = this.#emit({
      type: 'disconnected',
      kind: this.#closeKind,
      reason: this.#closeReason,
      closeCode: this.#closeCode,
      detail: this.#closeDetail ?? info.error?.code,
    }) as BackendEvent & {
      type: 'disconnected';
    };
    this.#stalled = false;
    this.#resume?.();
    this.#ctx.onClosed(this);
    this.#resolveClosed(event);
  }

  // ---------------------------------------------------------------- timers

  #arm(ms: number, callback: () => void): ClockTimer {
    const timer = this.#ctx.clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#handler === 'closed') return;
      if (this.#stalled) {
        this.#deferred.push(callback);
        return;
      }
      try {
        callback();
      } catch (error) {
        this.#internalError(error);
      }
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #clearTimers(): void {
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.#stageTimer = this.#tickTimer = this.#clientReadyTimer = this.#pingTimer = undefined;
  }

  /** `PacketDecoder.checkTimeout`: every second, the stage's duration without a decoded packet → "Read timeout". */
  #armTick(): void {
    this.#tickTimer = this.#arm(1000, () => {
      if (this.#closing) return;
      if (this.#ctx.clock.now() - this.#lastPacketAt >= this.#packetTimeout) {
        this.#ctx.counters.timeouts++;
        this.#gracefulDisconnect('Read timeout', 'read-timeout');
        this.#closeDetail = this.#stage;
        return;
      }
      this.#armTick();
    });
  }

  /** `PacketHandler.setStageTimeout`. The insecure path's password stage arms none (the server returns early). */
  #setStageTimeout(stage: BackendStage, ms: number, condition: () => boolean): void {
    this.#stageTimer?.cancel();
    this.#stageTimer = undefined;
    if (stage === 'password') return;
    this.#stageTimer = this.#arm(ms, () => {
      if (this.#closing || condition()) return;
      this.#ctx.counters.timeouts++;
      this.#disconnect(STAGE_TIMEOUT_REASON, 'stage-timeout');
      this.#closeDetail = stage;
    });
  }

  /** `enterStage`/`continueStage`: the stage's packet timeout, and its stage timeout when it has one. */
  #enterStage(stage: BackendStage, ms: number, condition?: () => boolean): void {
    this.#setStage(stage);
    this.#packetTimeout = ms;
    if (condition !== undefined) this.#setStageTimeout(stage, ms, condition);
  }

  #setStage(stage: BackendStage): void {
    if (this.#stage === stage) return;
    this.#stage = stage;
    this.#emit({ type: 'stage', stage });
  }

  /** A new handler replaces the old one (`NettyUtil.setChannelHandler`): the old one's stage timer goes. */
  #setHandler(handler: Handler): void {
    this.#handler = handler;
    this.#stageTimer?.cancel();
    this.#stageTimer = undefined;
  }

  // ---------------------------------------------------------------- stall, kick, referral, crash

  stall(): void {
    if (this.#stalled || this.#handler === 'closed') return;
    this.#stalled = true;
    this.#resumed = new Promise((resolve) => {
      this.#resume = resolve;
    });
    this.#emit({ type: 'stalled' });
  }

  resume(): void {
    if (!this.#stalled) return;
    this.#stalled = false;
    this.#resume?.();
    this.#resume = undefined;
    // the backend hung, not the client: what the client sent meanwhile is read now
    this.#lastPacketAt = this.#ctx.clock.now();
    this.#emit({ type: 'resumed' });
    const deferred = this.#deferred.splice(0);
    for (const callback of deferred) {
      if (this.#handler === 'closed') break;
      try {
        callback();
      } catch (error) {
        this.#internalError(error);
      }
    }
  }

  async kick(reason: string): Promise<void> {
    this.#disconnect(reason, 'kick');
    await this.closed;
  }

  async shutdown(): Promise<void> {
    this.#disconnect('Server is shutting down!', 'shutdown');
    await this.closed;
  }

  referToServer(host: string, port: number, data: Uint8Array | undefined): void {
    this.#sendPacket('ClientReferral', { hostTo: { host, port: portToWire(port) }, data: data ?? null });
    this.#ctx.counters.referrals++;
    this.#emit({ type: 'referral', host, port, dataBytes: data?.length ?? 0 });
  }

  /** Drops the connection without a Disconnect: streams reset, the connection torn down at once. */
  async crash(): Promise<void> {
    if (this.#handler === 'closed') return;
    if (!this.#closing) {
      this.#closing = true;
      this.#closeKind = 'crash';
    }
    this.#clearTimers();
    for (const stream of this.#streams) {
      try {
        stream.abort({ code: 0 });
      } catch {
        // already gone
      }
    }
    await this.#connection.close({ signal: AbortSignal.abort() }).catch(() => {});
    await this.closed;
  }

  // ---------------------------------------------------------------- writing

  #encode<N extends PacketName>(name: N, value: PacketInputs[N]): opaque.OutFrame {
    const codec = this.#ctx.generation.packet(name);
    return { descriptor: codec.descriptor, bytes: codec.encodeFrame(value) };
  }

  #sendPacket<N extends PacketName>(name: N, value: PacketInputs[N]): void {
    if (this.#closing) return;
    this.#write(this.#encode(name, value));
  }

  #send(frame: opaque.OutFrame): void {
    if (this.#closing) return;
    this.#write(frame);
  }

  #write(frame: opaque.OutFrame, evenWhenClosing = false): void {
    if (this.#closing && !evenWhenClosing) return;
    const writer = this.#writerFor(frame.descriptor);
    if (writer === undefined) return;
    this.counters.packetsOut++;
    this.counters.bytesOut += frame.bytes.length;
    this.#ctx.counters.packetsOut++;
    this.#ctx.counters.bytesOut += frame.bytes.length;
    this.#lastWrite = writer.write(frame.bytes).catch(() => {});
  }

  #writerFor(descriptor: PacketDescriptor): WritableStreamDefaultWriter<Uint8Array> | undefined {
    if (descriptor.channel !== 'Default') {
      const writer = this.#channelWriters.get(descriptor.channel);
      if (writer !== undefined) return writer;
    }
    return this.#writer;
  }

  /** `PacketHandler.disconnect`: Disconnect(reason), then close with code 0. Before a Connect: a silent close. */
  #disconnect(reason: string, kind: DisconnectKind): void {
    if (this.#closing) return;
    if (!this.#receivedConnect) {
      this.#protocolViolation(reason, kind);
      return;
    }
    this.#closeAfter(reason, kind, CloseCode.NO_ERROR);
  }

  /** `ExceptionHandler.gracefulDisconnect`: Disconnect(reason), then close with code 4 (TIMEOUT; 0 on G1, which has no code 4). */
  #gracefulDisconnect(reason: string, kind: DisconnectKind): void {
    if (this.#closing) return;
    this.#closeAfter(reason, kind, this.#ctx.level >= 2 ? CloseCode.TIMEOUT : CloseCode.NO_ERROR);
  }

  #closeAfter(reason: string, kind: DisconnectKind, code: number): void {
    this.#closing = true;
    this.#closeKind = kind;
    this.#closeReason = reason;
    this.#closeCode = code;
    this.#clearTimers();
    this.#write(this.#encode('Disconnect', { reason, type: 'Disconnect' }), true);
    const close = () => void this.#connection.close({ code }).catch(() => {});
    void this.#lastWrite.then(close);
    // a peer that does not read cannot hold the close back (the server force-closes after 1 s)
    this.#arm(1000, close);
  }

  /** An application close without a Disconnect packet. */
  #closeWith(kind: DisconnectKind, code: number, reason?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeKind = kind;
    this.#closeCode = code;
    if (reason !== undefined) this.#closeReason = reason;
    this.#clearTimers();
    const close = () => void this.#connection.close({ code, ...(reason === undefined ? {} : { reason }) }).catch(() => {});
    void this.#lastWrite.then(close);
    this.#arm(1000, close);
  }

  /** `ProtocolUtil.closeConnection`: the connection closed as a protocol violation, nothing sent first. */
  #protocolViolation(detail: string, kind: DisconnectKind = 'protocol-violation'): void {
    if (this.#closing) return;
    if (kind === 'protocol-violation') this.#ctx.counters.protocolViolations++;
    this.#ctx.logger?.debug?.({ backend: this.backend, player: this.key, detail }, 'protocol violation: closing');
    this.#closeWith(kind, PROTOCOL_VIOLATION_CLOSE.code, PROTOCOL_VIOLATION_CLOSE.reason);
    this.#closeReason = undefined;
    this.#closeDetail = detail;
  }

  /** Anything a handler throws: "Internal server error!" (ExceptionHandler). */
  #internalError(error: unknown): void {
    if (this.#closing) return;
    const detail = error instanceof Error ? error.message : String(error);
    this.#ctx.logger?.debug?.({ backend: this.backend, player: this.key, err: detail }, 'handler failed');
    this.#gracefulDisconnect('Internal server error!', 'internal-error');
    this.#closeDetail = detail;
  }

  // ---------------------------------------------------------------- reading

  #emit(event: Record<string, unknown> & { type: BackendEvent['type'] }): BackendEvent {
    const emitted = this.#ctx.emit(this, event);
    this.#events.push(emitted);
    return emitted;
  }

  #record(frame: Frame, at: number): void {
    const bytes = frame.bytes;
    this.counters.packetsIn++;
    this.counters.bytesIn += bytes.length;
    this.#ctx.counters.packetsIn++;
    this.#ctx.counters.bytesIn += bytes.length;
    const mode = this.#ctx.packetLog;
    const seq = this.#seq++;
    if (mode === 'count') return;
    const record: ReceivedPacket = {
      seq,
      at,
      stage: this.#stage,
      id: frame.id,
      name: frame.descriptor.name,
      size: bytes.length,
      digest: frameDigest(bytes),
      ...(mode === 'frames' ? { frame: bytes.slice() } : {}),
    };
    const log = this.#received;
    if (log.length >= this.#ctx.packetLogLimit) {
      const drop = Math.max(1, Math.floor(this.#ctx.packetLogLimit / 10));
      log.splice(0, drop);
      this.#receivedDropped += drop;
    }
    log.push(record);
  }

  /** The server's token bucket (`RateLimitHandler`): out of tokens → close with code 1. */
  #rateLimited(at: number): boolean {
    const limit = this.#ctx.rateLimit;
    if (limit === undefined) return false;
    this.#tokens = Math.min(limit.burst, this.#tokens + ((at - this.#tokensAt) * limit.perSecond) / 1000);
    this.#tokensAt = at;
    if (this.#tokens < 1) return true;
    this.#tokens -= 1;
    return false;
  }

  #onFrame(frame: WireFrame): Promise<void> | void {
    const at = this.#ctx.clock.now();
    this.#lastPacketAt = at;
    this.#record(frame, at);
    if (this.#rateLimited(at)) {
      this.#closeWith('rate-limited', CloseCode.RATE_LIMITED);
      return;
    }
    try {
      let pending: Promise<void> | void = undefined;
      switch (this.#handler) {
        case 'initial':
          pending = this.#onInitial(frame);
          break;
        case 'password':
          pending = this.#onPassword(frame);
          break;
        case 'setup':
          pending = this.#onSetup(frame);
          break;
        case 'game':
          this.#onGame(frame);
          break;
        default:
          return;
      }
      if (pending !== undefined) return pending.catch((error: unknown) => this.#onHandlerError(error));
    } catch (error) {
      this.#onHandlerError(error);
    }
  }

  #onHandlerError(error: unknown): void {
    // a packet the server's decoder cannot read closes the connection; anything else is an internal error
    if (error instanceof ProtocolError) this.#protocolViolation(error.code);
    else this.#internalError(error);
  }

  #decode<N extends PacketName>(name: N, frame: Frame) {
    return this.#ctx.generation.packet(name).decodeFrame(frame);
  }

  #unexpected(frame: Frame): void {
    this.#disconnect(`Protocol error: unexpected packet ${frame.id}`, 'unexpected-packet');
  }

  /** Disconnect from the client in any handler: the server closes with code 0. */
  #onClientDisconnect(frame: Frame): void {
    const packet = this.#decode('Disconnect', frame);
    this.#closeWith('client-disconnect', CloseCode.NO_ERROR);
    this.#closeReason = packet.reason ?? undefined;
  }

  // ---------------------------------------------------------------- InitialPacketHandler

  #onInitial(frame: Frame): Promise<void> | void {
    if (frame.id === 0) return this.#onConnect(frame);
    if (frame.id === 1) return this.#onClientDisconnect(frame);
    // before any Connect the server closes silently
    this.#protocolViolation(`packet ${frame.id} before Connect`, 'unexpected-packet');
  }

  #onConnect(frame: Frame): Promise<void> | void {
    const ctx = this.#ctx;
    const connect = this.#decode('Connect', frame) as {
      protocolHash?: string;
      protocolCrc?: number;
      protocolBuildNumber?: number;
      uuid: string;
      username: string;
      language: string | null;
      referralData: Uint8Array | null;
      referralSource: { port: number; host: string } | null;
    };
    this.#receivedConnect = true;
    this.#stageTimer?.cancel();
    const identify = ctx.generation.identify;
    if (identify.protocolHash !== undefined) {
      if (connect.protocolHash !== identify.protocolHash) {
        this.#disconnect(`Incompatible protocol!\nServer: ${identify.protocolHash}\nClient: ${connect.protocolHash ?? ''}`, 'incompatible');
        return;
      }
    } else if (connect.protocolCrc !== identify.protocolCrc) {
      const code = (connect.protocolBuildNumber ?? 0) < ctx.serverBuild ? CloseCode.CLIENT_OUTDATED : CloseCode.SERVER_OUTDATED;
      this.#closeWith('incompatible', code, ctx.serverVersion);
      return;
    }
    if (ctx.shuttingDown) {
      this.#disconnect('Server is shutting down!', 'shutdown');
      return;
    }
    this.#clientUuid = parseClientUuid(connect.uuid);
    this.#username = connect.username;
    this.#language = connect.language ?? 'en-US';
    if (connect.username.length === 0) {
      this.#disconnect('Missing username', 'refused');
      return;
    }
    this.#referralData = connect.referralData;
    this.#referralSource = connect.referralSource;
    if (connect.referralData !== null && connect.referralData.length > 4096) {
      this.#disconnect('Referral data exceeds maximum size of 4096 bytes', 'refused');
      return;
    }
    if (ctx.level >= 2 && connect.referralData !== null) {
      if (connect.referralSource === null) {
        this.#disconnect('Referral connections must include source server address', 'refused');
        return;
      }
      if (connect.referralSource.host.length === 0) {
        this.#disconnect('Referral source address is invalid', 'refused');
        return;
      }
    }
    ctx.counters.connects++;
    this.#emit({ type: 'connect', username: connect.username, referral: connect.referralData !== null });
    // the insecure (development) path: ConnectAccept, then the password handler
    this.#challenge = ctx.password !== undefined && ctx.password.length > 0 ? new Uint8Array(randomBytes(32)) : null;
    this.#sendPacket('ConnectAccept', { passwordChallenge: this.#challenge });
    this.#setHandler('password');
    if (this.#challenge === null) return this.#proceedToSetup();
    this.#enterStage('password', ctx.timeouts.password);
    this.#emit({ type: 'password', result: 'challenged', attemptsRemaining: this.#attemptsRemaining });
  }

  // ---------------------------------------------------------------- PasswordPacketHandler

  #onPassword(frame: Frame): Promise<void> | void {
    if (frame.id === 1) return this.#onClientDisconnect(frame);
    if (frame.id !== 15) return this.#unexpected(frame);
    const response = this.#decode('PasswordResponse', frame);
    const challenge = this.#challenge;
    if (challenge === null) {
      this.#disconnect('Protocol error: unexpected PasswordResponse', 'unexpected-packet');
      return;
    }
    if (response.hash === null || response.hash.length === 0) {
      this.#disconnect('Invalid password response', 'refused');
      return;
    }
    const expected = createHash('sha256').update(challenge).update(this.#ctx.password ?? '', 'utf8').digest();
    const given = Buffer.from(response.hash);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.#attemptsRemaining--;
      if (this.#attemptsRemaining <= 0) {
        this.#emit({ type: 'password', result: 'rejected', attemptsRemaining: 0 });
        this.#disconnect('Too many failed password attempts', 'refused');
        return;
      }
      this.#challenge = new Uint8Array(randomBytes(32));
      this.#sendPacket('PasswordRejected', { newChallenge: this.#challenge, attemptsRemaining: this.#attemptsRemaining });
      this.#enterStage('password', this.#ctx.timeouts.password);
      this.#emit({ type: 'password', result: 'rejected', attemptsRemaining: this.#attemptsRemaining });
      return;
    }
    this.#sendPacket('PasswordAccepted', {});
    this.#emit({ type: 'password', result: 'accepted' });
    return this.#proceedToSetup();
  }

  // ---------------------------------------------------------------- SetupPacketHandler

  async #proceedToSetup(): Promise<void> {
    const ctx = this.#ctx;
    this.#setHandler('setup');
    this.#enterStage('setup:world-settings', ctx.timeouts.setupWorldSettings, () => this.#sentWorldSettings);
    // PlayerSetupConnectEvent: the ticket plugin, then the user's hook
    if (!(await this.#checkTicket()) || this.#closing) return;
    if (ctx.onSetupConnect !== undefined) {
      const decision = await ctx.onSetupConnect(this);
      if (this.#closing) return;
      if (decision !== undefined && 'disconnect' in decision) {
        this.#disconnect(decision.disconnect, 'refused');
        return;
      }
      if (decision !== undefined && 'refer' in decision) {
        // a connection redirect: the handler stops here; the world-settings stage timer stays armed
        this.referToServer(decision.refer.host, decision.refer.port, decision.refer.data);
        return;
      }
    }
    // one account once: the same origin kicks the old session, another origin is refused
    const uuid = this.#clientUuid!;
    const other = ctx.universe.get(uuid);
    if (other !== undefined && other !== this && !other.#closing) {
      if (other.remoteAddress.host === this.remoteAddress.host) {
        other.#disconnect('You logged in again with the account!', 'duplicate-login');
      } else {
        this.#disconnect('You are already logged in on that account!', 'duplicate-login');
        return;
      }
    }
    this.#sendPacket('WorldSettings', { worldHeight: 320, requiredAssets: ctx.assets.map((a) => ({ hash: a.hash, name: a.name })) });
    this.#sentWorldSettings = true;
    this.#sendPacket('ServerInfo', { serverName: ctx.serverName, motd: ctx.motd, maxPlayers: ctx.maxPlayers });
    this.#enterStage('setup:assets-request', ctx.timeouts.setupAssetsRequest, () => this.#receivedRequest);
  }

  /** The ticket plugin: true when the join may go on. */
  async #checkTicket(): Promise<boolean> {
    const ctx = this.#ctx;
    const data = this.#referralData;
    if (data === null) {
      if (ctx.requireTicket) {
        this.#emit({ type: 'ticket', result: 'refused', code: 'ticket-required' });
        ctx.counters.ticketsRefused++;
        this.#disconnect('This server only accepts players with a migration ticket', 'ticket-refused');
        return false;
      }
      this.#emit({ type: 'ticket', result: 'absent' });
      return true;
    }
    if (ctx.ticketCheck === undefined) {
      this.#emit({ type: 'ticket', result: 'unchecked' });
      return true;
    }
    const outcome = await ctx.ticketCheck.verify(data, {
      clientUuid: this.#clientUuid!,
      target: ctx.id,
      referralSource: this.#referralSource ?? { host: '', port: 0 },
    });
    if (this.#closing) return false;
    if (outcome.result === 'refused') {
      ctx.counters.ticketsRefused++;
      this.#emit({ type: 'ticket', result: 'refused', code: outcome.code, source: outcome.source });
      this.#disconnect(`Migration ticket refused (${outcome.code})`, 'ticket-refused');
      return false;
    }
    ctx.counters.ticketsAccepted++;
    this.#ticket = Object.freeze({ kid: outcome.kid, source: outcome.source, pool: outcome.pool });
    this.#emit({ type: 'ticket', result: 'accepted', source: outcome.source, kid: outcome.kid });
    return true;
  }

  #onSetup(frame: Frame): Promise<void> | void {
    switch (frame.id) {
      case 1:
        return this.#onClientDisconnect(frame);
      case 23: {
        const request = this.#decode('RequestAssets', frame);
        if (this.#receivedRequest) throw new InternalError('Received duplicate RequestAssets!');
        this.#receivedRequest = true;
        this.#sendAssets(request.assets ?? [], false);
        this.#sendPacket('WorldLoadProgress', this.#progress('client.general.worldLoad.loadingWorld', 0, 0));
        this.#sendPacket('WorldLoadFinished', {});
        this.#enterStage('setup:send-assets', this.#ctx.timeouts.setupSendAssets, () => true);
        return;
      }
      case 32:
        this.#viewRadiusChunks = Math.ceil(this.#decode('ViewRadius', frame).value / 32);
        return;
      case 33: {
        this.#decode('PlayerOptions', frame);
        if (!this.#receivedRequest) throw new InternalError("Hasn't received RequestAssets yet!");
        this.#enterStage('setup:add-to-universe', this.#ctx.timeouts.setupAddToUniverse, () => this.#handler === 'game');
        return this.#addPlayer();
      }
      default:
        return this.#unexpected(frame);
    }
  }

  #progress(status: string, percent: number, subitem: number): PacketInputs['WorldLoadProgress'] {
    if (this.#ctx.level >= 3) {
      const key = status.startsWith('client.') ? { messageId: status } : { rawText: status };
      return {
        status: { ...key, bold: 'Null', italic: 'Null', monospace: 'Null', underlined: 'Null', markupEnabled: false },
        percentComplete: percent,
        percentCompleteSubitem: subitem,
      } as PacketInputs['WorldLoadProgress'];
    }
    return { status, percentComplete: percent, percentCompleteSubitem: subitem } as PacketInputs['WorldLoadProgress'];
  }

  /** `SendCommonAssetsEvent`: the stream of each requested asset this backend has, in request order. */
  #sendAssets(requested: readonly { hash: string; name: string }[], rebuild: boolean): void {
    const ctx = this.#ctx;
    const found: BackendAsset[] = [];
    let unknown = 0;
    for (const { hash } of requested) {
      const asset = ctx.assetsByHash.get(hash);
      if (asset === undefined) unknown++;
      else found.push(asset);
    }
    const partSize = ctx.assetPartSize;
    const totalParts = found.reduce((n, a) => n + Math.max(1, Math.ceil(a.bytes.length / partSize)), 0);
    let partsSent = 0;
    for (const asset of found) {
      this.#sendPacket('AssetInitialize', { asset: { hash: asset.hash, name: asset.name }, size: asset.bytes.length });
      const parts = Math.max(1, Math.ceil(asset.bytes.length / partSize));
      for (let i = 0; i < parts; i++) {
        partsSent++;
        this.#sendPacket('WorldLoadProgress', this.#progress(asset.name, Math.floor((100 * partsSent) / totalParts), Math.floor((100 * (i + 1)) / parts)));
        this.#sendPacket('AssetPart', { part: asset.bytes.subarray(i * partSize, (i + 1) * partSize) });
      }
      this.#sendPacket('AssetFinalize', {});
    }
    if (found.length > 0) this.#send(opaque.requestCommonAssetsRebuild(ctx.generation));
    void rebuild;
    this.#emit({ type: 'assets', requested: requested.length, sent: found.length, unknown });
  }

  /** `Universe.addPlayer` then `World.addPlayer` (initial join: clearWorld and fadeInOut false). */
  async #addPlayer(): Promise<void> {
    const ctx = this.#ctx;
    // the game handler replaces the setup handler (its stage timer goes with it)
    this.#setHandler('game');
    this.#enterStage('play', ctx.timeouts.play);
    if (ctx.level >= 3 && !this.#singleStream) {
      try {
        for (const channel of ctx.generation.serverUniStreams) {
          const stream = await this.#connection.openStream({ kind: 'uni', channel });
          this.#streams.push(stream);
          const writer = stream.writable.getWriter();
          writer.closed.catch(() => {});
          this.#channelWriters.set(channel, writer);
        }
      } catch (error) {
        this.#ctx.logger?.debug?.({ backend: this.backend, player: this.key, err: (error as Error).message }, 'could not open the uni streams');
        this.#disconnect('An exception occurred when adding to the universe!', 'internal-error');
        return;
      }
      if (this.#closing) return;
    }
    const uuid = this.#clientUuid!;
    ctx.universe.set(uuid, this);
    this.#inUniverse = true;
    // ServerPlayerListModule.onPlayerConnect: the full list to the newcomer, the newcomer to everyone else
    const entry = (p: PlayerConnection) => ({ uuid: p.#clientUuid!, username: p.#username ?? null, worldUuid: p.#inWorld ? ctx.worldUuid : null, ping: 0 });
    this.#sendPacket('AddToServerPlayerList', { players: [...ctx.universe.values()].map(entry) });
    for (const other of ctx.universe.values()) {
      if (other !== this) other.#sendPacket('AddToServerPlayerList', { players: [entry(this)] });
    }
    this.#sendPacket('ServerTags', { tags: new Map() });
    this.#clientId = ctx.nextClientId();
    this.#sendPacket('JoinWorld', { clearWorld: false, fadeInOut: false, worldUuid: ctx.worldUuid });
    ctx.counters.joined++;
    this.#emit({ type: 'join-world', worldUuid: ctx.worldUuid });
    this.#awaitingClientReady = true;
    this.#clientReadyTimer = this.#arm(ctx.timeouts.clientReady, () => {
      if (!this.#awaitingClientReady) return;
      this.#awaitingClientReady = false;
      ctx.counters.timeouts++;
      this.#disconnect('Exception when adding player to world!', 'client-ready-timeout');
    });
  }

  // ---------------------------------------------------------------- GamePacketHandler

  #onGame(frame: WireFrame): void {
    switch (frame.id) {
      case 1:
        this.#onClientDisconnect(frame);
        return;
      case 3:
        this.#onPong(frame);
        return;
      case 23: {
        const request = this.#decode('RequestAssets', frame);
        this.#sendAssets(request.assets ?? [], true);
        return;
      }
      case 32:
        this.#viewRadiusChunks = Math.ceil(this.#decode('ViewRadius', frame).value / 32);
        return;
      case 105:
        this.#onClientReady(frame);
        return;
      default:
        if (!this.#ctx.playIds.has(frame.id)) throw new InternalError(`No handler is registered for (${frame.id})`);
        // the server reads every packet whole: a compressed one must at least decompress
        if (frame.descriptor.compressed && frame.payload.length > 0) decompressPayload(frame.payload, frame.descriptor.maxSize);
    }
  }

  #onClientReady(frame: Frame): void {
    const ready = this.#decode('ClientReady', frame);
    if (ready.readyForChunks && !ready.readyForGameplay && this.#awaitingClientReady) {
      this.#awaitingClientReady = false;
      this.#clientReadyTimer?.cancel();
      this.#finishJoining();
    }
    if (ready.readyForGameplay && this.#inWorld) this.#emit({ type: 'ready-for-gameplay' });
  }

  /** `World.onFinishPlayerJoining`, then the first ping and the chunks around the spawn. */
  #finishJoining(): void {
    const ctx = this.#ctx;
    const g = ctx.generation;
    const now = ctx.clock.now();
    this.#sendPacket('ViewRadius', { value: ctx.maxViewRadius * 32 });
    this.#send(opaque.setEntitySeed(g, ctx.entitySeed));
    this.#sendPacket('SetClientId', { clientId: this.#clientId! });
    this.#send(opaque.setTimeDilation(g, 1));
    this.#send(opaque.updateFeatures(g));
    this.#send(opaque.updateSunSettings(g));
    this.#send(opaque.updatePostFxSettings(g));
    this.#send(opaque.setUpdateRate(g, 30));
    this.#send(opaque.setGameMode(g, 0));
    this.#send(opaque.updateTimeSettings(g));
    this.#send(opaque.updateTime(g, now));
    this.#sendPacket('ClearWorldMap', {});
    this.#inWorld = true;
    ctx.counters.ready++;
    this.#emit({ type: 'ready', clientId: this.#clientId! });
    this.#ping();
    const r = ctx.chunkRadius;
    for (let x = -r; x <= r; x++) {
      for (let z = -r; z <= r; z++) {
        this.#sendPacket('SetChunk', { x, y: 0, z, localLight: null, globalLight: null, data: chunkData(ctx.id, ctx.worldUuid, x, z, ctx.chunkBytes) });
      }
    }
  }

  /** `PacketHandler.sendPing`: one id, queued in the three FIFOs; again every second. */
  #ping(): void {
    if (this.#closing) return;
    const id = randomInt(0, 2 ** 32) | 0;
    const now = this.#ctx.clock.now();
    for (const fifo of this.#fifos) fifo.push({ id, sentAt: now });
    this.#sendPacket('Ping', {
      id,
      time: { seconds: BigInt(Math.floor(now / 1000)), nanos: (now % 1000) * 1_000_000 },
      lastPingValueRaw: this.#lastPing[0]!,
      lastPingValueDirect: this.#lastPing[1]!,
      lastPingValueTick: this.#lastPing[2]!,
    });
    this.counters.pingsSent++;
    this.#ctx.counters.pingsSent++;
    this.#pingTimer = this.#arm(1000, () => this.#ping());
  }

  /** `PingInfo.handlePacket`: the Pong must answer the head of its type's FIFO, else an internal error. */
  #onPong(frame: Frame): void {
    const pong = this.#decode('Pong', frame);
    const index = PONG_TYPES.indexOf(pong.type as (typeof PONG_TYPES)[number]);
    const fifo = this.#fifos[index]!;
    const head = fifo.shift();
    if (head === undefined || head.id !== pong.id) {
      this.#emit({ type: 'pong-mismatch', pongType: pong.type, expected: head?.id, received: pong.id });
      throw new InternalError(head === undefined ? 'Pong without a Ping' : String(pong.id));
    }
    this.#lastPing[index] = Math.min(2 ** 31 - 1, (this.#ctx.clock.now() - head.sentAt) * 1000);
    this.counters.pongsAccepted++;
    this.#ctx.counters.pongsAccepted++;
  }
}
