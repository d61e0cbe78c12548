/**
 * Error codes of `@handoff/tickets`. Every error this package throws is a {@link TicketError} carrying
 * one of these stable `code`s; `cause` is set where there is one. Messages and causes never contain
 * the token, the nonce, the state bytes or any key material.
 */
import { HandoffError, isHandoffError, isTypesError } from '@handoff/types';

/** The error-code table of this package (`docs/errors.md` is generated from it). */
export const ticketErrorCodes = {
  ERR_TICKET_MALFORMED:
    'the ticket is not a well-formed handoff migration ticket (segments, base64url, JSON, header or claims): refuse it and fall back to referral',
  ERR_TICKET_TOO_LARGE:
    'the ticket exceeds 4096 bytes (Connect.referralData limit), or issuing would exceed it: refuse it, or issue with state by reference',
  ERR_TICKET_ALG:
    'the ticket algorithm is "none", unsupported, or not the one configured for its kid: refuse it (possible algorithm-confusion attempt)',
  ERR_TICKET_KEY_UNKNOWN:
    'no key with this kid is in the key ring, it is outside its validity window, or it is not allowed for the ticket pool: refuse it; check key rotation',
  ERR_TICKET_SIGNATURE:
    'the ticket signature does not verify: the ticket was tampered with or signed by another key; refuse it',
  ERR_TICKET_EXPIRED:
    'the ticket exp is more than the clock tolerance in the past: refuse it; the source backend must issue a new ticket',
  ERR_TICKET_NOT_YET_VALID:
    'the ticket iat is more than the clock tolerance in the future: refuse it; check clock synchronisation',
  ERR_TICKET_TTL:
    'the ticket lifetime (exp - iat) is longer than the verifier maximum: refuse it; lower the issuer ttl',
  ERR_TICKET_CLIENT_MISMATCH:
    'the ticket sub is not the connecting client UUID: refuse it',
  ERR_TICKET_SOURCE_MISMATCH:
    'the ticket iss is not the expected source backend: refuse it',
  ERR_TICKET_TARGET_MISMATCH:
    'the ticket aud is not this target backend: refuse it',
  ERR_TICKET_REPLAYED:
    'the ticket nonce was already used: refuse it (single use)',
  ERR_TICKET_REPLAY_STORE_UNAVAILABLE:
    'the replay store could not record the nonce (down, timed out, aborted or full): refused, fail closed; fall back to referral',
  ERR_TICKET_NO_SIGNING_KEY:
    'the key ring holds no signing key that is active now (and for the whole ticket lifetime) for this pool: add or activate a key',
  ERR_TICKET_STATE_MISMATCH:
    'the state bytes fetched for a by-reference state claim do not match its length or SHA-256: refuse the state',
  ERR_TICKET_STATE_UNAVAILABLE:
    'the state store could not store or return the state bytes (missing, expired, down or timed out): retry or migrate without state',
  ERR_TICKET_INVALID_ARGUMENT:
    'an argument or option is invalid (id syntax, key type, secret shorter than 32 bytes, ttl): fix the call',
} as const;

/** A stable error code of this package. */
export type TicketErrorCode = keyof typeof ticketErrorCodes;

/** Options of a {@link TicketError}. */
export interface TicketErrorOptions {
  /** The underlying error (sanitised: never a client library error carrying command arguments). */
  readonly cause?: unknown;
  /** A short machine-readable detail, e.g. `'timeout'`, `'full'`, `'outside-window'`. Never secret. */
  readonly reason?: string;
}

/**
 * The typed error of `@handoff/tickets`. Its message, fields and `cause` never contain the token or
 * secrets. Check it with {@link isTicketError}, which also recognises errors of another installed
 * copy of this package.
 */
export class TicketError extends HandoffError<TicketErrorCode> {
  override readonly name = 'TicketError';
  readonly reason: string | undefined;

  constructor(code: TicketErrorCode, message: string = ticketErrorCodes[code], options: TicketErrorOptions = {}) {
    super('tickets', code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.reason = options.reason;
  }
}

/**
 * True when `value` is a {@link TicketError} (of `code` when given), whichever installed copy of this
 * package made it (the check reads the error brand of `@handoff/types`, not the class).
 */
export function isTicketError(value: unknown, code?: TicketErrorCode): value is TicketError {
  return isHandoffError(value, 'tickets', code);
}

/**
 * `ERR_TICKET_INVALID_ARGUMENT` for a value the API validates: runs `parse` (a parser of
 * `@handoff/types`) and turns its `TypesError` into a `TicketError` that keeps it as `cause`.
 */
export function parseArgument<T>(parse: (value: unknown) => T, value: unknown, reason: string, message: string): T {
  try {
    return parse(value);
  } catch (error) {
    if (!isTypesError(error)) throw error;
    throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', message, { reason, cause: error });
  }
}

/**
 * A cause that is safe to attach: keeps the name, the message and a string `code` of `error` (jose's
 * `ERR_JWS_…`, a Node system code) but drops every other field and any nested cause (client
 * libraries attach the failed command and its arguments, which would carry the nonce).
 */
export function sanitizeCause(error: unknown): Error {
  if (error instanceof Error) {
    const clean = new Error(error.message);
    clean.name = error.name;
    const { code } = error as { code?: unknown };
    if (typeof code === 'string') Object.defineProperty(clean, 'code', { value: code, enumerable: true });
    return clean;
  }
  return new Error(String(error));
}
