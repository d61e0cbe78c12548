/**
 * Whole-frame decode and encode, by registry: what the CLI, the vectors and capture
 * taps use. Packets the generation does not model decode to their (decompressed)
 * payload and still know their name, direction, channel and limits.
 */
import { toHex } from './bytes.js';
import type { PacketDescriptor } from './descriptor.js';
import { FRAME_HEADER_SIZE, type Frame } from './frame.js';
import type { DecodeOptions, EncodeOptions, Generation } from './generation.js';
import type { PacketInputs, PacketName, PacketValues } from './packets.js';
import type { Json } from './schema/index.js';
import { type FrameCheckOptions, readFrame } from './splitter.js';
import { decompressPayload } from './zstd.js';

/** A decoded frame: the value for modelled packets, the payload for opaque ones. */
export type DecodedFrame =
  | { [N in PacketName]: { readonly modelled: true; readonly name: N; readonly id: number; readonly descriptor: PacketDescriptor; readonly value: PacketValues[N] } }[PacketName]
  | {
      readonly modelled: false;
      readonly name: string;
      readonly id: number;
      readonly descriptor: PacketDescriptor;
      /** Uncompressed payload. */
      readonly payload: Uint8Array;
    };

/** Decodes one whole frame (bytes exactly one frame long, or a frame from the splitter). */
export function decodeFrame(generation: Generation, frame: Frame | Uint8Array, options: FrameCheckOptions & DecodeOptions = {}): DecodedFrame {
  const wire = frame instanceof Uint8Array ? readFrame(generation.registry, frame, options) : frame;
  const descriptor = wire.descriptor;
  const codec = generation.codecById(descriptor.id);
  if (codec) {
    return { modelled: true, name: codec.name, id: descriptor.id, descriptor, value: codec.decodeFrame(wire, options) } as DecodedFrame;
  }
  let payload = wire.bytes.subarray(FRAME_HEADER_SIZE);
  if (descriptor.compressed && payload.length > 0) {
    payload = decompressPayload(payload, Math.min(descriptor.maxSize, options.maxDecompressedSize ?? Infinity));
  }
  return { modelled: false, name: descriptor.name, id: descriptor.id, descriptor, payload };
}

/** Encodes a modelled packet as a whole frame (compressed where the registry says so). */
export function encodeFrame<N extends PacketName>(generation: Generation, name: N, value: PacketInputs[N], options: EncodeOptions = {}): Uint8Array {
  return generation.packet(name).encodeFrame(value, options);
}

/** The JSON form the CLI prints: `{"packet","id","value"}` (opaque packets add `"opaque": true` and give the payload as `"hex:…"`). */
export function frameToJson(generation: Generation, decoded: DecodedFrame): { packet: string; id: number; value: Json; opaque?: true } {
  if (!decoded.modelled) return { packet: decoded.name, id: decoded.id, opaque: true, value: `hex:${toHex(decoded.payload)}` };
  const codec = generation.packet(decoded.name);
  return { packet: decoded.name, id: decoded.id, value: codec.toJson(decoded.value as never) };
}
