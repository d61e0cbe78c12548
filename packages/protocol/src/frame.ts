import type { PacketDescriptor } from './descriptor.js';

/** Bytes of the frame header: `[u32 LE payload length][i32 LE packet id]`. */
export const FRAME_HEADER_SIZE = 8;

/** Largest payload length any Hytale build accepts (`ProtocolSettings.MAX_PACKET_SIZE`). */
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
