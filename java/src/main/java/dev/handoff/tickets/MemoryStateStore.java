package dev.handoff.tickets;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;

/**
 * An in-memory state store (one process: tests, or source and target in one JVM). Refs are 16 random
 * bytes in base64url, like the TypeScript stores. Holds at most {@code maxBytes} in total (then
 * {@code put} fails with reason {@code full}); expired entries are reclaimed on every call. Thread-safe.
 */
public final class MemoryStateStore implements StateStore {
  private record Entry(byte[] bytes, long expiresAt) {}

  private record Expiry(long at, String ref) {}

  private final long maxBytes;
  private final LongSupplier clock;
  private final IntFunction<byte[]> random;
  private final Map<String, Entry> entries = new HashMap<>();
  private final PriorityQueue<Expiry> heap = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
  private long total;

  /** 64 MiB on the system clock, refs from {@link SecureRandom}. */
  public MemoryStateStore() {
    this(64L * 1024 * 1024, System::currentTimeMillis, null);
  }

  /**
   * @param maxBytes total bytes held at most
   * @param clock milliseconds since the epoch
   * @param random random bytes for refs (null: {@link SecureRandom}); inject only for tests
   */
  public MemoryStateStore(long maxBytes, LongSupplier clock, IntFunction<byte[]> random) {
    this.maxBytes = maxBytes;
    this.clock = clock;
    this.random = random != null ? random : TicketIssuer.secureRandom();
  }

  @Override
  public synchronized String put(byte[] bytes, long ttlMs) {
    long at = clock.getAsLong();
    reclaim(at);
    if (total + bytes.length > maxBytes) throw TicketException.stateUnavailable("full");
    String ref = Base64Url.encode(random.apply(16));
    long expiresAt = at + Math.max(1, ttlMs);
    entries.put(ref, new Entry(bytes.clone(), expiresAt));
    heap.add(new Expiry(expiresAt, ref));
    total += bytes.length;
    return ref;
  }

  @Override
  public synchronized byte[] get(String ref) {
    long at = clock.getAsLong();
    reclaim(at);
    Entry entry = entries.get(ref);
    return entry == null || entry.expiresAt <= at ? null : entry.bytes.clone();
  }

  @Override
  public synchronized void close() {
    entries.clear();
    heap.clear();
    total = 0;
  }

  @Override
  public synchronized String toString() {
    return "MemoryStateStore[entries=" + entries.size() + ", bytes=" + total + "]";
  }

  private void reclaim(long at) {
    while (!heap.isEmpty() && heap.peek().at <= at) {
      Expiry expired = heap.poll();
      Entry entry = entries.get(expired.ref);
      if (entry != null && entry.expiresAt == expired.at) {
        entries.remove(expired.ref);
        total -= entry.bytes.length;
      }
    }
  }
}
