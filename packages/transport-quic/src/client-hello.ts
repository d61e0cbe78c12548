/**
 * Reads the ALPN list a client offers, from its QUIC Initial packet (RFC 9001 §5: Initial packets
 * are protected with keys anyone can derive from the packet's Destination Connection ID).
 *
 * Why: quiche picks the first protocol of the *client's* list that the server supports, while the
 * transport contract (and a Hytale server that must tell `hytale/1` clients to update) wants the
 * listener's preference. Knowing the offer before the connection is created lets the listener hand
 * quiche exactly the protocol it prefers. Anything unexpected (another QUIC version, a ClientHello
 * spread over several packets, a malformed packet) returns `undefined` and quiche decides as usual.
 *
 * Only node:crypto primitives are used (HMAC, AES-ECB for the header mask, AES-GCM).
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

/** RFC 9001 §5.2: the QUIC v1 Initial salt. */
const INITIAL_SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const QUIC_V1 = 0x00000001;

function hkdfExtract(salt: Buffer, ikm: Uint8Array): Buffer {
  return createHmac('sha256', salt).update(ikm).digest();
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, SHA-256. */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  const out: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    previous = createHmac('sha256', secret)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    out.push(previous);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** A cursor over a buffer that throws `RangeError` when reading past the end. */
class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) throw new RangeError('short');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.offset, 3);
    this.offset += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** QUIC variable-length integer (RFC 9000 §16); values above 2^53 are rejected. */
  varint(): number {
    const first = this.u8();
    const length = 1 << (first >> 6);
    let value = first & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + this.u8();
    if (!Number.isSafeInteger(value)) throw new RangeError('varint');
    return value;
  }
}

/** The decrypted payload of a client Initial packet, or undefined. */
function decryptInitial(datagram: Buffer): Buffer | undefined {
  const r = new Reader(datagram);
  const first = r.u8();
  if ((first & 0x80) === 0 || ((first & 0x30) >> 4) !== 0) return undefined; // not a long-header Initial
  if (r.u32() !== QUIC_V1) return undefined;
  const dcid = r.bytes(r.u8());
  r.bytes(r.u8()); // scid
  r.bytes(r.varint()); // token
  const length = r.varint();
  const pnOffset = r.offset;
  r.need(length);
  if (length < 20) return undefined;

  const secret = expandLabel(hkdfExtract(INITIAL_SALT_V1, dcid), 'client in', 32);
  const key = expandLabel(secret, 'quic key', 16);
  const iv = expandLabel(secret, 'quic iv', 12);
  const hp = expandLabel(secret, 'quic hp', 16);

  const sample = datagram.subarray(pnOffset + 4, pnOffset + 20);
  const maskCipher = createCipheriv('aes-128-ecb', hp, null);
  const mask = maskCipher.update(sample);
  const header = Buffer.from(datagram.subarray(0, pnOffset + 4));
  header[0] = first ^ (mask[0]! & 0x0f);
  const pnLength = (header[0]! & 0x03) + 1;
  let pn = 0;
  for (let i = 0; i < pnLength; i++) {
    header[pnOffset + i] = datagram[pnOffset + i]! ^ mask[1 + i]!;
    pn = pn * 256 + header[pnOffset + i]!;
  }
  const aad = header.subarray(0, pnOffset + pnLength);
  const sealed = datagram.subarray(pnOffset + pnLength, pnOffset + length);
  if (sealed.length < 16) return undefined;
  const nonce = Buffer.from(iv);
  for (let i = 0; i < 8; i++) nonce[11 - i] = nonce[11 - i]! ^ (Math.floor(pn / 2 ** (8 * i)) & 0xff);
  const decipher = createDecipheriv('aes-128-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

/** The contiguous CRYPTO stream data from offset 0 found in the frames of `payload`. */
function cryptoData(payload: Buffer): Buffer | undefined {
  const r = new Reader(payload);
  const pieces = new Map<number, Buffer>();
  while (r.offset < payload.length) {
    const type = r.varint();
    if (type === 0x00 || type === 0x01) continue; // PADDING, PING
    if (type === 0x02 || type === 0x03) {
      // ACK: largest, delay, range count, first range, ranges, [ECN counts]
      r.varint();
      r.varint();
      const ranges = r.varint();
      r.varint();
      for (let i = 0; i < ranges; i++) {
        r.varint();
        r.varint();
      }
      if (type === 0x03) {
        r.varint();
        r.varint();
        r.varint();
      }
      continue;
    }
    if (type === 0x06) {
      const offset = r.varint();
      pieces.set(offset, r.bytes(r.varint()));
      continue;
    }
    if (type === 0x1c) break; // CONNECTION_CLOSE: nothing more we need
    return undefined; // a frame an Initial should not carry
  }
  const ordered: Buffer[] = [];
  let next = 0;
  for (;;) {
    const piece = pieces.get(next);
    if (piece === undefined) break;
    ordered.push(piece);
    next += piece.length;
  }
  return ordered.length === 0 ? undefined : Buffer.concat(ordered);
}

/** The ALPN protocols of a TLS ClientHello message, in the client's order. */
function alpnOfClientHello(data: Buffer): string[] | undefined {
  const r = new Reader(data);
  if (r.u8() !== 0x01) return undefined; // ClientHello
  const end = r.u24() + r.offset;
  if (end > data.length) return undefined; // spread over several packets
  r.bytes(2 + 32); // legacy_version, random
  r.bytes(r.u8()); // legacy_session_id
  r.bytes(r.u16()); // cipher_suites
  r.bytes(r.u8()); // legacy_compression_methods
  const extensionsEnd = r.u16() + r.offset;
  while (r.offset < extensionsEnd) {
    const type = r.u16();
    const body = r.bytes(r.u16());
    if (type !== 0x0010) continue; // application_layer_protocol_negotiation
    const list = new Reader(body);
    const listEnd = list.u16() + list.offset;
    const protocols: string[] = [];
    while (list.offset < listEnd) protocols.push(list.bytes(list.u8()).toString('latin1'));
    return protocols;
  }
  return [];
}

/**
 * The ALPN protocols offered in a client's Initial datagram, in its order; `undefined` when the
 * datagram is not a QUIC v1 client Initial carrying a whole ClientHello.
 */
export function offeredAlpn(datagram: Uint8Array): string[] | undefined {
  try {
    const payload = decryptInitial(Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength));
    if (payload === undefined) return undefined;
    const crypto = cryptoData(payload);
    return crypto === undefined ? undefined : alpnOfClientHello(crypto);
  } catch {
    return undefined;
  }
}

/**
 * The destination connection id and token of a QUIC v1 client Initial packet (the first of the
 * datagram), or `undefined` for anything else.
 */
export function initialHeader(datagram: Uint8Array): { readonly dcid: Buffer; readonly token: Buffer } | undefined {
  try {
    const r = new Reader(Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength));
    const first = r.u8();
    if ((first & 0x80) === 0 || ((first & 0x30) >> 4) !== 0) return undefined;
    if (r.u32() !== QUIC_V1) return undefined;
    const dcid = r.bytes(r.u8());
    r.bytes(r.u8()); // scid
    const token = r.bytes(r.varint());
    return { dcid, token };
  } catch {
    return undefined;
  }
}

/** The listener's most preferred protocol among those offered, if any. */
export function preferredAlpn(listener: readonly string[], offered: readonly string[]): string | undefined {
  return listener.find((protocol) => offered.includes(protocol));
}
