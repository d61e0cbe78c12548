/**
 * A contract `Stream` over a library `QUICStream`.
 *
 * The receive half is an `InboundQueue` fed by a pump that reads the library's readable ahead (up
 * to `inboundHighWaterMark`), so data that arrived before the peer closed the connection stays
 * readable after the library tears its streams down. The send half validates chunks and, with
 * coalescing on, batches small writes into one library write per event-loop turn.
 */
import {
  InboundQueue,
  TransportError,
  type Channel,
  type Initiator,
  type StreamAbortOptions,
  type StreamCloseInfo,
  type StreamKind,
} from '@handoff/transport';
import { events as quicEvents, type QUICStream } from '@matrixai/quic';
import { StreamAbortReason, streamError } from './library-errors.js';

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly coalesceWrites: boolean;
  readonly inboundHighWaterMark: number;
  /** The error the connection ended with, once it has (stream failures then report it). */
  terminationError(): TransportError | undefined;
  streamClosed(stream: QuicStreamAdapter): void;
}

/** Largest batch handed to the library in one write when coalescing. */
const BATCH_BYTES = 64 * 1024;
/** Bytes our writable queues before `writer.ready` waits. */
const WRITE_HIGH_WATER_MARK = 64 * 1024;

function noop(): void {}

/** The sending half. */
class SendHalf {
  readonly writable: WritableStream<Uint8Array>;
  #controller!: WritableStreamDefaultController;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stream: QuicStreamAdapter;
  readonly #coalesce: boolean;
  #batch: Buffer | undefined;
  #batchBytes = 0;
  #chain: Promise<void> = Promise.resolve();
  #scheduled: NodeJS.Immediate | undefined;
  #done = false;

  constructor(stream: QuicStreamAdapter, library: QUICStream, coalesce: boolean) {
    this.#stream = stream;
    this.#coalesce = coalesce;
    this.#writer = library.writable.getWriter();
    // the library's writer promises may reject after we stopped caring (connection teardown)
    this.#writer.closed.catch(noop);
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        write: (chunk) => this.#write(chunk),
        close: () => this.#close(),
        abort: (reason) => this.#abort(reason),
      },
      // not ByteLengthQueuingStrategy: its size() would throw a RangeError on a non-byte chunk
      // before `write` could reject it with a typed error
      { highWaterMark: WRITE_HIGH_WATER_MARK, size: (chunk) => (chunk instanceof Uint8Array ? chunk.byteLength : 0) },
    );
  }

  get done(): boolean {
    return this.#done;
  }

  #write(chunk: Uint8Array): Promise<void> | void {
    if (!(chunk instanceof Uint8Array)) {
      // the writable is errored by the throw; reset our sending half so the stream still ends
      const error = new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'only Uint8Array chunks can be written to a stream');
      this.#reset(error);
      throw error;
    }
    if (chunk.byteLength === 0) return;
    if (!this.#coalesce) return this.#libraryWrite(chunk);
    if (chunk.byteLength >= BATCH_BYTES) {
      // big enough on its own: flush what is batched, then hand the chunk over as it is
      this.#flushBatch();
      return this.#enqueue(() => this.#libraryWrite(chunk));
    }
    if (this.#batch !== undefined && this.#batchBytes + chunk.byteLength > this.#batch.byteLength) this.#flushBatch();
    if (this.#batch === undefined) {
      this.#batch = Buffer.allocUnsafe(BATCH_BYTES);
      this.#batchBytes = 0;
    }
    this.#batch.set(chunk, this.#batchBytes);
    this.#batchBytes += chunk.byteLength;
    if (this.#batchBytes >= BATCH_BYTES) {
      this.#flushBatch();
      return this.#chain;
    }
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = undefined;
      this.#flushBatch();
      this.#chain.catch(noop);
    });
  }

  /** Hands the current batch to the library (in order, after earlier batches). */
  #flushBatch(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#batch === undefined || this.#batchBytes === 0) return;
    const data = this.#batch.subarray(0, this.#batchBytes);
    this.#batch = undefined;
    this.#batchBytes = 0;
    void this.#enqueue(() => this.#libraryWrite(data)).catch(noop);
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step);
    return this.#chain;
  }

  async #libraryWrite(data: Uint8Array): Promise<void> {
    try {
      await this.#writer.write(data);
    } catch (reason) {
      const error = this.#stream.errorFor(reason);
      this.fail(error);
      throw error;
    }
  }

  /** Everything written so far is in the library (or the half failed). */
  async flush(): Promise<void> {
    this.#flushBatch();
    await this.#chain.catch(noop);
  }

  async #close(): Promise<void> {
    this.#flushBatch();
    await this.#chain;
    try {
      await this.#writer.close();
    } catch (reason) {
      const error = this.#stream.errorFor(reason);
      this.fail(error);
      throw error;
    }
    if (!this.#done) {
      this.#done = true;
      this.#stream.halfDone(undefined);
    }
  }

  #abort(reason: unknown): void {
    this.#reset(new TransportError('ERR_TRANSPORT_ABORTED', 'the writable was aborted locally', { cause: reason }));
  }

  /** Resets our sending half (RESET_STREAM with code 0). */
  #reset(error: TransportError): void {
    if (this.#done) return;
    this.#discard();
    this.#done = true;
    this.#writer.abort(new StreamAbortReason(0, error)).catch(noop);
    this.#stream.halfDone(error);
  }

  #discard(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#batch = undefined;
    this.#batchBytes = 0;
  }

  /** Fails the half (peer STOP_SENDING, connection end, local stream abort). */
  fail(error: TransportError): void {
    if (this.#done) return;
    this.#done = true;
    this.#discard();
    this.#controller.error(error);
    this.#stream.halfDone(error);
  }
}

/** One QUIC stream. */
export class QuicStreamAdapter {
  readonly id: number;
  readonly kind: StreamKind;
  readonly initiator: Initiator;
  readonly channel: Channel | undefined;
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  readonly closed: Promise<StreamCloseInfo>;
  readonly #library: QUICStream;
  readonly #host: StreamHost;
  readonly #send: SendHalf | undefined;
  readonly #recv: InboundQueue | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #resume: (() => void) | undefined;
  #halves: number;
  #error: TransportError | undefined;
  #finished = false;
  #resolveClosed!: (info: StreamCloseInfo) => void;

  constructor(library: QUICStream, host: StreamHost, channel: Channel | undefined) {
    this.#library = library;
    this.#host = host;
    this.id = library.streamId;
    this.kind = library.type;
    this.initiator = library.initiated === 'local' ? 'local' : 'remote';
    this.channel = channel;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const canSend = this.kind === 'bidi' || this.initiator === 'local';
    const canReceive = this.kind === 'bidi' || this.initiator === 'remote';
    this.#halves = (canSend ? 1 : 0) + (canReceive ? 1 : 0);
    this.#send = canSend ? new SendHalf(this, library, host.coalesceWrites) : undefined;
    this.#recv = canReceive
      ? new InboundQueue({
          highWaterMark: host.inboundHighWaterMark,
          onConsumed: () => {
            if (!this.#recv!.full) this.#wake();
          },
          onCancel: (reason) => {
            const error = new TransportError('ERR_TRANSPORT_ABORTED', 'the readable was cancelled locally', { cause: reason });
            this.#reader?.cancel(new StreamAbortReason(0, error)).catch(noop);
            this.#wake();
          },
          onSettled: (error) => this.halfDone(error),
        })
      : undefined;
    this.readable = this.#recv?.readable ?? null;
    this.writable = this.#send?.writable ?? null;
    if (this.#send !== undefined) {
      // a peer's STOP_SENDING (or a connection teardown) ends the send half even with no write pending
      library.addEventListener(
        quicEvents.EventQUICStreamCloseWrite.name,
        (evt: Event) => {
          const detail = (evt as quicEvents.EventQUICStreamCloseWrite).detail;
          if (detail !== undefined) this.#send?.fail(this.errorFor(detail));
        },
        { once: true },
      );
    }
    if (this.#recv !== undefined) void this.#pump();
  }

  /** The error a library failure of this stream means, given the connection's state. */
  errorFor(reason: unknown): TransportError {
    return this.#host.terminationError() ?? streamError(reason);
  }

  async #pump(): Promise<void> {
    const queue = this.#recv!;
    const reader = this.#library.readable.getReader();
    this.#reader = reader;
    try {
      for (;;) {
        if (queue.closed) return;
        if (queue.full) {
          await new Promise<void>((resolve) => {
            this.#resume = resolve;
          });
          continue;
        }
        const { done, value } = await reader.read();
        if (done) {
          queue.end();
          return;
        }
        queue.push(value);
      }
    } catch (reason) {
      const termination = this.#host.terminationError();
      const error = termination ?? streamError(reason);
      // a reset or a local abort discards what was not read yet; the peer ending the connection
      // keeps it readable (a Disconnect packet sent just before the close must still be read)
      const discard =
        termination !== undefined
          ? termination.code === 'ERR_TRANSPORT_CLOSED'
          : error.code === 'ERR_TRANSPORT_STREAM_RESET' || error.code === 'ERR_TRANSPORT_ABORTED';
      queue.fail(error, { discard });
    }
  }

  #wake(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  /** Called by a half when it is finished. */
  halfDone(error: TransportError | undefined): void {
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.#halves--;
    if (this.#halves <= 0) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#resolveClosed(this.#error === undefined ? {} : { error: this.#error });
    this.#host.streamClosed(this);
  }

  /** Hands coalesced writes to the library. */
  flush(): Promise<void> {
    return this.#send?.flush() ?? Promise.resolve();
  }

  abort(options: StreamAbortOptions = {}): void {
    const error = new TransportError('ERR_TRANSPORT_ABORTED', `stream ${this.id} was aborted locally`, { cause: options.reason });
    this.#send?.fail(error);
    this.#recv?.fail(error, { discard: true });
    this.#wake();
    try {
      this.#library.cancel(new StreamAbortReason(options.code ?? 0, error));
    } catch {
      // the library stream is already gone
    }
  }

  /**
   * The connection ended: writes fail at once; data already read ahead stays readable unless
   * `discard` (a local close), then reads fail with `error`.
   */
  terminate(error: TransportError, discard: boolean): void {
    this.#send?.fail(error);
    this.#recv?.fail(error, { discard });
    this.#wake();
    if (!this.#finished) {
      if (this.#error === undefined) this.#error = error;
      this.#finish();
    }
  }

  /** Cancels the library stream (both directions) with `error` as the reason. */
  cancelLibrary(error: TransportError): void {
    try {
      this.#library.cancel(error);
    } catch {
      // the library stream is already gone
    }
  }
}
