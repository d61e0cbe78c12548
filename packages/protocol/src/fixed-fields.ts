/**
 * Fixed-field readers: a few fields at fixed offsets of a packet, read straight from the payload
 * without decoding the rest (what a capture tap does with every Ping, Pong, SetChunk and
 * UnloadChunk). Offsets, the packet id, the null bits and the enum values all come from the
 * generation's schema, never from constants, so a generation that moves a packet to another id or
 * a field to another offset is read correctly (docs/protocol.md, "Reading fixed fields").
 */
import type { FrameLike } from '@handoff/types';
import type { PacketDescriptor } from './descriptor.js';
import { ProtocolError } from './errors.js';
import { FRAME_HEADER_SIZE } from './frame.js';
import type { PacketName, PacketValues } from './packets.js';
import { compileFixedReader } from './schema/compile.js';
import type { AnyCodec, StructLayout } from './schema/index.js';
import { decompressPayload } from './zstd.js';

/** The names of a packet's fields (those a reader may ask for; only fixed-offset ones are accepted at run time). */
export type FieldName<N extends PacketName> = keyof PacketValues[N] & string;

/** Reads fields `K` of packet `N` in one generation. Built once (and cached) by `generation.fixedFields(name, fields)`. */
export interface FixedFieldReader<N extends PacketName = PacketName, K extends FieldName<N> = FieldName<N>> {
  readonly packet: N;
  /** The packet in this generation: its `id` is what a frame must carry to be this packet. */
  readonly descriptor: PacketDescriptor;
  /** The fields read, in the order given. */
  readonly fields: readonly K[];
  /** Payload bytes a read needs (the packet's fixed block). */
  readonly minPayloadSize: number;
  /**
   * Reads the fields from an uncompressed payload starting at `start` (default 0). Values are those
   * the packet's codec would decode (enum names, `null` for an unset nullable field).
   * @throws {ProtocolError} `ERR_PROTOCOL_TRUNCATED` when the fixed block is cut short,
   * `ERR_PROTOCOL_INVALID_ENUM` for an enum byte out of range (`path` names the field).
   */
  read(payload: Uint8Array, start?: number): Pick<PacketValues[N], K>;
  /**
   * Reads the fields from a whole frame (`{ id, bytes }` with the 8-byte header, or its bytes),
   * decompressing first where the packet is compressed.
   * @throws {ProtocolError} `ERR_PROTOCOL_INVALID_VALUE` when the frame is another packet, the
   * header codes of a bad header, and those of {@link FixedFieldReader.read}.
   */
  readFrame(frame: Pick<FrameLike, 'id' | 'bytes'> | Uint8Array, options?: { readonly maxDecompressedSize?: number }): Pick<PacketValues[N], K>;
}

/** What a generation hands to {@link createFixedFieldReader}: one modelled packet. */
export interface FixedFieldSource<N extends PacketName> {
  readonly name: N;
  readonly descriptor: PacketDescriptor;
  readonly layout: StructLayout;
  readonly codecs: ReadonlyMap<string, AnyCodec>;
}

/** The payload of a whole frame of `descriptor`, checked against its header. */
export function framePayload(bytes: Uint8Array, descriptor: PacketDescriptor): Uint8Array {
  if (bytes.length < FRAME_HEADER_SIZE) {
    throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame header needs ${FRAME_HEADER_SIZE} bytes, ${bytes.length} available`, { packet: descriptor.name });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getInt32(0, true);
  const id = view.getInt32(4, true);
  if (id !== descriptor.id) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `frame has packet id ${id}, not ${descriptor.id} (${descriptor.name})`);
  if (length < 0) throw new ProtocolError('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH', `frame declares length ${length}`, { packet: descriptor.name });
  if (length > descriptor.maxSize) {
    throw new ProtocolError('ERR_PROTOCOL_FRAME_TOO_LARGE', `frame declares ${length} bytes, over ${descriptor.name}'s maximum ${descriptor.maxSize}`, {
      packet: descriptor.name,
    });
  }
  if (FRAME_HEADER_SIZE + length > bytes.length) {
    throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame declares ${length} payload bytes, ${bytes.length - FRAME_HEADER_SIZE} available`, {
      packet: descriptor.name,
    });
  }
  return bytes.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
}

/**
 * Compiles the reader of `fields` of one packet.
 * @throws {ProtocolError} `ERR_PROTOCOL_NOT_FIXED_FIELD` when a field is not at a fixed offset.
 */
export function createFixedFieldReader<N extends PacketName, K extends FieldName<N>>(source: FixedFieldSource<N>, fields: readonly K[]): FixedFieldReader<N, K> {
  const { name, descriptor, layout } = source;
  const plan = fields.map((field) => {
    const at = layout.fields.find((f) => f.name === field);
    const codec = source.codecs.get(field);
    if (at === undefined || codec === undefined || at.offset < 0 || codec.fixedSize === undefined) {
      throw new ProtocolError('ERR_PROTOCOL_NOT_FIXED_FIELD', `${name}.${field} is not a fixed-offset field of ${name}`, { packet: name, path: [field] });
    }
    return { name: field, codec, nullable: at.nullable, bit: at.bit, offset: at.offset, slot: -1, fixedSize: codec.fixedSize };
  });
  const need = layout.fixedBlockSize;
  const read = compileFixedReader({ name, need, fields: plan }) as (bytes: Uint8Array, start: number) => Pick<PacketValues[N], K>;
  return Object.freeze({
    packet: name,
    descriptor,
    fields: Object.freeze([...fields]),
    minPayloadSize: need,
    read: (payload: Uint8Array, start = 0) => read(payload, start),
    readFrame(frame: Pick<FrameLike, 'id' | 'bytes'> | Uint8Array, options: { readonly maxDecompressedSize?: number } = {}) {
      const bytes = frame instanceof Uint8Array ? frame : frame.bytes;
      if (!(frame instanceof Uint8Array) && frame.id !== descriptor.id) {
        throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `frame is packet id ${frame.id}, not ${descriptor.id} (${name})`, { packet: name });
      }
      let payload = framePayload(bytes, descriptor);
      if (descriptor.compressed && payload.length > 0) {
        payload = decompressPayload(payload, Math.min(descriptor.maxSize, options.maxDecompressedSize ?? Infinity));
      }
      return read(payload, 0);
    },
  });
}
