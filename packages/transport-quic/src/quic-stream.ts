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
  /** The connection's read-ahead over all streams has reached its budget: pause reading. */
  readonly inboundOverBudget: boolean;
  inboundQueued(bytes: number): void;
  inboundConsumed(bytes: number): void;
  /** Calls `resume` once the connection is back under its inbound budget. */
  waitForInboundBudget(resume: () => void): void;
  /** Outbound accounting: bytes written (positive) or taken by quiche or dropped (negative). */
  outbound(bytes: number, progress: boolean): void;
  /**
   * Resolves when a FIN written now cannot be lost for good (see `loneFinSettled` in
   * quic-connection.ts), or after a bounded wait.
   */
  loneFinSettled(streamId: number, handedOverAt: number): Promise<void>;
  /** Sends what the library has now (not at the end of the turn). */
  sendNow(): void;
  /** Sends once the current microtasks are done (several streams' batches, one send). */
  sendSoon(): void;
  /** How many times the library has sent so far (see `FencedConnection.sends`). */
  readonly sends: number;
  streamClosed(stream: QuicStreamAdapter): void;
}

/** Largest batch handed to the library in one write when coalescing. */
const BATCH_BYTES = 64 * 1024;
/** First size of a batch buffer: below half of Node's 8 KiB pool, so it comes from the pool. */
const SMALL_BATCH_BYTES = 4 * 1024 - 8;
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
  /** Bytes written that quiche has not taken yet (reported to the connection). */
  #pending = 0;
  /** Bytes of batches handed to the library and not taken yet (waiting for flow control). */
  #inflight = 0;
  /** When data last went to the library (`performance.now()`), if ever. */
  #handedOverAt: number | undefined;
  /**
   * The library's send count when the last write to it started: while unchanged, that data is
   * still in quiche unsent (the library sends once per turn), and a FIN written now goes out in
   * the same STREAM frame as the data.
   */
  #handedOverAtSend = -1;

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
      { highWaterMark: WRITE_HIGH_WATER_MARK, size: (chunk) => this.#queued(chunk) },
    );
  }

  get done(): boolean {
    return this.#done;
  }

  /** The writable's size function: counts what is written towards the connection's outbound budget. */
  #queued(chunk: Uint8Array): number {
    if (!(chunk instanceof Uint8Array)) return 0;
    if (!this.#done && chunk.byteLength > 0) {
      this.#pending += chunk.byteLength;
      this.#stream.outbound(chunk.byteLength, false);
    }
    return chunk.byteLength;
  }

  /** quiche took `bytes` (or they are dropped): no longer waiting. */
  #taken(bytes: number, progress: boolean): void {
    const n = Math.min(bytes, this.#pending);
    if (n <= 0) return;
    this.#pending -= n;
    this.#stream.outbound(-n, progress);
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
    if (this.#batchBytes + chunk.byteLength > BATCH_BYTES) this.#flushBatch();
    const needed = this.#batchBytes + chunk.byteLength;
    if (this.#batch === undefined || needed > this.#batch.byteLength) {
      // grow by doubling from a size Node's buffer pool serves (no 64 KiB allocation per write,
      // which made the garbage collector run every few milliseconds on a chatty stream)
      let size = this.#batch?.byteLength ?? SMALL_BATCH_BYTES;
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(Math.min(size, BATCH_BYTES));
      if (this.#batch !== undefined) this.#batch.copy(grown, 0, 0, this.#batchBytes);
      this.#batch = grown;
    }
    this.#batch.set(chunk, this.#batchBytes);
    this.#batchBytes += chunk.byteLength;
    if (this.#batchBytes >= BATCH_BYTES) {
      this.#flushBatch();
      return this.#chain;
    }
    // backpressure: while a batch waits for quiche (flow control, congestion window), the
    // writable waits too instead of piling up batches
    if (this.#inflight >= BATCH_BYTES) return this.#chain;
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = undefined;
      this.#flushBatch();
      // the library would send at its own flush, in the next turn: send in this one
      this.#chain.then(() => this.#stream.sendSoon(), noop);
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
    this.#inflight += data.byteLength;
    void this.#enqueue(async () => {
      try {
        await this.#libraryWrite(data);
      } finally {
        this.#inflight -= data.byteLength;
      }
    }).catch(noop);
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step);
    return this.#chain;
  }

  async #libraryWrite(data: Uint8Array): Promise<void> {
    try {
      // the library's send count when this write started: if the library sends while the write
      // waits for room, the data may be on the wire before the write completes
      const sendsAtStart = this.#stream.sends;
      const writing = this.#writer.write(data);
      this.#markHandoff(sendsAtStart);
      await writing;
      this.#markHandoff(sendsAtStart);
      this.#taken(data.byteLength, true);
    } catch (reason) {
      const error = this.#stream.errorFor(reason);
      this.fail(error);
      throw error;
    }
  }

  #markHandoff(sendsAtStart: number): void {
    this.#handedOverAt = performance.now();
    this.#handedOverAtSend = sendsAtStart;
  }

  /** Everything written so far is in the library (or the half failed). */
  async flush(): Promise<void> {
    this.#flushBatch();
    await this.#chain.catch(noop);
  }

  async #close(): Promise<void> {
    this.#flushBatch();
    await this.#chain;
    // FIN fence (docs/transports.md): quiche 0.18 never retransmits a FIN sent in a STREAM frame of
    // its own once the data before it has been acknowledged. Data handed over since the library
    // last sent is still in quiche, unsent, so a FIN written now rides with it. Otherwise the FIN
    // waits until the data is acknowledged, then goes out at once.
    const lone = this.#handedOverAt !== undefined && this.#stream.sends !== this.#handedOverAtSend;
    if (lone) await this.#stream.loneFinSettled(this.#handedOverAt!);
    try {
      const closing = this.#writer.close();
      if (lone) this.#stream.sendNow();
      await closing;
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
    this.#taken(this.#pending, false);
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
  /** Bytes of `#recv` reported to the connection's inbound budget. */
  #counted = 0;
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
            this.#syncInbound();
            if (!this.#recv!.full) this.#wake();
          },
          onCancel: (reason) => {
            const error = new TransportError('ERR_TRANSPORT_ABORTED', 'the readable was cancelled locally', { cause: reason });
            this.#reader?.cancel(new StreamAbortReason(0, error)).catch(noop);
            this.#wake();
          },
          onSettled: (error) => {
            this.#syncInbound();
            this.halfDone(error);
          },
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
        if (queue.full || this.#host.inboundOverBudget) {
          await new Promise<void>((resolve) => {
            this.#resume = resolve;
            if (!queue.full) this.#host.waitForInboundBudget(() => this.#wake());
          });
          continue;
        }
        const { done, value } = await reader.read();
        if (done) {
          queue.end();
          return;
        }
        queue.push(value);
        this.#syncInbound();
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
      this.#syncInbound();
    }
  }

  /** Reports what `#recv` holds now to the connection's inbound budget. */
  #syncInbound(): void {
    const now = this.#recv?.settled === false ? this.#recv.bytes : 0;
    const delta = now - this.#counted;
    if (delta === 0) return;
    this.#counted = now;
    if (delta > 0) this.#host.inboundQueued(delta);
    else this.#host.inboundConsumed(-delta);
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

  /** Waits until a FIN alone in its frame is safe to send (bounded; see `StreamHost.loneFinSettled`). */
  loneFinSettled(handedOverAt: number): Promise<void> {
    return this.#host.loneFinSettled(this.id, handedOverAt);
  }

  sendNow(): void {
    this.#host.sendNow();
  }

  sendSoon(): void {
    this.#host.sendSoon();
  }

  get sends(): number {
    return this.#host.sends;
  }

  outbound(bytes: number, progress: boolean): void {
    this.#host.outbound(bytes, progress);
  }

  /** Hands coalesced writes to the library. */
  flush(): Promise<void> {
    return this.#send?.flush() ?? Promise.resolve();
  }

  abort(options: StreamAbortOptions = {}): void {
    const error = new TransportError('ERR_TRANSPORT_ABORTED', `stream ${this.id} was aborted locally`, { cause: options.reason });
    this.#send?.fail(error);
    this.#recv?.fail(error, { discard: true });
    this.#syncInbound();
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
    this.#syncInbound();
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
