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

/**
 * Copies a frame's bytes out of the buffer they arrived in. The copy keeps the frame's prototype
 * (a protocol `WireFrame` stays one, its `payload` getter reading the new bytes) and re-points an
 * own `payload` property, if the frame has one.
 */
export function copyFrameBytes<F extends FrameLike>(frame: F): F {
  const bytes = frame.bytes.slice();
  const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(frame) as object) as Record<string, unknown>;
  Object.assign(copy, frame);
  copy['bytes'] = bytes;
  if (Object.prototype.hasOwnProperty.call(frame, 'payload')) {
    const payload = (frame as unknown as { payload: Uint8Array }).payload;
    copy['payload'] = bytes.subarray(bytes.byteLength - payload.byteLength);
  }
  return copy as unknown as F;
}
