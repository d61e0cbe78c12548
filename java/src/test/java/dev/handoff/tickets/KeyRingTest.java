package dev.handoff.tickets;

import static dev.handoff.tickets.Fixtures.T0;
import static dev.handoff.tickets.Fixtures.expectCode;
import static dev.handoff.tickets.TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyRingTest {
  private final Fixtures.Clock clock = new Fixtures.Clock(T0);

  private static final String JWKS = "{\"keys\":["
      + "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a-2026-01\",\"x\":\"" + Fixtures.ED_X + "\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"nbf\":" + T0
      + ",\"exp\":" + (T0 + 3600) + ",\"pools\":[\"minigames\"]},"
      + "{\"kty\":\"oct\",\"kid\":\"net-hs-1\",\"k\":\"" + Base64Url.encode(Fixtures.HS_SECRET) + "\"}]}";

  @Test
  void jwksWithWindowsAndPools() {
    KeyRing ring = new KeyRing(clock::now);
    List<KeyInfo> added = ring.addJwks(JWKS);
    assertEquals(2, added.size());
    KeyInfo ed = ring.get("a-2026-01");
    assertEquals(TicketAlgorithm.EdDSA, ed.alg());
    assertFalse(ed.canSign());
    assertEquals(Instant.ofEpochSecond(T0), ed.notBefore());
    assertEquals(Instant.ofEpochSecond(T0 + 3600), ed.notAfter());
    assertEquals(List.of("minigames"), ed.pools());
    assertTrue(ring.get("net-hs-1").canSign());
    assertEquals(List.of("a-2026-01", "net-hs-1"), ring.list().stream().map(KeyInfo::kid).toList());
    assertTrue(ring.hasVerificationKey("minigames", T0 * 1000));
    assertTrue(ring.hasVerificationKey("other", (T0 + 7200) * 1000)); // the oct key has neither window nor pools
    ring.remove("net-hs-1");
    assertFalse(ring.hasVerificationKey("other", T0 * 1000));
    assertFalse(ring.hasVerificationKey("minigames", (T0 + 7200) * 1000));
  }

  @Test
  void refusesUnusableKeys() {
    KeyRing ring = new KeyRing(clock::now);
    String x = Fixtures.ED_X;
    for (String jwk : List.of(
        "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" + x + "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x + "\",\"alg\":\"HS256\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x + "\",\"use\":\"enc\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x.substring(1) + "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x + "\",\"d\":\"" + Fixtures.ED2_D + "\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x + "\",\"d\":null}",
        "{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(new byte[31]) + "\"}",
        "{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(new byte[32]) + "\",\"alg\":\"EdDSA\"}",
        "{\"kty\":\"oct\",\"k\":\"not base64!\"}",
        "{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(new byte[32]) + "\",\"kid\":\"other\"}",
        "not json", "[]")) {
      expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwk(jwk, KeyOptions.of("k")));
    }
    TicketException mismatch = expectCode(ERR_TICKET_INVALID_ARGUMENT,
        () -> ring.addJwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + x + "\",\"d\":\"" + Fixtures.ED2_D + "\"}", KeyOptions.of("k")));
    assertEquals("key-mismatch", mismatch.reason());
    TicketException shortSecret = expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addSecret(new byte[31], KeyOptions.of("k")));
    assertEquals("secret-too-short", shortSecret.reason());
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addSecret(new byte[32], KeyOptions.of("bad kid")));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addSecret(new byte[32], KeyOptions.of("k").withPools(List.of("bad pool"))));
    expectCode(ERR_TICKET_INVALID_ARGUMENT,
        () -> ring.addSecret(new byte[32], KeyOptions.of("k").withNotBefore(Instant.ofEpochSecond(T0)).withNotAfter(Instant.ofEpochSecond(T0 - 1))));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwks("{\"keys\":[{\"kty\":\"oct\",\"k\":\"" + Base64Url.encode(new byte[32]) + "\"}]}"));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwks("{\"keys\":{}}"));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwks("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\",\"k\":\"" + Base64Url.encode(new byte[32])
        + "\",\"nbf\":1.5}]}"));
    assertTrue(ring.list().isEmpty());
  }

  @Test
  void addJwksIsAllOrNothingAndDuplicatesNeedReplace() {
    KeyRing ring = new KeyRing(clock::now);
    ring.addSecret(new byte[32], KeyOptions.of("net-hs-1"));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwks(JWKS));
    assertNull(ring.get("a-2026-01"));
    ring.addJwks(JWKS, true);
    assertTrue(ring.get("a-2026-01") != null);
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.addJwks("{\"keys\":[" + "{\"kty\":\"oct\",\"kid\":\"d\",\"k\":\"" + Base64Url.encode(new byte[32])
        + "\"},{\"kty\":\"oct\",\"kid\":\"d\",\"k\":\"" + Base64Url.encode(new byte[32]) + "\"}]}", true));
  }

  @Test
  void retireRemoveAndEvents() {
    KeyRing ring = new KeyRing(clock::now);
    List<KeyRingEvent> events = new ArrayList<>();
    Runnable unsubscribe = ring.subscribe(events::add);
    ring.subscribe(e -> {
      throw new IllegalStateException("listener failure is its own");
    });
    ring.addJwk(Fixtures.edPrivateJwk(), KeyOptions.of("k1"));
    clock.set(T0 + 10);
    assertEquals(Instant.ofEpochSecond(T0 + 10), ring.retire("k1").notAfter());
    assertEquals(Instant.ofEpochSecond(T0 + 10), ring.retire("k1", Instant.ofEpochSecond(T0 + 50)).notAfter());
    assertTrue(ring.remove("k1"));
    assertFalse(ring.remove("k1"));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> ring.retire("k1"));
    unsubscribe.run();
    ring.addSecret(new byte[32], KeyOptions.of("k2"));
    assertEquals(List.of(new KeyRingEvent(KeyRingEvent.Type.KEY_ADDED, "k1"), new KeyRingEvent(KeyRingEvent.Type.KEY_RETIRED, "k1"),
        new KeyRingEvent(KeyRingEvent.Type.KEY_RETIRED, "k1"), new KeyRingEvent(KeyRingEvent.Type.KEY_REMOVED, "k1")), events);
  }

  @Test
  void pem() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    KeyPair pair = generator.generateKeyPair();
    String privatePem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
    String publicPem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    KeyRing signer = new KeyRing(clock::now);
    assertTrue(signer.addPem(privatePem, KeyOptions.of("pem-1")).canSign());
    KeyRing verifierRing = new KeyRing(clock::now);
    assertFalse(verifierRing.addPem(publicPem, KeyOptions.of("pem-1")).canSign());
    String token = Fixtures.issuer(signer, clock).issue(IssueRequest.of(Fixtures.CLIENT, Fixtures.TARGET));
    assertEquals("pem-1", Fixtures.verifier(verifierRing, clock).verify(token, Fixtures.CLIENT, Fixtures.SOURCE, Fixtures.TARGET).kid());
    KeyPair ec = KeyPairGenerator.getInstance("EC").generateKeyPair();
    String ecPem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(ec.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> new KeyRing().addPem(ecPem, KeyOptions.of("ec")));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> new KeyRing().addPem("garbage", KeyOptions.of("x")));
  }

  @Test
  void keyDirectory(@TempDir Path dir) throws Exception {
    String publicJwk = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + Fixtures.ED_X + "\",\"kid\":\"k-2026\",\"alg\":\"EdDSA\",\"use\":\"sig\"}";
    String previous = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + Fixtures.ED2_X + "\",\"kid\":\"k-2025\",\"exp\":" + (T0 + 60) + "}";
    Files.writeString(dir.resolve("jwks.json"), "{\"keys\":[" + publicJwk + "," + previous + "]}");
    // only jwks.json: verifies only
    KeyRing verifyOnly = KeyRing.load(dir, clock::now);
    assertFalse(verifyOnly.get("k-2026").canSign());
    assertEquals(Instant.ofEpochSecond(T0 + 60), verifyOnly.get("k-2025").notAfter());
    // with the signing key: it takes the place of its jwks.json entry
    Files.writeString(dir.resolve("signing-key.jwk"), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + Fixtures.ED_X + "\",\"d\":\"" + Fixtures.ED_D
        + "\",\"kid\":\"k-2026\",\"alg\":\"EdDSA\",\"use\":\"sig\"}");
    KeyRing full = KeyRing.load(dir, clock::now);
    assertTrue(full.get("k-2026").canSign());
    assertEquals(2, full.list().size());
    String token = Fixtures.issuer(full, clock).issue(IssueRequest.of(Fixtures.CLIENT, Fixtures.TARGET));
    assertEquals("k-2026", Fixtures.verifier(verifyOnly, clock).verify(token, Fixtures.CLIENT, Fixtures.SOURCE, Fixtures.TARGET).kid());
    // a JWKS file works the same
    assertEquals(2, KeyRing.load(dir.resolve("jwks.json"), clock::now).list().size());
    // only the signing key
    Path alone = Files.createDirectory(dir.resolve("alone"));
    Files.copy(dir.resolve("signing-key.jwk"), alone.resolve("signing-key.jwk"));
    assertTrue(KeyRing.load(alone, clock::now).get("k-2026").canSign());
    // refusals: an empty directory, a public signing key, another key under the kid, a disagreeing window
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> KeyRing.load(Files.createDirectory(dir.resolve("empty"))));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> KeyRing.load(dir.resolve("missing.json")));
    Path bad = Files.createDirectory(dir.resolve("bad"));
    Files.writeString(bad.resolve("signing-key.jwk"), publicJwk);
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> KeyRing.load(bad));
    Files.writeString(bad.resolve("signing-key.jwk"), Fixtures.ed2PrivateJwk().replace("}", ",\"kid\":\"k-2026\"}"));
    Files.writeString(bad.resolve("jwks.json"), "{\"keys\":[" + publicJwk + "]}");
    TicketException other = expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> KeyRing.load(bad));
    assertEquals("key-directory", other.reason());
    Files.writeString(bad.resolve("signing-key.jwk"), Fixtures.edPrivateJwk().replace("}", ",\"kid\":\"k-2026\",\"exp\":1}"));
    expectCode(ERR_TICKET_INVALID_ARGUMENT, () -> KeyRing.load(bad));
  }
}
