import { raceSignal, throwIfAborted, type AbortOptions } from '../abort.js';
import { inferChannel } from '../channel.js';
import type { Address, CloseInfo, CloseOptions, Connection } from '../connection.js';
import { deferred, type Deferred } from '../deferred.js';
import { TransportError } from '../errors.js';
import { certificateFingerprint } from '../fingerprint.js';
import type { Logger } from '@handoff/types';
import type { BidiStream, IncomingStream, OpenStreamOptions, SendStream, StreamKind } from '../stream.js';
import { MemoryStream, type StreamHost } from './memory-stream.js';
import { Pipe } from './pipe.js';
import type { WireEvent } from './wire.js';

let nextConnectionId = 1;

/** Everything one endpoint of a link is configured with. */
export interface EndpointConfig {
  readonly direction: 'inbound' | 'outbound';
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  readonly alpn: string | undefined;
  readonly peerCertificates: readonly Uint8Array[];
  /** Streams the peer may open towards this endpoint. */
  readonly limits: { readonly bidi: number; readonly uni: number };
  readonly latency: number;
  readonly idleTimeout: number;
  readonly window: number;
  readonly writeHighWaterMark: number;
  readonly logger: Logger | undefined;
}

/** Runtime fault injection on one memory connection (see `faultsOf`). */
export interface MemoryFaults {
  /** Sets the latency (ms) added to everything this side sends from now on. */
  setLatency(ms: number): void;
  /**
   * Stalls a stream in this side's sending direction: writes are accepted (up to the flow-control
   * window, then they wait) but nothing is delivered until `release()`.
   */
  stall(stream: { readonly id: number } | number): { release(): void };
  /**
   * Drops the connection abruptly, as if this side crashed: data in flight is lost, this side ends with
   * `ERR_TRANSPORT_CONNECTION_LOST` (initiator `'transport'`), the peer with the same code (initiator
   * `'remote'`). Never a clean close.
   */
  drop(): void;
  /**
   * The peer vanishes: from now on nothing gets through in either direction (no close, no reset,
   * no keep-alive), so both sides fail with `ERR_TRANSPORT_IDLE_TIMEOUT` after the idle timeout.
   */
  blackhole(): void;
}

/** One end of a memory connection. */
export class MemoryConnection implements Connection, StreamHost {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly alpn: string | undefined;
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  readonly peerCertificates: readonly Uint8Array[];
  readonly peerCertificateFingerprint: string | undefined;
  readonly closed: Promise<CloseInfo>;
  readonly faults: MemoryFaults;

  peer!: MemoryConnection;
  readonly out: Pipe;
  readonly #config: EndpointConfig;
  readonly #closed: Deferred<CloseInfo>;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closeError: TransportError | undefined;
  readonly #streams = new Map<number, MemoryStream>();
  readonly #incoming: IncomingStream[] = [];
  readonly #acceptWaiters: Deferred<IncomingStream>[] = [];
  #nextId: Record<StreamKind, number>;
  readonly #openLocal: Record<StreamKind, number> = { bidi: 0, uni: 0 };
  #remoteUniCount = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(config: EndpointConfig) {
    this.#config = config;
    this.id = `memory-${nextConnectionId++}`;
    this.direction = config.direction;
    this.alpn = config.alpn;
    this.localAddress = config.localAddress;
    this.remoteAddress = config.remoteAddress;
    this.peerCertificates = config.peerCertificates;
    this.peerCertificateFingerprint =
      config.peerCertificates[0] === undefined ? undefined : certificateFingerprint(config.peerCertificates[0]);
    this.#closed = deferred<CloseInfo>();
    this.closed = this.#closed.promise;
    // RFC 9000 stream numbering: the dialer is the client (low bit 0)
    const client = config.direction === 'outbound' ? 0 : 1;
    this.#nextId = { bidi: client, uni: 2 + client };
    this.out = new Pipe(config.latency, (event) => this.peer.receive(event));
    this.faults = {
      setLatency: (ms) => {
        this.out.latency = ms;
      },
      stall: (stream) => {
        const id = typeof stream === 'number' ? stream : stream.id;
        this.out.stall(id);
        return { release: () => this.out.release(id) };
      },
      drop: () => this.#drop(),
      blackhole: () => {
        this.out.blackhole();
        this.peer.out.blackhole();
        this.#armIdleTimer();
        this.peer.#armIdleTimer();
      },
    };
  }

  get state(): 'open' | 'closing' | 'closed' {
    return this.#state;
  }

  /** The peer's limits are what this side may open. */
  get #peerLimits(): { readonly bidi: number; readonly uni: number } {
    return this.peer.#config.limits;
  }

  openStream(options: OpenStreamOptions<'uni'> & { readonly kind: 'uni' }): Promise<SendStream>;
  openStream(options?: OpenStreamOptions<'bidi'>): Promise<BidiStream>;
  async openStream(options: OpenStreamOptions = {}): Promise<BidiStream | SendStream> {
    throwIfAborted(options.signal);
    if (this.#state !== 'open') throw this.#closedError();
    const kind = options.kind ?? 'bidi';
    if (kind !== 'bidi' && kind !== 'uni') {
      throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', `unknown stream kind ${String(kind)}`);
    }
    const limit = this.#peerLimits[kind];
    if (this.#openLocal[kind] >= limit) {
      throw new TransportError(
        'ERR_TRANSPORT_STREAM_LIMIT',
        `the peer allows ${limit} concurrent ${kind} stream(s) from this side and ${this.#openLocal[kind]} are open`,
      );
    }
    const id = this.#nextId[kind];
    this.#nextId[kind] += 4;
    this.#openLocal[kind]++;
    const stream = this.#createStream(id, kind, 'local', options.channel);
    this.send({ t: 'open', id, kind });
    return stream as unknown as BidiStream | SendStream;
  }

  acceptStream(options: AbortOptions = {}): Promise<IncomingStream> {
    throwIfAborted(options.signal);
    const ready = this.#incoming.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#state !== 'open') return Promise.reject(this.#closedError());
    const waiter = deferred<IncomingStream>();
    this.#acceptWaiters.push(waiter);
    return raceSignal(waiter.promise, options.signal, () => {
      const index = this.#acceptWaiters.indexOf(waiter);
      if (index >= 0) this.#acceptWaiters.splice(index, 1);
    });
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state !== 'open') {
      await this.closed;
      return;
    }
    const code = options.code ?? 0;
    const reason = options.reason ?? '';
    this.#state = 'closing';
    this.#closeError = new TransportError('ERR_TRANSPORT_CLOSED', 'the connection was closed locally');
    this.#endStreams(this.#closeError, true);
    this.out.send({ t: 'close', code, reason });
    this.peer.out.close(); // nothing the peer still sends matters now
    try {
      await raceSignal(this.out.drained(), options.signal);
    } catch {
      // aborted: tear down without waiting for delivery
    }
    this.#finish({ initiator: 'local', code, reason });
  }

  // ---- StreamHost -------------------------------------------------------------------------------

  send(event: WireEvent): void {
    if (this.#state === 'open') this.out.send(event);
  }

  streamClosed(stream: MemoryStream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    if (stream.initiator === 'local') this.#openLocal[stream.kind]--;
  }

  // ---- events from the peer ---------------------------------------------------------------------

  receive(event: WireEvent): void {
    if (this.#state !== 'open') return;
    if (event.t === 'close') {
      const error = new TransportError(
        'ERR_TRANSPORT_PEER_CLOSED',
        `the peer closed the connection (code ${event.code}${event.reason ? `: ${event.reason}` : ''})`,
        { closeCode: event.code, reason: event.reason },
      );
      this.#fail(error, { initiator: 'remote', code: event.code, reason: event.reason });
      return;
    }
    if (event.t === 'open') {
      const channel = event.kind === 'uni' ? inferChannel('uni', this.#remoteUniCount++) : inferChannel('bidi', 0);
      const stream = this.#createStream(event.id, event.kind, 'remote', channel) as unknown as IncomingStream;
      const waiter = this.#acceptWaiters.shift();
      if (waiter !== undefined) waiter.resolve(stream);
      else this.#incoming.push(stream);
      return;
    }
    this.#streams.get(event.id)?.receive(event);
  }

  /** Fails this side with `error` (idle timeout, drop, peer close); the peer is not told. */
  fail(error: TransportError, initiator: 'remote' | 'transport'): void {
    this.#fail(error, { initiator, error });
  }

  // ---- internals --------------------------------------------------------------------------------

  #createStream(id: number, kind: StreamKind, initiator: 'local' | 'remote', channel: string | undefined): MemoryStream {
    const stream = new MemoryStream({
      id,
      kind,
      initiator,
      channel,
      window: this.#config.window,
      writeHighWaterMark: this.#config.writeHighWaterMark,
      host: this,
    });
    this.#streams.set(id, stream);
    return stream;
  }

  #drop(): void {
    if (this.#state !== 'open') return;
    const peer = this.peer;
    this.out.close();
    peer.out.close();
    this.fail(new TransportError('ERR_TRANSPORT_CONNECTION_LOST', 'the connection was dropped (fault injection)'), 'transport');
    peer.fail(new TransportError('ERR_TRANSPORT_CONNECTION_LOST', 'the connection was dropped by the peer'), 'remote');
  }

  #armIdleTimer(): void {
    if (this.#state !== 'open' || this.#idleTimer !== undefined) return;
    const ms = Math.min(this.#config.idleTimeout, this.peer.#config.idleTimeout);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      this.fail(
        new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', `nothing heard from the peer for ${ms} ms (idle timeout)`),
        'transport',
      );
    }, ms);
  }

  #fail(error: TransportError, info: CloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    this.#closeError = error;
    this.#endStreams(error, false);
    this.out.close();
    this.#finish(info);
  }

  #endStreams(error: TransportError, discard: boolean): void {
    for (const stream of [...this.#streams.values()]) stream.terminate(error, discard);
    this.#streams.clear();
    this.#incoming.length = 0;
    for (const waiter of this.#acceptWaiters.splice(0)) waiter.reject(error);
  }

  #finish(info: CloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.out.close();
    this.#config.logger?.debug?.(
      { connection: this.id, initiator: info.initiator, code: info.code, error: info.error?.code },
      'memory connection closed',
    );
    this.#closed.resolve(info);
  }

  #closedError(): TransportError {
    return this.#closeError ?? new TransportError('ERR_TRANSPORT_CLOSED', 'the connection is closed');
  }
}
