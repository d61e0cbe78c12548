/**
 * The least the packages need of a frame. `Frame` from `@handoff/protocol` (what its splitter
 * yields) satisfies it; so does any `{ id, bytes, descriptor: { name } }`.
 */
import type { MigrationEnds } from './refs.js';

export interface FrameLike {
  /** Packet id from the frame header. */
  readonly id: number;
  /** The whole frame as it goes on the wire: the 8-byte header (`u32 LE` length, `u32 LE` id), then the payload. */
  readonly bytes: Uint8Array;
  /** What the registry of the frame's generation knows of the packet: at least its name, and its channel where there is one. */
  readonly descriptor: { readonly name: string; readonly channel?: string };
}

/**
 * Decides whether a buffered client Pong answers a Ping that the migration's source backend (A)
 * sent. The session's ping ledger provides it (`record.pings.isSourcePong`); the migration's drain
 * policy drops such Pongs instead of delivering them to B, which would disconnect the player.
 */
export type SourcePongTest<F extends FrameLike = FrameLike> = (frame: F, ends: MigrationEnds) => boolean;
