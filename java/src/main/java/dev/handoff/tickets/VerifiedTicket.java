package dev.handoff.tickets;

import java.util.UUID;

/**
 * A ticket that passed every check and whose nonce has been consumed. Only {@link TicketVerifier}
 * makes one. {@code toString()} shows no state bytes and no state reference.
 */
public final class VerifiedTicket {
  private final String kid;
  private final TicketAlgorithm alg;
  private final UUID clientUuid;
  private final String source;
  private final String target;
  private final long issuedAt;
  private final long expiresAt;
  private final String pool;
  private final String sessionId;
  private final TicketState state;

  VerifiedTicket(String kid, TicketAlgorithm alg, UUID clientUuid, String source, String target, long issuedAt,
      long expiresAt, String pool, String sessionId, TicketState state) {
    this.kid = kid;
    this.alg = alg;
    this.clientUuid = clientUuid;
    this.source = source;
    this.target = target;
    this.issuedAt = issuedAt;
    this.expiresAt = expiresAt;
    this.pool = pool;
    this.sessionId = sessionId;
    this.state = state;
  }

  /** The key id the ticket was signed with. */
  public String kid() {
    return kid;
  }

  /** The algorithm it was signed with. */
  public TicketAlgorithm alg() {
    return alg;
  }

  /** {@code sub}: the client the ticket was issued for. */
  public UUID clientUuid() {
    return clientUuid;
  }

  /** {@code iss}: the source backend. */
  public String source() {
    return source;
  }

  /** {@code aud}: the target backend (this one). */
  public String target() {
    return target;
  }

  /** {@code iat}, seconds since the epoch. */
  public long issuedAt() {
    return issuedAt;
  }

  /** {@code exp}, seconds since the epoch (the last valid second, inclusive). */
  public long expiresAt() {
    return expiresAt;
  }

  /** {@code pool}, or null. */
  public String pool() {
    return pool;
  }

  /** {@code sid}, the proxy session id, or null. */
  public String sessionId() {
    return sessionId;
  }

  /** {@code st}, or null when the ticket carries no state. */
  public TicketState state() {
    return state;
  }

  @Override
  public String toString() {
    return "VerifiedTicket[kid=" + kid + ", alg=" + alg + ", clientUuid=" + clientUuid + ", source=" + source
        + ", target=" + target + ", issuedAt=" + issuedAt + ", expiresAt=" + expiresAt + ", pool=" + pool
        + ", sessionId=" + sessionId + ", state=" + state + "]";
  }
}
