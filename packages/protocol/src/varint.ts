import { ProtocolError, truncated } from './errors.js';

/** Largest number of bytes a VarInt may take. */
export const VARINT_MAX_BYTES = 5;

/** Bytes that `value` takes as a VarInt (1–5). */
export function varIntSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/**
 * Reads an unsigned LEB128 VarInt of at most 5 bytes at `pos`, never past `end`.
 * Returns the value; the number of bytes read is `varIntSize(value)` only for the
 * canonical encoding, so callers that need the exact length use {@link readVarIntAt}.
 */
export function readVarIntAt(bytes: Uint8Array, pos: number, end: number): { value: number; length: number } {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (pos + i >= end) throw truncated('VarInt', i + 1, end - pos);
    const b = bytes[pos + i]!;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      if (value < 0) {
        throw new ProtocolError('ERR_PROTOCOL_VARINT_NEGATIVE', `VarInt decodes to a negative int32 (${value})`);
      }
      return { value, length: i + 1 };
    }
    shift += 7;
  }
  throw new ProtocolError('ERR_PROTOCOL_VARINT_TOO_LONG', 'VarInt is longer than 5 bytes');
}

/** Writes `value` as a VarInt at `pos` and returns the position after it. */
export function writeVarIntAt(bytes: Uint8Array, pos: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new ProtocolError('ERR_PROTOCOL_VARINT_NEGATIVE', `VarInt value must be an int32 ≥ 0, got ${value}`);
  }
  let v = value;
  while (v >= 0x80) {
    bytes[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  bytes[pos++] = v;
  return pos;
}

/** Decodes one whole VarInt; trailing bytes are an error. */
export function decodeVarInt(bytes: Uint8Array): number {
  const { value, length } = readVarIntAt(bytes, 0, bytes.length);
  if (length !== bytes.length) {
    throw new ProtocolError('ERR_PROTOCOL_VARINT_TOO_LONG', `${bytes.length - length} byte(s) after the VarInt`);
  }
  return value;
}

/** Encodes one VarInt. */
export function encodeVarInt(value: number): Uint8Array {
  const out = new Uint8Array(varIntSize(Math.max(0, value)));
  writeVarIntAt(out, 0, value);
  return out;
}
