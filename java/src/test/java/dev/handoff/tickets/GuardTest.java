package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.OTHER_CLIENT;
import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.TARGET;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The plugin entry point, fed what PlayerSetupConnectEvent exposes. */
class GuardTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);
  private final KeyRing ring = Fixtures.ring(clock);
  private final MemoryStateStore states = new MemoryStateStore(1 << 20, clock::now, null);
  private final TicketIssuer lobby = TicketIssuer.builder().keyRing(ring).issuer("lobby-1").clock(clock::now).stateStore(states).build();
  private final TicketGuard guard = TicketGuard.builder()
      .verifier(Fixtures.verifier(ring, clock))
      .backendId(TARGET)
      .source("10.0.0.5", 5520, "lobby-1")
      .source("Lobby-2.internal", 40000, "lobby-2")
      .stateStore(states)
      .build();

  @Test
  void acceptsATicketFromAKnownSourceOnce() {
    byte[] data = lobby.referralData(IssueRequest.of(CLIENT, TARGET).withPool("minigames"));
    TicketGuard.Decision first = guard.check(data, "10.0.0.5", 5520, CLIENT);
    assertTrue(first.accepted());
    assertEquals("minigames", first.ticket().pool());
    assertNull(first.code());
    assertEquals("", first.message());
    TicketGuard.Decision again = guard.check(data, "10.0.0.5", 5520, CLIENT);
    assertFalse(again.accepted());
    assertEquals(TicketErrorCode.ERR_TICKET_REPLAYED, again.code());
    assertEquals("Server transfer refused (ERR_TICKET_REPLAYED)", again.message());
  }

  @Test
  void refusesWhatDoesNotBind() {
    byte[] data = lobby.referralData(IssueRequest.of(CLIENT, TARGET));
    assertEquals(TicketErrorCode.ERR_TICKET_CLIENT_MISMATCH, guard.check(data, "10.0.0.5", 5520, OTHER_CLIENT).code());
    // the same ticket arriving from lobby-2's address names the wrong source
    assertEquals(TicketErrorCode.ERR_TICKET_SOURCE_MISMATCH, guard.check(data, "lobby-2.INTERNAL", 40000, CLIENT).code());
    TicketGuard.Decision unknown = guard.check(data, "10.0.0.9", 5520, CLIENT);
    assertEquals(TicketErrorCode.ERR_TICKET_SOURCE_MISMATCH, unknown.code());
    assertEquals("unknown-referral-source", unknown.reason());
    assertEquals("no-referral-source", guard.check(data, null, 0, CLIENT).reason());
    byte[] forOther = lobby.referralData(IssueRequest.of(CLIENT, "game-8"));
    assertEquals(TicketErrorCode.ERR_TICKET_TARGET_MISMATCH, guard.check(forOther, "10.0.0.5", 5520, CLIENT).code());
    assertEquals(TicketErrorCode.ERR_TICKET_MALFORMED, guard.check("not a ticket".getBytes(), "10.0.0.5", 5520, CLIENT).code());
    // none of those burnt the nonce
    assertTrue(guard.check(data, "10.0.0.5", 5520, CLIENT).accepted());
  }

  @Test
  void connectionsWithoutReferralData() {
    assertTrue(guard.check(null, null, 0, CLIENT).accepted());
    assertTrue(guard.check(new byte[0], "10.0.0.5", 5520, CLIENT).accepted());
    assertNull(guard.check(null, null, 0, CLIENT).ticket());
    TicketGuard strict = TicketGuard.builder().verifier(Fixtures.verifier(ring, clock)).backendId(TARGET).requireTicket(true).build();
    TicketGuard.Decision refused = strict.check(null, null, 0, CLIENT);
    assertFalse(refused.accepted());
    assertEquals(TicketErrorCode.ERR_TICKET_MALFORMED, refused.code());
    assertEquals("no-ticket", refused.reason());
  }

  @Test
  void stateIsLoadedAndChecked() {
    byte[] big = new byte[3000];
    big[0] = 9;
    TicketGuard.Decision byRef = guard.check(lobby.referralData(IssueRequest.of(CLIENT, TARGET).withState(big)), "10.0.0.5", 5520, CLIENT);
    assertTrue(byRef.accepted());
    assertArrayEquals(big, byRef.state());
    TicketGuard.Decision inline = guard.check(lobby.referralData(IssueRequest.of(CLIENT, TARGET).withState(new byte[] {4})), "10.0.0.5", 5520, CLIENT);
    assertArrayEquals(new byte[] {4}, inline.state());
    // the referenced bytes expired from the store: refused with the state code
    byte[] late = lobby.referralData(IssueRequest.of(CLIENT, TARGET).withState(big));
    states.close();
    assertEquals(TicketErrorCode.ERR_TICKET_STATE_UNAVAILABLE, guard.check(late, "10.0.0.5", 5520, CLIENT).code());
  }

  @Test
  void builderChecks() {
    Fixtures.expectCode(TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT, () -> TicketGuard.builder().backendId(TARGET).build());
    Fixtures.expectCode(TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT,
        () -> TicketGuard.builder().verifier(Fixtures.verifier(ring, clock)).backendId("bad id").build());
    Fixtures.expectCode(TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT, () -> TicketGuard.builder().source("h", 70000, "lobby-1"));
    Fixtures.expectCode(TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT, () -> guard.check(null, null, 0, null));
  }
}
