/**
 * Why the kit closed a client, counted: one plain object per proxy (or per listener) that
 * `acceptClient` and the frames of every accepted client increment, ready to export as metrics.
 */

/**
 * Every reason the client side closes a client (docs/proxy-kit.md, "Client side › Closes and their
 * counters" has the close each one gets):
 *
 * - `outdated-client`: ALPN `hytale/1` on a listener whose generations are all G2 or later;
 * - `wrong-generation`: the Connect names a protocol hash or CRC the proxy does not accept;
 * - `invalid-connect`: a Connect field the server refuses (no username, referral data without a
 *   source, an editor client on an authenticated proxy);
 * - `auth-required`: client auth is on and the Connect has no identity token (or the transport has no TLS);
 * - `identity-refused`: the identity token failed a check;
 * - `access-refused`: the access token failed a check (signature, audience, certificate binding, claims);
 * - `mutual-auth-required`: the AuthToken carried no server authorization grant;
 * - `session-service`: the session service could not be reached or refused the proxy (grant,
 *   exchange, keys);
 * - `password-rejected`: three wrong answers to the password challenge, or an empty one;
 * - `stage-timeout`: a handshake stage did not finish in time;
 * - `read-timeout`: the client sent nothing for the current stage's duration;
 * - `unexpected-packet`: a packet the current stage does not take;
 * - `malformed-frame`: bytes the codec cannot read (a bad header, an undecodable handshake packet);
 * - `oversized-frame`: a frame longer than its packet's maximum;
 * - `rate-limited`: more packets than the token bucket allows;
 * - `client-left`: the client sent Disconnect, ended its stream or lost its connection during the handshake;
 * - `aborted`: the proxy gave up on the client (the `signal` of `acceptClient`);
 * - `internal-error`: the handshake failed in the kit itself (a bug, a failing session store): the
 *   client was told "Internal server error!".
 */
export const CLIENT_CLOSE_REASONS = Object.freeze([
  'outdated-client',
  'wrong-generation',
  'invalid-connect',
  'auth-required',
  'identity-refused',
  'access-refused',
  'mutual-auth-required',
  'session-service',
  'password-rejected',
  'stage-timeout',
  'read-timeout',
  'unexpected-packet',
  'malformed-frame',
  'oversized-frame',
  'rate-limited',
  'client-left',
  'aborted',
  'internal-error',
] as const);

/** One of {@link CLIENT_CLOSE_REASONS}. */
export type ClientCloseReason = (typeof CLIENT_CLOSE_REASONS)[number];

/**
 * Counters of the client side: how many clients completed the handshake, and how many the kit closed,
 * per reason. A plain, JSON-safe object (numbers only, never a name, address or token): export it as
 * metrics as it is. Pass the same object to every `acceptClient` call of a listener.
 */
export interface ClientCounters {
  /** Clients whose handshake completed (`acceptClient` resolved). */
  accepted: number;
  /** Clients the kit closed, by reason (during the handshake and, for bad frames and floods, after it). */
  readonly closed: Record<ClientCloseReason, number>;
}

/** A new set of client counters, every count 0. */
export function createClientCounters(): ClientCounters {
  const closed = {} as Record<ClientCloseReason, number>;
  for (const reason of CLIENT_CLOSE_REASONS) closed[reason] = 0;
  return { accepted: 0, closed };
}
