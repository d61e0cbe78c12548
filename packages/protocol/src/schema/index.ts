/**
 * The declarative schema: every type reads, writes, sizes and maps to JSON.
 *
 * @example
 * ```ts
 * import { t, type Infer } from '@handoff/protocol';
 * const Greeting = t.struct('Greeting', { id: t.int32, text: t.nullable(t.varString(64)) });
 * type Greeting = Infer<typeof Greeting>; // { id: number; text: string | null }
 * ```
 */
import { array, lazy, map, union } from './collections.js';
import {
  bool,
  bytes,
  enumOf,
  fixedString,
  float16,
  float32,
  float64,
  int16,
  int32,
  int64,
  int8,
  uint16,
  uint32,
  uint8,
  uuid,
  varString,
} from './primitives.js';
import { nullable, struct } from './struct.js';

export const t = {
  int8,
  uint8,
  int16,
  uint16,
  int32,
  uint32,
  int64,
  float16,
  float32,
  float64,
  bool,
  uuid,
  enum: enumOf,
  fixedString,
  varString,
  bytes,
  struct,
  nullable,
  array,
  map,
  union,
  lazy,
} as const;

export type { AnyCodec, Codec, CodecSpec, FieldSpec, Infer, InferInput, Json, VariantSpec } from './codec.js';
export { ReadContext, WriteContext, check, decodeWith, encodeWith } from './codec.js';
export type { FieldLayout, NullableField, Shape, StructCodec, StructInput, StructLayout, StructValue } from './struct.js';
export { MAX_NESTING } from './struct.js';
export type { Variant } from './collections.js';
