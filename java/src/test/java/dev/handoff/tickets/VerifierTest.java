package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.CLIENT;
import static dev.handoff.tickets.Fixtures.OTHER_CLIENT;
import static dev.handoff.tickets.Fixtures.SOURCE;
import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.TARGET;
import static dev.handoff.tickets.Fixtures.b64u;
import static dev.handoff.tickets.Fixtures.claims;
import static dev.handoff.tickets.Fixtures.expectCode;
import static dev.handoff.tickets.Fixtures.header;
import static dev.handoff.tickets.Fixtures.signRaw;
import static dev.handoff.tickets.TicketErrorCode.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every check of docs/tickets.md, "Verification", in order, with its code. */
class VerifierTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);
  private final KeyRing ring = Fixtures.ring(clock);
  private final TicketVerifier verifier = Fixtures.verifier(ring, clock);

  private VerifiedTicket verify(String token) {
    return verifier.verify(token, CLIENT, SOURCE, TARGET);
  }

  private String issue() {
    return Fixtures.issuer(ring, clock).issue(IssueRequest.of(CLIENT, TARGET));
  }

  @Test
  void acceptsAFreshTicketOnceThenRefusesItsReplay() {
    String token = issue();
    VerifiedTicket ticket = verify(token);
    assertEquals(CLIENT, ticket.clientUuid());
    assertEquals("ed-1", ticket.kid());
    expectCode(ERR_TICKET_REPLAYED, () -> verify(token));
    expectCode(ERR_TICKET_REPLAYED, () -> verifier.verify(token.getBytes(StandardCharsets.US_ASCII), CLIENT, SOURCE, TARGET));
  }

  @Test
  void size() {
    String big = "a".repeat(4097);
    expectCode(ERR_TICKET_TOO_LARGE, () -> verify(big));
    expectCode(ERR_TICKET_TOO_LARGE, () -> verifier.verify(new byte[4097], CLIENT, SOURCE, TARGET));
    // 4096 UTF-16 units but more than 4096 UTF-8 bytes
    expectCode(ERR_TICKET_TOO_LARGE, () -> verify("é".repeat(2049)));
    // exactly 4096 bytes is not too large, merely malformed
    expectCode(ERR_TICKET_MALFORMED, () -> verify("a".repeat(4096)));
  }

  @Test
  void structure() {
    String token = issue();
    String[] p = token.split("\\.");
    for (String bad : List.of(p[0] + "." + p[1], token + ".x", "." + p[1] + "." + p[2], p[0] + ".." + p[2], p[0] + "=." + p[1] + "." + p[2],
        p[0] + "." + p[1] + "." + p[2] + "==", p[0] + " ." + p[1] + "." + p[2], p[0] + "." + p[1] + "." + p[2].substring(1), "", "...")) {
      expectCode(ERR_TICKET_MALFORMED, () -> verify(bad));
    }
    // non-canonical base64url: unused low bits set in the last character
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char last = p[2].charAt(p[2].length() - 1);
    String flipped = p[2].substring(0, p[2].length() - 1) + alphabet.charAt(alphabet.indexOf(last) ^ 1);
    expectCode(ERR_TICKET_MALFORMED, () -> verify(p[0] + "." + p[1] + "." + flipped));
    byte[] withNul = (token + "\u0000").getBytes(StandardCharsets.ISO_8859_1);
    expectCode(ERR_TICKET_MALFORMED, () -> verifier.verify(withNul, CLIENT, SOURCE, TARGET));
    byte[] utf8 = ("é" + token).getBytes(StandardCharsets.UTF_8);
    expectCode(ERR_TICKET_MALFORMED, () -> verifier.verify(utf8, CLIENT, SOURCE, TARGET));
  }

  @Test
  void headerStructure() {
    String payload = claims(T0, T0 + 30, "");
    for (String h : List.of("[]", "null", "{", "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\"}", "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"JWT\"}",
        "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"handoff-migration+jwt\",\"crit\":[\"b64\"]}", "{\"alg\":1,\"kid\":\"ed-1\",\"typ\":\"handoff-migration+jwt\"}",
        "{\"alg\":\"none\",\"kid\":\"bad kid\",\"typ\":\"handoff-migration+jwt\"}", "{\"alg\":\"EdDSA\",\"kid\":\"\",\"typ\":\"handoff-migration+jwt\"}",
        "\uFEFF" + header("EdDSA", "ed-1"), "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"HANDOFF-MIGRATION+JWT\"}")) {
      expectCode(ERR_TICKET_MALFORMED, () -> verify(signRaw(h, payload, "ed")));
    }
    // invalid UTF-8 in the header
    String invalidUtf8 = Base64Url.encode(new byte[] {'{', '"', (byte) 0xc3, '"', ':', '1', '}'}) + "." + b64u(payload) + ".";
    expectCode(ERR_TICKET_MALFORMED, () -> verify(invalidUtf8));
    // insignificant whitespace and member order do not matter (the signature still must match)
    String reordered = signRaw(" {\"typ\":\"handoff-migration+jwt\", \"kid\":\"ed-1\",\"alg\":\"EdDSA\"}\n", payload, "ed");
    assertEquals("ed-1", verify(reordered).kid());
  }

  @Test
  void algorithms() {
    String payload = claims(T0, T0 + 30, "");
    TicketException none = expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("none", "ed-1"), payload, "none")));
    assertEquals("none", none.reason());
    TicketException rs = expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("RS256", "ed-1"), payload, "hs")));
    assertEquals("unsupported", rs.reason());
    expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("eddsa", "ed-1"), payload, "ed")));
    // algorithm confusion both ways
    TicketException hsOverEd = expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("HS256", "ed-1"), payload, "hs-with-ed-public")));
    assertEquals("kid-alg-mismatch", hsOverEd.reason());
    expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("EdDSA", "hs-1"), payload, "ed")));
    // the alg check comes before the kid lookup: an unknown kid with alg none is ERR_TICKET_ALG
    expectCode(ERR_TICKET_ALG, () -> verify(signRaw(header("none", "nobody"), payload, "none")));
  }

  @Test
  void keys() {
    String payload = claims(T0, T0 + 30, "");
    TicketException unknown = expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(signRaw(header("EdDSA", "nobody"), payload, "ed")));
    assertEquals("unknown-kid", unknown.reason());
    // window: notBefore - tolerance <= now <= notAfter + tolerance, in ms
    ring.addJwk(Fixtures.ed2PrivateJwk(), KeyOptions.of("ed-2").withNotBefore(Instant.ofEpochSecond(T0 + 10)).withNotAfter(Instant.ofEpochSecond(T0 + 100)));
    String byEd2 = signRaw(header("EdDSA", "ed-2"), payload, "ed2");
    clock.set(T0 + 4); // 6 s before notBefore: outside
    TicketException early = expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(byEd2));
    assertEquals("outside-window", early.reason());
    clock.set(T0 + 5); // exactly the tolerance before notBefore: inside
    assertNotNull(verify(byEd2));
    String late = signRaw(header("EdDSA", "ed-2"), claims(T0 + 80, T0 + 110, "").replace("AAAAAAAAAAAAAAAAAAAAAA", "BAAAAAAAAAAAAAAAAAAAAA"), "ed2");
    clock.set(T0 + 106); // 6 s after notAfter
    expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(late));
    clock.set(T0 + 105);
    assertNotNull(verify(late));
    // removed at once
    ring.remove("ed-2");
    expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(late));
  }

  @Test
  void poolScope() {
    ring.addJwk(Fixtures.ed2PrivateJwk(), KeyOptions.of("ed-pool").withPools(List.of("minigames")));
    String noPool = signRaw(header("EdDSA", "ed-pool"), claims(T0, T0 + 30, ""), "ed2");
    TicketException e = expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(noPool));
    assertEquals("pool", e.reason());
    expectCode(ERR_TICKET_KEY_UNKNOWN, () -> verify(signRaw(header("EdDSA", "ed-pool"), claims(T0, T0 + 30, "\"pool\":\"lobby\""), "ed2")));
    assertEquals("minigames", verify(signRaw(header("EdDSA", "ed-pool"), claims(T0, T0 + 30, "\"pool\":\"minigames\""), "ed2")).pool());
  }

  @Test
  void signatures() {
    String token = issue();
    String[] p = token.split("\\.");
    // a tampered byte anywhere in the signing input or the signature
    String payload = new String(Base64Url.decodeStrict(p[1]), StandardCharsets.UTF_8);
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + b64u(payload.replace("lobby-1", "lobby-2")) + "." + p[2]));
    byte[] sig = Base64Url.decodeStrict(p[2]);
    for (int i : new int[] {0, 31, 32, 63}) {
      byte[] copy = sig.clone();
      copy[i] ^= 1;
      expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + p[1] + "." + Base64Url.encode(copy)));
    }
    // wrong length
    TicketException shortSig = expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + p[1] + "." + Base64Url.encode(new byte[63])));
    assertEquals("length", shortSig.reason());
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + p[1] + "."));
    // signed by another key under the right kid
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(signRaw(header("EdDSA", "ed-1"), claims(T0, T0 + 30, ""), "ed2")));
    // S + L (a malleated signature) is refused even where a library would accept it
    byte[] malleated = sig.clone();
    int carry = 0;
    byte[] l = {(byte) 0xed, (byte) 0xd3, (byte) 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, (byte) 0xd6, (byte) 0x9c, (byte) 0xf7, (byte) 0xa2, (byte) 0xde,
        (byte) 0xf9, (byte) 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    for (int i = 0; i < 32; i++) {
      int sum = (malleated[32 + i] & 0xff) + (l[i] & 0xff) + carry;
      malleated[32 + i] = (byte) sum;
      carry = sum >> 8;
    }
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + p[1] + "." + Base64Url.encode(malleated)));
    // HS256: tampered and wrong secret
    String hs = signRaw(header("HS256", "hs-1"), claims(T0, T0 + 30, ""), "hs");
    String[] h = hs.split("\\.");
    byte[] hsSig = Base64Url.decodeStrict(h[2]);
    hsSig[5] ^= 0x40;
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(h[0] + "." + h[1] + "." + Base64Url.encode(hsSig)));
    assertEquals(TicketAlgorithm.HS256, verify(hs).alg());
  }

  @Test
  void claimsAreClosedAndTyped() {
    List<String> bad = new ArrayList<>(List.of(
        "{\"iss\":\"lobby-1\"}",
        "[]",
        claims(T0, T0 + 30, "\"nbf\":" + T0),
        claims(T0, T0 + 30, "\"pool\":null"),
        claims(T0, T0 + 30, "\"pool\":\"bad pool\""),
        claims(T0, T0 + 30, "\"sid\":7"),
        claims(T0, T0 + 30, "\"st\":{}"),
        claims(T0, T0 + 30, "\"st\":{\"in\":\"a\"}"),
        claims(T0, T0 + 30, "\"st\":{\"in\":\"AA\",\"ref\":\"x\"}"),
        claims(T0, T0 + 30, "\"st\":{\"ref\":\"r\",\"len\":-1,\"sha256\":\"" + "A".repeat(43) + "\"}"),
        claims(T0, T0 + 30, "\"st\":{\"ref\":\"r\",\"len\":2147483648,\"sha256\":\"" + "A".repeat(43) + "\"}"),
        claims(T0, T0 + 30, "\"st\":{\"ref\":\"r\",\"len\":1,\"sha256\":\"" + "A".repeat(42) + "\"}"),
        claims(T0, T0 + 30, "\"st\":{\"ref\":\"r\",\"len\":1,\"sha256\":\"" + "A".repeat(42) + "B\"}"),
        claims(T0, T0, ""),
        claims(T0, T0 - 1, ""),
        claims(T0, T0 + 30, "").replace("\"iat\":" + T0, "\"iat\":\"" + T0 + "\""),
        claims(T0, T0 + 30, "").replace(T0 + 30 + "}", (T0 + 30) + ".5}"),
        claims(T0, T0 + 30, "").replace("\"iat\":" + T0, "\"iat\":-1"),
        claims(T0, T0 + 30, "").replace("\"iat\":" + T0, "\"iat\":9007199254740992"),
        claims(T0, T0 + 30, "").replace(CLIENT.toString(), CLIENT.toString().toUpperCase()),
        claims(T0, T0 + 30, "").replace("AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAA"),
        claims(T0, T0 + 30, "").replace("AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB"),
        claims(T0, T0 + 30, "").replace("\"aud\":\"game-7\"", "\"aud\":[\"game-7\"]"),
        claims(T0, T0 + 30, "").replace("\"iss\":\"lobby-1\",", "")));
    for (String payload : bad) expectCode(ERR_TICKET_MALFORMED, () -> verify(signRaw(header("EdDSA", "ed-1"), payload, "ed")));
    // JSON number forms JavaScript reads as the same integer are the same integer here too
    VerifiedTicket t = verify(signRaw(header("EdDSA", "ed-1"), claims(T0, T0 + 30, "").replace(T0 + 30 + "}", "1.76722563e9}"), "ed"));
    assertEquals(T0 + 30, t.expiresAt());
  }

  @Test
  void timeEdgesAtExactlyTheToleranceAndOneSecondBeyond() {
    IntSeq seq = new IntSeq();
    // exp + tolerance: accepted; one second beyond: refused
    clock.set(T0 + 35);
    assertNotNull(verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0, T0 + 30, "")), "ed")));
    clock.set(T0 + 36);
    expectCode(ERR_TICKET_EXPIRED, () -> verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0, T0 + 30, "")), "ed")));
    clock.ms.set((T0 + 35) * 1000 + 999); // still second T0 + 35
    assertNotNull(verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0, T0 + 30, "")), "ed")));
    // iat - tolerance: accepted; one second earlier: refused
    clock.set(T0);
    assertNotNull(verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0 + 5, T0 + 35, "")), "ed")));
    expectCode(ERR_TICKET_NOT_YET_VALID, () -> verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0 + 6, T0 + 36, "")), "ed")));
    // lifetime at and over the maximum (60)
    assertNotNull(verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0, T0 + 60, "")), "ed")));
    expectCode(ERR_TICKET_TTL, () -> verify(signRaw(header("EdDSA", "ed-1"), seq.next(claims(T0, T0 + 61, "")), "ed")));
  }

  /** Distinct nonces for hand-made claims. */
  private static final class IntSeq {
    private int n;

    String next(String claims) {
      byte[] nonce = new byte[16];
      nonce[0] = (byte) ++n;
      return claims.replace("AAAAAAAAAAAAAAAAAAAAAA", Base64Url.encode(nonce));
    }
  }

  @Test
  void bindingsAndAFailedCheckNeverBurnsTheNonce() {
    String token = issue();
    expectCode(ERR_TICKET_CLIENT_MISMATCH, () -> verifier.verify(token, OTHER_CLIENT, SOURCE, TARGET));
    expectCode(ERR_TICKET_SOURCE_MISMATCH, () -> verifier.verify(token, CLIENT, "lobby-2", TARGET));
    expectCode(ERR_TICKET_TARGET_MISMATCH, () -> verifier.verify(token, CLIENT, SOURCE, "game-8"));
    // expiry and a tampered copy do not burn it either
    clock.advance(36);
    expectCode(ERR_TICKET_EXPIRED, () -> verify(token));
    clock.advance(-36);
    String[] p = token.split("\\.");
    expectCode(ERR_TICKET_SIGNATURE, () -> verify(p[0] + "." + p[1] + "." + Base64Url.encode(new byte[64])));
    // the real ticket still verifies once
    assertNotNull(verify(token));
    expectCode(ERR_TICKET_REPLAYED, () -> verify(token));
  }

  @Test
  void replayStoreFailuresFailClosed() {
    AtomicInteger notified = new AtomicInteger();
    ReplayStore down = new ReplayStore() {
      @Override
      public Result consume(String nonce, long ttlMs) {
        throw new IllegalStateException("connection refused to 10.0.0.1 while SET handoff:ticket:jti:" + nonce);
      }

      @Override
      public void probe() {}
    };
    TicketVerifier v = TicketVerifier.builder().keyRing(ring).replayStore(down).clock(clock::now)
        .onReplayStoreUnavailable(e -> {
          notified.incrementAndGet();
          throw new IllegalStateException("observer failure");
        }).build();
    TicketException e = expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, () -> v.verify(issue(), CLIENT, SOURCE, TARGET));
    assertEquals("error", e.reason());
    assertEquals(1, notified.get());
    // a store returning null is a failure too
    ReplayStore broken = new ReplayStore() {
      @Override
      public Result consume(String nonce, long ttlMs) {
        return null;
      }

      @Override
      public void probe() {}
    };
    TicketVerifier v2 = TicketVerifier.builder().keyRing(ring).replayStore(broken).clock(clock::now).build();
    expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, () -> v2.verify(issue(), CLIENT, SOURCE, TARGET));
    // a full memory store refuses
    MemoryReplayStore one = new MemoryReplayStore(1, clock::now);
    TicketVerifier v3 = TicketVerifier.builder().keyRing(ring).replayStore(one).clock(clock::now).build();
    assertNotNull(v3.verify(issue(), CLIENT, SOURCE, TARGET));
    TicketException full = expectCode(ERR_TICKET_REPLAY_STORE_UNAVAILABLE, () -> v3.verify(issue(), CLIENT, SOURCE, TARGET));
    assertEquals("full", full.reason());
  }

  @Test
  void replayRecordLifetime() {
    // until exp + tolerance (inclusive second) plus one more tolerance
    assertEquals((T0 + 30 + 10 + 1) * 1000 - T0 * 1000, TicketVerifier.replayTtlMs(T0 + 30, 5, T0 * 1000));
    assertEquals(1, TicketVerifier.replayTtlMs(T0, 0, (T0 + 100) * 1000));
    long[] asked = new long[1];
    ReplayStore spy = new ReplayStore() {
      @Override
      public Result consume(String nonce, long ttlMs) {
        asked[0] = ttlMs;
        return Result.FRESH;
      }

      @Override
      public void probe() {}
    };
    clock.ms.set(T0 * 1000 + 250);
    TicketVerifier v = TicketVerifier.builder().keyRing(ring).replayStore(spy).clock(clock::now).build();
    v.verify(issue(), CLIENT, SOURCE, TARGET);
    assertEquals(41_000 - 250, asked[0]);
  }

  @Test
  void invalidArguments() {
    String token = issue();
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> verifier.verify(token, null, SOURCE, TARGET));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> verifier.verify(token, CLIENT, "bad source", TARGET));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> verifier.verify(token, CLIENT, SOURCE, null));
    expectCode(ERR_TICKET_MALFORMED, () -> verifier.verify((String) null, CLIENT, SOURCE, TARGET));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketVerifier.builder().keyRing(ring).build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketVerifier.builder().replayStore(new MemoryReplayStore()).build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> TicketVerifier.builder().keyRing(ring).replayStore(new MemoryReplayStore()).maxTtlSeconds(0).build());
    expectCode(ERR_TICKET_INVALID_ARGUMENT,
        () -> TicketVerifier.builder().keyRing(ring).replayStore(new MemoryReplayStore()).clockToleranceSeconds(-1).build());
    // the token is still unused
    assertNotNull(verify(token));
  }

  @Test
  void statePassesThrough() {
    TicketIssuer issuer = Fixtures.issuer(ring, clock);
    byte[] state = "{\"world\":\"hub\"}".getBytes(StandardCharsets.UTF_8);
    VerifiedTicket t = verify(issuer.issue(IssueRequest.of(CLIENT, TARGET).withState(state)));
    assertTrue(t.state() instanceof TicketState.Inline);
    assertEquals(new String(state, StandardCharsets.UTF_8), new String(((TicketState.Inline) t.state()).bytes(), StandardCharsets.UTF_8));
  }
}
