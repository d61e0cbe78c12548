package dev.handoff.tickets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.function.Executable;

/** Test fixtures. Every key here is TEST-ONLY (published in this repository, the same as docs/tickets-vectors.json). */
final class Fixtures {
  private Fixtures() {}

  static final String ED_X = "JKF5QlE8GsI2T7gpmEMDMQgGxX7Xinvjkv3Nnwv_3Bs";
  static final String ED_D = "dm536BGhFZNNZGYWKrGuQb3ZFEt34WHTiN6WzvGtEGo";
  static final String ED2_X = "jzsHoujRiWPyK0pQdZctNTQW-UipcCQwOx74CHv6P5c";
  static final String ED2_D = "mdkVRjQicnhkoNBJRPUMa81UbSrdy4LVwuvvDZ_l7vM";
  static final String HS_SECRET_TEXT = "handoff-TEST-ONLY-hs256-secret-0123456789";
  static final byte[] HS_SECRET = HS_SECRET_TEXT.getBytes(StandardCharsets.UTF_8);

  static final UUID CLIENT = UUID.fromString("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  static final UUID OTHER_CLIENT = UUID.fromString("ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  static final String SOURCE = "lobby-1";
  static final String TARGET = "game-7";
  /** 2026-01-01T00:00:00Z in seconds. */
  static final long T0 = 1_767_225_600L;

  static String edPrivateJwk() {
    return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + ED_X + "\",\"d\":\"" + ED_D + "\"}";
  }

  static String edPublicJwk() {
    return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + ED_X + "\"}";
  }

  static String ed2PrivateJwk() {
    return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + ED2_X + "\",\"d\":\"" + ED2_D + "\"}";
  }

  /** A settable clock in ms. */
  static final class Clock {
    final AtomicLong ms;

    Clock(long seconds) {
      ms = new AtomicLong(seconds * 1000);
    }

    long now() {
      return ms.get();
    }

    void set(long seconds) {
      ms.set(seconds * 1000);
    }

    void advance(long seconds) {
      ms.addAndGet(seconds * 1000);
    }
  }

  /** A ring with the test HS256 secret ({@code hs-1}) and the test Ed25519 key ({@code ed-1}, which issuers pick). */
  static KeyRing ring(Clock clock) {
    KeyRing ring = new KeyRing(clock::now);
    ring.addSecret(HS_SECRET, KeyOptions.of("hs-1"));
    ring.addJwk(edPrivateJwk(), KeyOptions.of("ed-1")); // added last: the issuer's newest key
    return ring;
  }

  static TicketVerifier verifier(KeyRing ring, Clock clock) {
    return TicketVerifier.builder().keyRing(ring).replayStore(new MemoryReplayStore(1000, clock::now)).clock(clock::now).build();
  }

  static TicketIssuer issuer(KeyRing ring, Clock clock) {
    return TicketIssuer.builder().keyRing(ring).issuer(SOURCE).ttlSeconds(30).clock(clock::now).build();
  }

  /** A state store whose {@code get} is {@code get} (and whose {@code put} returns {@code "x"}). */
  static StateStore stateStoreGetting(java.util.function.Function<String, byte[]> get) {
    return new StateStore() {
      @Override
      public String put(byte[] bytes, long ttlMs) {
        return "x";
      }

      @Override
      public byte[] get(String ref) {
        return get.apply(ref);
      }
    };
  }

  static TicketException expectCode(TicketErrorCode code, Executable action) {
    TicketException e = assertThrows(TicketException.class, action);
    assertEquals(code, e.code(), () -> "reason " + e.reason());
    return e;
  }

  static String b64u(String text) {
    return Base64Url.encode(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Signs raw header and payload JSON with the test keys: "ed" (test key), "ed2" (other key), "hs" (test secret), "none". */
  static String signRaw(String headerJson, String payloadJson, String key) {
    String input = b64u(headerJson) + "." + b64u(payloadJson);
    byte[] bytes = input.getBytes(StandardCharsets.US_ASCII);
    try {
      byte[] signature;
      switch (key) {
        case "none" -> signature = new byte[0];
        case "hs" -> signature = hmac(HS_SECRET, bytes);
        case "hs-with-ed-public" -> signature = hmac(Base64Url.decodeStrict(ED_X), bytes);
        default -> {
          Signature signer = Signature.getInstance("Ed25519");
          signer.initSign(KeyRing.ed25519Private(Base64Url.decodeStrict(key.equals("ed2") ? ED2_D : ED_D)));
          signer.update(bytes);
          signature = signer.sign();
        }
      }
      return input + "." + Base64Url.encode(signature);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] hmac(byte[] secret, byte[] input) throws GeneralSecurityException {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret, "HmacSHA256"));
    return mac.doFinal(input);
  }

  static String header(String alg, String kid) {
    return "{\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\",\"typ\":\"handoff-migration+jwt\"}";
  }

  static String claims(long iat, long exp, String extra) {
    return "{\"iss\":\"lobby-1\",\"aud\":\"game-7\",\"sub\":\"" + CLIENT + "\",\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"iat\":" + iat + ",\"exp\":" + exp
        + (extra.isEmpty() ? "" : "," + extra) + "}";
  }

  /** Deterministic nonces (counter in the first byte). */
  static IntFunction<byte[]> counterRandom() {
    AtomicLong counter = new AtomicLong();
    return size -> {
      byte[] out = new byte[size];
      long n = counter.incrementAndGet();
      for (int i = 0; i < 8 && i < size; i++) out[i] = (byte) (n >>> (8 * i));
      return out;
    };
  }

  static Path repoRoot() {
    String root = System.getProperty("handoff.root");
    return Path.of(root == null ? "." : root);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> readJson(Path path) throws IOException, Json.ParseException {
    return (Map<String, Object>) Json.parse(Files.readString(path, StandardCharsets.UTF_8));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value) {
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object value) {
    return (List<Object>) value;
  }
}
