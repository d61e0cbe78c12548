package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.expectCode;
import static dev.handoff.tickets.TicketErrorCode.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class StoresTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);

  @Test
  void memoryReplayStoreRecordsOnceAndReclaimsExpiredEntries() {
    MemoryReplayStore store = new MemoryReplayStore(2, clock::now);
    assertEquals(ReplayStore.Result.FRESH, store.consume("a", 1000));
    assertEquals(ReplayStore.Result.REPLAYED, store.consume("a", 1000));
    assertEquals(ReplayStore.Result.FRESH, store.consume("b", 5000));
    // full of live entries: refuses, never evicts
    TicketException full = expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, () -> store.consume("c", 1000));
    assertEquals("full", full.reason());
    expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, store::probe);
    assertEquals(ReplayStore.Result.REPLAYED, store.consume("a", 1000));
    // after a's lifetime it is reclaimed: room again, and a is fresh again
    clock.ms.addAndGet(1000);
    assertEquals(1, store.size());
    store.probe();
    assertEquals(ReplayStore.Result.FRESH, store.consume("c", 1000));
    assertEquals(ReplayStore.Result.REPLAYED, store.consume("b", 1000));
    store.close();
    TicketException closed = expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, () -> store.consume("d", 1000));
    assertEquals("closed", closed.reason());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> new MemoryReplayStore(0, clock::now));
  }

  @Test
  void memoryReplayStoreIsAtomicAcrossThreads() throws Exception {
    MemoryReplayStore store = new MemoryReplayStore(100_000, clock::now);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        results.add(pool.submit(() -> {
          int fresh = 0;
          for (int i = 0; i < 2000; i++) if (store.consume("n" + i, 60_000) == ReplayStore.Result.FRESH) fresh++;
          return fresh;
        }));
      }
      int total = 0;
      for (Future<Integer> f : results) total += f.get();
      assertEquals(2000, total);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void memoryStateStore() {
    MemoryStateStore store = new MemoryStateStore(10, clock::now, Fixtures.counterRandom());
    String ref = store.put(new byte[] {1, 2, 3}, 1000);
    assertEquals(22, ref.length());
    assertArrayEquals(new byte[] {1, 2, 3}, store.get(ref));
    expectCode(ERR_TICKET_STATE_UNAVAILABLE, () -> store.put(new byte[8], 1000));
    clock.ms.addAndGet(1000);
    assertNull(store.get(ref));
    store.put(new byte[8], 1000); // room again
  }

  @Test
  void stateChecks() {
    KeyRing ring = Fixtures.ring(clock);
    MemoryStateStore store = new MemoryStateStore(1 << 20, clock::now, null);
    TicketIssuer issuer = TicketIssuer.builder().keyRing(ring).issuer(Fixtures.SOURCE).clock(clock::now).stateStore(store).build();
    TicketVerifier verifier = Fixtures.verifier(ring, clock);
    byte[] state = new byte[3000];
    state[7] = 42;
    VerifiedTicket ticket = verifier.verify(issuer.issue(IssueRequest.of(Fixtures.CLIENT, Fixtures.TARGET).withState(state)), Fixtures.CLIENT,
        Fixtures.SOURCE, Fixtures.TARGET);
    byte[] oneBitOff = state.clone();
    oneBitOff[1500] ^= 1;
    assertEquals("sha256", expectCode(ERR_TICKET_STATE_MISMATCH, () -> TicketStates.check(ticket, oneBitOff)).reason());
    assertEquals("length", expectCode(ERR_TICKET_STATE_MISMATCH, () -> TicketStates.check(ticket, new byte[2999])).reason());
    assertArrayEquals(state, TicketStates.check(ticket, state));
    // missing, store failure
    StateStore empty = Fixtures.stateStoreGetting(ref -> null);
    assertEquals("missing", expectCode(ERR_TICKET_STATE_UNAVAILABLE, () -> TicketStates.load(ticket, empty)).reason());
    StateStore failing = Fixtures.stateStoreGetting(ref -> {
      throw new IllegalStateException("timeout");
    });
    assertEquals("error", expectCode(ERR_TICKET_STATE_UNAVAILABLE, () -> TicketStates.load(ticket, failing)).reason());
    StateStore tampered = Fixtures.stateStoreGetting(ref -> oneBitOff);
    expectCode(ERR_TICKET_STATE_MISMATCH, () -> TicketStates.load(ticket, tampered));
    // a ticket without state
    VerifiedTicket plain = verifier.verify(issuer.issue(IssueRequest.of(Fixtures.CLIENT, Fixtures.TARGET)), Fixtures.CLIENT, Fixtures.SOURCE, Fixtures.TARGET);
    assertNull(TicketStates.load(plain, store));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketStates.check(plain, new byte[1]));
    // inline state is compared byte for byte
    VerifiedTicket inline = verifier.verify(issuer.issue(IssueRequest.of(Fixtures.CLIENT, Fixtures.TARGET).withState(new byte[] {1, 2})), Fixtures.CLIENT,
        Fixtures.SOURCE, Fixtures.TARGET);
    expectCode(ERR_TICKET_STATE_MISMATCH, () -> TicketStates.check(inline, new byte[] {1, 3}));
  }
}
