import { TransportError } from './errors.js';

/** Construction options of {@link InboundQueue}. */
export interface InboundQueueInit {
  /** Bytes queued at which {@link InboundQueue.full} turns true: pause the source then (backpressure). */
  readonly highWaterMark: number;
  /** Called each time the consumer takes a chunk off the queue, with its length (resume the source, send credit). */
  readonly onConsumed?: (bytes: number) => void;
  /** Called once when the consumer cancels the readable (`readable.cancel()`, an aborted `pipeTo`). */
  readonly onCancel?: (reason: unknown) => void;
  /** Called once when the readable is finished: read to its end (no error), errored or cancelled. */
  readonly onSettled?: (error: TransportError | undefined) => void;
}

/**
 * The receiving half every adapter needs: a bounded byte queue behind a pull-based
 * `ReadableStream<Uint8Array>` (highWaterMark 0, so nothing is pulled ahead of the consumer and
 * everything waiting is counted here). The source pushes chunks and pauses while {@link full};
 * `onConsumed` tells it when to resume. `end()` and `fail()` take effect after the chunks already
 * queued have been read, unless `fail(error, { discard: true })` (a reset).
 */
export class InboundQueue {
  readonly readable: ReadableStream<Uint8Array>;
  readonly #init: InboundQueueInit;
  readonly #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: TransportError | undefined;
  #settled = false;
  #wake: (() => void) | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;

  constructor(init: InboundQueueInit) {
    this.#init = init;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: (controller) => this.#pull(controller),
        cancel: (reason) => {
          this.#clear();
          this.#wake = undefined;
          if (this.#settled) return;
          this.#settle(new TransportError('ERR_TRANSPORT_ABORTED', 'the readable was cancelled locally', { cause: reason }));
          this.#init.onCancel?.(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Bytes waiting to be read. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `true` once `bytes` reached the high-water mark. */
  get full(): boolean {
    return this.#bytes >= this.#init.highWaterMark;
  }

  /** `true` once the readable is finished (read to its end, errored or cancelled). */
  get settled(): boolean {
    return this.#settled;
  }

  /** `true` once no more chunks will be accepted (ended, failed or settled). */
  get closed(): boolean {
    return this.#ended || this.#error !== undefined || this.#settled;
  }

  /** Appends a chunk (ignored once ended, failed or cancelled). The queue keeps the reference. */
  push(chunk: Uint8Array): void {
    if (this.closed || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    this.#wakeUp();
  }

  /** The source ended cleanly: the readable closes once the queued chunks are read. */
  end(): void {
    if (this.closed) return;
    this.#ended = true;
    this.#wakeUp();
  }

  /**
   * The source failed: the readable errors with `error`, after the queued chunks are read, or at
   * once with `discard: true` (the queued chunks are dropped).
   */
  fail(error: TransportError, options: { readonly discard?: boolean } = {}): void {
    if (this.#settled) return;
    if (this.#ended && options.discard !== true) return; // the source already ended cleanly
    if (this.#error === undefined) this.#error = error;
    if (options.discard === true) this.#clear();
    if (this.#bytes === 0 && this.#wake === undefined) {
      // nobody is waiting in a read: error the stream now so `closed` and pipes settle promptly
      this.#settle(this.#error);
      this.#controller.error(this.#error);
      return;
    }
    this.#wakeUp();
  }

  #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (this.#settled) return;
    if (this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      this.#chunks[this.#head] = undefined as unknown as Uint8Array;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
        this.#chunks.splice(0, this.#head);
        this.#head = 0;
      }
      this.#bytes -= chunk.byteLength;
      controller.enqueue(chunk);
      this.#init.onConsumed?.(chunk.byteLength);
      return;
    }
    if (this.#error !== undefined) {
      this.#settle(this.#error);
      controller.error(this.#error);
      return;
    }
    if (this.#ended) {
      this.#settle(undefined);
      controller.close();
      return;
    }
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    }).then(() => this.#pull(controller));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #clear(): void {
    this.#chunks.length = 0;
    this.#head = 0;
    this.#bytes = 0;
  }

  #settle(error: TransportError | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#init.onSettled?.(error);
  }
}
