package dev.handoff.tickets;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Checks and loads the state a verified ticket carries (docs/tickets.md, "State"). */
public final class TicketStates {
  private TicketStates() {}

  /** SHA-256 of {@code bytes}, unpadded base64url (the {@code sha256} member of a by-reference claim). */
  public static String sha256(byte[] bytes) {
    return Base64Url.encode(digest(bytes));
  }

  /**
   * Checks {@code bytes} against the ticket's state claim and returns them: by reference, the exact
   * length and then the SHA-256 (constant-time compare); inline, byte equality.
   *
   * @throws TicketException {@code ERR_TICKET_STATE_MISMATCH} when they differ;
   *     {@code ERR_TICKET_INVALID_ARGUMENT} when the ticket carries no state
   */
  public static byte[] check(VerifiedTicket ticket, byte[] bytes) {
    if (ticket == null) throw TicketException.invalid("not-verified", "not a verified ticket");
    TicketState state = ticket.state();
    if (state == null) throw TicketException.invalid("no-state", "the ticket carries no state");
    if (bytes == null) throw mismatch("not-bytes");
    if (state instanceof TicketState.Inline inline) {
      if (!inline.sameBytes(bytes)) throw mismatch("inline");
      return bytes;
    }
    TicketState.Reference ref = (TicketState.Reference) state;
    if (bytes.length != ref.length()) throw mismatch("length");
    byte[] expected = Base64Url.decodeStrict(ref.sha256());
    if (expected == null || !MessageDigest.isEqual(digest(bytes), expected)) throw mismatch("sha256");
    return bytes;
  }

  /**
   * The ticket's state bytes: inline ones directly, by-reference ones fetched from {@code store} and
   * checked with {@link #check}. Null when the ticket carries no state.
   *
   * @throws TicketException {@code ERR_TICKET_STATE_UNAVAILABLE} (missing, expired, no store, store
   *     failed), {@code ERR_TICKET_STATE_MISMATCH}
   */
  public static byte[] load(VerifiedTicket ticket, StateStore store) {
    if (ticket == null) throw TicketException.invalid("not-verified", "not a verified ticket");
    TicketState state = ticket.state();
    if (state == null) return null;
    if (state instanceof TicketState.Inline inline) return inline.bytes();
    if (store == null) throw TicketException.stateUnavailable("no-store");
    byte[] bytes;
    try {
      bytes = store.get(((TicketState.Reference) state).ref());
    } catch (TicketException e) {
      throw e;
    } catch (RuntimeException e) {
      throw TicketException.stateUnavailable("error");
    }
    if (bytes == null) throw TicketException.stateUnavailable("missing");
    return check(ticket, bytes);
  }

  private static TicketException mismatch(String reason) {
    return new TicketException(TicketErrorCode.ERR_TICKET_STATE_MISMATCH, "ticket state bytes do not match the ticket", reason);
  }

  static byte[] digest(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
