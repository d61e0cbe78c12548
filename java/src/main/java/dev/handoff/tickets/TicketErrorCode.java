package dev.handoff.tickets;

/**
 * The stable error codes of migration tickets: the same codes, with the same meaning, as
 * {@code @handoff/tickets} (docs/tickets.md, "Error codes").
 */
public enum TicketErrorCode {
  /** Not a well-formed ticket (segments, base64url, JSON, header or claims). */
  ERR_TICKET_MALFORMED("the ticket is not a well-formed handoff migration ticket (segments, base64url, JSON, header or claims): refuse it and fall back to referral"),
  /** Over 4096 bytes, or issuing would exceed it. */
  ERR_TICKET_TOO_LARGE("the ticket exceeds 4096 bytes (Connect.referralData limit), or issuing would exceed it: refuse it, or issue with state by reference"),
  /** {@code none}, unsupported, or not the algorithm of the ticket's kid. */
  ERR_TICKET_ALG("the ticket algorithm is \"none\", unsupported, or not the one configured for its kid: refuse it (possible algorithm-confusion attempt)"),
  /** No key with this kid, outside its window, or not allowed for the ticket's pool. */
  ERR_TICKET_KEY_UNKNOWN("no key with this kid is in the key ring, it is outside its validity window, or it is not allowed for the ticket pool: refuse it; check key rotation"),
  /** The signature does not verify. */
  ERR_TICKET_SIGNATURE("the ticket signature does not verify: the ticket was tampered with or signed by another key; refuse it"),
  /** {@code exp} is more than the tolerance in the past. */
  ERR_TICKET_EXPIRED("the ticket exp is more than the clock tolerance in the past: refuse it; the source backend must issue a new ticket"),
  /** {@code iat} is more than the tolerance in the future. */
  ERR_TICKET_NOT_YET_VALID("the ticket iat is more than the clock tolerance in the future: refuse it; check clock synchronisation"),
  /** {@code exp - iat} exceeds the verifier's maximum. */
  ERR_TICKET_TTL("the ticket lifetime (exp - iat) is longer than the verifier maximum: refuse it; lower the issuer ttl"),
  /** {@code sub} is not the connecting client. */
  ERR_TICKET_CLIENT_MISMATCH("the ticket sub is not the connecting client UUID: refuse it"),
  /** {@code iss} is not the expected source backend. */
  ERR_TICKET_SOURCE_MISMATCH("the ticket iss is not the expected source backend: refuse it"),
  /** {@code aud} is not this backend. */
  ERR_TICKET_TARGET_MISMATCH("the ticket aud is not this target backend: refuse it"),
  /** The nonce was already used. */
  ERR_TICKET_REPLAYED("the ticket nonce was already used: refuse it (single use)"),
  /** The replay store could not record the nonce: refused, fail closed. */
  ERR_TICKET_REPLAY_STORE_UNAVAILABLE("the replay store could not record the nonce (down, timed out, aborted or full): refused, fail closed; fall back to referral"),
  /** No signing key is active now and for the whole ticket lifetime, for the pool. */
  ERR_TICKET_NO_SIGNING_KEY("the key ring holds no signing key that is active now (and for the whole ticket lifetime) for this pool: add or activate a key"),
  /** Fetched state bytes differ in length or SHA-256. */
  ERR_TICKET_STATE_MISMATCH("the state bytes fetched for a by-reference state claim do not match its length or SHA-256: refuse the state"),
  /** The state store could not store or return the bytes. */
  ERR_TICKET_STATE_UNAVAILABLE("the state store could not store or return the state bytes (missing, expired, down or timed out): retry or migrate without state"),
  /** A bad id, key, option or call. */
  ERR_TICKET_INVALID_ARGUMENT("an argument or option is invalid (id syntax, key type, secret shorter than 32 bytes, ttl): fix the call");

  private final String description;

  TicketErrorCode(String description) {
    this.description = description;
  }

  /** The one-line description (the same text as {@code errorCodes} in {@code @handoff/tickets}). */
  public String description() {
    return description;
  }
}
