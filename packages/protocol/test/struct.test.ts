import { describe, expect, test } from 'vitest';
import { ProtocolError, decodeWith, encodeWith, fromHex, t, toHex, type InferInput } from '@handoff/protocol';

function error(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError');
}

const { nullable } = t;
const Two = t.struct('Two', {
  a: nullable(t.varString(16)),
  n: t.int32,
  b: nullable(t.varString(16)),
});

describe('struct layout', () => {
  test('null bits, fixed block, offset slots and the variable block in slot order', () => {
    expect(Two.layout).toMatchObject({ nullBytes: 1, fixedBlockSize: 5, variableFieldCount: 2, variableBlockStart: 13 });
    const hex = toHex(encodeWith(Two, { a: 'x', n: 7, b: 'yz' }));
    expect(hex).toBe('03' + '07000000' + '00000000' + '02000000' + '0178' + '02797a');
    expect(toHex(encodeWith(Two, { n: 7, b: 'yz' }))).toBe('02' + '07000000' + 'ffffffff' + '00000000' + '02797a');
  });

  test('decoders follow the offsets, so a non-canonical order decodes', () => {
    // b written before a
    const bytes = fromHex('03' + '07000000' + '03000000' + '00000000' + '02797a' + '0178');
    expect(decodeWith(Two, bytes)).toEqual({ a: 'x', n: 7, b: 'yz' });
  });

  test('fixed fields take the first null bits whatever their declared order', () => {
    const S = t.struct('S', { name: nullable(t.varString(8)), id: nullable(t.uuid), ping: t.int32 });
    expect(S.layout.fields.map((f) => [f.name, f.bit])).toEqual([
      ['id', 0],
      ['ping', -1],
      ['name', 1],
    ]);
    // a null fixed field is written as zeros and flagged only by its bit
    expect(toHex(encodeWith(S, { ping: 1 }))).toBe('00' + '00'.repeat(16) + '01000000');
  });

  test('exactly one variable field has no slot', () => {
    const One = t.struct('One', { type: t.uint8, reason: nullable(t.varString(8)) });
    expect(One.layout.variableBlockStart).toBe(2);
    expect(toHex(encodeWith(One, { type: 1, reason: 'Bye' }))).toBe('0101' + '03427965');
  });

  test('bad offsets are malformed input, not a crash', () => {
    expect(error(() => decodeWith(Two, fromHex('01' + '00000000' + 'feffffff' + 'ffffffff'))).code).toBe('ERR_PROTOCOL_INVALID_OFFSET');
    expect(error(() => decodeWith(Two, fromHex('01' + '00000000' + '09000000' + 'ffffffff' + '00'))).code).toBe('ERR_PROTOCOL_INVALID_OFFSET');
    const Req = t.struct('Req', { a: t.varString(4), b: t.varString(4) });
    expect(error(() => decodeWith(Req, fromHex('ffffffff' + '00000000' + '00'))).code).toBe('ERR_PROTOCOL_MISSING_FIELD');
  });

  test('errors name the field path', () => {
    const Outer = t.struct('Outer', { items: t.array(t.struct('Item', { name: t.varString(3) }), 10) });
    const e = error(() => encodeWith(Outer, { items: [{ name: 'ok' }, { name: 'toolong' }] }));
    expect(e.code).toBe('ERR_PROTOCOL_STRING_TOO_LONG');
    expect(e.path).toEqual(['items', '1', 'name']);
    const d = error(() => decodeWith(Outer, fromHex('020161' + '05')));
    expect(d.code).toBe('ERR_PROTOCOL_STRING_TOO_LONG');
    expect(d.path).toEqual(['items', '1', 'name']);
  });

  test('a missing required field is refused on encode; missing nullable fields encode as null', () => {
    expect(error(() => encodeWith(Two, {} as InferInput<typeof Two>)).code).toBe('ERR_PROTOCOL_MISSING_FIELD');
    expect(decodeWith(Two, encodeWith(Two, { n: 1 }))).toEqual({ a: null, n: 1, b: null });
  });

  test('an array count is checked against the bytes left before anything is allocated', () => {
    const A = t.array(t.uuid, 4096000);
    // claims 4,000,000 UUIDs in 5 bytes
    const e = error(() => decodeWith(A, fromHex('80a4e80100')));
    expect(e.code).toBe('ERR_PROTOCOL_TRUNCATED');
    expect(error(() => decodeWith(t.array(t.uint8, 2), fromHex('03010203'))).code).toBe('ERR_PROTOCOL_ARRAY_TOO_LONG');
  });

  test('maps decode to Map, refuse duplicate keys, and map to JSON objects', () => {
    const M = t.map(t.varString(8), t.int32, 8);
    const bytes = encodeWith(M, new Map([['a', 1], ['b', 2]]));
    expect(decodeWith(M, bytes)).toEqual(new Map([['a', 1], ['b', 2]]));
    expect(M.toJson(decodeWith(M, bytes))).toEqual({ a: 1, b: 2 });
    expect(error(() => decodeWith(M, fromHex('02' + '0161' + '01000000' + '0161' + '02000000'))).code).toBe('ERR_PROTOCOL_DUPLICATE_KEY');
    const N = t.map(t.uint8, t.bool, 8);
    expect(N.fromJson({ '7': true })).toEqual(new Map([[7, true]]));
  });

  test('polymorphic values: VarInt type id then the subtype body', () => {
    const P = t.union('P', {
      Int: { typeId: 3, codec: t.struct('IntP', { value: t.int32 }) },
      Str: { typeId: 0, codec: t.struct('StrP', { value: nullable(t.varString(8)) }) },
    });
    expect(toHex(encodeWith(P, { type: 'Int', value: 5 }))).toBe('0305000000');
    expect(decodeWith(P, fromHex('00010161'))).toEqual({ type: 'Str', value: 'a' });
    expect(error(() => decodeWith(P, fromHex('09'))).code).toBe('ERR_PROTOCOL_UNKNOWN_VARIANT');
  });

  test('hostile nesting is refused instead of overflowing the stack', () => {
    interface Node { child: Node | null }
    const NodeCodec: ReturnType<typeof t.struct> = t.struct('Node', {
      child: nullable(t.lazy('Node', () => NodeCodec, 1)),
      tag: nullable(t.varString(1)),
    });
    // every level: null bits 01 (child present), slot child=0, slot tag=-1
    const level = '01' + '00000000' + 'ffffffff';
    const deep = fromHex(level.repeat(200) + '00' + 'ffffffff' + 'ffffffff');
    expect(error(() => decodeWith(NodeCodec, deep)).code).toBe('ERR_PROTOCOL_INVALID_VALUE');
    void ({} as Node);
  });
});
