/**
 * Protocol generations (G1, G2, G3): a registry table, the layouts of the modelled
 * packets, and how a Connect frame identifies the generation. All of it comes from
 * `data/generations.json` and `data/registries.json`: a new generation is a data change
 * (docs/protocol.md, "Generations on the wire").
 */
import generationsJson from '../data/generations.json';
import registriesJson from '../data/registries.json';
import type { Channel, PacketDescriptor } from './descriptor.js';
import { ProtocolError, isProtocolError, withPath } from './errors.js';
import { createFixedFieldReader, framePayload, type FieldName, type FixedFieldReader } from './fixed-fields.js';
import { FRAME_HEADER_SIZE, frameFromPayload, type Frame } from './frame.js';
import { type LayoutName, type PacketInputs, type PacketName, type PacketValues, layouts } from './packets.js';
import { Registry, type RegistryTable } from './registry.js';
import type { AnyCodec, Json, Shape, StructCodec, StructLayout } from './schema/index.js';
import { ReadContext, WriteContext } from './schema/index.js';
import { DEFAULT_ZSTD_LEVEL, compressPayload, decompressPayload } from './zstd.js';

/** How a Connect frame names its generation (docs/protocol.md, "Generations on the wire"). */
export interface GenerationIdentity {
  /** G1: the 64-character ASCII hash at payload offset 1. */
  readonly protocolHash?: string;
  /** G2+: int32 LE at payload offset 1. */
  readonly protocolCrc?: number;
  /** G2+: int32 LE at payload offset 5 (informative: the server only uses it to pick close code 5 or 6). */
  readonly protocolBuildNumber?: number;
}

/**
 * One generation as `data/generations.json` declares it: what `new Generation(init, registry)`
 * takes. `layouts` maps a packet name to the layout it uses when that differs from its own name.
 */
export interface GenerationInit {
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
  readonly #readers = new Map<string, FixedFieldReader>();

  /**
   * A generation from its declaration and its registry. The built-in ones are {@link generations};
   * build one yourself only for a registry the package does not ship (tests use a synthetic one).
   */
  constructor(data: GenerationInit, registry: Registry) {
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

  /**
   * A reader of a few fixed-offset fields of a modelled packet, compiled from this generation's
   * layout of it (and cached): the packet id, the offsets, the null bits and the enum values all
   * come from the schema.
   *
   * @example
   * ```ts
   * const pong = generation.fixedFields('Pong', ['id', 'type']);
   * if (frame.id === pong.descriptor.id) console.log(pong.readFrame(frame)); // { id: 7, type: 'Raw' }
   * ```
   * @throws {ProtocolError} `ERR_PROTOCOL_NOT_MODELLED` / `ERR_PROTOCOL_UNKNOWN_PACKET` for the packet,
   * `ERR_PROTOCOL_NOT_FIXED_FIELD` for a field that is not at a fixed offset in this generation.
   */
  fixedFields<N extends PacketName, const K extends FieldName<N>>(name: N, fields: readonly K[]): FixedFieldReader<N, K> {
    const key = `${name}\0${fields.join('\0')}`;
    let reader = this.#readers.get(key);
    if (reader === undefined) {
      const codec = this.packet(name);
      const codecs = new Map<string, AnyCodec>(codec.schema.spec.kind === 'struct' ? codec.schema.spec.fields.map((f) => [f.name, f.codec]) : []);
      reader = createFixedFieldReader({ name, descriptor: codec.descriptor, layout: codec.layout, codecs }, fields) as unknown as FixedFieldReader;
      this.#readers.set(key, reader);
    }
    return reader as unknown as FixedFieldReader<N, K>;
  }

  /** The codec of a packet id, or `undefined` when it is opaque; throws on an unknown id. */
  codecById(id: number): PacketCodec | undefined {
    const descriptor = this.registry.byId(id);
    if (!descriptor) throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_PACKET', `${this.id} has no packet id ${id}`);
    return this.#codecs.get(descriptor.name);
  }
}

function payloadOf(frame: Frame | Uint8Array, descriptor: PacketDescriptor): Uint8Array {
  if (frame instanceof Uint8Array) return framePayload(frame, descriptor);
  if (frame.descriptor.id !== descriptor.id) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `frame is ${frame.descriptor.name}, not ${descriptor.name}`);
  }
  return frame.payload;
}

function makePacketCodec<N extends PacketName>(descriptor: PacketDescriptor, layout: StructCodec<Record<string, never>>): PacketCodec<N> {
  const name = descriptor.name as N;
  const tag = (error: unknown): unknown => {
    if (isProtocolError(error) && error.packet === undefined) error.packet = name;
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
      return frameFromPayload(descriptor.id, payload);
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
  (generationsJson as unknown as { generations: GenerationInit[] }).generations.map((data) => {
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

/** Where a generation's Connect names it: the Connect's id, and the offset of its hash or CRC (from the schema). */
interface IdentityAt {
  readonly connectId: number | undefined;
  readonly offset: number;
}

const identityCache = new WeakMap<Generation, IdentityAt>();

function identityAt(generation: Generation): IdentityAt {
  let at = identityCache.get(generation);
  if (at === undefined) {
    const field = generation.identify.protocolHash !== undefined ? 'protocolHash' : 'protocolCrc';
    const offset = generation.isModelled('Connect') ? (generation.packet('Connect').layout.fields.find((f) => f.name === field)?.offset ?? -1) : -1;
    at = { connectId: generation.registry.byName('Connect')?.id, offset };
    identityCache.set(generation, at);
  }
  return at;
}

/** Options of {@link detectGeneration}. */
export interface DetectGenerationOptions {
  /** `connect` is the Connect's payload, not a whole frame. */
  readonly payload?: boolean;
  /** The generations to choose from (default {@link generations}): e.g. only the one a proxy was configured with. */
  readonly candidates?: readonly Generation[];
}

/**
 * Identifies the generation of a Connect frame (or its payload) from the protocol hash
 * (G1) or CRC (G2+), the only fields that name the wire format: the ALPN does not.
 */
export function detectGeneration(connect: Frame | Uint8Array, options: DetectGenerationOptions = {}): Generation {
  const candidates = options.candidates ?? generations;
  let payload: Uint8Array;
  let id: number | undefined;
  if (!(connect instanceof Uint8Array)) {
    id = connect.id;
    payload = connect.payload;
  } else if (options.payload) {
    payload = connect;
  } else {
    if (connect.length < FRAME_HEADER_SIZE) throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame header needs ${FRAME_HEADER_SIZE} bytes`);
    const view = new DataView(connect.buffer, connect.byteOffset, connect.byteLength);
    id = view.getInt32(4, true);
    const length = view.getInt32(0, true);
    if (length < 0) throw new ProtocolError('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH', `frame declares length ${length}`);
    payload = connect.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
  }
  if (id !== undefined && !candidates.some((g) => identityAt(g).connectId === id)) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `packet id ${id} is not a Connect`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let readable = false;
  let seenCrc: number | undefined;
  for (const generation of candidates) {
    const { connectId, offset } = identityAt(generation);
    if ((id !== undefined && connectId !== id) || offset < 0) continue;
    const { protocolHash, protocolCrc } = generation.identify;
    if (protocolHash !== undefined) {
      if (payload.length < offset + protocolHash.length) continue;
      readable = true;
      if (Buffer.from(payload.buffer, payload.byteOffset + offset, protocolHash.length).toString('latin1') === protocolHash) return generation;
    } else if (protocolCrc !== undefined) {
      if (payload.length < offset + 4) continue;
      readable = true;
      seenCrc = view.getInt32(offset, true);
      if (seenCrc === protocolCrc) return generation;
    }
  }
  if (!readable) throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', 'Connect payload is too short to name a generation', { packet: 'Connect' });
  throw withPath(
    new ProtocolError('ERR_PROTOCOL_UNKNOWN_GENERATION', `no known generation has protocol CRC ${seenCrc} or this protocol hash`, { packet: 'Connect' }),
    'protocolCrc',
  );
}
