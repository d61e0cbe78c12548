import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  ProtocolError,
  decodeFrame,
  fromHex,
  generations,
  getGeneration,
  type PacketVector,
  type Vector,
} from '@handoff/protocol';
import { arbitraryFor } from './support/arbitrary.js';

const vectors = JSON.parse(readFileSync(join(__dirname, '..', 'data', 'vectors.public.json'), 'utf8')) as Vector[];
const packetVectors = vectors.filter((v): v is PacketVector => v.kind === 'packet' && v.expect !== 'reject');

const cases = generations.flatMap((g) => g.modelled.map((name) => [`${g.id} ${name}`, g, name] as const));

function onlyProtocolErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    expect(typeof error.code).toBe('string');
  }
}

describe('every modelled packet round-trips generated values', () => {
  test.each(cases)('%s', (_label, generation, name) => {
    const codec = generation.packet(name as never);
    fc.assert(
      fc.property(arbitraryFor(codec.schema), (value) => {
        const frame = codec.encodeFrame(value as never);
        const decoded = codec.decodeFrame(frame);
        expect(decoded).toEqual(value);
        // the JSON mapping is lossless too (as far as JSON text goes: -0 prints as 0)
        const text = JSON.stringify(codec.toJson(decoded as never));
        const viaJson = codec.fromJson(JSON.parse(text));
        expect(JSON.stringify(codec.toJson(codec.decode(codec.encode(viaJson)) as never))).toBe(text);
      }),
      { numRuns: codec.descriptor.compressed ? 40 : 120 },
    );
  });
});

describe('random payloads only ever produce a value or a ProtocolError', () => {
  test.each(cases)('%s', (_label, generation, name) => {
    const codec = generation.packet(name as never);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (payload) => onlyProtocolErrors(() => codec.decode(payload))),
      { numRuns: 300 },
    );
  });
});

describe('mutated frames only ever produce a value or a ProtocolError', () => {
  test.each(cases)('%s', (_label, generation, name) => {
    const codec = generation.packet(name as never);
    const arb = fc.tuple(
      arbitraryFor(codec.schema),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    );
    fc.assert(
      fc.property(arb, ([value, flips]) => {
        const frame = codec.encodeFrame(value as never).slice();
        for (const [at, byte] of flips) frame[at % frame.length] = byte;
        onlyProtocolErrors(() => decodeFrame(generation, frame));
      }),
      { numRuns: 150 },
    );
  });

  test.each(packetVectors.map((v) => [v.name, v] as const))('vector %s', (_name, vector) => {
    const frame = fromHex(vector.frameHex);
    for (const id of vector.generations) {
      const generation = getGeneration(id);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
          const copy = frame.slice();
          for (const [at, byte] of flips) copy[at] = byte;
          onlyProtocolErrors(() => decodeFrame(generation, copy));
        }),
        { numRuns: 200 },
      );
    }
  });
});

describe('every truncation of every vector gives the truncation code', () => {
  test.each(packetVectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const frame = fromHex(vector.frameHex);
    for (const id of vector.generations) {
      const generation = getGeneration(id);
      for (let cut = 0; cut < frame.length; cut++) {
        let error: unknown;
        try {
          decodeFrame(generation, frame.subarray(0, cut));
        } catch (e) {
          error = e;
        }
        expect(error, `cut at ${cut}`).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code, `cut at ${cut}`).toBe('ERR_PROTOCOL_TRUNCATED');
      }
    }
  });
});
