/**
 * Protocol generations (G1, G2, G3): a registry table, the layouts of the modelled
 * packets, and how a Connect frame identifies the generation. All of it comes from
 * `data/generations.json` and `data/registries.json`: a new generation is a data change.
 */
import generationsJson from '../data/generations.json';
import registriesJson from '../data/registries.json';
import type { Channel, PacketDescriptor } from './descriptor.js';
import { ProtocolError, withPath } from './errors.js';
import { FRAME_HEADER_SIZE, type Frame } from './frame.js';
import { type LayoutName, type PacketInputs, type PacketName, type PacketValues, layouts } from './packets.js';
import { Registry, type RegistryTable } from './registry.js';
import type { Json, Shape, StructCodec, StructLayout } from './schema/index.js';
import { ReadContext, WriteContext } from './schema/index.js';
import { DEFAULT_ZSTD_LEVEL, compressPayload, decompressPayload } from './zstd.js';

/** How a Connect frame names its generation (REFERENCE.md §4). */
export interface GenerationIdentity {
  /** G1: the 64-character ASCII hash at payload offset 1. */
  readonly protocolHash?: string;
  /** G2+: int32 LE at payload offset 1. */
  readonly protocolCrc?: number;
  /** G2+: int32 LE at payload offset 5 (informative: the server only uses it to pick close code 5 or 6). */
  readonly protocolBuildNumber?: number;
}

interface GenerationData {
  readonly id: string;
  readonly registry: string;
  readonly builds: readonly string[];
  readonly alpn: readonly string[];
  readonly identify: GenerationIdentity;
  readonly serverUniStreams: readonly string[];
  readonly layouts: Readonly<Record<string, string>>;
}

export interface DecodeOptions {
  /** Refuse decompressed payloads over this many bytes (default: the packet's maxSize). */
  readonly maxDecompressedSize?: number;
}

export interface EncodeOptions {
  /** zstd level for compressed packets (default 3, the server's). */
  readonly level?: number;
}

/** Codec of one modelled packet in one generation. Payloads here are uncompressed. */
export interface PacketCodec<N extends PacketName = PacketName> {
  readonly name: N;
  readonly descriptor: PacketDescriptor;
  /** The struct layout (null bits, fixed block, slots) of this packet in this generation. */
  readonly layout: StructLayout;
  /** The schema itself: its `spec` describes every field, its `maxSize()` the worst case. */
  readonly schema: StructCodec<Shape>;
  /** Decodes an uncompressed payload. */
  decode(payload: Uint8Array): PacketValues[N];
  /** Encodes an uncompressed payload (checks it against the registry's maxSize). */
  encode(value: PacketInputs[N]): Uint8Array;
  /** Exact uncompressed payload size of `value`. */
  size(value: PacketInputs[N]): number;
  /** Decodes a whole frame of this packet (decompressing where the registry says so). */
  decodeFrame(frame: Frame | Uint8Array, options?: DecodeOptions): PacketValues[N];
  /** Encodes a whole frame: header, payload, compressed where the registry says so. */
  encodeFrame(value: PacketInputs[N], options?: EncodeOptions): Uint8Array;
  toJson(value: PacketValues[N]): Json;
  fromJson(json: unknown): PacketInputs[N];
}

export class Generation {
  readonly id: string;
  readonly builds: readonly string[];
  /** ALPN tokens a server of this generation offers, preferred first. */
  readonly alpn: readonly string[];
  readonly identify: GenerationIdentity;
  /** Channels of the uni streams the server opens after setup, in order (G3: Chunks, WorldMap). */
  readonly serverUniStreams: readonly Channel[];
  readonly registry: Registry;
  readonly #codecs = new Map<string, PacketCodec>();

  constructor(data: GenerationData, registry: Registry) {
    this.id = data.id;
    this.builds = Object.freeze([...data.builds]);
    this.alpn = Object.freeze([...data.alpn]);
    this.identify = Object.freeze({ ...data.identify });
    this.serverUniStreams = Object.freeze([...data.serverUniStreams]);
    this.registry = registry;
    const layoutNames = new Set(Object.keys(layouts));
    for (const descriptor of registry.packets) {
      const layoutName = data.layouts[descriptor.name] ?? descriptor.name;
      if (!layoutNames.has(layoutName)) {
        if (data.layouts[descriptor.name]) throw new Error(`generation ${this.id}: unknown layout ${layoutName}`);
        continue; // opaque: passes through as a frame
      }
      const layout = layouts[layoutName as LayoutName] as unknown as StructCodec<Record<string, never>>;
      this.#codecs.set(descriptor.name, makePacketCodec(descriptor, layout));
    }
  }

  /** Names of the packets this generation fully models (the rest pass through opaque). */
  get modelled(): readonly string[] {
    return [...this.#codecs.keys()];
  }

  isModelled(name: string): name is PacketName {
    return this.#codecs.has(name);
  }

  /** The codec of a modelled packet; `ERR_PROTOCOL_NOT_MODELLED` / `ERR_PROTOCOL_UNKNOWN_PACKET` otherwise. */
  packet<N extends PacketName>(name: N): PacketCodec<N> {
    const codec = this.#codecs.get(name);
    if (codec) return codec as unknown as PacketCodec<N>;
    if (this.registry.byName(name)) {
      throw new ProtocolError('ERR_PROTOCOL_NOT_MODELLED', `${name} is not modelled in ${this.id}: it passes through as an opaque frame`, { packet: name });
    }
    throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_PACKET', `${this.id} has no packet named ${name}`, { packet: name });
  }

  /** The codec of a packet id, or `undefined` when it is opaque; throws on an unknown id. */
  codecById(id: number): PacketCodec | undefined {
    const descriptor = this.registry.byId(id);
    if (!descriptor) throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_PACKET', `${this.id} has no packet id ${id}`);
    return this.#codecs.get(descriptor.name);
  }
}

function payloadOf(frame: Frame | Uint8Array, descriptor: PacketDescriptor): Uint8Array {
  if (!(frame instanceof Uint8Array)) {
    if (frame.descriptor.id !== descriptor.id) {
      throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `frame is ${frame.descriptor.name}, not ${descriptor.name}`);
    }
    return frame.payload;
  }
  if (frame.length < FRAME_HEADER_SIZE) {
    throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame header needs 8 bytes, ${frame.length} available`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const length = view.getInt32(0, true);
  const id = view.getInt32(4, true);
  if (id !== descriptor.id) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `frame has packet id ${id}, not ${descriptor.id} (${descriptor.name})`);
  if (length < 0) throw new ProtocolError('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH', `frame declares length ${length}`);
  if (length > descriptor.maxSize) {
    throw new ProtocolError('ERR_PROTOCOL_FRAME_TOO_LARGE', `frame declares ${length} bytes, over ${descriptor.name}'s maximum ${descriptor.maxSize}`);
  }
  if (FRAME_HEADER_SIZE + length > frame.length) {
    throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame declares ${length} payload bytes, ${frame.length - FRAME_HEADER_SIZE} available`);
  }
  return frame.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
}

function makePacketCodec<N extends PacketName>(descriptor: PacketDescriptor, layout: StructCodec<Record<string, never>>): PacketCodec<N> {
  const name = descriptor.name as N;
  const tag = (error: unknown): unknown => {
    if (error instanceof ProtocolError && error.packet === undefined) error.packet = name;
    return error;
  };
  const decode = (payload: Uint8Array): PacketValues[N] => {
    try {
      return layout.read(new ReadContext(payload)) as unknown as PacketValues[N];
    } catch (error) {
      throw tag(error);
    }
  };
  const size = (value: PacketInputs[N]): number => {
    try {
      return layout.size(value as never);
    } catch (error) {
      throw tag(error);
    }
  };
  const encode = (value: PacketInputs[N]): Uint8Array => {
    const n = size(value);
    if (n > descriptor.maxSize) {
      throw tag(new ProtocolError('ERR_PROTOCOL_FRAME_TOO_LARGE', `${name} encodes to ${n} bytes, over its maximum ${descriptor.maxSize}`));
    }
    const out = new Uint8Array(n);
    layout.write(new WriteContext(out), value as never);
    return out;
  };
  return {
    name,
    descriptor,
    layout: layout.layout,
    schema: layout as unknown as StructCodec<Shape>,
    decode,
    encode,
    size,
    decodeFrame(frame, options = {}) {
      let payload: Uint8Array;
      try {
        payload = payloadOf(frame, descriptor);
        if (descriptor.compressed && payload.length > 0) {
          payload = decompressPayload(payload, Math.min(descriptor.maxSize, options.maxDecompressedSize ?? Infinity));
        }
      } catch (error) {
        throw tag(error);
      }
      return decode(payload);
    },
    encodeFrame(value, options = {}) {
      let payload = encode(value);
      if (descriptor.compressed && payload.length > 0) {
        try {
          payload = compressPayload(payload, options.level ?? DEFAULT_ZSTD_LEVEL);
        } catch (error) {
          throw tag(error);
        }
      }
      const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
      const view = new DataView(out.buffer);
      view.setInt32(0, payload.length, true);
      view.setInt32(4, descriptor.id, true);
      out.set(payload, FRAME_HEADER_SIZE);
      return out;
    },
    toJson: (value) => layout.toJson(value as never),
    fromJson(json) {
      try {
        return layout.fromJson(json) as unknown as PacketInputs[N];
      } catch (error) {
        throw tag(error);
      }
    },
  };
}

const tables = new Map<string, RegistryTable>(
  (registriesJson as unknown as { tables: RegistryTable[] }).tables.map((table) => [table.table, table]),
);

/** Every known generation, oldest first. */
export const generations: readonly Generation[] = Object.freeze(
  (generationsJson as unknown as { generations: GenerationData[] }).generations.map((data) => {
    const table = tables.get(data.registry);
    if (!table) throw new Error(`generation ${data.id}: no registry table ${data.registry}`);
    return new Generation(data, new Registry(table));
  }),
);

/** The generation with this id (`G1`, `G2`, `G3`). */
export function getGeneration(id: string): Generation {
  const generation = generations.find((g) => g.id.toLowerCase() === id.toLowerCase());
  if (!generation) {
    throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_GENERATION', `unknown generation ${JSON.stringify(id)} (known: ${generations.map((g) => g.id).join(', ')})`);
  }
  return generation;
}

const CONNECT_ID = 0;

/**
 * Identifies the generation of a Connect frame (or its payload) from the protocol hash
 * (G1) or CRC (G2+), the only fields that name the wire format: the ALPN does not.
 */
export function detectGeneration(connect: Frame | Uint8Array, options: { payload?: boolean } = {}): Generation {
  let payload: Uint8Array;
  if (!(connect instanceof Uint8Array)) {
    if (connect.id !== CONNECT_ID) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `packet id ${connect.id} is not a Connect`);
    payload = connect.payload;
  } else if (options.payload) {
    payload = connect;
  } else {
    if (connect.length < FRAME_HEADER_SIZE) throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', 'frame header needs 8 bytes');
    const view = new DataView(connect.buffer, connect.byteOffset, connect.byteLength);
    const id = view.getInt32(4, true);
    if (id !== CONNECT_ID) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `packet id ${id} is not a Connect`);
    const length = view.getInt32(0, true);
    if (length < 0) throw new ProtocolError('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH', `frame declares length ${length}`);
    payload = connect.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let seenCrc: number | undefined;
  for (const generation of generations) {
    const { protocolHash, protocolCrc } = generation.identify;
    if (protocolHash !== undefined) {
      if (payload.length >= 1 + protocolHash.length && Buffer.from(payload.subarray(1, 1 + protocolHash.length)).toString('latin1') === protocolHash) {
        return generation;
      }
    } else if (protocolCrc !== undefined && payload.length >= 5) {
      seenCrc = view.getInt32(1, true);
      if (seenCrc === protocolCrc) return generation;
    }
  }
  if (payload.length < 5) throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', 'Connect payload is too short to name a generation', { packet: 'Connect' });
  throw withPath(
    new ProtocolError('ERR_PROTOCOL_UNKNOWN_GENERATION', `no known generation has protocol CRC ${seenCrc} or this protocol hash`, { packet: 'Connect' }),
    'protocolCrc',
  );
}
