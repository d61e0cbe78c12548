package dev.handoff.tickets;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The target backend's entry point: one call with what the server's connection-setup event exposes
 * (referral data, referral source, player UUID) decides whether the player may join. Thread-safe.
 *
 * <p>The referral source (the address of the server that referred the player) is mapped to a backend
 * id by configuration ({@link Builder#source}); the ticket must have been issued by that backend
 * ({@code iss}), for this backend ({@code aud}) and this player ({@code sub}). A connection without
 * referral data is not a migration: it is accepted unless {@link Builder#requireTicket} is set.
 * See docs/backend-plugin.md for the plugin glue.
 */
public final class TicketGuard {
  private final TicketVerifier verifier;
  private final String backendId;
  private final Map<String, String> sources;
  private final boolean requireTicket;
  private final StateStore stateStore;

  private TicketGuard(Builder b) {
    if (b.verifier == null) throw TicketException.invalid("verifier", "a guard needs a verifier");
    this.verifier = b.verifier;
    this.backendId = Ids.backendId(b.backendId);
    this.sources = Map.copyOf(b.sources);
    this.requireTicket = b.requireTicket;
    this.stateStore = b.stateStore;
  }

  /** A builder; a verifier and this backend's id are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** This backend's id (the expected {@code aud}). */
  public String backendId() {
    return backendId;
  }

  /**
   * Decides on one connection.
   *
   * @param referralData the connection's referral data (null or empty: not a referral)
   * @param referralHost the host of the referral source, or null
   * @param referralPort its port (0–65535; the server's {@code HostAddress.port} is a signed short, pass
   *     {@code Short.toUnsignedInt(port)})
   * @param player the connecting player's UUID
   * @return accept, or a refusal with the code to log and a message to cancel the event with
   */
  public Decision check(byte[] referralData, String referralHost, int referralPort, UUID player) {
    if (player == null) throw TicketException.invalid("client-uuid", "the player UUID is required");
    if (referralData == null || referralData.length == 0) {
      return requireTicket
          ? Decision.refused(new TicketException(TicketErrorCode.ERR_TICKET_MALFORMED, "a migration ticket is required", "no-ticket"))
          : Decision.UNTICKETED;
    }
    String source = referralHost == null ? null : sources.get(addressKey(referralHost, referralPort));
    if (source == null) {
      return Decision.refused(new TicketException(TicketErrorCode.ERR_TICKET_SOURCE_MISMATCH, "the referral source is not a known backend",
          referralHost == null ? "no-referral-source" : "unknown-referral-source"));
    }
    VerifiedTicket ticket;
    try {
      ticket = verifier.verify(referralData, player, source, backendId);
    } catch (TicketException e) {
      return Decision.refused(e);
    }
    byte[] state = null;
    if (ticket.state() != null && (stateStore != null || ticket.state() instanceof TicketState.Inline)) {
      try {
        state = TicketStates.load(ticket, stateStore);
      } catch (TicketException e) {
        return Decision.refused(e);
      }
    }
    return new Decision(true, ticket, state, null);
  }

  static String addressKey(String host, int port) {
    return host.toLowerCase(Locale.ROOT) + ":" + port;
  }

  @Override
  public String toString() {
    return "TicketGuard[backendId=" + backendId + ", sources=" + sources.size() + ", requireTicket=" + requireTicket + "]";
  }

  /**
   * The outcome of {@link TicketGuard#check}. {@code toString()} shows no state bytes.
   */
  public static final class Decision {
    static final Decision UNTICKETED = new Decision(true, null, null, null);

    private final boolean accepted;
    private final VerifiedTicket ticket;
    private final byte[] state;
    private final TicketException refusal;

    Decision(boolean accepted, VerifiedTicket ticket, byte[] state, TicketException refusal) {
      this.accepted = accepted;
      this.ticket = ticket;
      this.state = state;
      this.refusal = refusal;
    }

    static Decision refused(TicketException e) {
      return new Decision(false, null, null, e);
    }

    /** True: let the player in. False: cancel the event with {@link #message()}. */
    public boolean accepted() {
      return accepted;
    }

    /** The verified ticket, or null (refused, or accepted without a ticket). */
    public VerifiedTicket ticket() {
      return ticket;
    }

    /**
     * The checked state bytes (inline, or fetched from the guard's state store), or null when the
     * ticket carries none, or carries a reference and the guard has no state store.
     */
    public byte[] state() {
      return state == null ? null : state.clone();
    }

    /** The refusal code, or null when accepted. */
    public TicketErrorCode code() {
      return refusal == null ? null : refusal.code();
    }

    /** The refusal reason detail (e.g. {@code unknown-kid}), or null. */
    public String reason() {
      return refusal == null ? null : refusal.reason();
    }

    /** The refusal as an exception (for logging), or null when accepted. */
    public TicketException refusal() {
      return refusal;
    }

    /** A player-facing message for the cancelled event: the code only, nothing secret. */
    public String message() {
      return accepted ? "" : "Server transfer refused (" + refusal.code() + ")";
    }

    @Override
    public String toString() {
      return accepted
          ? "Decision[accepted, ticket=" + ticket + ", state=" + (state == null ? "none" : state.length + " bytes") + "]"
          : "Decision[refused, code=" + refusal.code() + ", reason=" + refusal.reason() + "]";
    }
  }

  /** Builds a {@link TicketGuard}. */
  public static final class Builder {
    private TicketVerifier verifier;
    private String backendId;
    private final Map<String, String> sources = new ConcurrentHashMap<>();
    private boolean requireTicket;
    private StateStore stateStore;

    private Builder() {}

    /** The verifier (required). */
    public Builder verifier(TicketVerifier value) {
      this.verifier = value;
      return this;
    }

    /** This backend's id, the expected {@code aud} (required). */
    public Builder backendId(String id) {
      this.backendId = id;
      return this;
    }

    /** Maps a referral source address to the backend id that issues tickets from there. */
    public Builder source(String host, int port, String source) {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) throw TicketException.invalid("port", "port must be 0..65535");
      sources.put(addressKey(host, port), Ids.backendId(source));
      return this;
    }

    /** Refuse connections without referral data (default false: they are not migrations and pass). */
    public Builder requireTicket(boolean value) {
      this.requireTicket = value;
      return this;
    }

    /** Where by-reference state is fetched from; without one, referenced state is left to the caller. */
    public Builder stateStore(StateStore store) {
      this.stateStore = store;
      return this;
    }

    /** @throws TicketException {@code ERR_TICKET_INVALID_ARGUMENT} for a missing part */
    public TicketGuard build() {
      return new TicketGuard(this);
    }
  }
}
