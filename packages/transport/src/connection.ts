import type { AbortOptions } from './abort.js';
import type { TransportError } from './errors.js';
import type { BidiStream, IncomingStream, OpenStreamOptions, SendStream } from './stream.js';

/** A transport address. For the memory transport `host` is any name (e.g. `'backend-a'`). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Who ended a connection: we did, the peer did, or the transport itself (timeout, failure). */
export type CloseInitiator = 'local' | 'remote' | 'transport';

/**
 * How a connection ended. `Connection.closed` resolves with it and never rejects.
 *
 * - Clean close (an application close by either side, with any code): no `error`.
 *   `{ initiator: 'local' | 'remote', code, reason }`; whether a non-zero `code` is bad news is the
 *   application's call (see {@link CloseCode}).
 * - Anything else (idle timeout, connection lost, TLS/ALPN failure, protocol error):
 *   `{ initiator, error }`, where `initiator` is `'remote'` when the peer actively failed the
 *   connection (reset, transport error close) and `'transport'` when it was detected locally.
 */
export interface CloseInfo {
  readonly initiator: CloseInitiator;
  /** The application close code, when there was one (not on TCP, which has none on the wire). */
  readonly code?: number;
  /** The application reason phrase, when there was one. */
  readonly reason?: string;
  /** Only when the close was not clean. */
  readonly error?: TransportError;
}

/** Options of `Connection.close`. */
export interface CloseOptions extends AbortOptions {
  /** Application close code; default `CloseCode.NO_ERROR` (0). */
  readonly code?: number;
  /** UTF-8 reason phrase (Hytale G2+ sends one); default empty. */
  readonly reason?: string;
}

/**
 * One connection to a peer, dialled or accepted.
 *
 * @example
 * ```ts
 * const stream = await connection.openStream({ kind: 'bidi', signal });
 * const writer = stream.writable.getWriter();
 * await writer.write(frame);
 * const info = await connection.closed; // never rejects
 * if (info.error) log.warn({ code: info.error.code }, 'connection failed');
 * ```
 */
export interface Connection {
  /** Unique within the process, for logs. */
  readonly id: string;
  /** `'outbound'` when we dialled (QUIC client), `'inbound'` when we accepted (QUIC server). */
  readonly direction: 'inbound' | 'outbound';
  /** The negotiated ALPN protocol; `undefined` on transports without ALPN (TCP). */
  readonly alpn: string | undefined;
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  /** The peer's certificate chain, DER, leaf first; empty when it presented none or there is no TLS. */
  readonly peerCertificates: readonly Uint8Array[];
  /**
   * SHA-256 of the peer's leaf certificate, base64url without padding: the form of Hytale's
   * `cnf.x5t#S256` claim ({@link certificateFingerprint}). `undefined` without a peer certificate.
   */
  readonly peerCertificateFingerprint: string | undefined;
  /**
   * Opens a stream towards the peer. Rejects with `ERR_TRANSPORT_STREAM_LIMIT` when the peer allows
   * no further stream of that kind (adapters reject rather than wait), `ERR_TRANSPORT_CLOSED` /
   * the close's error when the connection is closed, `ERR_TRANSPORT_ABORTED` on abort.
   */
  openStream(options: OpenStreamOptions<'uni'> & { readonly kind: 'uni' }): Promise<SendStream>;
  openStream(options?: OpenStreamOptions<'bidi'>): Promise<BidiStream>;
  /**
   * The next stream the peer opened, in the order they arrived (streams that arrive together are
   * ordered by id; over QUIC, streams are not ordered against each other, so a later stream may
   * arrive first and nothing is held back to reorder them). Rejects once the connection is
   * closed: with `ERR_TRANSPORT_CLOSED` after a local close, `ERR_TRANSPORT_PEER_CLOSED` after the
   * peer's, or the failure's error.
   */
  acceptStream(options?: AbortOptions): Promise<IncomingStream>;
  /**
   * Closes the connection with an application code and reason; every stream ends (pending calls
   * reject with `ERR_TRANSPORT_CLOSED`). Resolves once closed; idempotent. If `signal` aborts
   * first, the connection is torn down at once instead of gracefully (the promise still resolves).
   */
  close(options?: CloseOptions): Promise<void>;
  /** Resolves (never rejects) when the connection has ended, however it ended. */
  readonly closed: Promise<CloseInfo>;
}
