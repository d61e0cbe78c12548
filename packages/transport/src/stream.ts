import type { AbortOptions } from './abort.js';
import type { Channel } from './channel.js';
import type { TransportError } from './errors.js';

/** `bidi`: both sides read and write. `uni`: only the opener writes, only the other side reads. */
export type StreamKind = 'bidi' | 'uni';

/** Which side opened a stream (or closed a connection). */
export type Initiator = 'local' | 'remote';

/** How a stream ended. `closed` resolves with it and never rejects. */
export interface StreamCloseInfo {
  /** Absent when every existing half finished cleanly (write side closed, read side read to its end). */
  readonly error?: TransportError;
}

/** Options of {@link StreamBase.abort}. */
export interface StreamAbortOptions {
  /** Application error code sent to the peer (QUIC `RESET_STREAM`/`STOP_SENDING`); default 0. */
  readonly code?: number;
  /** Local description; becomes the `cause` of the local `ERR_TRANSPORT_ABORTED`. Never sent. */
  readonly reason?: unknown;
}

/** What every stream has, whatever its kind. */
export interface StreamBase {
  /**
   * Transport-assigned id, unique within the connection. Adapters that multiplex use QUIC numbering
   * (RFC 9000 §2.1: client bidi 0, 4, …; server bidi 1, 5, …; client uni 2, 6, …; server uni 3, 7, …).
   */
  readonly id: number;
  readonly kind: StreamKind;
  readonly initiator: Initiator;
  /**
   * The Hytale channel, where known: for a stream we opened, the `channel` given to `openStream`;
   * for a stream the peer opened, the adapter's inference by Hytale's convention ({@link inferChannel}).
   * `undefined` when unknown, or when the stream carries every channel (TCP).
   */
  readonly channel: Channel | undefined;
  /** Resolves (never rejects) once every half of the stream is finished, cleanly or not. */
  readonly closed: Promise<StreamCloseInfo>;
  /**
   * Abruptly ends both halves now: buffered data is discarded, the peer's reads and writes fail with
   * `ERR_TRANSPORT_STREAM_RESET` (`closeCode` = `options.code`), ours with `ERR_TRANSPORT_ABORTED`.
   * No-op when the stream is already closed. (On transports with one stream per connection, such as
   * TCP, this resets the whole connection; see the adapter's docs.)
   */
  abort(options?: StreamAbortOptions): void;
}

/**
 * A bidirectional stream. `writable.close()` half-closes (FIN): the peer's `readable` then ends,
 * while our `readable` keeps receiving. `writable.abort()` resets our sending half, `readable.cancel()`
 * asks the peer to stop sending (its writes then fail with `ERR_TRANSPORT_STREAM_RESET`).
 */
export interface BidiStream extends StreamBase {
  readonly kind: 'bidi';
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * A unidirectional stream we opened: write-only. The read half does not exist and is `null`
 * (typed so, never an empty stream), so `if (stream.readable)` narrows.
 */
export interface SendStream extends StreamBase {
  readonly kind: 'uni';
  readonly initiator: 'local';
  readonly readable: null;
  readonly writable: WritableStream<Uint8Array>;
}

/** A unidirectional stream the peer opened: read-only; `writable` is `null`. */
export interface ReceiveStream extends StreamBase {
  readonly kind: 'uni';
  readonly initiator: 'remote';
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: null;
}

/** Any stream. Discriminate with `kind` and `initiator`, or test `readable`/`writable` for `null`. */
export type Stream = BidiStream | SendStream | ReceiveStream;

/** What `acceptStream` yields: a stream the peer opened. */
export type IncomingStream = BidiStream | ReceiveStream;

/** Options of `Connection.openStream`. */
export interface OpenStreamOptions<K extends StreamKind = StreamKind> extends AbortOptions {
  /** Default `'bidi'`. */
  readonly kind?: K;
  /** The Hytale channel this stream will carry (a local label: nothing identifies it on the wire). */
  readonly channel?: Channel;
}
