package dev.handoff.tickets;

import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.LongSupplier;

/**
 * The in-memory replay store, for one process (tests, a single backend). An entry lives for the
 * {@code ttlMs} the verifier asks for; expired entries are reclaimed on every call. When it holds
 * {@code maxEntries} live entries it <b>refuses</b> new nonces ({@code ERR_TICKET_REPLAY_STORE_UNAVAILABLE},
 * reason {@code full}) and never evicts a live one, because eviction would reopen a replay window.
 * Thread-safe.
 */
public final class MemoryReplayStore implements ReplayStore {
  /** The default capacity. */
  public static final int DEFAULT_MAX_ENTRIES = 100_000;

  private record Expiry(long at, String nonce) {}

  private final int capacity;
  private final LongSupplier clock;
  private final Map<String, Long> entries = new HashMap<>();
  private final PriorityQueue<Expiry> heap = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
  private boolean closed;

  /** A store of {@value #DEFAULT_MAX_ENTRIES} entries on the system clock. */
  public MemoryReplayStore() {
    this(DEFAULT_MAX_ENTRIES, System::currentTimeMillis);
  }

  /**
   * @param maxEntries live entries at most (at least 1)
   * @param clock milliseconds since the epoch
   */
  public MemoryReplayStore(int maxEntries, LongSupplier clock) {
    if (maxEntries < 1) throw TicketException.invalid("maxEntries", "maxEntries must be a positive integer");
    if (clock == null) throw TicketException.invalid("clock", "a clock is required");
    this.capacity = maxEntries;
    this.clock = clock;
  }

  @Override
  public synchronized Result consume(String nonce, long ttlMs) {
    if (closed) throw TicketException.replayStoreUnavailable("closed");
    long at = clock.getAsLong();
    reclaim(at);
    Long expiresAt = entries.get(nonce);
    if (expiresAt != null && expiresAt > at) return Result.REPLAYED;
    if (entries.size() >= capacity) throw TicketException.replayStoreUnavailable("full");
    long until = at + Math.max(1, ttlMs);
    entries.put(nonce, until);
    heap.add(new Expiry(until, nonce));
    return Result.FRESH;
  }

  @Override
  public synchronized void probe() {
    if (closed) throw TicketException.replayStoreUnavailable("closed");
    reclaim(clock.getAsLong());
    if (entries.size() >= capacity) throw TicketException.replayStoreUnavailable("full");
  }

  /** Live entries (after reclaiming expired ones). */
  public synchronized int size() {
    reclaim(clock.getAsLong());
    return entries.size();
  }

  /** The capacity. */
  public int capacity() {
    return capacity;
  }

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public synchronized void close() {
    closed = true;
    entries.clear();
    heap.clear();
  }

  @Override
  public synchronized String toString() {
    return "MemoryReplayStore[" + entries.size() + "/" + capacity + (closed ? ", closed" : "") + "]";
  }

  private void reclaim(long at) {
    while (!heap.isEmpty() && heap.peek().at <= at) {
      Expiry expired = heap.poll();
      Long current = entries.get(expired.nonce);
      if (current != null && current == expired.at) entries.remove(expired.nonce);
    }
  }
}
