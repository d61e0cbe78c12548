/**
 * Error codes of `@handoff/session`. Every error this package throws or records is a
 * {@link SessionError} carrying one of these stable `code`s; `cause` is set where there is one.
 * Messages never contain a token, a grant, referral data or any other secret.
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** Every code `@handoff/session` throws or records, with what happened and what to do (`docs/errors.md` is generated from it). */
export const sessionErrorCodes = {
  ERR_SESSION_CONNECT_INVALID:
    'the client Connect could not be read (truncated, malformed, or a protocol hash/CRC of no known generation; the cause is the ProtocolError): nothing was captured; close the client (a server would)',
  ERR_SESSION_NOT_CONNECTED:
    'a packet the capture tap reads arrived before the client Connect: it was not captured and passed on (a server closes such a client); or the ping ledger was asked to read a Pong before it knew the generation: tap the Connect first, or give the ledger its generation',
  ERR_SESSION_DUPLICATE_CONNECT:
    'a second Connect arrived on a session that already has one: it was ignored (the first is kept); a server closes such a client',
  ERR_SESSION_DECODE:
    'a packet the capture tap reads could not be decoded (the cause is the ProtocolError, `packet` names it): nothing was captured from it and the frame passed on; the forwarding loop decides whether to close the peer',
  ERR_SESSION_LIMIT:
    'a bounded part of the session record is full (chunk columns, player-list entries, PlayerOptions bytes, asset hashes): the record is marked incomplete; raise the limit or fall back to referral for this player',
  ERR_SESSION_PING_LEDGER_OVERFLOW:
    'more Pings are awaiting their Pongs than the ledger holds: the oldest was forgotten, so its late Pongs will be unmatched (dropped); the client is not answering Pings',
  ERR_SESSION_PONG_UNMATCHED:
    'a Pong answers no Ping the ledger knows: it must reach no backend (a server disconnects on an unexpected Pong); drop it',
  ERR_SESSION_PONG_OUT_OF_ORDER:
    'a Pong skipped earlier Pings of its type: it was routed to the backend of its own Ping, which will likely disconnect the player (its Pong queue is out of step)',
  ERR_SESSION_CLAIM_CONFLICT:
    'the directory entry of this player is held by another live proxy or session: it was not taken; wait for it to be released or expire, or claim with `steal: true` on purpose',
  ERR_SESSION_NOT_OWNER:
    'this proxy/session no longer owns the directory entry (it expired, was released, or was stolen): stop acting for the player, or claim it again',
  ERR_SESSION_DIRECTORY_UNAVAILABLE:
    'the session directory could not be reached (Redis down, timed out, aborted or closed): the call may or may not have taken effect; retry (a repeated claim by the owner renews, a repeated update or release is harmless)',
  ERR_SESSION_DUPLICATE_SESSION:
    'a session record with this id already exists in the store: use another id (ids must be unique per process)',
  ERR_SESSION_INVALID_ARGUMENT:
    'an argument or option is invalid (client UUID, session, backend, pool or migration id, phase, TTL, limit; the cause is the TypesError where an id did not parse): fix the call',
} as const;

/** A stable error code of this package. */
export type SessionErrorCode = keyof typeof sessionErrorCodes;

/** Options of a {@link SessionError}. */
export interface SessionErrorOptions {
  /** The underlying error (a `ProtocolError` for decode failures; sanitised for Redis errors). */
  readonly cause?: unknown;
  /** The packet the error is about, when there is one (`SetChunk`, `Connect`). */
  readonly packet?: string | undefined;
  /** A short machine-readable detail (`'chunk-columns'`, `'timeout'`). Never secret. */
  readonly reason?: string | undefined;
}

/** The typed error of `@handoff/session`. Its message and fields never contain secrets. */
export class SessionError extends HandoffError<SessionErrorCode> {
  override readonly name = 'SessionError';
  readonly packet: string | undefined;
  readonly reason: string | undefined;

  constructor(code: SessionErrorCode, message: string = sessionErrorCodes[code], options: SessionErrorOptions = {}) {
    super('session', code, message, { cause: options.cause });
    this.packet = options.packet;
    this.reason = options.reason;
  }

  /** A log-friendly, secret-free summary: code, packet, reason, message and the cause's code. */
  toJSON(): { name: string; code: SessionErrorCode; packet?: string; reason?: string; message: string; cause?: string } {
    const out: { name: string; code: SessionErrorCode; packet?: string; reason?: string; message: string; cause?: string } = {
      name: this.name,
      code: this.code,
      message: this.message,
    };
    if (this.packet !== undefined) out.packet = this.packet;
    if (this.reason !== undefined) out.reason = this.reason;
    const cause = this.cause as { code?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') out.cause = cause.code;
    return out;
  }
}

/**
 * True when `value` is a {@link SessionError} (of `code` when given), whichever installed copy of
 * this package made it (a brand, not `instanceof`).
 */
export function isSessionError(value: unknown, code?: SessionErrorCode): value is SessionError {
  return isHandoffError(value, 'session', code);
}

/**
 * A cause that is safe to attach: keeps the name, message and `code` of `error` but drops every other
 * field (client libraries attach the failed command and its arguments).
 */
export function sanitizeCause(error: unknown): Error {
  if (error instanceof Error) {
    const clean = new Error(error.message) as Error & { code?: unknown };
    clean.name = error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') clean.code = code;
    return clean;
  }
  return new Error(String(error));
}

/**
 * Runs a `@handoff/types` parser on an argument; a value that does not parse becomes
 * `ERR_SESSION_INVALID_ARGUMENT` naming `what` (never echoing the value), the `TypesError` its cause.
 */
export function parseArgument<T>(parse: (value: unknown) => T, value: unknown, what: string): T {
  try {
    return parse(value);
  } catch (error) {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', `${what} is not valid`, { cause: error, reason: what });
  }
}
