package dev.handoff.tickets;

import java.time.Instant;
import java.util.List;

/**
 * Validity window and pool scope of a key being added to a {@link KeyRing}.
 *
 * @param kid the key id (1–128 of {@code A–Z a–z 0–9 . _ : ~ + / = -})
 * @param notBefore before this instant the key neither signs nor verifies (null: no start)
 * @param notAfter after this instant the key neither signs nor verifies (null: no end)
 * @param pools restricts the key to tickets of these pools (null: every pool)
 */
public record KeyOptions(String kid, Instant notBefore, Instant notAfter, List<String> pools) {
  /** Options with only a kid: no window, every pool. */
  public static KeyOptions of(String kid) {
    return new KeyOptions(kid, null, null, null);
  }

  /** A copy with {@code notBefore} set. */
  public KeyOptions withNotBefore(Instant at) {
    return new KeyOptions(kid, at, notAfter, pools);
  }

  /** A copy with {@code notAfter} set. */
  public KeyOptions withNotAfter(Instant at) {
    return new KeyOptions(kid, notBefore, at, pools);
  }

  /** A copy restricted to {@code pools}. */
  public KeyOptions withPools(List<String> restrictedTo) {
    return new KeyOptions(kid, notBefore, notAfter, restrictedTo);
  }
}
