/**
 * The frame: `[int32 LE payload length][int32 LE packet id][payload]`, the only framing Hytale has
 * (docs/protocol.md, "Frames on the wire"). Every package writes a frame header through
 * {@link writeFrameHeader} and bounds lengths by {@link MAX_PACKET_SIZE}.
 */
import type { PacketDescriptor } from './descriptor.js';

/** Bytes of the frame header: `[int32 LE payload length][int32 LE packet id]`. */
export const FRAME_HEADER_SIZE = 8;

/**
 * Largest payload length any Hytale build accepts, and where the generated `MAX_SIZE`s saturate
 * (the server's `ProtocolSettings.MAX_PACKET_SIZE`, 1,677,721,600 bytes).
 */
export const MAX_PACKET_SIZE = 0x64000000;

/**
 * One frame as it is on the wire. `bytes` and `payload` are views into the buffer the
 * frame arrived in (no copy): keep the frame only as long as that buffer may live, or
 * `copyFrame()` it.
 */
export interface Frame {
  /** Packet id from the header. */
  readonly id: number;
  /** The whole frame: header and payload (still compressed where the packet is). */
  readonly bytes: Uint8Array;
  /** The payload: `bytes` without the 8-byte header. */
  readonly payload: Uint8Array;
  /** What the generation's registry knows about this id. */
  readonly descriptor: PacketDescriptor;
}

/**
 * Writes a frame header for packet `id` with `payloadLength` payload bytes into `out` at `pos`
 * (8 bytes). The payload goes at `pos + FRAME_HEADER_SIZE`.
 *
 * @example
 * ```ts
 * const frame = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
 * writeFrameHeader(frame, 0, descriptor.id, payload.length);
 * frame.set(payload, FRAME_HEADER_SIZE);
 * ```
 */
export function writeFrameHeader(out: Uint8Array, pos: number, id: number, payloadLength: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setInt32(pos, payloadLength, true);
  view.setInt32(pos + 4, id, true);
}

/** A new frame: the header for packet `id`, then a copy of `payload` (already compressed where the packet is). */
export function frameFromPayload(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(out, 0, id, payload.length);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}
