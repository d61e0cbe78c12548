import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  ProtocolError,
  decodeVarInt,
  decodeWith,
  encodeVarInt,
  encodeWith,
  floatToHalf,
  fromHex,
  halfToFloat,
  t,
  toHex,
  varIntSize,
} from '@handoff/protocol';
import { code } from './support/errors.js';


describe('VarInt', () => {
  test.each([
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16384, '808001'],
    [2 ** 28, '8080808001'],
    [0x7fffffff, 'ffffffff07'],
  ])('%i ⇄ %s', (value, hex) => {
    expect(toHex(encodeVarInt(value))).toBe(hex);
    expect(decodeVarInt(fromHex(hex))).toBe(value);
    expect(varIntSize(value)).toBe(hex.length / 2);
  });

  test('truncated, over-long and negative are three different errors', () => {
    expect(code(() => decodeVarInt(fromHex('80')))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(code(() => decodeVarInt(fromHex('ffff')))).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(code(() => decodeVarInt(fromHex('8080808080')))).toBe('ERR_PROTOCOL_VARINT_TOO_LONG');
    expect(code(() => decodeVarInt(fromHex('ffffffff0f')))).toBe('ERR_PROTOCOL_VARINT_NEGATIVE');
    expect(code(() => encodeVarInt(-1))).toBe('ERR_PROTOCOL_VARINT_NEGATIVE');
  });

  test('non-canonical (padded) VarInts decode, as the server reads them', () => {
    expect(decodeVarInt(fromHex('8000'))).toBe(0);
  });

  test('every int32 ≥ 0 round-trips', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (v) => decodeVarInt(encodeVarInt(v)) === v));
  });
});

describe('scalars', () => {
  test('integers and floats are little-endian', () => {
    expect(toHex(encodeWith(t.int32, -2))).toBe('feffffff');
    expect(toHex(encodeWith(t.int16, 0x1234))).toBe('3412');
    expect(toHex(encodeWith(t.int64, 1768810991n))).toBe('efe96d6900000000');
    expect(toHex(encodeWith(t.float32, 1))).toBe('0000803f');
    expect(toHex(encodeWith(t.float64, -2))).toBe('00000000000000c0');
  });

  test('UUIDs are big-endian: the canonical string order', () => {
    const uuid = '00112233-4455-6677-8899-aabbccddeeff';
    expect(toHex(encodeWith(t.uuid, uuid))).toBe('00112233445566778899aabbccddeeff');
    expect(decodeWith(t.uuid, fromHex('00112233445566778899AABBCCDDEEFF'))).toBe(uuid);
    expect(code(() => encodeWith(t.uuid, 'not-a-uuid'))).toBe('ERR_PROTOCOL_INVALID_VALUE');
  });

  test('half floats', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65519)).toBe(0x7bff); // rounds past the largest half: clamps
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
    for (let bits = 0; bits <= 0xffff; bits++) {
      const exp = (bits >> 10) & 0x1f;
      if (exp === 0x1f && (bits & 0x3ff) !== 0) continue; // NaN payloads are not kept
      expect(floatToHalf(halfToFloat(bits))).toBe(bits);
    }
    expect(toHex(encodeWith(t.float16, 1))).toBe('003c');
  });

  test('bools read any non-zero byte as true and write 1', () => {
    expect(decodeWith(t.bool, fromHex('07'))).toBe(true);
    expect(toHex(encodeWith(t.bool, true))).toBe('01');
  });

  test('enums refuse unknown values both ways', () => {
    const e = t.enum('Kind', ['A', 'B']);
    expect(decodeWith(e, fromHex('01'))).toBe('B');
    expect(code(() => decodeWith(e, fromHex('02')))).toBe('ERR_PROTOCOL_INVALID_ENUM');
    expect(code(() => encodeWith(e, 'C' as never))).toBe('ERR_PROTOCOL_INVALID_ENUM');
  });

  test('integers out of range are refused on encode', () => {
    expect(code(() => encodeWith(t.int8, 128))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(code(() => encodeWith(t.int32, 1.5))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(code(() => encodeWith(t.int64, 2n ** 63n))).toBe('ERR_PROTOCOL_INVALID_VALUE');
  });
});

describe('strings', () => {
  test('the maximum of a VarInt string applies to its UTF-8 byte length', () => {
    const s = t.varString(4);
    expect(toHex(encodeWith(s, 'éé'))).toBe('04c3a9c3a9');
    expect(code(() => encodeWith(s, 'ééé'))).toBe('ERR_PROTOCOL_STRING_TOO_LONG');
    expect(code(() => decodeWith(s, fromHex('05616263646566')))).toBe('ERR_PROTOCOL_STRING_TOO_LONG');
    expect(code(() => decodeWith(s, fromHex('0461')))).toBe('ERR_PROTOCOL_TRUNCATED');
  });

  test('ASCII strings refuse non-ASCII on encode and read high bytes as U+FFFD, like Java', () => {
    const s = t.varString(16, 'ascii');
    expect(code(() => encodeWith(s, 'é'))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(decodeWith(s, fromHex('0261ff'))).toBe('a\ufffd');
  });

  test('fixed strings pad with zeros and stop at the first NUL', () => {
    const s = t.fixedString(6);
    expect(toHex(encodeWith(s, 'ab'))).toBe('616200000000');
    expect(decodeWith(s, fromHex('616200636465'))).toBe('ab');
    expect(decodeWith(s, fromHex('616263646566'))).toBe('abcdef');
    expect(code(() => encodeWith(s, 'abcdefg'))).toBe('ERR_PROTOCOL_STRING_TOO_LONG');
  });

  test('byte arrays', () => {
    const b = t.bytes(3);
    expect(toHex(encodeWith(b, Uint8Array.of(1, 2)))).toBe('020102');
    expect(code(() => decodeWith(b, fromHex('04010203')))).toBe('ERR_PROTOCOL_ARRAY_TOO_LONG');
    const input = fromHex('03aabbcc');
    const out = decodeWith(b, input);
    input[1] = 0; // decoded byte arrays are copies
    expect(toHex(out)).toBe('aabbcc');
  });
});
