package dev.handoff.tickets;

/**
 * What changed in a {@link KeyRing}.
 *
 * @param type the change
 * @param kid the key concerned
 */
public record KeyRingEvent(Type type, String kid) {
  /** Kinds of change. */
  public enum Type {
    /** A key was added (or replaced). */
    KEY_ADDED,
    /** A key's {@code notAfter} was set. */
    KEY_RETIRED,
    /** A key was removed. */
    KEY_REMOVED
  }
}
