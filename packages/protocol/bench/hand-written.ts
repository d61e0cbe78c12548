/**
 * Hand-written codecs of Connect (G2/G3 layout) and JoinWorld, written only for the
 * benchmark: the baseline the generic schema codec is measured against.
 */
import { uuidToBytes } from '../src/bytes.js';

export interface ConnectValue {
  protocolCrc: number;
  protocolBuildNumber: number;
  clientVersion: string;
  clientType: 'Game' | 'Editor';
  uuid: string;
  username: string;
  identityToken: string | null;
  language: string;
  referralData: Uint8Array | null;
  referralSource: { port: number; host: string } | null;
}

const HEX = Buffer.from('0123456789abcdef');
const scratch = Buffer.alloc(36);

/** The fastest flat-string UUID formatting we know, so the baseline is a fair one. */
function uuidString(buf: Uint8Array, at: number): string {
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) scratch[o++] = 45;
    const b = buf[at + i]!;
    scratch[o++] = HEX[b >> 4]!;
    scratch[o++] = HEX[b & 15]!;
  }
  return scratch.toString('latin1', 0, 36);
}

function varInt(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const b = buf[at + i]!;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error('varint');
}

function str(buf: Buffer, at: number, max: number, enc: 'utf8' | 'latin1'): string {
  const [n, l] = varInt(buf, at);
  if (n > max || at + l + n > buf.length) throw new Error('string');
  return buf.toString(enc, at + l, at + l + n);
}

export function decodeConnect(payload: Uint8Array): ConnectValue {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 66) throw new Error('short');
  const nulls = buf[0]!;
  let end = 20;
  while (end > 0 && buf[9 + end - 1] === 0) end--;
  const slot = (i: number) => {
    const off = buf.readInt32LE(46 + i * 4);
    if (off < 0 || off > buf.length - 66) throw new Error('offset');
    return 66 + off;
  };
  let referralSource: ConnectValue['referralSource'] = null;
  if (nulls & 4) {
    const at = slot(4);
    referralSource = { port: buf.readInt16LE(at), host: str(buf, at + 2, 256, 'utf8') };
  }
  let referralData: Uint8Array | null = null;
  if (nulls & 2) {
    const at = slot(3);
    const [n, l] = varInt(buf, at);
    referralData = buf.subarray(at + l, at + l + n).slice();
  }
  return {
    protocolCrc: buf.readInt32LE(1),
    protocolBuildNumber: buf.readInt32LE(5),
    clientVersion: buf.toString('latin1', 9, 9 + end),
    clientType: buf[29] === 0 ? 'Game' : 'Editor',
    uuid: uuidString(buf, 30),
    username: str(buf, slot(0), 16, 'latin1'),
    identityToken: nulls & 1 ? str(buf, slot(1), 8192, 'utf8') : null,
    language: str(buf, slot(2), 16, 'latin1'),
    referralData,
    referralSource,
  };
}

function varIntSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarInt(buf: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

export function encodeConnect(v: ConnectValue): Uint8Array {
  const user = v.username.length;
  const lang = v.language.length;
  const token = v.identityToken === null ? 0 : Buffer.byteLength(v.identityToken, 'utf8');
  const host = v.referralSource === null ? 0 : Buffer.byteLength(v.referralSource.host, 'utf8');
  let size = 66 + varIntSize(user) + user + varIntSize(lang) + lang;
  if (v.identityToken !== null) size += varIntSize(token) + token;
  if (v.referralData) size += varIntSize(v.referralData.length) + v.referralData.length;
  if (v.referralSource) size += 2 + varIntSize(host) + host;
  const buf = Buffer.alloc(size);
  buf[0] = (v.identityToken !== null ? 1 : 0) | (v.referralData ? 2 : 0) | (v.referralSource ? 4 : 0);
  buf.writeInt32LE(v.protocolCrc, 1);
  buf.writeInt32LE(v.protocolBuildNumber, 5);
  buf.write(v.clientVersion, 9, 20, 'latin1');
  buf[29] = v.clientType === 'Game' ? 0 : 1;
  uuidToBytes(v.uuid, buf, 30);
  let at = 66;
  buf.writeInt32LE(at - 66, 46);
  at = writeVarInt(buf, at, user);
  at += buf.write(v.username, at, 'latin1');
  if (v.identityToken !== null) {
    buf.writeInt32LE(at - 66, 50);
    at = writeVarInt(buf, at, token);
    at += buf.write(v.identityToken, at, 'utf8');
  } else buf.writeInt32LE(-1, 50);
  buf.writeInt32LE(at - 66, 54);
  at = writeVarInt(buf, at, lang);
  at += buf.write(v.language, at, 'latin1');
  if (v.referralData) {
    buf.writeInt32LE(at - 66, 58);
    at = writeVarInt(buf, at, v.referralData.length);
    buf.set(v.referralData, at);
    at += v.referralData.length;
  } else buf.writeInt32LE(-1, 58);
  if (v.referralSource) {
    buf.writeInt32LE(at - 66, 62);
    buf.writeInt16LE(v.referralSource.port, at);
    at = writeVarInt(buf, at + 2, host);
    at += buf.write(v.referralSource.host, at, 'utf8');
  } else buf.writeInt32LE(-1, 62);
  return buf;
}

export interface JoinWorldValue {
  clearWorld: boolean;
  fadeInOut: boolean;
  worldUuid: string;
}

export function decodeJoinWorld(payload: Uint8Array): JoinWorldValue {
  if (payload.length < 18) throw new Error('short');
  return { clearWorld: payload[0] !== 0, fadeInOut: payload[1] !== 0, worldUuid: uuidString(payload, 2) };
}

export function encodeJoinWorld(v: JoinWorldValue): Uint8Array {
  const out = new Uint8Array(18);
  out[0] = v.clearWorld ? 1 : 0;
  out[1] = v.fadeInOut ? 1 : 0;
  uuidToBytes(v.worldUuid, out, 2);
  return out;
}
