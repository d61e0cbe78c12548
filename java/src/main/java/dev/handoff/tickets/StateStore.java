package dev.handoff.tickets;

/**
 * A store for by-reference state, shared by source and target backends. The Redis layout the
 * TypeScript stores use is a plain string under {@code handoff:ticket:state:<ref>} with a {@code PX}
 * expiry (docs/tickets.md, "State"). Implementations are thread-safe and bound their own waits.
 */
public interface StateStore extends AutoCloseable {
  /**
   * Stores {@code bytes} for at least {@code ttlMs} and returns a new reference (1–128 of
   * {@code A–Z a–z 0–9 . _ : -}).
   *
   * @throws TicketException {@code ERR_TICKET_STATE_UNAVAILABLE} when the store cannot take them
   */
  String put(byte[] bytes, long ttlMs);

  /**
   * The bytes under {@code ref}, or null when missing or expired.
   *
   * @throws TicketException {@code ERR_TICKET_STATE_UNAVAILABLE} when the store cannot answer
   */
  byte[] get(String ref);

  @Override
  default void close() {}
}
