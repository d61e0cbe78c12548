package dev.handoff.tickets;

/**
 * Records single-use nonces: the contract every replay store meets. {@link MemoryReplayStore} serves
 * one process; a network shares one store (Redis: {@code SET <prefix><jti> 1 PX <ttlMs> NX}, see
 * docs/tickets.md, "Replay protection") that a plugin implements with its own client.
 *
 * <p>Implementations are thread-safe and bound their own waits (a socket timeout of a few hundred
 * milliseconds): the verifier calls {@link #consume} on the caller's thread.
 */
public interface ReplayStore extends AutoCloseable {
  /** {@code FRESH}: this call recorded the nonce (first use). {@code REPLAYED}: it was already recorded. */
  enum Result {
    /** First use: the nonce is now recorded. */
    FRESH,
    /** The nonce was recorded before. */
    REPLAYED
  }

  /**
   * Atomically records {@code nonce} for {@code ttlMs} milliseconds unless it is present.
   *
   * @throws TicketException {@code ERR_TICKET_REPLAY_STORE_UNAVAILABLE} when the store cannot answer
   *     ({@code reason}: {@code down}, {@code timeout}, {@code full}, {@code error}, {@code closed}). The
   *     verifier turns any other runtime exception into that code too (fail closed).
   */
  Result consume(String nonce, long ttlMs);

  /**
   * Checks that the store can record nonces now (a real round trip for a remote store).
   *
   * @throws TicketException {@code ERR_TICKET_REPLAY_STORE_UNAVAILABLE} otherwise
   */
  void probe();

  /** A short name for logs and metrics ({@code memory}, {@code redis}, …). */
  default String kind() {
    return getClass().getSimpleName();
  }

  /** Releases what the store owns. */
  @Override
  default void close() {}
}
