/** Small byte helpers shared by the codec, the JSON mapping and the CLI. */
import { invalidValue } from './errors.js';

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/** Parses hex (whitespace allowed between bytes). Throws `ERR_PROTOCOL_INVALID_VALUE` on anything else. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw invalidValue('not an even-length hex string');
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** A Buffer view over the same memory (no copy), for Node's fast string codecs. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** 16 bytes (most significant first, as Java's `UUID` writes them) → canonical lowercase string. */
export function uuidFromBytes(bytes: Uint8Array, pos: number): string {
  const h = asBuffer(bytes).toString('hex', pos, pos + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidToBytes(uuid: string, out: Uint8Array, pos: number): void {
  if (!isUuid(uuid)) throw invalidValue(`not a UUID: ${JSON.stringify(uuid)}`);
  const buf = asBuffer(out);
  buf.write(uuid.slice(0, 8), pos, 'hex');
  buf.write(uuid.slice(9, 13), pos + 4, 'hex');
  buf.write(uuid.slice(14, 18), pos + 6, 'hex');
  buf.write(uuid.slice(19, 23), pos + 8, 'hex');
  buf.write(uuid.slice(24, 36), pos + 10, 'hex');
}
