package dev.handoff.tickets;

/** How an issuer carries state (docs/tickets.md, "State"). */
public enum StateMode {
  /** Inline when the whole ticket then fits 4096 bytes, otherwise by reference (needs a state store). */
  AUTO,
  /** Always inline; {@code ERR_TICKET_TOO_LARGE} when it does not fit. */
  INLINE,
  /** Always by reference (needs a state store). */
  REFERENCE
}
