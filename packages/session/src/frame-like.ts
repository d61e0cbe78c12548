/**
 * The least the ping ledger needs of a frame: its packet id and its bytes (header and payload).
 * `Frame` from `@handoff/protocol` satisfies it, and so does the frame type of `@handoff/migration`'s
 * buffer, so its drain policy can take {@link PingLedger.drainFilter} directly.
 */
export interface FrameLike {
  /** Packet id from the frame header. */
  readonly id: number;
  /** The whole frame as it goes on the wire (8-byte header, then the payload). */
  readonly bytes: Uint8Array;
}
