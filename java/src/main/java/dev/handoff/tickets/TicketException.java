package dev.handoff.tickets;

import java.util.Objects;

/**
 * The one exception type of this library. It carries a stable {@link #code()} and, for some codes, a
 * short machine-readable {@link #reason()}. Its message, reason and {@code toString()} never contain the
 * ticket, the nonce, state bytes or key material; causes are never attached (a client library's
 * exception may carry the command that held the nonce), only their class name is kept as a reason.
 */
public final class TicketException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final TicketErrorCode code;
  private final String reason;

  /** An exception with the code's own description as message. */
  public TicketException(TicketErrorCode code) {
    this(code, null, null);
  }

  /**
   * @param code the stable code
   * @param message a fixed, non-secret message (null: the code's description)
   * @param reason a short machine-readable detail such as {@code "timeout"}, or null; never secret
   */
  public TicketException(TicketErrorCode code, String message, String reason) {
    super(message == null ? Objects.requireNonNull(code, "code").description() : message, null, false, false);
    this.code = code;
    this.reason = reason;
  }

  /** The stable error code. */
  public TicketErrorCode code() {
    return code;
  }

  /** A short machine-readable detail (e.g. {@code "unknown-kid"}, {@code "full"}), or null. */
  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return "TicketException[" + code + (reason == null ? "" : ", reason=" + reason) + "]: " + getMessage();
  }

  static TicketException malformed(String reason) {
    return new TicketException(TicketErrorCode.ERR_TICKET_MALFORMED, "malformed ticket: " + reason.replace('-', ' '), reason);
  }

  static TicketException invalid(String reason, String message) {
    return new TicketException(TicketErrorCode.ERR_TICKET_INVALID_ARGUMENT, message, reason);
  }

  static TicketException replayStoreUnavailable(String reason) {
    return new TicketException(
        TicketErrorCode.ERR_TICKET_REPLAY_STORE_UNAVAILABLE, "replay store unavailable (" + reason + "): ticket refused", reason);
  }

  static TicketException stateUnavailable(String reason) {
    return new TicketException(TicketErrorCode.ERR_TICKET_STATE_UNAVAILABLE, "ticket state unavailable (" + reason + ")", reason);
  }
}
