package dev.handoff.tickets;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.SecretKey;

/**
 * Verifies migration tickets: every check of docs/tickets.md, "Verification", in the documented order
 * and with the same error codes as {@code @handoff/tickets}, the nonce consumed last (a ticket refused
 * for any other reason never burns its nonce). Thread-safe; one instance serves a whole server.
 *
 * <pre>{@code
 * TicketVerifier verifier = TicketVerifier.builder()
 *     .keyRing(KeyRing.load(Path.of("keys")))
 *     .replayStore(new MemoryReplayStore())
 *     .build();
 * VerifiedTicket ticket = verifier.verify(referralData, playerUuid, "lobby-1", "game-7");
 * }</pre>
 */
public final class TicketVerifier {
  /** The group order L of Ed25519, little-endian: a signature's S must be below it (RFC 8032 §5.1.7). */
  private static final byte[] ED25519_L = {
    (byte) 0xed, (byte) 0xd3, (byte) 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, (byte) 0xd6, (byte) 0x9c, (byte) 0xf7, (byte) 0xa2, (byte) 0xde, (byte) 0xf9,
    (byte) 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
  };
  private static final ThreadLocal<Signature> ED25519 = ThreadLocal.withInitial(() -> {
    try {
      return Signature.getInstance("Ed25519");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is missing from this JVM (Java 15 or later is needed)", e);
    }
  });
  private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  });

  private final KeyRing keyRing;
  private final ReplayStore replayStore;
  private final long maxTtlSeconds;
  private final long toleranceSeconds;
  private final LongSupplier clock;
  private final System.Logger logger;
  private final Consumer<TicketException> onReplayStoreUnavailable;

  private TicketVerifier(Builder b) {
    if (b.keyRing == null) throw TicketException.invalid("key-ring", "a verifier needs a key ring");
    if (b.replayStore == null) throw TicketException.invalid("replay-store", "a verifier needs a replay store");
    if (b.maxTtlSeconds < 1) throw TicketException.invalid("maxTtlSeconds", "maxTtlSeconds must be an integer ≥ 1");
    if (b.clockToleranceSeconds < 0) throw TicketException.invalid("clockToleranceSeconds", "clockToleranceSeconds must be an integer ≥ 0");
    this.keyRing = b.keyRing;
    this.replayStore = b.replayStore;
    this.maxTtlSeconds = b.maxTtlSeconds;
    this.toleranceSeconds = b.clockToleranceSeconds;
    this.clock = b.clock;
    this.logger = b.logger;
    this.onReplayStoreUnavailable = b.onReplayStoreUnavailable;
  }

  /** A builder; a key ring and a replay store are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Verifies a ticket as {@code Connect.referralData} carries it (the ASCII bytes) and consumes its nonce.
   *
   * @param referralData the ticket bytes
   * @param clientUuid the UUID of the connecting player (expected {@code sub})
   * @param source the backend the player comes from (expected {@code iss})
   * @param target this backend (expected {@code aud})
   * @throws TicketException with one of the verification codes of docs/tickets.md, or
   *     {@code ERR_TICKET_INVALID_ARGUMENT} for a bad binding
   */
  public VerifiedTicket verify(byte[] referralData, UUID clientUuid, String source, String target) {
    return run(referralData, null, clientUuid, source, target);
  }

  /** {@link #verify(byte[], UUID, String, String)} for a ticket given as text. */
  public VerifiedTicket verify(String token, UUID clientUuid, String source, String target) {
    return run(null, token, clientUuid, source, target);
  }

  /**
   * The replay-record lifetime: until the last instant this verifier accepts the ticket
   * ({@code exp + tolerance}, inclusive second), plus one more tolerance for verifiers whose clocks lag.
   */
  public static long replayTtlMs(long exp, long toleranceSeconds, long nowMs) {
    return Math.max(1, (exp + 2 * toleranceSeconds + 1) * 1000 - nowMs);
  }

  private VerifiedTicket run(byte[] bytes, String text, UUID clientUuid, String source, String target) {
    String[] kid = new String[1];
    try {
      VerifiedTicket ticket = verifyUnlogged(bytes, text, clientUuid, source, target, kid);
      if (logger != null) logger.log(Level.DEBUG, () -> "ticket verified (kid " + ticket.kid() + ", pool " + ticket.pool() + ")");
      return ticket;
    } catch (TicketException e) {
      log(e, kid[0]);
      throw e;
    } catch (RuntimeException e) {
      // Defensive: an unexpected failure is still a refusal with a stable code, never a crash.
      TicketException wrapped = new TicketException(TicketErrorCode.ERR_TICKET_MALFORMED, "malformed ticket", "internal");
      log(wrapped, kid[0]);
      throw wrapped;
    }
  }

  private void log(TicketException e, String kid) {
    if (logger == null) return;
    Level level = e.code() == TicketErrorCode.ERR_TICKET_REPLAY_STORE_UNAVAILABLE ? Level.WARNING : Level.DEBUG;
    logger.log(level, () -> "ticket refused: " + e.code() + (e.reason() == null ? "" : " (" + e.reason() + ")") + (kid == null ? "" : ", kid " + kid));
  }

  private VerifiedTicket verifyUnlogged(byte[] bytes, String text, UUID clientUuid, String source, String target, String[] seenKid) {
    if (clientUuid == null || !Ids.matches(Ids.BACKEND_ID, source) || !Ids.matches(Ids.BACKEND_ID, target)) {
      throw TicketException.invalid("expectations", "verify expectations must be a client UUID and two backend ids");
    }
    // 1-2. size and structure; 3-4. header (malformed, then algorithm)
    TicketFormat.Segments segments = bytes != null ? TicketFormat.split(bytes) : TicketFormat.split(text);
    TicketFormat.Header header = TicketFormat.parseHeader(segments.header());
    seenKid[0] = header.kid();
    // 5. key by kid, inside its validity window
    long nowMs = clock.getAsLong();
    long now = Math.floorDiv(nowMs, 1000);
    KeyRing.Entry key = keyRing.verificationKey(header.kid(), nowMs, toleranceSeconds * 1000);
    // 6. the header algorithm must be the one configured for this kid (algorithm confusion)
    if (key.info.alg() != header.alg()) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_ALG, "ticket algorithm is not the one configured for its kid", "kid-alg-mismatch");
    }
    // 7. signature
    byte[] signature = Base64Url.decodeStrict(segments.signature());
    if (signature.length != header.alg().signatureBytes()) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_SIGNATURE, "ticket signature does not verify", "length");
    }
    byte[] input = (segments.header() + "." + segments.payload()).getBytes(StandardCharsets.US_ASCII);
    if (!signatureVerifies(header.alg(), key, input, signature)) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_SIGNATURE, "ticket signature does not verify", "signature");
    }
    // 8. claims (closed set, types)
    TicketFormat.Claims claims = TicketFormat.parseClaims(segments.payload());
    // 9. key pool scope
    if (!key.info.allowsPool(claims.pool())) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_KEY_UNKNOWN, "the ticket key is not allowed for the ticket pool", "pool");
    }
    // 10-12. time
    if (claims.exp() < now - toleranceSeconds) throw new TicketException(TicketErrorCode.ERR_TICKET_EXPIRED, "ticket expired", null);
    if (claims.iat() > now + toleranceSeconds) throw new TicketException(TicketErrorCode.ERR_TICKET_NOT_YET_VALID, "ticket issued in the future", null);
    if (claims.exp() - claims.iat() > maxTtlSeconds) throw new TicketException(TicketErrorCode.ERR_TICKET_TTL, "ticket lifetime exceeds the maximum", null);
    // 13-15. bindings
    if (!claims.sub().equals(clientUuid.toString())) throw new TicketException(TicketErrorCode.ERR_TICKET_CLIENT_MISMATCH, "ticket was issued for another client", null);
    if (!claims.iss().equals(source)) throw new TicketException(TicketErrorCode.ERR_TICKET_SOURCE_MISMATCH, "ticket was issued by another source backend", null);
    if (!claims.aud().equals(target)) throw new TicketException(TicketErrorCode.ERR_TICKET_TARGET_MISMATCH, "ticket was issued for another target backend", null);
    // 16. single use: only now is the nonce consumed
    ReplayStore.Result result;
    try {
      result = replayStore.consume(claims.jti(), replayTtlMs(claims.exp(), toleranceSeconds, nowMs));
      if (result == null) throw TicketException.replayStoreUnavailable("error");
    } catch (RuntimeException e) {
      TicketException failure = e instanceof TicketException t && t.code() == TicketErrorCode.ERR_TICKET_REPLAY_STORE_UNAVAILABLE
          ? t
          : TicketException.replayStoreUnavailable("error");
      if (onReplayStoreUnavailable != null) {
        try {
          onReplayStoreUnavailable.accept(failure);
        } catch (RuntimeException ignored) {
          // observers never change the outcome
        }
      }
      throw failure;
    }
    if (result == ReplayStore.Result.REPLAYED) throw new TicketException(TicketErrorCode.ERR_TICKET_REPLAYED, "ticket was already used", null);
    return new VerifiedTicket(header.kid(), header.alg(), clientUuid, claims.iss(), claims.aud(), claims.iat(), claims.exp(), claims.pool(),
        claims.sid(), stateOf(claims.st()));
  }

  private static TicketState stateOf(TicketFormat.StateClaim st) {
    if (st == null) return null;
    if (st.in() != null) return new TicketState.Inline(Base64Url.decodeStrict(st.in()));
    return new TicketState.Reference(st.ref(), st.len(), st.sha256());
  }

  private static boolean signatureVerifies(TicketAlgorithm alg, KeyRing.Entry key, byte[] input, byte[] signature) {
    try {
      if (alg == TicketAlgorithm.EdDSA) {
        if (!scalarBelowOrder(signature)) return false;
        Signature verifier = ED25519.get();
        verifier.initVerify((PublicKey) key.verifyKey);
        verifier.update(input);
        return verifier.verify(signature);
      }
      Mac mac = HMAC.get();
      mac.init((SecretKey) key.verifyKey);
      return MessageDigest.isEqual(mac.doFinal(input), signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** S (the second half of an Ed25519 signature, little-endian) must be below the group order. */
  private static boolean scalarBelowOrder(byte[] signature) {
    for (int i = 31; i >= 0; i--) {
      int s = signature[32 + i] & 0xff;
      int l = ED25519_L[i] & 0xff;
      if (s != l) return s < l;
    }
    return false;
  }

  @Override
  public String toString() {
    return "TicketVerifier[maxTtlSeconds=" + maxTtlSeconds + ", clockToleranceSeconds=" + toleranceSeconds + ", replayStore=" + replayStore.kind() + "]";
  }

  /** Builds a {@link TicketVerifier}. */
  public static final class Builder {
    private KeyRing keyRing;
    private ReplayStore replayStore;
    private long maxTtlSeconds = 60;
    private long clockToleranceSeconds = 5;
    private LongSupplier clock = System::currentTimeMillis;
    private System.Logger logger;
    private Consumer<TicketException> onReplayStoreUnavailable;

    private Builder() {}

    /** The keys to verify with (required). */
    public Builder keyRing(KeyRing ring) {
      this.keyRing = ring;
      return this;
    }

    /** Where nonces are recorded (required). */
    public Builder replayStore(ReplayStore store) {
      this.replayStore = store;
      return this;
    }

    /** Longest accepted {@code exp - iat}, in seconds (default 60). */
    public Builder maxTtlSeconds(long seconds) {
      this.maxTtlSeconds = seconds;
      return this;
    }

    /** Accepted clock skew for {@code iat}, {@code exp} and key windows, in seconds (default 5). */
    public Builder clockToleranceSeconds(long seconds) {
      this.clockToleranceSeconds = seconds;
      return this;
    }

    /** The clock, in milliseconds since the epoch (default {@link System#currentTimeMillis()}). */
    public Builder clock(LongSupplier millis) {
      this.clock = Objects.requireNonNull(millis, "clock");
      return this;
    }

    /** Logs refusals (code, reason and kid only) at DEBUG, replay store failures at WARNING. */
    public Builder logger(System.Logger log) {
      this.logger = log;
      return this;
    }

    /** Called when the replay store could not answer (e.g. to trigger a health probe); never changes the outcome. */
    public Builder onReplayStoreUnavailable(Consumer<TicketException> listener) {
      this.onReplayStoreUnavailable = listener;
      return this;
    }

    /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} for a missing part or a bad option */
    public TicketVerifier build() {
      return new TicketVerifier(this);
    }
  }
}
