import type { Channel } from '../channel.js';
import { deferred } from '../deferred.js';
import { TransportError } from '../errors.js';
import { InboundQueue } from '../inbound-queue.js';
import type { Initiator, StreamAbortOptions, StreamCloseInfo, StreamKind } from '../stream.js';
import type { WireEvent } from './wire.js';

/** What a memory stream needs from its connection. */
export interface StreamHost {
  send(event: WireEvent): void;
  streamClosed(stream: MemoryStream): void;
}

export interface MemoryStreamInit {
  readonly id: number;
  readonly kind: StreamKind;
  readonly initiator: Initiator;
  readonly channel: Channel | undefined;
  /** Flow-control window: bytes the sender may have unconsumed by the receiver. */
  readonly window: number;
  /** highWaterMark (bytes) of the writable's queue. */
  readonly writeHighWaterMark: number;
  readonly host: StreamHost;
}

/** The sending half: a flow-controlled WritableStream. */
class SendHalf {
  readonly writable: WritableStream<Uint8Array>;
  #controller!: WritableStreamDefaultController;
  #sent = 0;
  #peerConsumed = 0;
  #pending: { chunk: Uint8Array; resolve: () => void; reject: (error: unknown) => void } | undefined;
  #done = false;
  readonly #stream: MemoryStream;
  readonly #window: number;

  constructor(stream: MemoryStream, window: number, highWaterMark: number) {
    this.#stream = stream;
    this.#window = window;
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          // `writable.abort()` must not wait for a write that is blocked on flow control
          // (Node ≥ 18 implements `controller.signal`; @types/node 20 does not declare it)
          const signal = (controller as WritableStreamDefaultController & { readonly signal?: AbortSignal }).signal;
          signal?.addEventListener(
            'abort',
            () => {
              const pending = this.#pending;
              this.#pending = undefined;
              pending?.reject(new TransportError('ERR_TRANSPORT_ABORTED', 'the writable was aborted locally', { cause: signal.reason }));
            },
            { once: true },
          );
        },
        write: (chunk) => this.#write(chunk),
        close: () => {
          if (this.#done) return;
          this.#done = true;
          this.#stream.host.send({ t: 'fin', id: this.#stream.id });
          this.#stream.halfDone(undefined);
        },
        abort: (reason) => {
          if (this.#done) return;
          this.#done = true;
          this.#stream.host.send({ t: 'reset', id: this.#stream.id, code: 0 });
          this.#stream.halfDone(new TransportError('ERR_TRANSPORT_ABORTED', 'the writable was aborted locally', { cause: reason }));
        },
      },
      // like ByteLengthQueuingStrategy, but a bad chunk reaches `write` (and fails there, typed) instead of a RangeError here
      { highWaterMark, size: (chunk) => (chunk as { byteLength?: number } | undefined)?.byteLength ?? 0 },
    );
  }

  get done(): boolean {
    return this.#done;
  }

  #write(chunk: Uint8Array): Promise<void> | void {
    if (!(chunk instanceof Uint8Array)) {
      const error = new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'only Uint8Array chunks can be written to a stream');
      // the stream is unusable now: reset it so the peer is not left waiting
      this.#stream.host.send({ t: 'reset', id: this.#stream.id, code: 0 });
      this.fail(error);
      throw error;
    }
    if (chunk.byteLength === 0) return;
    const copy = chunk.slice();
    if (this.#sent - this.#peerConsumed < this.#window) {
      this.#transmit(copy);
      return;
    }
    return new Promise<void>((resolve, reject) => {
      this.#pending = { chunk: copy, resolve, reject };
    });
  }

  #transmit(chunk: Uint8Array): void {
    this.#sent += chunk.byteLength;
    this.#stream.host.send({ t: 'data', id: this.#stream.id, chunk });
  }

  credit(consumed: number): void {
    if (consumed > this.#peerConsumed) this.#peerConsumed = consumed;
    const pending = this.#pending;
    if (pending !== undefined && this.#sent - this.#peerConsumed < this.#window) {
      this.#pending = undefined;
      this.#transmit(pending.chunk);
      pending.resolve();
    }
  }

  /** Local abort (no wire event here) or a failure from the peer or the connection. */
  fail(error: TransportError): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#controller.error(error);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
    this.#stream.halfDone(error);
    return true;
  }
}

/** One end of a memory stream. */
export class MemoryStream {
  readonly id: number;
  readonly kind: StreamKind;
  readonly initiator: Initiator;
  readonly channel: Channel | undefined;
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  readonly closed: Promise<StreamCloseInfo>;
  readonly host: StreamHost;
  readonly #send: SendHalf | undefined;
  readonly #recv: InboundQueue | undefined;
  readonly #window: number;
  #halves: number;
  #error: TransportError | undefined;
  #consumed = 0;
  #credited = 0;
  readonly #resolveClosed: (info: StreamCloseInfo) => void;

  constructor(init: MemoryStreamInit) {
    this.id = init.id;
    this.kind = init.kind;
    this.initiator = init.initiator;
    this.channel = init.channel;
    this.host = init.host;
    this.#window = init.window;
    const closed = deferred<StreamCloseInfo>();
    this.closed = closed.promise;
    this.#resolveClosed = closed.resolve;
    const canSend = init.kind === 'bidi' || init.initiator === 'local';
    const canReceive = init.kind === 'bidi' || init.initiator === 'remote';
    this.#halves = (canSend ? 1 : 0) + (canReceive ? 1 : 0);
    this.#send = canSend ? new SendHalf(this, init.window, init.writeHighWaterMark) : undefined;
    this.#recv = canReceive
      ? new InboundQueue({
          highWaterMark: init.window,
          onConsumed: (bytes) => this.#onConsumed(bytes),
          onCancel: () => this.host.send({ t: 'stop', id: this.id, code: 0 }),
          onSettled: (error) => this.halfDone(error),
        })
      : undefined;
    this.readable = this.#recv?.readable ?? null;
    this.writable = this.#send?.writable ?? null;
  }

  /** Called by a half when it is finished. */
  halfDone(error: TransportError | undefined): void {
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.#halves--;
    if (this.#halves === 0) this.#finish();
  }

  #finished = false;

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#resolveClosed(this.#error === undefined ? {} : { error: this.#error });
    this.host.streamClosed(this);
  }

  #onConsumed(bytes: number): void {
    this.#consumed += bytes;
    // return credit in batches: a quarter window, or whenever the queue runs empty
    if (this.#consumed - this.#credited >= this.#window / 4 || this.#recv?.bytes === 0) {
      this.#credited = this.#consumed;
      this.host.send({ t: 'credit', id: this.id, consumed: this.#consumed });
    }
  }

  /** An event for this stream from the peer. */
  receive(event: WireEvent): void {
    switch (event.t) {
      case 'data':
        this.#recv?.push(event.chunk);
        return;
      case 'fin':
        this.#recv?.end();
        return;
      case 'reset':
        this.#recv?.fail(
          new TransportError('ERR_TRANSPORT_STREAM_RESET', `the peer reset stream ${this.id} (code ${event.code})`, {
            closeCode: event.code,
          }),
          { discard: true },
        );
        return;
      case 'stop':
        this.#send?.fail(
          new TransportError('ERR_TRANSPORT_STREAM_RESET', `the peer stopped reading stream ${this.id} (code ${event.code})`, {
            closeCode: event.code,
          }),
        );
        return;
      case 'credit':
        this.#send?.credit(event.consumed);
        return;
      default:
        return;
    }
  }

  abort(options: StreamAbortOptions = {}): void {
    const code = options.code ?? 0;
    const error = new TransportError('ERR_TRANSPORT_ABORTED', `stream ${this.id} was aborted locally`, { cause: options.reason });
    if (this.#send !== undefined && !this.#send.done) {
      this.host.send({ t: 'reset', id: this.id, code });
      this.#send.fail(error);
    }
    if (this.#recv !== undefined && !this.#recv.settled) {
      if (!this.#recv.closed) this.host.send({ t: 'stop', id: this.id, code });
      this.#recv.fail(error, { discard: true });
    }
  }

  /**
   * The connection ended: writes fail at once; data already received stays readable unless
   * `discard` (a local close), then reads fail with `error`.
   */
  terminate(error: TransportError, discard: boolean): void {
    const recvCut = this.#recv !== undefined && (!this.#recv.closed || discard) && !this.#recv.settled;
    const sendCut = this.#send?.fail(error) ?? false;
    this.#recv?.fail(error, { discard });
    // the stream is over even if buffered data is still waiting to be read
    if (!this.#finished) {
      if (this.#error === undefined && (recvCut || sendCut)) this.#error = error;
      this.#finish();
    }
  }
}
