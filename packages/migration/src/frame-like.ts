/**
 * The least the buffer, the drain policy and the barrier need of a frame. `Frame` from
 * `@handoff/protocol` satisfies it; so does any `{ id, bytes, descriptor: { name } }`.
 */
export interface FrameLike {
  /** Packet id from the frame header. */
  readonly id: number;
  /** The whole frame as it goes on the wire (header and payload). */
  readonly bytes: Uint8Array;
  readonly descriptor: { readonly name: string; readonly channel?: string };
}

/** Copies a frame's bytes out of the buffer they arrived in (and re-points `payload`, if any). */
export function copyFrameBytes<F extends FrameLike>(frame: F): F {
  const bytes = frame.bytes.slice();
  const copy: Record<string, unknown> = { ...(frame as object), bytes };
  if ('payload' in frame) copy['payload'] = bytes.subarray(bytes.byteLength - (frame as { payload: Uint8Array }).payload.byteLength);
  return copy as F;
}
