/**
 * The codec contract every schema type implements: read, write, size and the JSON
 * mapping all follow from one declaration. Composite types (struct, array, map,
 * union) are built from these, so a packet is declared once as data.
 */
import { asBuffer } from '../bytes.js';
import { ProtocolError, isProtocolError, truncated } from '../errors.js';
import { MAX_PACKET_SIZE } from '../frame.js';

/** Where a decoder reads: a view of the payload and a cursor. */
export class ReadContext {
  readonly bytes: Uint8Array;
  #view: DataView | undefined;
  #buf: Buffer | undefined;
  /** Cursor: each codec reads at `pos` and leaves it after the value. */
  pos: number;
  /** Exclusive limit: nothing at or past `end` belongs to this payload. */
  readonly end: number;
  /** Nesting depth of recursive structs, bounded so hostile input cannot overflow the stack. */
  depth = 0;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /** A DataView of `bytes` for little-endian reads, made on first use. */
  get view(): DataView {
    return (this.#view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  /** A Buffer view of `bytes` for Node's string decoders, made on first use. */
  get buf(): Buffer {
    return (this.#buf ??= asBuffer(this.bytes));
  }

  /** Throws `ERR_PROTOCOL_TRUNCATED` unless `n` bytes are available at `at`. */
  need(n: number, what: string, at = this.pos): void {
    if (at + n > this.end) throw truncated(what, n, Math.max(0, this.end - at));
  }
}

/** Where an encoder writes: a buffer of exactly the computed size and a cursor. */
export class WriteContext {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  #buf: Buffer | undefined;
  pos: number;

  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  /** A Buffer view of `bytes` for Node's string encoders, made on first use. */
  get buf(): Buffer {
    return (this.#buf ??= asBuffer(this.bytes));
  }
}

/** JSON as the CLI and the vectors use it (README of the protocol data). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A machine-readable description of a codec, used for docs, for deriving test data
 * generators, and for computing the worst-case size of a packet.
 */
export type CodecSpec =
  | { readonly kind: 'int'; readonly bits: 8 | 16 | 32; readonly signed: boolean }
  | { readonly kind: 'int64' }
  | { readonly kind: 'float'; readonly bits: 16 | 32 | 64 }
  | { readonly kind: 'bool' }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'fixedString'; readonly length: number; readonly encoding: 'ascii' | 'utf8' }
  | { readonly kind: 'varString'; readonly max: number; readonly encoding: 'ascii' | 'utf8' }
  | { readonly kind: 'bytes'; readonly max: number }
  | { readonly kind: 'array'; readonly max: number; readonly element: AnyCodec }
  | { readonly kind: 'map'; readonly max: number; readonly key: AnyCodec; readonly value: AnyCodec }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly FieldSpec[] }
  | { readonly kind: 'union'; readonly name: string; readonly variants: readonly VariantSpec[] }
  | { readonly kind: 'lazy'; readonly name: string; readonly target: () => AnyCodec };

export interface FieldSpec {
  readonly name: string;
  readonly codec: AnyCodec;
  readonly nullable: boolean;
}

export interface VariantSpec {
  readonly name: string;
  readonly typeId: number;
  readonly codec: AnyCodec;
}

/**
 * One schema type. `T` is the decoded value; `I` what the encoder accepts (the same,
 * except that nullable struct fields may be left out).
 */
export interface Codec<T, I = T> {
  readonly spec: CodecSpec;
  /** Set when every value takes exactly this many bytes (fixed-block fields). */
  readonly fixedSize: number | undefined;
  /** A lower bound of the encoded size, used to refuse absurd counts before allocating. */
  readonly minSize: number;
  /** Reads one value at `r.pos` and leaves `r.pos` after it. */
  read(r: ReadContext): T;
  /** Exact encoded size of `value`; throws `ERR_PROTOCOL_INVALID_VALUE` (with a path) when it does not fit. */
  size(value: I): number;
  /** Writes `value` at `w.pos` (which has `size(value)` bytes free) and advances. Call `size` first. */
  write(w: WriteContext, value: I): void;
  toJson(value: T): Json;
  /** Parses the JSON mapping back into an encodable value; throws `ERR_PROTOCOL_INVALID_VALUE`. */
  fromJson(json: unknown): I;
  /** Largest encoded size (saturating), as the server's generated `MAX_SIZE` computes it. */
  maxSize(): number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCodec = Codec<any, any>;

/** The decoded value type of a codec. */
export type Infer<C> = C extends Codec<infer T, unknown> ? T : never;
/** What the encoder of a codec accepts. */
export type InferInput<C> = C extends Codec<unknown, infer I> ? I : never;

/** Decodes a whole value from `bytes` (trailing bytes are ignored, as the server does). */
export function decodeWith<T>(codec: Codec<T, unknown>, bytes: Uint8Array): T {
  return codec.read(new ReadContext(bytes));
}

/** Encodes `value` into a new buffer of exactly its size. */
export function encodeWith<I>(codec: Codec<unknown, I>, value: I): Uint8Array {
  const size = codec.size(value);
  const out = new Uint8Array(size);
  const w = new WriteContext(out);
  codec.write(w, value);
  if (w.pos !== size) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `codec wrote ${w.pos} bytes, expected ${size}`);
  }
  return out;
}

/** Returns the first problem with `value` as a `ProtocolError` (with its path), or `undefined` when it encodes. */
export function check<I>(codec: Codec<unknown, I>, value: I): ProtocolError | undefined {
  try {
    codec.size(value);
    return undefined;
  } catch (error) {
    if (isProtocolError(error)) return error;
    throw error;
  }
}

/** Adds two sizes, saturating at {@link MAX_PACKET_SIZE} (where the server's generated `MAX_SIZE`s saturate) so worst cases stay finite. */
export function addMax(a: number, b: number): number {
  return Math.min(a + b, MAX_PACKET_SIZE);
}

/** Multiplies two sizes, saturating at {@link MAX_PACKET_SIZE}. */
export function mulMax(a: number, b: number): number {
  return Math.min(a * b, MAX_PACKET_SIZE);
}
