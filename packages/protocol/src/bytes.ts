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

const HEX_CODES = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const uuidScratch = Buffer.alloc(36);

/**
 * 16 bytes (most significant first, as Java's `UUID` writes them) → canonical lowercase string.
 * Built in one piece (a flat 36-byte string, not a rope of slices), so decoded UUIDs that a
 * session keeps cost 36 bytes of characters, not a tree of string fragments.
 */
export function uuidFromBytes(bytes: Uint8Array, pos: number): string {
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidScratch[o++] = 0x2d;
    const b = bytes[pos + i]!;
    uuidScratch[o++] = HEX_CODES[b >> 4]!;
    uuidScratch[o++] = HEX_CODES[b & 15]!;
  }
  return uuidScratch.toString('latin1', 0, 36);
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
