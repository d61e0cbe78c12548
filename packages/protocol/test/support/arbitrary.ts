/**
 * fast-check arbitraries derived from a codec's spec, so every modelled packet gets a
 * generator without one being written by hand.
 */
import fc from 'fast-check';
import { type AnyCodec, halfToFloat } from '@handoff/protocol';

const MAX_DEPTH = 2;

function utf8String(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: 'binary', maxLength: Math.min(maxBytes, 24) })
    .filter((s) => Buffer.byteLength(s, 'utf8') <= maxBytes);
}

function asciiString(maxBytes: number, allowNul: boolean): fc.Arbitrary<string> {
  return fc
    .array(fc.integer({ min: allowNul ? 0 : 1, max: 127 }), { maxLength: Math.min(maxBytes, 24) })
    .map((codes) => String.fromCharCode(...codes));
}

export function arbitraryFor(codec: AnyCodec, depth = 0): fc.Arbitrary<unknown> {
  const spec = codec.spec;
  switch (spec.kind) {
    case 'int': {
      const min = spec.signed ? -(2 ** (spec.bits - 1)) : 0;
      const max = spec.signed ? 2 ** (spec.bits - 1) - 1 : 2 ** spec.bits - 1;
      return fc.integer({ min, max });
    }
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float':
      if (spec.bits === 16) return fc.integer({ min: 0, max: 0xffff }).map(halfToFloat);
      return spec.bits === 32 ? fc.float() : fc.double();
    case 'bool':
      return fc.boolean();
    case 'uuid':
      return fc.uuid();
    case 'enum':
      return fc.constantFrom(...spec.values);
    case 'fixedString':
      return spec.encoding === 'ascii' ? asciiString(spec.length, false) : utf8String(spec.length).filter((s) => !s.includes('\0'));
    case 'varString':
      return spec.encoding === 'ascii' ? asciiString(spec.max, true) : utf8String(spec.max);
    case 'bytes':
      return fc.uint8Array({ maxLength: Math.min(spec.max, 48) });
    case 'array':
      if (spec.element.spec.kind === 'lazy' && depth >= MAX_DEPTH) return fc.constant([]);
      return fc.array(arbitraryFor(spec.element, depth + 1), { maxLength: Math.min(spec.max, 3) });
    case 'map': {
      if (spec.value.spec.kind === 'lazy' && depth >= MAX_DEPTH) return fc.constant(new Map());
      return fc
        .uniqueArray(fc.tuple(arbitraryFor(spec.key, depth + 1), arbitraryFor(spec.value, depth + 1)), {
          maxLength: Math.min(spec.max, 3),
          selector: ([k]) => k,
        })
        .map((entries) => new Map(entries));
    }
    case 'struct': {
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const field of spec.fields) {
        const arb = arbitraryFor(field.codec, depth);
        record[field.name] = field.nullable ? fc.option(arb, { nil: null }) : arb;
      }
      return fc.record(record);
    }
    case 'union':
      return fc.oneof(
        ...spec.variants.map((v) => arbitraryFor(v.codec, depth).map((body) => ({ type: v.name, ...(body as object) }))),
      );
    case 'lazy':
      return arbitraryFor(spec.target(), depth + 1);
  }
}
