package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.list;
import static dev.handoff.tickets.Fixtures.map;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * docs/tickets-vectors.json, the cross-language contract: every vector verifies in Java exactly as the
 * file says (the TypeScript suite runs the same file), and every ticket the TypeScript issuer made is
 * reproduced byte for byte by the Java issuer.
 */
class VectorsTest {
  private static Map<String, Object> file;

  @BeforeAll
  static void load() throws Exception {
    file = Fixtures.readJson(Fixtures.repoRoot().resolve("docs/tickets-vectors.json"));
  }

  private static List<Map<String, Object>> vectors() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object v : list(file.get("vectors"))) out.add(map(v));
    return out;
  }

  private static long num(Object value) {
    return (long) ((Json.Num) value).value;
  }

  private static KeyRing ring(long nowMs) {
    KeyRing ring = new KeyRing(() -> nowMs);
    for (Object k : list(file.get("keys"))) {
      Map<String, Object> key = map(k);
      String kid = (String) key.get("kid");
      Map<String, Object> jwk = map(key.get("alg").equals("EdDSA") ? key.get("publicJwk") : key.get("jwk"));
      ring.addJwk(jwk, KeyOptions.of(kid), false);
    }
    return ring;
  }

  @Test
  void coversTheCasesTheSpecNames() {
    Set<String> names = new HashSet<>();
    for (Map<String, Object> v : vectors()) names.add((String) v.get("name"));
    assertEquals(33, names.size());
    for (String name : List.of("valid-eddsa", "valid-hs256", "valid-state-inline", "valid-state-reference", "state-reference-hash-mismatch",
        "tampered-header", "tampered-payload", "tampered-signature", "alg-none", "alg-hs256-with-eddsa-kid", "alg-eddsa-with-hs256-kid",
        "expired", "not-yet-valid", "ttl-over-maximum", "replay", "client-mismatch", "source-mismatch", "target-mismatch", "too-large")) {
      assertTrue(names.contains(name), name);
    }
  }

  @TestFactory
  Stream<DynamicTest> everyVectorVerifiesAsListed() {
    Map<String, Object> verifierConfig = map(file.get("verifier"));
    Map<String, Object> binding = map(file.get("binding"));
    UUID client = UUID.fromString((String) binding.get("clientUuid"));
    String source = (String) binding.get("source");
    String target = (String) binding.get("target");
    return vectors().stream().map(vector -> DynamicTest.dynamicTest((String) vector.get("name"), () -> {
      long nowMs = num(vector.get("now")) * 1000;
      TicketVerifier verifier = TicketVerifier.builder()
          .keyRing(ring(nowMs))
          .replayStore(new MemoryReplayStore(100, () -> nowMs))
          .maxTtlSeconds(num(verifierConfig.get("maxTtlSeconds")))
          .clockToleranceSeconds(num(verifierConfig.get("clockToleranceSeconds")))
          .clock(() -> nowMs)
          .build();
      String token = (String) vector.get("token");
      VerifiedTicket ticket = null;
      int i = 0;
      for (Object e : list(vector.get("verifications"))) {
        Map<String, Object> expected = map(e);
        // alternate the two entry points: bytes (as Connect.referralData carries them) and text
        boolean asBytes = i++ % 2 == 0;
        if (Boolean.TRUE.equals(expected.get("ok"))) {
          ticket = asBytes ? verifier.verify(token.getBytes(StandardCharsets.US_ASCII), client, source, target) : verifier.verify(token, client, source, target);
          Map<String, Object> claims = map(expected.get("claims"));
          Map<String, Object> header = map(expected.get("header"));
          assertEquals(claims.get("sub"), ticket.clientUuid().toString());
          assertEquals(claims.get("iss"), ticket.source());
          assertEquals(claims.get("aud"), ticket.target());
          assertEquals(num(claims.get("iat")), ticket.issuedAt());
          assertEquals(num(claims.get("exp")), ticket.expiresAt());
          assertEquals(claims.get("pool"), ticket.pool());
          assertEquals(claims.get("sid"), ticket.sessionId());
          assertEquals(header.get("kid"), ticket.kid());
          assertEquals(header.get("alg"), ticket.alg().name());
          Object st = claims.get("st");
          if (st == null) assertNull(ticket.state());
          else if (map(st).containsKey("in")) {
            assertArrayEquals(Base64Url.decodeStrict((String) map(st).get("in")), ((TicketState.Inline) ticket.state()).bytes());
          } else {
            assertEquals(new TicketState.Reference((String) map(st).get("ref"), num(map(st).get("len")), (String) map(st).get("sha256")), ticket.state());
          }
        } else {
          TicketErrorCode code = TicketErrorCode.valueOf((String) expected.get("code"));
          TicketException thrown = assertThrows(TicketException.class,
              () -> {
                if (asBytes) verifier.verify(token.getBytes(StandardCharsets.ISO_8859_1), client, source, target);
                else verifier.verify(token, client, source, target);
              });
          assertEquals(code, thrown.code(), () -> "reason " + thrown.reason());
        }
      }
      if (vector.containsKey("state")) {
        Map<String, Object> state = map(vector.get("state"));
        assertNotNull(ticket);
        byte[] fetched = Base64Url.decodeStrict((String) state.get("fetched"));
        Map<String, Object> result = map(state.get("result"));
        if (Boolean.TRUE.equals(result.get("ok"))) assertArrayEquals(fetched, TicketStates.check(ticket, fetched));
        else {
          VerifiedTicket verified = ticket;
          Fixtures.expectCode(TicketErrorCode.valueOf((String) result.get("code")), () -> TicketStates.check(verified, fetched));
        }
      }
    }));
  }

  /** The tokens the TypeScript issuer made (canonical encoding, valid signature) come out of the Java issuer byte for byte. */
  @TestFactory
  Stream<DynamicTest> theJavaIssuerReproducesIssuedTokens() {
    List<byte[]> fetchedStates = new ArrayList<>();
    for (Map<String, Object> v : vectors()) {
      if (v.containsKey("state")) fetchedStates.add(Base64Url.decodeStrict((String) map(v.get("state")).get("fetched")));
    }
    List<DynamicTest> tests = new ArrayList<>();
    for (Map<String, Object> vector : vectors()) {
      String token = (String) vector.get("token");
      String[] parts = token.split("\\.", -1);
      if (parts.length != 3 || token.length() > TicketFormat.MAX_TICKET_BYTES) continue;
      TicketFormat.Claims claims;
      TicketFormat.Header header;
      try {
        header = TicketFormat.parseHeader(parts[0]);
        claims = TicketFormat.parseClaims(parts[1]);
      } catch (TicketException e) {
        continue;
      }
      // only tokens in canonical form whose signature the vector keys accept were made by the issuer
      String canonical = Base64Url.encode(TicketFormat.encodeHeader(header.alg(), header.kid()).getBytes(StandardCharsets.UTF_8)) + "."
          + Base64Url.encode(TicketFormat.encodeClaims(claims).getBytes(StandardCharsets.UTF_8));
      if (!canonical.equals(parts[0] + "." + parts[1]) || !signedByVectorKey(token, header)) continue;
      tests.add(DynamicTest.dynamicTest((String) vector.get("name"), () -> {
        long nowMs = claims.iat() * 1000;
        KeyRing ring = new KeyRing(() -> nowMs);
        if (header.alg() == TicketAlgorithm.EdDSA) ring.addJwk(Fixtures.edPrivateJwk(), KeyOptions.of(header.kid()));
        else ring.addSecret(Fixtures.HS_SECRET, KeyOptions.of(header.kid()));
        byte[] nonce = Base64Url.decodeStrict(claims.jti());
        byte[] stateBytes = null;
        StateStore store = null;
        TicketFormat.StateClaim st = claims.st();
        if (st != null && st.in() != null) stateBytes = Base64Url.decodeStrict(st.in());
        if (st != null && st.ref() != null) {
          for (byte[] candidate : fetchedStates) if (TicketStates.sha256(candidate).equals(st.sha256())) stateBytes = candidate;
          assertNotNull(stateBytes, "the referenced state bytes are among the vectors' fetched bytes");
          store = new StateStore() {
            @Override
            public String put(byte[] bytes, long ttlMs) {
              return st.ref();
            }

            @Override
            public byte[] get(String ref) {
              return null;
            }
          };
        }
        TicketIssuer issuer = TicketIssuer.builder()
            .keyRing(ring)
            .issuer(claims.iss())
            .ttlSeconds(claims.exp() - claims.iat())
            .clock(() -> nowMs)
            .random(size -> nonce.clone())
            .stateStore(store)
            .build();
        IssueRequest request = new IssueRequest(UUID.fromString(claims.sub()), claims.aud(), claims.pool(), claims.sid(), stateBytes, null);
        assertEquals(token, issuer.issue(request));
      }));
    }
    assertTrue(tests.size() >= 15, "issuer-made vectors found: " + tests.size());
    return tests.stream();
  }

  private static boolean signedByVectorKey(String token, TicketFormat.Header header) {
    try {
      long nowMs = Fixtures.T0 * 1000;
      KeyRing ring = ring(nowMs);
      KeyRing.Entry key = ring.verificationKey(header.kid(), nowMs, Long.MAX_VALUE / 4);
      if (key.info.alg() != header.alg()) return false;
      int dot = token.lastIndexOf('.');
      byte[] input = token.substring(0, dot).getBytes(StandardCharsets.US_ASCII);
      byte[] signature = Base64Url.decodeStrict(token.substring(dot + 1));
      if (header.alg() == TicketAlgorithm.HS256) return java.security.MessageDigest.isEqual(Fixtures.hmac(Fixtures.HS_SECRET, input), signature);
      java.security.Signature verifier = java.security.Signature.getInstance("Ed25519");
      verifier.initVerify((java.security.PublicKey) key.verifyKey);
      verifier.update(input);
      return verifier.verify(signature);
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void validTokensAreCanonicalJson() {
    for (Map<String, Object> vector : vectors()) {
      Map<String, Object> first = map(list(vector.get("verifications")).get(0));
      if (!Boolean.TRUE.equals(first.get("ok"))) continue;
      String payload = ((String) vector.get("token")).split("\\.")[1];
      TicketFormat.Claims claims = TicketFormat.parseClaims(payload);
      assertEquals(new String(Base64Url.decodeStrict(payload), StandardCharsets.UTF_8), TicketFormat.encodeClaims(claims));
      assertInstanceOf(String.class, vector.get("name"));
    }
    if (vectors().isEmpty()) fail("no vectors");
  }
}
