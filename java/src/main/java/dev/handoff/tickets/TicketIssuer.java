package dev.handoff.tickets;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.Objects;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.SecretKey;

/**
 * Issues migration tickets on the source backend, exactly as the TypeScript issuer does: signed with
 * the newest active signing key of its key ring, bound to the player, this (source) backend and the
 * target backend; state inline when the whole ticket then fits 4096 bytes, otherwise in the state store
 * by reference. Thread-safe.
 *
 * <pre>{@code
 * TicketIssuer issuer = TicketIssuer.builder().keyRing(ring).issuer("lobby-1").build();
 * playerRef.referToServer(host, port, issuer.referralData(IssueRequest.of(playerRef.getUuid(), "game-7")));
 * }</pre>
 */
public final class TicketIssuer {
  private final KeyRing keyRing;
  private final String issuer;
  private final long ttlSeconds;
  private final StateStore stateStore;
  private final long stateGraceSeconds;
  private final LongSupplier clock;
  private final IntFunction<byte[]> random;

  private TicketIssuer(Builder b) {
    if (b.keyRing == null) throw TicketException.invalid("key-ring", "an issuer needs a key ring");
    this.issuer = Ids.backendId(b.issuer);
    if (b.ttlSeconds < 1 || b.ttlSeconds > 3600) throw TicketException.invalid("ttlSeconds", "ttlSeconds must be an integer in 1..3600");
    if (b.stateGraceSeconds < 0) throw TicketException.invalid("stateGraceSeconds", "stateGraceSeconds must be an integer ≥ 0");
    this.keyRing = b.keyRing;
    this.ttlSeconds = b.ttlSeconds;
    this.stateStore = b.stateStore;
    this.stateGraceSeconds = b.stateGraceSeconds;
    this.clock = b.clock;
    this.random = b.random != null ? b.random : secureRandom();
  }

  /** Random bytes from a {@link SecureRandom} (nonces, state refs). */
  static IntFunction<byte[]> secureRandom() {
    SecureRandom secure = new SecureRandom();
    return size -> {
      byte[] out = new byte[size];
      secure.nextBytes(out);
      return out;
    };
  }

  /** A builder; a key ring and the issuer (this backend's id) are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** This (source) backend: the {@code iss} of every ticket. */
  public String issuer() {
    return issuer;
  }

  /**
   * Signs a ticket and returns it (a compact JWS, ASCII, at most 4096 bytes).
   *
   * @throws TicketException {@code ERR_TICKET_TOO_LARGE}, {@code ERR_TICKET_NO_SIGNING_KEY},
   *     {@code ERR_TICKET_STATE_UNAVAILABLE}, {@code ERR_TICKET_INVALID_ARGUMENT}
   */
  public String issue(IssueRequest request) {
    if (request == null) throw TicketException.invalid("input", "invalid issue input");
    if (request.clientUuid() == null) throw TicketException.invalid("client-uuid", "clientUuid is required");
    if (!Ids.matches(Ids.BACKEND_ID, request.target())) throw TicketException.invalid("backend-id", "target must be a backend id");
    String pool = request.pool() == null ? null : Ids.poolId(request.pool());
    String sid = request.sessionId() == null ? null : Ids.sessionId(request.sessionId());
    StateMode mode = request.stateMode() == null ? StateMode.AUTO : request.stateMode();
    byte[] state = request.state();

    long nowMs = clock.getAsLong();
    long iat = Math.floorDiv(nowMs, 1000);
    KeyRing.Entry key = keyRing.signingKey(nowMs, pool, ttlSeconds * 1000);
    if (key == null) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_NO_SIGNING_KEY, "no signing key is active for this pool for the whole ticket lifetime", null);
    }
    TicketAlgorithm alg = key.info.alg();
    byte[] nonce = random.apply(TicketFormat.NONCE_BYTES);
    if (nonce == null || nonce.length != TicketFormat.NONCE_BYTES) throw TicketException.invalid("random", "random must return the requested bytes");
    TicketFormat.Claims base = new TicketFormat.Claims(issuer, request.target(), request.clientUuid().toString(), Base64Url.encode(nonce),
        iat, iat + ttlSeconds, pool, sid, null);
    String headerJson = TicketFormat.encodeHeader(alg, key.info.kid());

    TicketFormat.Claims claims = base;
    if (state != null) {
      TicketFormat.StateClaim st = null;
      if (mode != StateMode.REFERENCE) {
        TicketFormat.StateClaim inline = new TicketFormat.StateClaim(Base64Url.encode(state), null, 0, null);
        if (TicketFormat.compactLength(headerJson, TicketFormat.encodeClaims(with(base, inline)), alg) <= TicketFormat.MAX_TICKET_BYTES) st = inline;
        else if (mode == StateMode.INLINE || stateStore == null) {
          throw new TicketException(TicketErrorCode.ERR_TICKET_TOO_LARGE, "the ticket with inline state would exceed 4096 bytes: configure a stateStore",
              "state-inline");
        }
      }
      if (st == null) st = storeState(state);
      claims = with(base, st);
    }
    String claimsJson = TicketFormat.encodeClaims(claims);
    int expectedLength = TicketFormat.compactLength(headerJson, claimsJson, alg);
    if (expectedLength > TicketFormat.MAX_TICKET_BYTES) {
      throw new TicketException(TicketErrorCode.ERR_TICKET_TOO_LARGE, "the ticket would exceed 4096 bytes", "claims");
    }
    String signingInput = Base64Url.encode(headerJson.getBytes(StandardCharsets.UTF_8)) + "."
        + Base64Url.encode(claimsJson.getBytes(StandardCharsets.UTF_8));
    String token = signingInput + "." + Base64Url.encode(sign(alg, key, signingInput.getBytes(StandardCharsets.US_ASCII)));
    if (token.length() != expectedLength) {
      // Would mean the encoding drifted from docs/tickets.md; never ship such a ticket.
      throw new TicketException(TicketErrorCode.ERR_TICKET_MALFORMED, "issued ticket does not match the canonical encoding", "encoding");
    }
    return token;
  }

  /** {@link #issue} as the bytes to pass to the server's {@code referToServer(host, port, data)}. */
  public byte[] referralData(IssueRequest request) {
    return issue(request).getBytes(StandardCharsets.US_ASCII);
  }

  private static TicketFormat.Claims with(TicketFormat.Claims c, TicketFormat.StateClaim st) {
    return new TicketFormat.Claims(c.iss(), c.aud(), c.sub(), c.jti(), c.iat(), c.exp(), c.pool(), c.sid(), st);
  }

  private TicketFormat.StateClaim storeState(byte[] bytes) {
    if (stateStore == null) throw TicketException.invalid("no-state-store", "state by reference needs a stateStore");
    String ref;
    try {
      ref = stateStore.put(bytes, (ttlSeconds + stateGraceSeconds) * 1000);
    } catch (TicketException e) {
      throw e;
    } catch (RuntimeException e) {
      throw TicketException.stateUnavailable("error");
    }
    if (!Ids.matches(Ids.STATE_REF, ref)) throw TicketException.stateUnavailable("bad-ref");
    return new TicketFormat.StateClaim(null, ref, bytes.length, TicketStates.sha256(bytes));
  }

  private static byte[] sign(TicketAlgorithm alg, KeyRing.Entry key, byte[] input) {
    try {
      if (alg == TicketAlgorithm.EdDSA) {
        Signature signer = Signature.getInstance("Ed25519");
        signer.initSign((PrivateKey) key.signKey);
        signer.update(input);
        return signer.sign();
      }
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init((SecretKey) key.signKey);
      return mac.doFinal(input);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("signing failed: " + e.getClass().getSimpleName());
    }
  }

  @Override
  public String toString() {
    return "TicketIssuer[issuer=" + issuer + ", ttlSeconds=" + ttlSeconds + "]";
  }

  /** Builds a {@link TicketIssuer}. */
  public static final class Builder {
    private KeyRing keyRing;
    private String issuer;
    private long ttlSeconds = 30;
    private StateStore stateStore;
    private long stateGraceSeconds = 30;
    private LongSupplier clock = System::currentTimeMillis;
    private IntFunction<byte[]> random;

    private Builder() {}

    /** The keys to sign with (required): the newest active signing key is used. */
    public Builder keyRing(KeyRing ring) {
      this.keyRing = ring;
      return this;
    }

    /** This backend's id, the {@code iss} claim (required). */
    public Builder issuer(String backendId) {
      this.issuer = backendId;
      return this;
    }

    /** {@code exp - iat} in seconds, 1..3600 (default 30; must not exceed the verifiers' maximum). */
    public Builder ttlSeconds(long seconds) {
      this.ttlSeconds = seconds;
      return this;
    }

    /** Where state that does not fit inline goes; without one such state fails with {@code ERR_TICKET_TOO_LARGE}. */
    public Builder stateStore(StateStore store) {
      this.stateStore = store;
      return this;
    }

    /** By-reference state outlives the ticket by this much, in seconds (default 30). */
    public Builder stateGraceSeconds(long seconds) {
      this.stateGraceSeconds = seconds;
      return this;
    }

    /** The clock, in milliseconds since the epoch. */
    public Builder clock(LongSupplier millis) {
      this.clock = Objects.requireNonNull(millis, "clock");
      return this;
    }

    /** The random source for nonces (default {@link SecureRandom}). Inject only for tests and vectors. */
    public Builder random(IntFunction<byte[]> source) {
      this.random = source;
      return this;
    }

    /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} for a missing part or a bad option */
    public TicketIssuer build() {
      return new TicketIssuer(this);
    }
  }
}
