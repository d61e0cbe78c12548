package dev.handoff.tickets;

import java.time.Instant;
import java.util.List;

/**
 * Public facts about a key of a {@link KeyRing}; never its material.
 *
 * @param kid the key id carried in ticket headers
 * @param alg the one algorithm of this key (Ed25519 key: EdDSA, secret: HS256)
 * @param canSign true for Ed25519 private keys and HS256 secrets
 * @param notBefore start of the validity window, or null
 * @param notAfter end of the validity window, or null
 * @param pools the pools the key is restricted to, or null for every pool
 */
public record KeyInfo(String kid, TicketAlgorithm alg, boolean canSign, Instant notBefore, Instant notAfter, List<String> pools) {
  /** Whether this key may sign or verify tickets of {@code pool} (null: a ticket without pool). */
  public boolean allowsPool(String pool) {
    return pools == null || (pool != null && pools.contains(pool));
  }
}
