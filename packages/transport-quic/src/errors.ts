/**
 * Errors of `@handoff/transport-quic`.
 *
 * The transport itself (listen, dial, connections, streams) throws the contract's
 * `TransportError` (`ERR_TRANSPORT_*`, see `@handoff/transport`). This package adds one class for
 * its certificate helpers, with the codes below. Messages never contain keys or tokens.
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** The error-code table of this package's certificate helpers (`docs/errors.md` is generated from it). */
export const transportQuicErrorCodes = {
  ERR_TRANSPORT_QUIC_BAD_CERTIFICATE:
    'a certificate, private key or CA file could not be read or parsed: check the path and that it holds PEM',
} as const;

/** A stable {@link QuicTransportError} code. */
export type QuicErrorCode = keyof typeof transportQuicErrorCodes;

/** Typed error of the certificate helpers, with a stable `code`; check it with {@link isQuicTransportError}. */
export class QuicTransportError extends HandoffError<QuicErrorCode> {
  override readonly name = 'QuicTransportError';

  constructor(code: QuicErrorCode, message: string, options?: { cause?: unknown }) {
    super('transport-quic', code, message, options?.cause === undefined ? {} : { cause: options.cause });
  }
}

/**
 * True when `value` is a {@link QuicTransportError} (of `code` when given), whichever installed copy of
 * this package made it (it reads the error brand of `@handoff/types`, not the class).
 */
export function isQuicTransportError(value: unknown, code?: QuicErrorCode): value is QuicTransportError {
  return isHandoffError(value, 'transport-quic', code);
}
