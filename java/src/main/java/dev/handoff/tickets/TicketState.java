package dev.handoff.tickets;

import java.util.Arrays;

/**
 * The state a ticket hands from the source to the target backend: inline bytes, or a reference into a
 * shared {@link StateStore} with the exact length and SHA-256 of the bytes (both covered by the
 * signature). {@code toString()} never shows the bytes, the ref or the digest.
 */
public sealed interface TicketState permits TicketState.Inline, TicketState.Reference {
  /** The number of state bytes. */
  long length();

  /** State carried in the ticket ({@code st.in}). */
  final class Inline implements TicketState {
    private final byte[] bytes;

    Inline(byte[] bytes) {
      this.bytes = bytes.clone();
    }

    /** A copy of the state bytes. */
    public byte[] bytes() {
      return bytes.clone();
    }

    @Override
    public long length() {
      return bytes.length;
    }

    boolean sameBytes(byte[] other) {
      return java.security.MessageDigest.isEqual(bytes, other);
    }

    @Override
    public String toString() {
      return "TicketState.Inline[length=" + bytes.length + "]";
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Inline other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }

  /**
   * State in a shared store ({@code st.ref}, {@code st.len}, {@code st.sha256}); fetch the bytes and
   * check them with {@link TicketStates#check} or {@link TicketStates#load}.
   *
   * @param ref the key of the bytes in the state store
   * @param length their exact length
   * @param sha256 their SHA-256, unpadded base64url
   */
  record Reference(String ref, long length, String sha256) implements TicketState {
    @Override
    public String toString() {
      return "TicketState.Reference[length=" + length + "]";
    }
  }
}
