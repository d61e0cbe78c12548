/**
 * Error codes of `@handoff/transport-quic`. Every error this package throws carries one of these
 * stable `code`s; `cause` is set where there is one. Messages never contain keys or tokens.
 */
export const errorCodes = {
  ERR_QUIC_BAD_CERTIFICATE:
    'a certificate, key or CA file could not be read or parsed: check the path and that it is PEM',
  ERR_QUIC_CONFIG:
    'the listener or dialer options are invalid (e.g. no ALPN, keep-alive not below the idle timeout, verified policy without a CA): fix the options',
} as const;

export type QuicErrorCode = keyof typeof errorCodes;

/** Typed error of the QUIC adapter with a stable `code`. */
export class QuicTransportError extends Error {
  override readonly name = 'QuicTransportError';
  readonly code: QuicErrorCode;

  constructor(code: QuicErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
