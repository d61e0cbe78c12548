/**
 * Every failure a transport reports is a {@link TransportError} with one of these stable codes.
 * A clean close is never an error: `Connection.closed` resolves (never rejects) with a `CloseInfo`.
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** The error-code table of this package and its adapters (`docs/errors.md` is generated from it). */
export const transportErrorCodes = {
  ERR_TRANSPORT_CLOSED:
    'the listener, connection or stream was closed locally before or during this call; stop using it (this is how a local close surfaces in pending calls, not a failure)',
  ERR_TRANSPORT_PEER_CLOSED:
    'the peer closed the connection while this call was pending, with an application close code (`closeCode`, `reason`) where the transport carries one (not TCP); the connection is gone, inspect the code',
  ERR_TRANSPORT_IDLE_TIMEOUT:
    'nothing was heard from the peer for the idle timeout (the peer vanished, or the handshake never completed); the connection is gone, reconnect if needed',
  ERR_TRANSPORT_CONNECTION_LOST:
    'the connection was dropped abruptly (reset, network failure, peer crashed) rather than closed; data in flight may be lost, reconnect if needed',
  ERR_TRANSPORT_TLS:
    'the TLS handshake or certificate verification failed (no certificate, untrusted or invalid certificate); check both sides\' certificates',
  ERR_TRANSPORT_ALPN_MISMATCH:
    'the dialer and the listener share no ALPN protocol; offer a protocol the other side supports',
  ERR_TRANSPORT_STREAM_LIMIT:
    'the peer does not allow another stream of this kind now (its stream limit is reached, or the transport has no such streams); close a stream or use an existing one',
  ERR_TRANSPORT_STREAM_RESET:
    'the peer reset this stream (or asked us to stop sending) with an application code (`closeCode`); the stream is gone, the connection is not',
  ERR_TRANSPORT_ABORTED:
    'the call was aborted through its AbortSignal (or the stream was aborted locally); the reason is in `cause`',
  ERR_TRANSPORT_CONNECT_REFUSED:
    'nothing accepted the connection at that address (connection refused); check the address and that the peer is listening',
  ERR_TRANSPORT_CONNECT_FAILED:
    'the connection could not be set up (unreachable host, DNS failure, …); see `cause`',
  ERR_TRANSPORT_LISTEN_FAILED:
    'the listener could not be opened (address in use, permission denied, …); choose another address or free it',
  ERR_TRANSPORT_PROTOCOL:
    'the peer violated the transport protocol or closed with a transport-level error code; the connection is gone',
  ERR_TRANSPORT_INVALID_ARGUMENT:
    'an option passed to the transport is invalid (bad address, negative timeout, …); fix the call',
  ERR_TRANSPORT_FAILED:
    'the underlying transport failed in a way no other code describes; see `cause` and report it if it recurs',
} as const;

/** A stable {@link TransportError} code. */
export type TransportErrorCode = keyof typeof transportErrorCodes;

/** Options of the {@link TransportError} constructor. */
export interface TransportErrorOptions {
  /** The underlying error, when there is one. */
  readonly cause?: unknown;
  /**
   * The application code the peer sent: the connection close code for `ERR_TRANSPORT_PEER_CLOSED`,
   * the stream error code for `ERR_TRANSPORT_STREAM_RESET`.
   */
  readonly closeCode?: number;
  /** The reason phrase the peer sent with its close code, if any (may be empty). */
  readonly reason?: string;
}

/**
 * The one error class of `@handoff/transport` and its adapters. Check `code` (with
 * {@link isTransportError}), never the message.
 */
export class TransportError extends HandoffError<TransportErrorCode> {
  override readonly name = 'TransportError';
  readonly closeCode: number | undefined;
  readonly reason: string | undefined;

  constructor(code: TransportErrorCode, message?: string, options: TransportErrorOptions = {}) {
    super('transport', code, message ?? transportErrorCodes[code], options.cause === undefined ? {} : { cause: options.cause });
    this.closeCode = options.closeCode;
    this.reason = options.reason;
  }
}

/**
 * `true` when `value` is a {@link TransportError} (optionally with the given code), whichever
 * installed copy of this package made it: it reads the error brand of `@handoff/types`, so an
 * adapter built against another copy of `@handoff/transport` is still recognised.
 */
export function isTransportError(value: unknown, code?: TransportErrorCode): value is TransportError {
  return isHandoffError(value, 'transport', code);
}

/** Node `code`s of system errors, mapped to ours. */
const NODE_CODES: Readonly<Record<string, TransportErrorCode>> = {
  ECONNREFUSED: 'ERR_TRANSPORT_CONNECT_REFUSED',
  ECONNRESET: 'ERR_TRANSPORT_CONNECTION_LOST',
  EPIPE: 'ERR_TRANSPORT_CONNECTION_LOST',
  ECONNABORTED: 'ERR_TRANSPORT_CONNECTION_LOST',
  ERR_STREAM_PREMATURE_CLOSE: 'ERR_TRANSPORT_CONNECTION_LOST',
  ETIMEDOUT: 'ERR_TRANSPORT_IDLE_TIMEOUT',
  EHOSTUNREACH: 'ERR_TRANSPORT_CONNECT_FAILED',
  ENETUNREACH: 'ERR_TRANSPORT_CONNECT_FAILED',
  EHOSTDOWN: 'ERR_TRANSPORT_CONNECT_FAILED',
  ENOTFOUND: 'ERR_TRANSPORT_CONNECT_FAILED',
  EAI_AGAIN: 'ERR_TRANSPORT_CONNECT_FAILED',
  EADDRINUSE: 'ERR_TRANSPORT_LISTEN_FAILED',
  EADDRNOTAVAIL: 'ERR_TRANSPORT_LISTEN_FAILED',
  EACCES: 'ERR_TRANSPORT_LISTEN_FAILED',
  ERR_SOCKET_BAD_PORT: 'ERR_TRANSPORT_INVALID_ARGUMENT',
  ERR_INVALID_ARG_TYPE: 'ERR_TRANSPORT_INVALID_ARGUMENT',
  ERR_INVALID_ARG_VALUE: 'ERR_TRANSPORT_INVALID_ARGUMENT',
};

function isAbortLike(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'name' in value &&
    (value.name === 'AbortError' || value.name === 'TimeoutError')
  );
}

/**
 * Normalises anything thrown by an underlying library into a {@link TransportError}:
 * a `TransportError` is returned as is; an `AbortError`/`TimeoutError` becomes `ERR_TRANSPORT_ABORTED`;
 * a Node system error is mapped by its `code` (`ECONNREFUSED` → `ERR_TRANSPORT_CONNECT_REFUSED`,
 * `ECONNRESET`/`EPIPE` → `ERR_TRANSPORT_CONNECTION_LOST`, `EADDRINUSE` → `ERR_TRANSPORT_LISTEN_FAILED`, …);
 * anything else gets `fallback`. The original error is kept as `cause`.
 */
export function toTransportError(error: unknown, fallback: TransportErrorCode = 'ERR_TRANSPORT_FAILED'): TransportError {
  if (isTransportError(error)) return error;
  if (isAbortLike(error)) return new TransportError('ERR_TRANSPORT_ABORTED', undefined, { cause: error });
  const nodeCode =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? NODE_CODES[error.code]
      : undefined;
  const code = nodeCode ?? fallback;
  const detail = error instanceof Error ? error.message : undefined;
  return new TransportError(code, detail ? `${transportErrorCodes[code]} (${detail})` : undefined, { cause: error });
}

/** The `ERR_TRANSPORT_ABORTED` error for an aborted signal, with the signal's reason as `cause`. */
export function abortError(signal?: AbortSignal): TransportError {
  return new TransportError('ERR_TRANSPORT_ABORTED', undefined, { cause: signal?.reason });
}
