import type { Socket } from 'node:net';
import {
  TransportError,
  raceSignal,
  throwIfAborted,
  toTransportError,
  type AbortOptions,
  type Address,
  type BidiStream,
  type CloseInfo,
  type CloseOptions,
  type Connection,
  type IncomingStream,
  type OpenStreamOptions,
  type SendStream,
} from '@handoff/transport';
import type { Logger } from '@handoff/types';
import { TcpStream, type TcpStreamHost } from './tcp-stream.js';

let nextId = 1;

export interface TcpConnectionInit {
  readonly socket: Socket;
  readonly direction: 'inbound' | 'outbound';
  readonly idleTimeout: number;
  readonly lingerTimeout: number;
  readonly highWaterMark: number;
  readonly writeHighWaterMark: number;
  readonly coalesceWrites: boolean;
  readonly logger: Logger | undefined;
}

function addressOf(host: string | undefined, port: number | undefined): Address {
  return { host: host ?? '', port: port ?? 0 };
}

/**
 * A TCP socket presented as a {@link Connection} with exactly one bidi stream. See docs/transports.md
 * for how close codes, FIN and RST map.
 */
export class TcpConnection implements Connection, TcpStreamHost {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly alpn = undefined;
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  readonly peerCertificates: readonly Uint8Array[] = [];
  readonly peerCertificateFingerprint = undefined;
  readonly closed: Promise<CloseInfo>;
  readonly socket: Socket;

  readonly #init: TcpConnectionInit;
  readonly #stream: TcpStream;
  #streamTaken = false;
  #resolveClosed!: (info: CloseInfo) => void;
  #info: CloseInfo | undefined;
  /** Set when the connection failed or was reset (the first cause wins). */
  #failure: { initiator: 'local' | 'remote' | 'transport'; error: TransportError } | undefined;
  #localClose: { code: number; reason: string } | undefined;
  #firstFin: 'local' | 'remote' | undefined;
  #peerEnded = false;
  #paused = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  readonly #acceptWaiters = new Set<{ reject: (error: unknown) => void }>();

  constructor(init: TcpConnectionInit) {
    this.#init = init;
    this.socket = init.socket;
    this.id = `tcp-${nextId++}`;
    this.direction = init.direction;
    this.localAddress = addressOf(init.socket.localAddress, init.socket.localPort);
    this.remoteAddress = addressOf(init.socket.remoteAddress, init.socket.remotePort);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const socket = init.socket;
    socket.setNoDelay(true);
    if (init.idleTimeout > 0) socket.setKeepAlive(true, Math.max(1_000, init.idleTimeout));
    this.#stream = new TcpStream({
      initiator: init.direction === 'outbound' ? 'local' : 'remote',
      highWaterMark: init.highWaterMark,
      writeHighWaterMark: init.writeHighWaterMark,
      coalesceWrites: init.coalesceWrites,
      host: this,
      onConsumed: () => {
        if (this.#paused && !this.#stream.queue.full && !socket.destroyed) {
          this.#paused = false;
          socket.resume();
          this.#armIdle();
        }
      },
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.#localClose !== undefined || this.#stream.queue.closed) return; // closed or cancelled locally: discard
      this.#idleTimer?.refresh();
      this.#stream.queue.push(chunk);
      if (this.#stream.queue.full) {
        this.#paused = true;
        socket.pause();
        this.#disarmIdle(); // the peer is not silent, we are not listening
      }
    });
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#firstFin ??= 'remote';
      this.#stream.queue.end();
      this.#checkHalfOpen();
    });
    socket.on('error', (error: Error) => {
      const mapped = toTransportError(error, 'ERR_TRANSPORT_CONNECTION_LOST');
      const remote = mapped.code === 'ERR_TRANSPORT_CONNECTION_LOST';
      this.#failure ??= { initiator: remote ? 'remote' : 'transport', error: mapped };
    });
    socket.on('close', () => this.#onClose());
    socket.resume();
    this.#armIdle();
  }

  openStream(options: OpenStreamOptions<'uni'> & { readonly kind: 'uni' }): Promise<SendStream>;
  openStream(options?: OpenStreamOptions<'bidi'>): Promise<BidiStream>;
  async openStream(options: OpenStreamOptions = {}): Promise<BidiStream | SendStream> {
    throwIfAborted(options.signal);
    if (this.#info !== undefined || this.#localClose !== undefined) throw this.#closedError();
    if (options.kind === 'uni') {
      throw new TransportError('ERR_TRANSPORT_STREAM_LIMIT', 'TCP has no unidirectional streams: every channel shares the one bidi stream');
    }
    if (this.direction === 'inbound' || this.#streamTaken) {
      throw new TransportError(
        'ERR_TRANSPORT_STREAM_LIMIT',
        this.direction === 'inbound'
          ? 'on TCP the listener side cannot open streams: accept the dialer\'s one stream with acceptStream()'
          : 'TCP carries exactly one stream per connection and it is already open',
      );
    }
    this.#streamTaken = true;
    return this.#stream as unknown as BidiStream;
  }

  acceptStream(options: AbortOptions = {}): Promise<IncomingStream> {
    throwIfAborted(options.signal);
    if (this.direction === 'inbound' && !this.#streamTaken && this.#info === undefined && this.#localClose === undefined) {
      this.#streamTaken = true;
      return Promise.resolve(this.#stream as unknown as IncomingStream);
    }
    if (this.#info !== undefined || this.#localClose !== undefined) return Promise.reject(this.#closedError());
    // no further stream will ever come: wait for the end of the connection
    let waiter!: { reject: (error: unknown) => void };
    const pending = new Promise<IncomingStream>((_, reject) => {
      waiter = { reject };
      this.#acceptWaiters.add(waiter);
    });
    return raceSignal(pending, options.signal, () => this.#acceptWaiters.delete(waiter));
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#info !== undefined || this.#localClose !== undefined) {
      await this.closed;
      return;
    }
    const socket = this.socket;
    this.#localClose = { code: options.code ?? 0, reason: options.reason ?? '' };
    this.#firstFin ??= 'local';
    const error = new TransportError('ERR_TRANSPORT_CLOSED', 'the connection was closed locally');
    this.#stream.terminate(error, true);
    this.#rejectAcceptWaiters(error);
    this.#disarmIdle();
    if (this.#paused) {
      this.#paused = false;
      socket.resume(); // keep reading (and discarding) until the peer's FIN
    }
    // flush what was written, send FIN; wait for that at most `lingerTimeout`
    const flushed = new Promise<void>((resolve) => {
      if (socket.writableFinished || socket.destroyed) resolve();
      else {
        socket.once('finish', resolve);
        socket.once('close', resolve);
        socket.uncork();
        socket.end();
      }
    });
    this.#lingerTimer = setTimeout(() => socket.destroy(), this.#init.lingerTimeout);
    try {
      await raceSignal(flushed, options.signal);
    } catch {
      socket.destroy();
    }
    if (this.#peerEnded || socket.destroyed) socket.destroy();
    this.#settle(this.#localInfo());
  }

  // ---- TcpStreamHost ----------------------------------------------------------------------------

  halfFinished(): void {
    if (this.#stream.writeDone) this.#firstFin ??= 'local';
    this.#checkHalfOpen();
    // both halves done by the application: nothing left to wait for except the peer's FIN
    if (this.#stream.writeDone && this.#stream.readDone && !this.socket.destroyed) {
      if (this.#peerEnded) this.socket.destroy();
      else this.#lingerTimer ??= setTimeout(() => this.socket.destroy(), this.#init.lingerTimeout);
    }
  }

  reset(error: TransportError): void {
    this.#failure ??= { initiator: 'local', error };
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  wrote(): void {
    if (this.#peerEnded) this.#idleTimer?.refresh();
  }

  // ---- internals --------------------------------------------------------------------------------

  /**
   * Idle detection. While we wait for data: nothing received for `idleTimeout`, and nothing we wrote
   * taken by the peer either (the kernel accepting more of our bytes means the peer is ACKing) →
   * fail with ERR_TRANSPORT_IDLE_TIMEOUT and reset the socket (the peer, if alive, sees a failure).
   * Once the peer has ended its side (FIN) and we have not: nothing *sent* for `idleTimeout` → finish
   * our side cleanly, so a forgotten half-open socket is not kept forever.
   */
  #armIdle(): void {
    const ms = this.#init.idleTimeout;
    if (ms <= 0 || this.#idleTimer !== undefined || this.socket.destroyed) return;
    let written = this.socket.bytesWritten;
    this.#idleTimer = setTimeout(() => {
      const timer = this.#idleTimer;
      if (this.#peerEnded) {
        this.#idleTimer = undefined;
        if (!this.#stream.writeDone) void this.#stream.writable.close().catch(() => {});
        return;
      }
      if (this.socket.bytesWritten !== written) {
        written = this.socket.bytesWritten; // our data is flowing: the peer is there
        timer?.refresh();
        return;
      }
      this.#idleTimer = undefined;
      const error = new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', `nothing heard from the peer for ${ms} ms (idle timeout)`);
      this.#failure ??= { initiator: 'transport', error };
      this.socket.resetAndDestroy();
    }, ms);
  }

  #disarmIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #checkHalfOpen(): void {
    if (!this.#peerEnded) return;
    this.#disarmIdle();
    if (!this.#stream.writeDone && this.#localClose === undefined) this.#armIdle();
  }

  #onClose(): void {
    this.#disarmIdle();
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (this.#localClose !== undefined) {
      this.#settle(this.#localInfo());
      return;
    }
    let failure = this.#failure;
    if (failure === undefined && !(this.#peerEnded && this.#stream.writeDone)) {
      // closed without both FINs and without an error event: treat as lost
      failure = { initiator: 'remote', error: new TransportError('ERR_TRANSPORT_CONNECTION_LOST', 'the TCP connection closed abruptly') };
    }
    if (failure !== undefined) {
      this.#stream.terminate(failure.error, false);
      this.#rejectAcceptWaiters(failure.error);
      this.#settle({ initiator: failure.initiator, error: failure.error });
      return;
    }
    const initiator = this.#firstFin ?? 'remote';
    const error =
      initiator === 'local'
        ? new TransportError('ERR_TRANSPORT_CLOSED', 'the connection is closed')
        : new TransportError('ERR_TRANSPORT_PEER_CLOSED', 'the peer closed the TCP connection');
    this.#stream.terminate(undefined, false);
    this.#rejectAcceptWaiters(error);
    this.#settle({ initiator });
  }

  /** After a local `close()`: ours, with the code and reason, unless the peer had ended first. */
  #localInfo(): CloseInfo {
    if (this.#firstFin === 'remote') return { initiator: 'remote' };
    return { initiator: 'local', code: this.#localClose?.code ?? 0, reason: this.#localClose?.reason ?? '' };
  }

  #settle(info: CloseInfo): void {
    if (this.#info !== undefined) return;
    this.#info = info;
    this.#init.logger?.debug?.(
      { connection: this.id, initiator: info.initiator, error: info.error?.code },
      'tcp connection closed',
    );
    this.#resolveClosed(info);
  }

  #rejectAcceptWaiters(error: TransportError): void {
    for (const waiter of this.#acceptWaiters) waiter.reject(error);
    this.#acceptWaiters.clear();
  }

  #closedError(): TransportError {
    if (this.#localClose !== undefined) return new TransportError('ERR_TRANSPORT_CLOSED', 'the connection was closed locally');
    if (this.#info?.error !== undefined) return this.#info.error;
    if (this.#info?.initiator === 'remote') return new TransportError('ERR_TRANSPORT_PEER_CLOSED', 'the peer closed the TCP connection');
    return new TransportError('ERR_TRANSPORT_CLOSED', 'the connection is closed');
  }
}
