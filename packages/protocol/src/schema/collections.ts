/**
 * Arrays, maps, polymorphic values and recursive references (docs/protocol.md, "Struct layout": arrays, maps, nested structs, polymorphic values).
 *
 * Counts are VarInts. Before anything is allocated, a count is checked against the
 * field's maximum and against the bytes left (count × the element's minimum size), so
 * a hostile count cannot make the decoder allocate.
 */
import { ProtocolError, invalidValue, truncated, withPath } from '../errors.js';
import { readVarIntAt, varIntSize, writeVarIntAt } from '../varint.js';
import type { AnyCodec, Codec, Infer, InferInput, Json, ReadContext } from './codec.js';
import { MAX_PACKET_SIZE } from '../frame.js';
import { addMax, mulMax } from './codec.js';

function readCount(r: ReadContext, max: number, minElement: number, what: string): number {
  const { value: count, length } = readVarIntAt(r.bytes, r.pos, r.end);
  if (count > max) throw new ProtocolError('ERR_PROTOCOL_ARRAY_TOO_LONG', `${what} count ${count} is over the maximum ${max}`);
  r.pos += length;
  const needed = count * minElement;
  if (r.pos + needed > r.end) throw truncated(`${what} of ${count}`, needed, r.end - r.pos);
  return count;
}

/** VarInt count, then the elements back to back (fixed ones at a fixed stride). */
export function array<C extends AnyCodec>(element: C, max: number): Codec<Infer<C>[], InferInput<C>[]> {
  const measure = (value: unknown): unknown[] => {
    if (!Array.isArray(value)) throw invalidValue('expected an array');
    if (value.length > max) throw new ProtocolError('ERR_PROTOCOL_ARRAY_TOO_LONG', `${value.length} elements is over the maximum ${max}`);
    return value;
  };
  return {
    spec: { kind: 'array', max, element },
    fixedSize: undefined,
    minSize: 1,
    read(r) {
      const count = readCount(r, max, element.minSize, 'array');
      const out = new Array<Infer<C>>(count);
      for (let i = 0; i < count; i++) {
        try {
          out[i] = element.read(r);
        } catch (error) {
          throw withPath(error, String(i));
        }
      }
      return out;
    },
    size(value) {
      const items = measure(value);
      let total = varIntSize(items.length);
      for (let i = 0; i < items.length; i++) {
        try {
          total += element.size(items[i]);
        } catch (error) {
          throw withPath(error, String(i));
        }
      }
      return total;
    },
    write(w, value) {
      w.pos = writeVarIntAt(w.bytes, w.pos, value.length);
      for (let i = 0; i < value.length; i++) element.write(w, value[i]);
    },
    toJson: (value) => value.map((v) => element.toJson(v)),
    fromJson(json) {
      const items = measure(json);
      return items.map((item, i) => {
        try {
          return element.fromJson(item);
        } catch (error) {
          throw withPath(error, String(i));
        }
      });
    },
    maxSize: () => addMax(5, mulMax(max, element.maxSize())),
  };
}

function keyToJson(codec: AnyCodec, key: unknown): string {
  const json = codec.toJson(key);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

function keyFromJson(codec: AnyCodec, key: string): unknown {
  const kind = codec.spec.kind;
  // non-string keys travel as decimal strings in JSON
  if (kind === 'int' || kind === 'float') {
    if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(key)) throw invalidValue(`map key ${JSON.stringify(key)} is not a number`);
    return codec.fromJson(Number(key));
  }
  if (kind === 'bool') return codec.fromJson(key === 'true' ? true : key === 'false' ? false : key);
  return codec.fromJson(key);
}

/** VarInt count, then key/value pairs inline. Decoded as a `Map`; a repeated key is an error. */
export function map<K extends AnyCodec, V extends AnyCodec>(
  key: K,
  value: V,
  max: number,
): Codec<Map<Infer<K>, Infer<V>>, Map<InferInput<K>, InferInput<V>>> {
  const measure = (m: unknown): Map<unknown, unknown> => {
    if (!(m instanceof Map)) throw invalidValue('expected a Map');
    if (m.size > max) throw new ProtocolError('ERR_PROTOCOL_ARRAY_TOO_LONG', `${m.size} entries is over the maximum ${max}`);
    return m;
  };
  return {
    spec: { kind: 'map', max, key, value },
    fixedSize: undefined,
    minSize: 1,
    read(r) {
      const count = readCount(r, max, key.minSize + value.minSize, 'map');
      const out = new Map<Infer<K>, Infer<V>>();
      for (let i = 0; i < count; i++) {
        let k: Infer<K>;
        try {
          k = key.read(r);
        } catch (error) {
          throw withPath(error, `[${i}]`);
        }
        try {
          if (out.has(k)) throw new ProtocolError('ERR_PROTOCOL_DUPLICATE_KEY', `key ${JSON.stringify(keyToJson(key, k))} appears twice`);
          out.set(k, value.read(r));
        } catch (error) {
          throw withPath(error, keyToJson(key, k));
        }
      }
      return out;
    },
    size(m) {
      const entries = measure(m);
      let total = varIntSize(entries.size);
      for (const [k, v] of entries) {
        const where = typeof k === 'string' ? k : String(k);
        try {
          total += key.size(k) + value.size(v);
        } catch (error) {
          throw withPath(error, where);
        }
      }
      return total;
    },
    write(w, m) {
      w.pos = writeVarIntAt(w.bytes, w.pos, m.size);
      for (const [k, v] of m) {
        key.write(w, k);
        value.write(w, v);
      }
    },
    toJson(m) {
      const out: Record<string, Json> = {};
      for (const [k, v] of m) out[keyToJson(key, k)] = value.toJson(v);
      return out;
    },
    fromJson(json) {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalidValue('expected an object for a map');
      const out = new Map<InferInput<K>, InferInput<V>>();
      for (const [k, v] of Object.entries(json)) {
        try {
          out.set(keyFromJson(key, k) as InferInput<K>, value.fromJson(v));
        } catch (error) {
          throw withPath(error, k);
        }
      }
      measure(out);
      return out;
    },
    maxSize: () => addMax(5, mulMax(max, addMax(key.maxSize(), value.maxSize()))),
  };
}

/** One variant of a polymorphic value: its wire type id and its body. */
export interface Variant<C extends AnyCodec = AnyCodec> {
  readonly typeId: number;
  readonly codec: C;
}

type UnionValue<V extends Record<string, Variant>> = {
  [K in keyof V & string]: { readonly type: K } & Infer<V[K]['codec']>;
}[keyof V & string];

type UnionInput<V extends Record<string, Variant>> = {
  [K in keyof V & string]: { readonly type: K } & InferInput<V[K]['codec']>;
}[keyof V & string];

/**
 * A polymorphic value: a VarInt type id, then the body of that subtype. Values are the
 * subtype's struct fields plus `type` (the variant's name), in TypeScript and in JSON.
 */
export function union<V extends Record<string, Variant>>(name: string, variants: V): Codec<UnionValue<V>, UnionInput<V>> {
  const byId = new Map<number, { name: string; codec: AnyCodec }>();
  for (const [variantName, v] of Object.entries(variants)) byId.set(v.typeId, { name: variantName, codec: v.codec });
  const variantOf = (value: unknown): { name: string; typeId: number; codec: AnyCodec } => {
    if (typeof value !== 'object' || value === null) throw invalidValue(`expected a ${name} object with a "type"`);
    const type = (value as { type?: unknown }).type;
    const v = typeof type === 'string' && Object.hasOwn(variants, type) ? variants[type] : undefined;
    if (!v) throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_VARIANT', `${name} has no variant ${JSON.stringify(type)}`);
    return { name: type as string, typeId: v.typeId, codec: v.codec };
  };
  const body = (value: object): Record<string, unknown> => {
    const { type: _type, ...rest } = value as Record<string, unknown>;
    return rest;
  };
  let minBody = Infinity;
  for (const v of Object.values(variants)) minBody = Math.min(minBody, v.codec.minSize);
  return {
    spec: {
      kind: 'union',
      name,
      variants: Object.entries(variants).map(([variantName, v]) => ({ name: variantName, typeId: v.typeId, codec: v.codec })),
    },
    fixedSize: undefined,
    minSize: 1 + (Number.isFinite(minBody) ? minBody : 0),
    read(r) {
      const { value: typeId, length } = readVarIntAt(r.bytes, r.pos, r.end);
      const v = byId.get(typeId);
      if (!v) throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_VARIANT', `${name} has no type id ${typeId}`);
      r.pos += length;
      return { type: v.name, ...(v.codec.read(r) as object) } as UnionValue<V>;
    },
    size(value) {
      const v = variantOf(value);
      return varIntSize(v.typeId) + v.codec.size(body(value));
    },
    write(w, value) {
      const v = variantOf(value);
      w.pos = writeVarIntAt(w.bytes, w.pos, v.typeId);
      v.codec.write(w, body(value));
    },
    toJson(value) {
      const v = variantOf(value);
      return { type: v.name, ...(v.codec.toJson(body(value)) as Record<string, Json>) };
    },
    fromJson(json) {
      const v = variantOf(json);
      return { type: v.name, ...(v.codec.fromJson(body(json as object)) as object) } as UnionInput<V>;
    },
    maxSize: () => {
      let most = 0;
      for (const v of Object.values(variants)) most = Math.max(most, v.codec.maxSize());
      return addMax(5, most);
    },
  };
}

/**
 * A reference to a codec defined later (recursive structs). `minSize` must be given
 * because the target may not exist yet; nesting depth is bounded by the struct reader.
 */
export function lazy<T, I = T>(name: string, target: () => Codec<T, I>, minSize: number): Codec<T, I> {
  let maxSizeGuard = false;
  return {
    spec: { kind: 'lazy', name, target },
    fixedSize: undefined,
    minSize,
    read: (r) => target().read(r),
    size: (value) => target().size(value),
    write: (w, value) => target().write(w, value),
    toJson: (value) => target().toJson(value),
    fromJson: (json) => target().fromJson(json),
    maxSize() {
      // a recursive type's worst case is unbounded: saturate like the server's generator
      if (maxSizeGuard) return MAX_PACKET_SIZE;
      maxSizeGuard = true;
      try {
        return target().maxSize();
      } finally {
        maxSizeGuard = false;
      }
    },
  };
}
