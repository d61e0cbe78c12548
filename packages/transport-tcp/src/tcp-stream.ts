import type { Socket } from 'node:net';
import { InboundQueue, TransportError, type StreamAbortOptions, type StreamCloseInfo } from '@handoff/transport';

/** What the stream needs from its connection. */
export interface TcpStreamHost {
  readonly socket: Socket;
  /** The stream's sending half finished (FIN sent) or its receiving half was cancelled: maybe the connection is done. */
  halfFinished(): void;
  /** `stream.abort()` / `writable.abort()`: reset the connection (RST). */
  reset(error: TransportError): void;
  /** Our side wrote something (keeps a half-open connection alive). */
  wrote(): void;
}

export interface TcpStreamInit {
  readonly initiator: 'local' | 'remote';
  readonly highWaterMark: number;
  readonly writeHighWaterMark: number;
  readonly coalesceWrites: boolean;
  readonly host: TcpStreamHost;
  /** Called each time the consumer takes bytes off the read queue (to resume a paused socket). */
  readonly onConsumed: () => void;
}

/**
 * The one bidirectional stream of a TCP connection (id 0): `readable` is fed from the socket through a
 * bounded {@link InboundQueue}; `writable` writes to the socket, honouring its backpressure, and
 * optionally coalesces the writes of one event-loop turn into one `writev` (cork/uncork).
 */
export class TcpStream {
  readonly id = 0;
  readonly kind = 'bidi' as const;
  readonly initiator: 'local' | 'remote';
  readonly channel = undefined;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly closed: Promise<StreamCloseInfo>;
  readonly queue: InboundQueue;

  readonly #host: TcpStreamHost;
  readonly #coalesce: boolean;
  #writeController!: WritableStreamDefaultController;
  #writeDone = false;
  #readDone = false;
  #error: TransportError | undefined;
  #corked = false;
  #drain: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #resolveClosed!: (info: StreamCloseInfo) => void;
  #finished = false;

  constructor(init: TcpStreamInit) {
    this.initiator = init.initiator;
    this.#host = init.host;
    this.#coalesce = init.coalesceWrites;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.queue = new InboundQueue({
      highWaterMark: init.highWaterMark,
      onConsumed: init.onConsumed,
      onSettled: (error) => {
        this.#readDone = true;
        this.#noteError(error);
        this.#maybeFinish();
        this.#host.halfFinished();
      },
    });
    this.readable = this.queue.readable;
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#writeController = controller;
          const signal = (controller as WritableStreamDefaultController & { readonly signal?: AbortSignal }).signal;
          signal?.addEventListener(
            'abort',
            () => this.#rejectDrain(new TransportError('ERR_TRANSPORT_ABORTED', 'the writable was aborted locally', { cause: signal.reason })),
            { once: true },
          );
        },
        write: (chunk) => this.#write(chunk),
        close: () => this.#end(),
        abort: (reason) => {
          if (this.#writeDone) return;
          const error = new TransportError('ERR_TRANSPORT_ABORTED', 'the writable was aborted locally: the TCP connection is reset', {
            cause: reason,
          });
          this.#writeDone = true;
          this.#noteError(error);
          this.#host.reset(error);
        },
      },
      { highWaterMark: init.writeHighWaterMark, size: (chunk) => (chunk as { byteLength?: number } | undefined)?.byteLength ?? 0 },
    );
  }

  /** `true` once the sending half is finished (FIN sent, aborted or failed). */
  get writeDone(): boolean {
    return this.#writeDone;
  }

  /** `true` once the receiving half is finished (read to its end, cancelled or failed). */
  get readDone(): boolean {
    return this.#readDone;
  }

  abort(options: StreamAbortOptions = {}): void {
    if (this.#finished) return;
    const error = new TransportError('ERR_TRANSPORT_ABORTED', 'the stream was aborted locally: the TCP connection is reset', {
      cause: options.reason,
    });
    this.#host.reset(error);
  }

  /**
   * The connection is over: writes fail with `error`; data already received stays readable
   * unless `discard`; `closed` resolves now.
   */
  terminate(error: TransportError | undefined, discard: boolean): void {
    const failure = error ?? new TransportError('ERR_TRANSPORT_CLOSED', 'the connection is closed');
    let cut = false;
    if (!this.#writeDone) {
      this.#writeDone = true;
      cut = true;
      this.#writeController.error(failure);
      this.#rejectDrain(failure);
    }
    if (!this.queue.settled && (!this.queue.closed || discard)) cut = true;
    if (error === undefined && !discard) this.queue.end();
    else this.queue.fail(failure, { discard });
    if (cut && error !== undefined) this.#noteError(error);
    this.#finish();
  }

  #write(chunk: Uint8Array): Promise<void> | void {
    if (!(chunk instanceof Uint8Array)) {
      const error = new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'only Uint8Array chunks can be written to a stream');
      this.#writeDone = true;
      this.#noteError(error);
      this.#host.reset(error);
      throw error;
    }
    if (chunk.byteLength === 0) return;
    const socket = this.#host.socket;
    if (this.#coalesce && !this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(() => {
        this.#corked = false;
        if (!socket.destroyed) socket.uncork();
      });
    }
    this.#host.wrote();
    if (socket.write(chunk)) return;
    return new Promise<void>((resolve, reject) => {
      this.#drain = { resolve, reject };
      socket.once('drain', () => {
        const drain = this.#drain;
        this.#drain = undefined;
        drain?.resolve();
      });
    });
  }

  #end(): Promise<void> {
    const socket = this.#host.socket;
    return new Promise<void>((resolve) => {
      this.#writeDone = true;
      if (this.#corked) {
        this.#corked = false;
        socket.uncork();
      }
      socket.end(() => resolve());
      this.#maybeFinish();
      this.#host.halfFinished();
    });
  }

  #rejectDrain(error: TransportError): void {
    const drain = this.#drain;
    this.#drain = undefined;
    drain?.reject(error);
  }

  #noteError(error: TransportError | undefined): void {
    if (error !== undefined && this.#error === undefined) this.#error = error;
  }

  #maybeFinish(): void {
    if (this.#writeDone && this.#readDone) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#resolveClosed(this.#error === undefined ? {} : { error: this.#error });
  }
}
