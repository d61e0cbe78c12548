/**
 * The struct layout of the server's generated packet classes (docs/protocol.md, "Struct layout"):
 *
 * 1. nullable bit field (one bit per nullable field, LSB first, as many bytes as needed);
 * 2. fixed-size fields at constant offsets (a null fixed field is written as zeros);
 * 3. with two or more variable-size fields, one int32 LE offset slot each (relative to
 *    the variable block, -1 when null); with exactly one, no slot: it follows the fixed
 *    part directly;
 * 4. the variable block, written in slot order. Readers follow the offsets, so other
 *    orders decode too.
 *
 * Fixed fields come first in wire order and take the first null bits, whatever order
 * the declaration lists them in: this is how the server's generator lays them out.
 */
import { ProtocolError, invalidValue, withPath } from '../errors.js';
import { compileStruct } from './compile.js';
import type { AnyCodec, Codec, FieldSpec, Infer, InferInput, Json, ReadContext, WriteContext } from './codec.js';
import { MAX_PACKET_SIZE } from '../frame.js';

/** Marks a struct field as nullable (a bit in the null field). Only valid inside {@link struct}. */
export interface NullableField<C extends AnyCodec> {
  readonly nullable: true;
  readonly codec: C;
}

export function nullable<C extends AnyCodec>(codec: C): NullableField<C> {
  return { nullable: true, codec };
}

export type FieldDef = AnyCodec | NullableField<AnyCodec>;
export type Shape = Record<string, FieldDef>;

type Prettify<T> = { [K in keyof T]: T[K] } & {};

type NullableKeys<S extends Shape> = { [K in keyof S]: S[K] extends NullableField<AnyCodec> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, NullableKeys<S>>;

export type StructValue<S extends Shape> = Prettify<{
  [K in keyof S]: S[K] extends NullableField<infer C> ? Infer<C> | null : Infer<S[K]>;
}>;

export type StructInput<S extends Shape> = Prettify<
  { [K in RequiredKeys<S>]: InferInput<S[K]> } & {
    [K in NullableKeys<S>]?: S[K] extends NullableField<infer C> ? InferInput<C> | null : never;
  }
>;

/** Where each field sits: what `docs/` tables and the registry cross-check read. */
export interface StructLayout {
  readonly name: string;
  readonly nullBytes: number;
  /** Null bits and fixed fields; offset slots excluded (the registry's `fixedBlockSize`). */
  readonly fixedBlockSize: number;
  readonly variableFieldCount: number;
  /** Where the variable block starts (`VARIABLE_BLOCK_START`). */
  readonly variableBlockStart: number;
  readonly fields: readonly FieldLayout[];
}

export interface FieldLayout {
  readonly name: string;
  readonly nullable: boolean;
  /** Bit index in the null field, or -1. */
  readonly bit: number;
  /** Offset in the fixed block, or -1 for a variable field. */
  readonly offset: number;
  /** Offset of this field's slot, -1 without one (fixed field, or the only variable field). */
  readonly slot: number;
}

interface CompiledField extends FieldLayout {
  readonly codec: AnyCodec;
  readonly fixedSize: number;
}

/** Recursive structs (FormattedMessage) may nest at most this deep on the wire. */
export const MAX_NESTING = 64;

export interface StructCodec<S extends Shape> extends Codec<StructValue<S>, StructInput<S>> {
  readonly layout: StructLayout;
}

export interface StructOptions {
  /** Size of the null field when the server's generator uses another than ceil(nullable / 8). */
  readonly nullBytes?: number;
}

export function struct<S extends Shape>(name: string, shape: S, options: StructOptions = {}): StructCodec<S> {
  const declared = Object.entries(shape).map(([fieldName, def]) => {
    const isNullable = (def as NullableField<AnyCodec>).nullable === true;
    const codec = isNullable ? (def as NullableField<AnyCodec>).codec : (def as AnyCodec);
    return { name: fieldName, nullable: isNullable, codec };
  });
  const fixedDecl = declared.filter((f) => f.codec.fixedSize !== undefined);
  const varDecl = declared.filter((f) => f.codec.fixedSize === undefined);
  const wireOrder = [...fixedDecl, ...varDecl];
  const nullableCount = wireOrder.filter((f) => f.nullable).length;
  const nullBytes = options.nullBytes ?? Math.ceil(nullableCount / 8);
  if (nullBytes * 8 < nullableCount) throw new Error(`struct ${name}: ${nullableCount} nullable fields need more than ${nullBytes} null byte(s)`);

  let offset = nullBytes;
  let bit = 0;
  const compiled = new Map<string, CompiledField>();
  for (const f of fixedDecl) {
    compiled.set(f.name, { ...f, bit: f.nullable ? bit++ : -1, offset, slot: -1, fixedSize: f.codec.fixedSize! });
    offset += f.codec.fixedSize!;
  }
  const fixedBlockSize = offset;
  const withSlots = varDecl.length >= 2;
  varDecl.forEach((f, i) => {
    compiled.set(f.name, { ...f, bit: f.nullable ? bit++ : -1, offset: -1, slot: withSlots ? fixedBlockSize + 4 * i : -1, fixedSize: 0 });
  });
  const variableBlockStart = fixedBlockSize + (withSlots ? 4 * varDecl.length : 0);
  const inDeclaredOrder = declared.map((f) => compiled.get(f.name)!);
  const fixedFields = fixedDecl.map((f) => compiled.get(f.name)!);
  const varFields = varDecl.map((f) => compiled.get(f.name)!);
  const isFixed = varFields.length === 0;
  const fields: FieldSpec[] = declared.map((f) => ({ name: f.name, codec: f.codec, nullable: f.nullable }));
  const layout: StructLayout = {
    name,
    nullBytes,
    fixedBlockSize,
    variableFieldCount: varFields.length,
    variableBlockStart,
    fields: wireOrder.map((f) => {
      const c = compiled.get(f.name)!;
      return { name: c.name, nullable: c.nullable, bit: c.bit, offset: c.offset, slot: c.slot };
    }),
  };
  const minSize =
    variableBlockStart + varFields.filter((f) => !f.nullable).reduce((sum, f) => sum + f.codec.minSize, 0);

  const compiledCodec = compileStruct({
    name,
    nullBytes,
    fixedBlockSize,
    variableBlockStart,
    maxNesting: MAX_NESTING,
    declared: inDeclaredOrder,
    fixedFields,
    varFields,
  });

  function toJson(value: StructValue<S>): Json {
    const v = value as Record<string, unknown>;
    const out: Record<string, Json> = {};
    for (const f of inDeclaredOrder) {
      const fieldValue = v[f.name];
      out[f.name] = fieldValue === null || fieldValue === undefined ? null : f.codec.toJson(fieldValue);
    }
    return out;
  }

  function fromJson(json: unknown): StructInput<S> {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalidValue(`expected a ${name} object`);
    const j = json as Record<string, unknown>;
    for (const key of Object.keys(j)) {
      if (!compiled.has(key)) throw invalidValue(`${name} has no field ${JSON.stringify(key)}`);
    }
    const out: Record<string, unknown> = {};
    for (const f of inDeclaredOrder) {
      const fieldJson = j[f.name];
      if (fieldJson === null || fieldJson === undefined) {
        if (!f.nullable) throw new ProtocolError('ERR_PROTOCOL_MISSING_FIELD', `${name}.${f.name} is required`, { path: [f.name] });
        out[f.name] = null;
        continue;
      }
      try {
        out[f.name] = f.codec.fromJson(fieldJson);
      } catch (error) {
        throw withPath(error, f.name);
      }
    }
    return out as StructInput<S>;
  }

  return {
    spec: { kind: 'struct', name, fields },
    fixedSize: isFixed ? fixedBlockSize : undefined,
    minSize,
    layout,
    read: compiledCodec.read as (r: ReadContext) => StructValue<S>,
    size: compiledCodec.size as (value: StructInput<S>) => number,
    write: compiledCodec.write as (w: WriteContext, value: StructInput<S>) => void,
    toJson,
    fromJson,
    maxSize: () => {
      let total = variableBlockStart;
      for (const f of varFields) total = Math.min(total + f.codec.maxSize(), MAX_PACKET_SIZE);
      return total;
    },
  };
}
