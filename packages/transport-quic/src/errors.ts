/**
 * Errors of `@handoff/transport-quic`.
 *
 * The transport itself (listen, dial, connections, streams) throws the contract's
 * `TransportError` (`ERR_TRANSPORT_*`, see `@handoff/transport`). This package adds one class for
 * its certificate helpers, with the codes below. Messages never contain keys or tokens.
 */
export const errorCodes = {
  ERR_QUIC_BAD_CERTIFICATE:
    'a certificate, private key or CA file could not be read or parsed: check the path and that it holds PEM',
} as const;

export type QuicErrorCode = keyof typeof errorCodes;

/** Typed error of the certificate helpers, with a stable `code`. */
export class QuicTransportError extends Error {
  override readonly name = 'QuicTransportError';
  readonly code: QuicErrorCode;

  constructor(code: QuicErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
