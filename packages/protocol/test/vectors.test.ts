import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkVector, checkVectors, type Vector } from '@handoff/protocol';

const dataDir = join(__dirname, '..', 'data');
const files = readdirSync(dataDir).filter((f) => f.startsWith('vectors') && f.endsWith('.json'));

describe.each(files)('%s', (file) => {
  const vectors = JSON.parse(readFileSync(join(dataDir, file), 'utf8')) as Vector[];
  test.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const result = checkVector(vector);
    expect(result.detail ?? '').toBe('');
    expect(result.ok).toBe(true);
  });
});

test('a vector file that is not an array fails instead of passing vacuously', () => {
  expect(checkVectors({})).toEqual([{ name: '(file)', ok: false, detail: expect.any(String) }]);
});

test('a wrong expected value fails the vector', () => {
  const vector: Vector = {
    kind: 'packet',
    name: 'tampered',
    packet: 'ViewRadius',
    id: 32,
    generations: ['G3'],
    frameHex: '04000000200000000c000000',
    expect: 'roundtrip',
    value: { value: 13 },
  };
  expect(checkVector(vector)).toMatchObject({ ok: false });
});
