package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.SOURCE;
import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.TARGET;
import static dev.handoff.tickets.Fixtures.expectCode;
import static dev.handoff.tickets.TicketErrorCode.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IssuerTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);

  @Test
  void issuesCanonicalTicketsThatVerify() {
    KeyRing ring = Fixtures.ring(clock);
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    String token = issuer.issue(IssueRequest.of(CLIENT, TARGET).withPool("minigames").withSessionId("sess-42"));
    String[] p = token.split("\\.");
    assertEquals("{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"handoff-migration+jwt\"}", new String(Base64Url.decodeStrict(p[0]), StandardCharsets.UTF_8));
    String claims = new String(Base64Url.decodeStrict(p[1]), StandardCharsets.UTF_8);
    assertTrue(claims.matches("\\{\"iss\":\"lobby-1\",\"aud\":\"game-7\",\"sub\":\"" + CLIENT + "\",\"jti\":\"[A-Za-z0-9_-]{22}\",\"iat\":" + T0
        + ",\"exp\":" + (T0 + 30) + ",\"pool\":\"minigames\",\"sid\":\"sess-42\"\\}"), claims);
    VerifiedTicket t = Fixtures.verifier(ring, clock).verify(issuer.referralData(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, TARGET);
    assertEquals(T0 + 30, t.expiresAt());
    // nonces are random: two tickets differ
    assertNotEquals(issuer.issue(IssueRequest.of(CLIENT, TARGET)), issuer.issue(IssueRequest.of(CLIENT, TARGET)));
  }

  @Test
  void hs256() {
    KeyRing ring = new KeyRing(clock::now);
    ring.addSecret(Fixtures.HS_SECRET, KeyOptions.of("hs-1"));
    String token = Fixtures.issuer(ring, clock).issue(IssueRequest.of(CLIENT, TARGET));
    assertEquals(TicketAlgorithm.HS256, Fixtures.verifier(ring, clock).verify(token, CLIENT, SOURCE, TARGET).alg());
  }

  @Test
  void stateInlineByReferenceAndTooLarge() {
    KeyRing ring = Fixtures.ring(clock);
    MemoryStateStore store = new MemoryStateStore(1 << 20, clock::now, null);
    TicketIssuer withStore = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).clock(clock::now).stateStore(store).build();
    TicketIssuer noStore = Fixtures.issuer(ring, clock);
    TicketVerifier verifier = Fixtures.verifier(ring, clock);
    byte[] small = new byte[100];
    byte[] big = new byte[3000];
    new Random(7).nextBytes(big);

    VerifiedTicket inline = verifier.verify(withStore.issue(IssueRequest.of(CLIENT, TARGET).withState(small)), CLIENT, SOURCE, TARGET);
    assertTrue(inline.state() instanceof TicketState.Inline);
    assertArrayEquals(small, TicketStates.load(inline, null));

    VerifiedTicket byRef = verifier.verify(withStore.issue(IssueRequest.of(CLIENT, TARGET).withState(big)), CLIENT, SOURCE, TARGET);
    assertTrue(byRef.state() instanceof TicketState.Reference);
    assertEquals(3000, byRef.state().length());
    assertArrayEquals(big, TicketStates.load(byRef, store));
    expectCode(ERR_TICKET_STATE_UNAVAILABLE, () -> TicketStates.load(byRef, null));

    VerifiedTicket forced = verifier.verify(withStore.issue(IssueRequest.of(CLIENT, TARGET).withState(small, StateMode.REFERENCE)), CLIENT, SOURCE, TARGET);
    assertTrue(forced.state() instanceof TicketState.Reference);

    TicketException tooLarge = expectCode(ERR_TICKET_TOO_LARGE, () -> noStore.issue(IssueRequest.of(CLIENT, TARGET).withState(big)));
    assertEquals("state-inline", tooLarge.reason());
    expectCode(ERR_TICKET_TOO_LARGE, () -> withStore.issue(IssueRequest.of(CLIENT, TARGET).withState(big, StateMode.INLINE)));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> noStore.issue(IssueRequest.of(CLIENT, TARGET).withState(small, StateMode.REFERENCE)));

    // the largest inline state fits exactly: one more byte goes by reference
    int largest = 0;
    for (int n = 1900; n < 2300; n++) {
      try {
        noStore.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[n]));
        largest = n;
      } catch (TicketException e) {
        assertEquals(ERR_TICKET_TOO_LARGE, e.code());
      }
    }
    int fits = largest;
    assertTrue(fits > 1900 && fits < 2299, "largest inline state " + fits);
    int length = noStore.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[fits])).length();
    assertTrue(length <= 4096 && length > 4096 - 4, "ticket length " + length);
    expectCode(ERR_TICKET_TOO_LARGE, () -> noStore.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[fits + 1])));
    assertTrue(withStore.issue(IssueRequest.of(CLIENT, TARGET).withState(new byte[fits + 1])).length() < 1000);

    // a failing state store
    StateStore down = new StateStore() {
      @Override
      public String put(byte[] bytes, long ttlMs) {
        throw new IllegalStateException("down");
      }

      @Override
      public byte[] get(String ref) {
        return null;
      }
    };
    TicketIssuer failing = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).clock(clock::now).stateStore(down).build();
    expectCode(ERR_TICKET_STATE_UNAVAILABLE, () -> failing.issue(IssueRequest.of(CLIENT, TARGET).withState(big)));
  }

  @Test
  void rotationPicksTheNewestActiveKeyThatOutlivesTheTicket() {
    KeyRing ring = new KeyRing(clock::now);
    ring.addJwk(Fixtures.edPrivateJwk(), KeyOptions.of("old").withNotAfter(Instant.ofEpochSecond(T0 + 100)));
    ring.addJwk(Fixtures.ed2PrivateJwk(), KeyOptions.of("new").withNotBefore(Instant.ofEpochSecond(T0 + 50)));
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    TicketVerifier verifier = Fixtures.verifier(ring, clock);
    assertEquals("old", verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, TARGET).kid());
    clock.set(T0 + 50);
    assertEquals("new", verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, TARGET).kid());
    // the old kid still verifies inside its window, not after it
    clock.set(T0);
    String byOld = issuer.issue(IssueRequest.of(CLIENT, TARGET));
    clock.set(T0 + 34);
    assertEquals("old", verifier.verify(byOld, CLIENT, SOURCE, TARGET).kid());
    clock.set(T0 + 106);
    ring.retire("new", Instant.ofEpochSecond(T0 + 120));
    expectCode(ERR_TICKET_NO_SIGNING_KEY, () -> issuer.issue(IssueRequest.of(CLIENT, TARGET)));
    clock.set(T0 + 60);
    // a key never signs a ticket that would outlive it (ttl 30, old ends at T0 + 100: not after T0 + 70)
    clock.set(T0 + 71);
    ring.remove("new");
    expectCode(ERR_TICKET_NO_SIGNING_KEY, () -> issuer.issue(IssueRequest.of(CLIENT, TARGET)));
    clock.set(T0 + 70);
    assertEquals("old", verifier.verify(issuer.issue(IssueRequest.of(CLIENT, TARGET)), CLIENT, SOURCE, TARGET).kid());
  }

  @Test
  void poolsAndPublicKeysCannotSign() {
    KeyRing ring = new KeyRing(clock::now);
    ring.addJwk(Fixtures.edPublicJwk(), KeyOptions.of("public-only"));
    ring.addJwk(Fixtures.ed2PrivateJwk(), KeyOptions.of("pool-key").withPools(List.of("minigames")));
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    expectCode(ERR_TICKET_NO_SIGNING_KEY, () -> issuer.issue(IssueRequest.of(CLIENT, TARGET)));
    assertTrue(issuer.issue(IssueRequest.of(CLIENT, TARGET).withPool("minigames")).length() > 0);
  }

  @Test
  void invalidArguments() {
    KeyRing ring = Fixtures.ring(clock);
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> issuer.issue(null));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> issuer.issue(IssueRequest.of(null, TARGET)));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> issuer.issue(IssueRequest.of(CLIENT, "bad target")));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> issuer.issue(IssueRequest.of(CLIENT, TARGET).withPool("")));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> issuer.issue(IssueRequest.of(CLIENT, TARGET).withSessionId("a b")));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketIssuer.builder().keyRing(ring).issuer("bad id").build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketIssuer.builder().keyRing(ring).issuer(SOURCE).ttlSeconds(0).build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketIssuer.builder().keyRing(ring).issuer(SOURCE).ttlSeconds(3601).build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketIssuer.builder().issuer(SOURCE).build());
    TicketIssuer badRandom = TicketIssuer.builder().keyRing(ring).issuer(SOURCE).random(n -> new byte[3]).build();
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> badRandom.issue(IssueRequest.of(CLIENT, TARGET)));
  }
}
