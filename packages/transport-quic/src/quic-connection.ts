/**
 * A contract `Connection` over a library `QUICConnection`. Created when the library registers the
 * connection in its socket's connection map, before the handshake, so no stream the peer opens
 * early is missed (see fences.ts).
 */
import {
  CloseCode,
  TransportError,
  certificateFingerprint,
  inferChannel,
  raceSignal,
  throwIfAborted,
  type AbortOptions,
  type Address,
  type BidiStream,
  type CloseInfo,
  type CloseOptions,
  type Connection,
  type IncomingStream,
  type OpenStreamOptions,
  type SendStream,
  type StreamKind,
} from '@handoff/transport';
import type { Logger } from '@handoff/types';
import { errors as quicErrors, events as quicEvents, type QUICConnection, type QUICStream } from '@matrixai/quic';
import {
  abandonFailedHandshake,
  abortHandshake,
  catchEventErrors,
  fenceConnection,
  internals,
  negotiatedAlpn,
  peerStreamsLeft,
  type FencedConnection,
} from './fences.js';
import { closeInfoFromLibraryError, errorForClose } from './library-errors.js';
import { TokenBucket, type RateLimit } from './admission.js';
import type { ConnectionBudgets } from './options.js';
import { QuicStreamAdapter, type StreamHost } from './quic-stream.js';

let nextConnectionId = 1;

/** Options of a connection adapter. */
export interface QuicConnectionInit {
  readonly direction: 'inbound' | 'outbound';
  readonly coalesceWrites: boolean;
  readonly budgets: ConnectionBudgets;
  readonly logger: Logger | undefined;
  /** Told when the connection is closed by one of its budgets. */
  readonly onLimit?: (kind: 'slow-peer' | 'stream-flood' | 'handshake-flood' | 'datagram-flood') => void;
  /** Inbound limits (the listener's): bytes before the handshake completes, datagrams per second after. */
  readonly inbound?: { readonly maxHandshakeBytes: number; readonly datagramRate: RateLimit };
  /** Releases what the connection alone owned (a dialer's socket); awaited before `closed` resolves. */
  readonly release?: () => Promise<void>;
}

const encoder = new TextEncoder();

function unmapIPv4(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/** One QUIC connection. */
export class QuicConnectionAdapter implements Connection, StreamHost {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly closed: Promise<CloseInfo>;
  /** Resolves once the handshake is complete; rejects with why it failed. */
  readonly established: Promise<void>;
  readonly coalesceWrites: boolean;
  readonly inboundHighWaterMark: number;
  readonly #budgets: ConnectionBudgets;
  readonly #library: QUICConnection;
  readonly #fence: FencedConnection;
  readonly #init: QuicConnectionInit;
  #alpn: string | undefined;
  #localAddress: Address = { host: '', port: 0 };
  #remoteAddress: Address = { host: '', port: 0 };
  #peerCertificates: readonly Uint8Array[] = [];
  #fingerprint: string | undefined;
  #state: 'handshaking' | 'open' | 'closing' | 'closed' = 'handshaking';
  #closeInfo: CloseInfo | undefined;
  #terminationError: TransportError | undefined;
  #localClose: { code: number; reason: string } | undefined;
  readonly #streams = new Set<QuicStreamAdapter>();
  readonly #incoming: IncomingStream[] = [];
  readonly #acceptWaiters: { resolve: (stream: IncomingStream) => void; reject: (error: unknown) => void }[] = [];
  readonly #poisoned: Record<StreamKind, boolean> = { bidi: false, uni: false };
  /** Bytes read ahead and not consumed yet, over all incoming streams. */
  #inboundBytes = 0;
  /** Pumps paused because the connection is over its inbound budget. */
  readonly #overBudget = new Set<() => void>();
  /** Bytes written and not taken by quiche yet, over all streams. */
  #outboundBytes = 0;
  #lastOutboundProgress = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  /** A budget was exceeded and the close it calls for is under way. */
  #closingForLimit = false;
  #resolveClosed!: (info: CloseInfo) => void;
  #resolveEstablished!: () => void;
  #rejectEstablished!: (error: TransportError) => void;

  constructor(library: QUICConnection, init: QuicConnectionInit) {
    this.id = `quic-${nextConnectionId++}`;
    this.direction = init.direction;
    this.coalesceWrites = init.coalesceWrites;
    this.inboundHighWaterMark = init.budgets.inboundHighWaterMark;
    this.#budgets = init.budgets;
    this.#library = library;
    this.#init = init;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.established = new Promise<void>((resolve, reject) => {
      this.#resolveEstablished = resolve;
      this.#rejectEstablished = reject;
    });
    this.established.catch(() => {});
    this.#fence = fenceConnection(library, {
      onInternalError: (error) => init.logger?.warn?.({ connection: this.id, err: error }, 'QUIC library failure; closing the connection'),
      onDatagram: init.inbound === undefined ? undefined : (bytes) => this.#onDatagram(bytes),
    });
    library.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => {
      this.#onPeerStream((evt as quicEvents.EventQUICConnectionStream).detail);
    });
    library.addEventListener(quicEvents.EventQUICConnectionError.name, (evt: Event) => {
      this.#onLibraryError((evt as quicEvents.EventQUICConnectionError).detail);
    });
    library.addEventListener(quicEvents.EventQUICConnectionStarted.name, () => this.#onStarted(), { once: true });
    library.addEventListener(quicEvents.EventQUICConnectionStopped.name, () => void this.#finish(), { once: true });
  }

  get alpn(): string | undefined {
    return this.#alpn;
  }

  get localAddress(): Address {
    return this.#localAddress;
  }

  get remoteAddress(): Address {
    return this.#remoteAddress;
  }

  get peerCertificates(): readonly Uint8Array[] {
    return this.#peerCertificates;
  }

  get peerCertificateFingerprint(): string | undefined {
    return this.#fingerprint;
  }

  /** `true` until the connection starts closing. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** `true` once it is closing or closed (also after a failed handshake). */
  get isClosing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  // ---- StreamHost ------------------------------------------------------------------------------

  terminationError(): TransportError | undefined {
    return this.#terminationError;
  }

  streamClosed(stream: QuicStreamAdapter): void {
    this.#streams.delete(stream);
  }

  get sends(): number {
    return this.#fence.sends();
  }

  get inboundOverBudget(): boolean {
    return this.#inboundBytes >= this.#budgets.inboundBudget;
  }

  inboundQueued(bytes: number): void {
    this.#inboundBytes += bytes;
  }

  inboundConsumed(bytes: number): void {
    this.#inboundBytes = Math.max(0, this.#inboundBytes - bytes);
    if (this.#overBudget.size === 0 || this.inboundOverBudget) return;
    const resumes = [...this.#overBudget];
    this.#overBudget.clear();
    for (const resume of resumes) resume();
  }

  waitForInboundBudget(resume: () => void): void {
    this.#overBudget.add(resume);
  }

  /**
   * Outbound accounting: `bytes` more written (positive) or taken by quiche / discarded
   * (negative). Past `maxBufferedBytes`, or with no progress for `sendStallTimeout`, the peer is
   * not taking what we send: the connection is closed with code 4 (TIMEOUT), "Write timeout".
   */
  outbound(bytes: number, progress: boolean): void {
    const before = this.#outboundBytes;
    this.#outboundBytes = Math.max(0, before + bytes);
    if (progress) this.#lastOutboundProgress = performance.now();
    if (this.#outboundBytes > this.#budgets.maxBufferedBytes) {
      this.#slowPeer(`more than ${this.#budgets.maxBufferedBytes} bytes waiting for the peer`);
      return;
    }
    const stall = this.#budgets.sendStallTimeout;
    if (stall <= 0) return;
    if (this.#outboundBytes === 0) {
      if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
    } else if (before === 0 && this.#stallTimer === undefined) {
      this.#lastOutboundProgress = performance.now();
      this.#armStallTimer(stall);
    }
  }

  #handshakeBytes = 0;
  #datagrams: TokenBucket | undefined;

  /** Inbound limits, per datagram (listener connections only). `false` drops the datagram. */
  #onDatagram(bytes: number): boolean {
    const limits = this.#init.inbound!;
    if (this.#state === 'handshaking') {
      this.#handshakeBytes += bytes;
      if (this.#handshakeBytes <= limits.maxHandshakeBytes) return true;
      if (this.#closingForLimit) return false;
      this.#closingForLimit = true;
      this.#init.onLimit?.('handshake-flood');
      abortHandshake(
        this.#library,
        new TransportError('ERR_TRANSPORT_PROTOCOL', `the peer sent more than ${limits.maxHandshakeBytes} bytes before its handshake completed`),
        0x2, // CONNECTION_REFUSED
      );
      return false;
    }
    if (this.#state !== 'open') return true;
    this.#datagrams ??= new TokenBucket(limits.datagramRate, performance.now());
    if (this.#datagrams.take(performance.now())) return true;
    if (!this.#closingForLimit) {
      this.#closingForLimit = true;
      this.#init.onLimit?.('datagram-flood');
      this.#init.logger?.warn?.({ connection: this.id, remote: this.#remoteAddress }, 'QUIC peer sends datagrams too fast; closing the connection');
      queueMicrotask(() => void this.close({ code: CloseCode.RATE_LIMITED, reason: 'Rate limited' }).catch(() => {}));
    }
    return true; // let quiche see the rest while we close (the close needs its keys and state)
  }

  #armStallTimer(delay: number): void {
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      if (this.#outboundBytes === 0 || this.#state === 'closing' || this.#state === 'closed') return;
      const idle = performance.now() - this.#lastOutboundProgress;
      const stall = this.#budgets.sendStallTimeout;
      if (idle >= stall) this.#slowPeer(`nothing taken for ${Math.round(idle)} ms`);
      else this.#armStallTimer(stall - idle);
    }, delay);
  }

  #slowPeer(why: string): void {
    if (this.#state !== 'open' || this.#closingForLimit) return;
    this.#closingForLimit = true;
    this.#init.onLimit?.('slow-peer');
    this.#init.logger?.warn?.({ connection: this.id, remote: this.#remoteAddress, why }, 'QUIC peer does not take what we send; closing the connection');
    queueMicrotask(() => void this.close({ code: CloseCode.TIMEOUT, reason: 'Write timeout' }).catch(() => {}));
  }

  /**
   * The lone-FIN fence. quiche 0.18 counts a stream's sending side complete once its data is
   * acknowledged, whether or not its FIN is, and forgets a complete stream when an ACK for one of
   * its frames arrives. A FIN sent in a STREAM frame of its own while earlier data of the stream
   * (or a copy of it) is still in flight is therefore lost for good if its packet is lost and the
   * data's ACK comes in first: the peer's stream never ends. quiche does not say what is
   * acknowledged, so this resolves when that can no longer happen, as far as can be told:
   *
   * - on a connection that has never lost a packet, as soon as nothing is in flight: quiche's
   *   send capacity then equals its congestion window exactly (after a loss, proportional rate
   *   reduction can leave the capacity above the window, so the test stops being exact);
   * - otherwise once the data had time to be acknowledged, even after a loss and its
   *   retransmission: eight windows after it was handed over (a window is two round trips plus the
   *   peer's ACK delay; 250 ms to 2 s), and no loss detected for a window.
   *
   * The FIN is then written and sent at once (`sendNow`), so no ACK is processed in between.
   */
  async loneFinSettled(streamId: number, handedOverAt: number): Promise<void> {
    const conn = internals(this.#library).conn;
    let window: number;
    let lost: number;
    try {
      const path = conn.pathStats().find((p) => p.active);
      window = Math.min(250, 2 * (path?.rtt ?? 100) + conn.stats().peerMaxAckDelay + 5);
      lost = conn.stats().lost;
    } catch {
      return; // the connection is gone
    }
    const bound = handedOverAt + Math.min(2_000, Math.max(250, 8 * window));
    let quietSince = performance.now();
    while (this.#state === 'open') {
      try {
        const nowLost = conn.stats().lost;
        if (nowLost === 0) {
          const path = conn.pathStats().find((p) => p.active);
          if (path === undefined || conn.streamCapacity(streamId) === path.cwnd) return;
        } else if (nowLost !== lost) {
          lost = nowLost;
          quietSince = performance.now();
        }
      } catch {
        return; // the stream or the connection is gone: nothing left to fence
      }
      const now = performance.now();
      if (now >= bound && now - quietSince >= window) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, window)));
    }
  }

  /** Sends what quiche has now, instead of at the end of this event-loop turn. */
  sendNow(): void {
    void internals(this.#library).send();
  }

  #sendSoon = false;

  /** Sends once the current microtasks have run (coalesced batches of several streams go in one send). */
  sendSoon(): void {
    if (this.#sendSoon) return;
    this.#sendSoon = true;
    queueMicrotask(() => {
      this.#sendSoon = false;
      if (this.#state === 'open' || this.#state === 'closing') void internals(this.#library).send();
    });
  }

  // ---- Connection ------------------------------------------------------------------------------

  openStream(options: OpenStreamOptions<'uni'> & { readonly kind: 'uni' }): Promise<SendStream>;
  openStream(options?: OpenStreamOptions<'bidi'>): Promise<BidiStream>;
  async openStream(options: OpenStreamOptions = {}): Promise<BidiStream | SendStream> {
    throwIfAborted(options.signal);
    if (this.#state !== 'open') throw this.#closedError();
    const kind = options.kind ?? 'bidi';
    if (kind !== 'bidi' && kind !== 'uni') {
      throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', `unknown stream kind ${String(kind)}`);
    }
    // Fault 2: `newStream()` past the peer's limit throws once and then poisons every later
    // `newStream()` of that connection. quiche's own count of what the peer still allows is the
    // semaphore: below it, `newStream()` cannot fail for want of credit.
    if (this.#poisoned[kind] || peerStreamsLeft(this.#library, kind) <= 0) {
      throw new TransportError(
        'ERR_TRANSPORT_STREAM_LIMIT',
        `the peer allows no further ${kind} stream now; close one (its credit returns when the peer has seen it end)`,
      );
    }
    let library: QUICStream;
    try {
      library = this.#library.newStream(kind);
    } catch (error) {
      if (error instanceof quicErrors.ErrorQUICStreamLimit || error instanceof quicErrors.ErrorQUICUndefinedBehaviour) {
        this.#poisoned[kind] = true;
        throw new TransportError('ERR_TRANSPORT_STREAM_LIMIT', `the peer allows no further ${kind} stream`, { cause: error });
      }
      if (error instanceof quicErrors.ErrorQUICConnectionNotRunning) throw this.#closedError();
      throw new TransportError('ERR_TRANSPORT_FAILED', 'the QUIC library could not open a stream', { cause: error });
    }
    catchEventErrors(library, this.#fence.failInternally);
    const stream = new QuicStreamAdapter(library, this, options.channel);
    this.#streams.add(stream);
    return stream as unknown as BidiStream | SendStream;
  }

  acceptStream(options: AbortOptions = {}): Promise<IncomingStream> {
    throwIfAborted(options.signal);
    const ready = this.#incoming.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(this.#closedError());
    let waiter!: { resolve: (stream: IncomingStream) => void; reject: (error: unknown) => void };
    const promise = new Promise<IncomingStream>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    this.#acceptWaiters.push(waiter);
    return raceSignal(promise, options.signal, () => {
      const index = this.#acceptWaiters.indexOf(waiter);
      if (index >= 0) this.#acceptWaiters.splice(index, 1);
    });
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      await this.closed;
      return;
    }
    const code = options.code ?? 0;
    const reason = options.reason ?? '';
    if (!Number.isInteger(code) || code < 0) {
      throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'close code must be a non-negative integer');
    }
    const wasOpen = this.#state === 'open';
    this.#state = 'closing';
    this.#localClose = { code, reason };
    if (wasOpen && options.signal?.aborted !== true) {
      // hand coalesced writes to quiche and let it send what it can before the CONNECTION_CLOSE;
      // what quiche has no room for now (flow control, congestion window) is not waited for: a
      // peer that stopped reading would hold the close forever
      try {
        const flushed = Promise.all([...this.#streams].map((stream) => stream.flush()));
        await raceSignal(Promise.race([flushed, new Promise((resolve) => setImmediate(resolve))]), options.signal);
        await internals(this.#library).send();
      } catch {
        // aborted: tear down without waiting
      }
    }
    const error = new TransportError('ERR_TRANSPORT_CLOSED', 'the connection was closed locally');
    if (wasOpen) {
      // Close quiche before the library tears the streams down: `stop()` resets every stream and
      // would send those RESET_STREAMs ahead of the CONNECTION_CLOSE, making the peer discard data
      // it had received but not read yet. Once closing, quiche sends nothing but the close.
      const conn = internals(this.#library).conn;
      if (!conn.isClosed() && !conn.isDraining()) conn.close(true, code, encoder.encode(reason));
    }
    this.#terminate(error, true);
    if (wasOpen) {
      await this.#library
        .stop({ isApp: true, errorCode: code, reason: encoder.encode(reason), force: true })
        .catch((stopError: unknown) => this.#init.logger?.debug?.({ connection: this.id, err: stopError }, 'QUIC stop failed'));
    }
    await this.closed;
  }

  // ---- library events --------------------------------------------------------------------------

  #onStarted(): void {
    const library = this.#library;
    this.#alpn = negotiatedAlpn(library);
    this.#localAddress = { host: unmapIPv4(library.localHost), port: library.localPort };
    this.#remoteAddress = { host: unmapIPv4(library.remoteHost), port: library.remotePort };
    this.#peerCertificates = library.getRemoteCertsChain().map((der) => new Uint8Array(der));
    const leaf = this.#peerCertificates[0];
    this.#fingerprint = leaf === undefined ? undefined : certificateFingerprint(leaf);
    if (this.#state === 'handshaking') this.#state = 'open';
    // TLS 1.3: a client finishes its handshake before the server has checked the client's
    // certificate, so a dial can resolve and its connection then close with ERR_TRANSPORT_TLS.
    this.#resolveEstablished();
  }

  #onPeerStream(library: QUICStream): void {
    // Peer streams are processed only once the library connection runs (fences.ts); the deferred
    // ones arrive just before `#onStarted`, so 'handshaking' still counts as open here. Channels follow Hytale's convention by QUIC stream number: the n-th
    // unidirectional stream a peer opens has id 4n + 2 or 4n + 3.
    const index = library.streamId >> 2;
    const channel = library.type === 'uni' ? inferChannel('uni', index) : inferChannel('bidi', 0);
    const stream = new QuicStreamAdapter(library, this, channel);
    this.#streams.add(stream);
    if (this.#state === 'closing' || this.#state === 'closed') {
      stream.terminate(this.#closedError(), true);
      // not from inside the library's stream processing, which reads the stream right after
      // announcing it (a cancelled stream then looks finished, and the read fails internally)
      const error = this.#closedError();
      queueMicrotask(() => stream.cancelLibrary(error));
      return;
    }
    const incoming = stream as unknown as IncomingStream;
    const waiter = this.#acceptWaiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(incoming);
      return;
    }
    // Streams are handed out in the order their first data arrived; streams that arrive together
    // are ordered by id (quiche reports them in no particular order). `channel` follows the id, so
    // a WorldMap stream whose data overtook the Chunks stream's is still labelled right.
    if (this.#incoming.length >= this.#budgets.maxPendingStreams) {
      // the peer opens streams faster than the application accepts them
      this.#init.logger?.warn?.({ connection: this.id, remote: this.#remoteAddress }, 'QUIC peer opened too many streams; closing the connection');
      // the whole connection goes: its close ends this stream in the library too
      stream.terminate(new TransportError('ERR_TRANSPORT_CLOSED', 'too many pending streams'), true);
      if (this.#state === 'open') this.#init.onLimit?.('stream-flood');
      void this.close({ code: CloseCode.RATE_LIMITED, reason: 'Too many streams' }).catch(() => {});
      return;
    }
    let at = this.#incoming.length;
    while (at > 0 && this.#incoming[at - 1]!.kind === incoming.kind && this.#incoming[at - 1]!.id > incoming.id) at--;
    this.#incoming.splice(at, 0, incoming);
  }

  #onLibraryError(error: unknown): void {
    if (this.#closeInfo !== undefined) return;
    const info = closeInfoFromLibraryError(error, this.#localClose);
    this.#closeInfo = info;
    const failure = errorForClose(info);
    this.#rejectEstablished(info.error ?? failure);
    if (this.#state === 'handshaking') {
      this.#state = 'closing';
      this.#terminationError = failure;
      // after the library's close handler has sent the close packet (it awaits one send)
      setImmediate(() => abandonFailedHandshake(this.#library));
      return;
    }
    if (this.#state === 'open') this.#state = 'closing';
    this.#terminationError ??= failure;
    // The library tears the streams down next (one microtask later): writes then fail with
    // `failure`, and reads keep what the pumps took out of the library before, then fail.
    for (const waiter of this.#acceptWaiters.splice(0)) waiter.reject(failure);
  }

  #terminate(error: TransportError, discard: boolean): void {
    this.#terminationError ??= error;
    for (const stream of [...this.#streams]) stream.terminate(error, discard);
    this.#incoming.length = 0;
    for (const waiter of this.#acceptWaiters.splice(0)) waiter.reject(error);
  }

  async #finish(): Promise<void> {
    if (this.#state === 'closed') return;
    const info =
      this.#closeInfo ??
      (this.#localClose !== undefined
        ? { initiator: 'local' as const, code: this.#localClose.code, reason: this.#localClose.reason }
        : { initiator: 'transport' as const, error: new TransportError('ERR_TRANSPORT_FAILED', 'the connection stopped') });
    this.#closeInfo = info;
    this.#state = 'closed';
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#terminate(errorForClose(info), false);
    this.#rejectEstablished(info.error ?? errorForClose(info));
    try {
      await this.#init.release?.();
    } catch (error) {
      this.#init.logger?.debug?.({ connection: this.id, err: error }, 'QUIC release failed');
    }
    this.#init.logger?.debug?.(
      { connection: this.id, initiator: info.initiator, code: info.code, error: info.error?.code },
      'QUIC connection closed',
    );
    this.#resolveClosed(info);
  }

  /** Ends a connection whose handshake failed (the library never stops what it never started). */
  async finishFailedHandshake(): Promise<void> {
    await this.#finish();
  }

  #closedError(): TransportError {
    if (this.#terminationError !== undefined) return this.#terminationError;
    return new TransportError('ERR_TRANSPORT_CLOSED', 'the connection is closed');
  }
}
