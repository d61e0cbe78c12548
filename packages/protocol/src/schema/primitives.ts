/**
 * Scalar and string types, exactly as the server writes them (docs/protocol.md, "Primitives"): little-endian
 * integers and floats, half floats, big-endian UUIDs, one-byte enums and bools,
 * fixed and VarInt-prefixed strings (maximum on the byte length) and byte arrays.
 */
import { fromHex, isUuid, toHex, uuidFromBytes, uuidToBytes } from '../bytes.js';
import { ProtocolError, invalidValue, truncated } from '../errors.js';
import { floatToHalf, halfToFloat } from '../half.js';
import { MAX_PACKET_SIZE } from '../frame.js';
import { readVarIntAt, varIntSize, writeVarIntAt } from '../varint.js';
import type { Codec, CodecSpec, Json, ReadContext, WriteContext } from './codec.js';

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  return Array.isArray(value) ? 'array' : typeof value;
}

function fixed<T>(
  spec: CodecSpec,
  size: number,
  read: (r: ReadContext, at: number) => T,
  write: (w: WriteContext, at: number, value: T) => void,
  validate: (value: unknown) => T,
  toJson: (value: T) => Json,
  fromJson: (json: unknown) => T,
  what: string,
): Codec<T> {
  return {
    spec,
    fixedSize: size,
    minSize: size,
    read(r) {
      const at = r.pos;
      if (at + size > r.end) throw truncated(what, size, Math.max(0, r.end - at));
      const value = read(r, at);
      r.pos = at + size;
      return value;
    },
    size(value) {
      validate(value);
      return size;
    },
    write(w, value) {
      write(w, w.pos, value);
      w.pos += size;
    },
    toJson,
    fromJson,
    maxSize: () => size,
  };
}

function intCodec(bits: 8 | 16 | 32, signed: boolean): Codec<number> {
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const name = `${signed ? 'int' : 'uint'}${bits}`;
  const validate = (value: unknown): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalidValue(`expected ${name} (${min}..${max}), got ${typeof value === 'number' ? value : typeName(value)}`);
    }
    return value;
  };
  const read =
    bits === 8
      ? signed
        ? (r: ReadContext, at: number) => r.view.getInt8(at)
        : (r: ReadContext, at: number) => r.bytes[at]!
      : bits === 16
        ? signed
          ? (r: ReadContext, at: number) => r.view.getInt16(at, true)
          : (r: ReadContext, at: number) => r.view.getUint16(at, true)
        : signed
          ? (r: ReadContext, at: number) => r.view.getInt32(at, true)
          : (r: ReadContext, at: number) => r.view.getUint32(at, true);
  const write =
    bits === 8
      ? (w: WriteContext, at: number, v: number) => {
          w.bytes[at] = v & 0xff;
        }
      : bits === 16
        ? (w: WriteContext, at: number, v: number) => w.view.setUint16(at, v & 0xffff, true)
        : (w: WriteContext, at: number, v: number) => w.view.setUint32(at, v >>> 0, true);
  return fixed({ kind: 'int', bits, signed }, bits / 8, read, write, validate, (v) => v, validate, name);
}

/** Signed and unsigned little-endian integers. */
export const int8 = intCodec(8, true);
export const uint8 = intCodec(8, false);
export const int16 = intCodec(16, true);
export const uint16 = intCodec(16, false);
export const int32 = intCodec(32, true);
export const uint32 = intCodec(32, false);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown): bigint {
  if (typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX) return value;
  throw invalidValue(`expected int64 as a bigint, got ${typeName(value)}`);
}

/** Little-endian int64 as a `bigint`; JSON maps it to a decimal string. */
export const int64: Codec<bigint> = fixed(
  { kind: 'int64' },
  8,
  (r, at) => r.view.getBigInt64(at, true),
  (w, at, v) => w.view.setBigInt64(at, v, true),
  toInt64,
  (v) => v.toString(10),
  (json) => {
    if (typeof json === 'string' && /^-?\d+$/.test(json)) return toInt64(BigInt(json));
    if (typeof json === 'number' && Number.isSafeInteger(json)) return toInt64(BigInt(json));
    throw invalidValue(`expected int64 as a decimal string, got ${typeName(json)}`);
  },
  'int64',
);

function toFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  throw invalidValue(`expected a number, got ${typeName(value)}`);
}

function floatJson(value: number): Json {
  // JSON has no NaN/Infinity: keep them readable and reversible as strings
  return Number.isFinite(value) ? value : String(value);
}

function floatFromJson(json: unknown): number {
  if (json === 'NaN') return NaN;
  if (json === 'Infinity') return Infinity;
  if (json === '-Infinity') return -Infinity;
  return toFloat(json);
}

export const float32: Codec<number> = fixed(
  { kind: 'float', bits: 32 },
  4,
  (r, at) => r.view.getFloat32(at, true),
  (w, at, v) => w.view.setFloat32(at, v, true),
  toFloat,
  floatJson,
  floatFromJson,
  'float32',
);

export const float64: Codec<number> = fixed(
  { kind: 'float', bits: 64 },
  8,
  (r, at) => r.view.getFloat64(at, true),
  (w, at, v) => w.view.setFloat64(at, v, true),
  toFloat,
  floatJson,
  floatFromJson,
  'float64',
);

/** IEEE binary16 stored as int16 LE. */
export const float16: Codec<number> = fixed(
  { kind: 'float', bits: 16 },
  2,
  (r, at) => halfToFloat(r.view.getUint16(at, true)),
  (w, at, v) => w.view.setUint16(at, floatToHalf(v), true),
  toFloat,
  floatJson,
  floatFromJson,
  'float16',
);

function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw invalidValue(`expected a boolean, got ${typeName(value)}`);
}

/** One byte; any non-zero byte reads as `true` (as the server reads it), `true` writes 1. */
export const bool: Codec<boolean> = fixed(
  { kind: 'bool' },
  1,
  (r, at) => r.bytes[at] !== 0,
  (w, at, v) => {
    w.bytes[at] = v ? 1 : 0;
  },
  toBool,
  (v) => v,
  toBool,
  'bool',
);

function toUuid(value: unknown): string {
  if (isUuid(value)) return value;
  throw invalidValue(`expected a UUID string, got ${typeof value === 'string' ? JSON.stringify(value) : typeName(value)}`);
}

/** 16 bytes, most significant long first, each big-endian: the canonical RFC 4122 byte order. */
export const uuid: Codec<string> = fixed(
  { kind: 'uuid' },
  16,
  (r, at) => uuidFromBytes(r.bytes, at),
  (w, at, v) => uuidToBytes(v, w.bytes, at),
  toUuid,
  (v) => v,
  (json) => toUuid(json).toLowerCase(),
  'uuid',
);

/** A one-byte enum; values are the constants' names in wire order (0, 1, …). */
export function enumOf<const V extends readonly string[]>(name: string, values: V): Codec<V[number]> {
  const index = new Map<string, number>(values.map((v, i) => [v, i]));
  const validate = (value: unknown): V[number] => {
    if (typeof value === 'string' && index.has(value)) return value as V[number];
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ENUM', `expected one of ${name} ${values.join('|')}, got ${JSON.stringify(value)}`);
  };
  return fixed(
    { kind: 'enum', values },
    1,
    (r, at) => {
      const b = r.bytes[at]!;
      const value = values[b];
      if (value === undefined) throw new ProtocolError('ERR_PROTOCOL_INVALID_ENUM', `${b} is not a ${name} value`);
      return value as V[number];
    },
    (w, at, v) => {
      w.bytes[at] = index.get(v)!;
    },
    validate,
    (v) => v,
    validate,
    name,
  );
}

/** Decodes bytes as Java's `US_ASCII` charset does: bytes ≥ 0x80 become U+FFFD. */
function readAscii(r: ReadContext, start: number, end: number): string {
  const bytes = r.bytes;
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      let out = '';
      for (let j = start; j < end; j++) {
        const b = bytes[j]!;
        out += b < 0x80 ? String.fromCharCode(b) : '\ufffd';
      }
      return out;
    }
  }
  return r.buf.toString('latin1', start, end);
}

function asciiLength(value: string): number {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0x80) throw invalidValue(`not ASCII at character ${i}`);
  }
  return value.length;
}

function toStr(value: unknown): string {
  if (typeof value === 'string') return value;
  throw invalidValue(`expected a string, got ${typeName(value)}`);
}

type Encoding = 'ascii' | 'utf8';

function byteLength(value: string, encoding: Encoding): number {
  return encoding === 'ascii' ? asciiLength(value) : Buffer.byteLength(value, 'utf8');
}

/**
 * A fixed-width string: exactly `length` bytes, zero-padded; the reader stops at the
 * first NUL. Longer values are refused on encode.
 */
export function fixedString(length: number, encoding: Encoding = 'ascii'): Codec<string> {
  const validate = (value: unknown): string => {
    const s = toStr(value);
    const n = byteLength(s, encoding);
    if (n > length) throw new ProtocolError('ERR_PROTOCOL_STRING_TOO_LONG', `${n} bytes do not fit a fixed ${length}-byte string`);
    return s;
  };
  return fixed(
    { kind: 'fixedString', length, encoding },
    length,
    (r, at) => {
      let end = at;
      const limit = at + length;
      while (end < limit && r.bytes[end] !== 0) end++;
      return encoding === 'ascii' ? readAscii(r, at, end) : r.buf.toString('utf8', at, end);
    },
    (w, at, v) => {
      const n = encoding === 'ascii' ? w.buf.write(v, at, 'latin1') : w.buf.write(v, at, 'utf8');
      w.bytes.fill(0, at + n, at + length);
    },
    validate,
    (v) => v,
    validate,
    `fixed string[${length}]`,
  );
}

/** Reads a VarInt length prefix and checks it against `max` and the bytes left. */
function readLength(r: ReadContext, max: number, kind: 'string' | 'bytes'): number {
  const { value, length } = readVarIntAt(r.bytes, r.pos, r.end);
  if (value > max) {
    throw new ProtocolError('ERR_PROTOCOL_STRING_TOO_LONG', `${kind} length ${value} is over the maximum ${max}`);
  }
  r.pos += length;
  r.need(value, kind);
  return value;
}

/**
 * A VarInt-prefixed string; `max` applies to the **byte** length (UTF-8 or ASCII).
 */
export function varString(max: number, encoding: Encoding = 'utf8'): Codec<string> {
  const measure = (value: unknown): number => {
    const n = byteLength(toStr(value), encoding);
    if (n > max) throw new ProtocolError('ERR_PROTOCOL_STRING_TOO_LONG', `${n} bytes is over the maximum ${max}`);
    return n;
  };
  return {
    spec: { kind: 'varString', max, encoding },
    fixedSize: undefined,
    minSize: 1,
    read(r) {
      const n = readLength(r, max, 'string');
      const start = r.pos;
      r.pos += n;
      return encoding === 'ascii' ? readAscii(r, start, start + n) : r.buf.toString('utf8', start, start + n);
    },
    size(value) {
      const n = measure(value);
      return varIntSize(n) + n;
    },
    write(w, value) {
      const n = encoding === 'ascii' ? value.length : Buffer.byteLength(value, 'utf8');
      w.pos = writeVarIntAt(w.bytes, w.pos, n);
      w.pos += encoding === 'ascii' ? w.buf.write(value, w.pos, 'latin1') : w.buf.write(value, w.pos, 'utf8');
    },
    toJson: (v) => v,
    fromJson: (json) => {
      measure(json);
      return json as string;
    },
    // the server's generated MAX_SIZE assumes 4 bytes per UTF-8 character
    maxSize: () => Math.min(5 + max * (encoding === 'utf8' ? 4 : 1), MAX_PACKET_SIZE),
  };
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw invalidValue(`expected bytes (Uint8Array), got ${typeName(value)}`);
}

/** Parses the JSON form of bytes: `"hex:…"`. */
export function bytesFromJson(json: unknown): Uint8Array {
  if (typeof json === 'string' && json.startsWith('hex:')) return fromHex(json.slice(4));
  throw invalidValue(`expected bytes as "hex:…", got ${typeof json === 'string' ? JSON.stringify(json.slice(0, 20)) : typeName(json)}`);
}

/** A VarInt count followed by that many raw bytes. Decoded values are copies. */
export function bytes(max: number): Codec<Uint8Array> {
  const measure = (value: unknown): number => {
    const n = toBytes(value).length;
    if (n > max) throw new ProtocolError('ERR_PROTOCOL_ARRAY_TOO_LONG', `${n} bytes is over the maximum ${max}`);
    return n;
  };
  return {
    spec: { kind: 'bytes', max },
    fixedSize: undefined,
    minSize: 1,
    read(r) {
      const { value: n, length } = readVarIntAt(r.bytes, r.pos, r.end);
      if (n > max) throw new ProtocolError('ERR_PROTOCOL_ARRAY_TOO_LONG', `byte array length ${n} is over the maximum ${max}`);
      r.pos += length;
      r.need(n, 'byte array');
      const out = r.bytes.slice(r.pos, r.pos + n);
      r.pos += n;
      return out;
    },
    size(value) {
      const n = measure(value);
      return varIntSize(n) + n;
    },
    write(w, value) {
      w.pos = writeVarIntAt(w.bytes, w.pos, value.length);
      w.bytes.set(value, w.pos);
      w.pos += value.length;
    },
    toJson: (v) => `hex:${toHex(v)}`,
    fromJson: (json) => {
      const out = bytesFromJson(json);
      measure(out);
      return out;
    },
    maxSize: () => Math.min(5 + max, MAX_PACKET_SIZE),
  };
}
