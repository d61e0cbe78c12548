/** The bounded collections of a record, against plain reference models. */
import fc from 'fast-check';
import { parseClientUuid, type ClientUuid } from '@handoff/types';
import { describe, expect, it } from 'vitest';
import { ChunkColumns, PlayerList } from '@handoff/session/internals';
import { OTHER_PLAYER, PLAYER } from './support/frames.js';

describe('ChunkColumns', () => {
  it('property: behaves like a set of (x, z) pairs, packed or wide, within its bound', () => {
    const coord = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-32768, 32767, 32768, -32769));
    const op = fc.record({ kind: fc.constantFrom('add', 'add', 'add', 'delete', 'has'), x: coord, z: coord });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 0, max: 64 }), (ops, limit) => {
        const columns = new ChunkColumns(limit);
        const model = new Set<string>();
        let overflowed = false;
        for (const { kind, x, z } of ops) {
          const key = `${x},${z}`;
          if (kind === 'add') {
            const fits = model.has(key) || model.size < limit;
            expect(columns.add(x, z)).toBe(fits);
            if (fits) model.add(key);
            else overflowed = true;
          } else if (kind === 'delete') {
            expect(columns.delete(x, z)).toBe(model.delete(key));
          } else {
            expect(columns.has(x, z)).toBe(model.has(key));
          }
          expect(columns.size).toBe(model.size);
        }
        expect(columns.overflowed).toBe(overflowed);
        expect(new Set(columns.toArray().map((c) => `${c.x},${c.z}`))).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('clear forgets columns and the overflow mark', () => {
    const columns = new ChunkColumns(1);
    columns.add(1, 1);
    expect(columns.add(2, 2)).toBe(false);
    columns.clear();
    expect(columns.size).toBe(0);
    expect(columns.overflowed).toBe(false);
    expect(columns.add(2, 2)).toBe(true);
    expect(JSON.stringify(columns)).toBe('{"columns":1,"overflowed":false}');
  });
});

describe('PlayerList', () => {
  it('keeps UUIDs in insertion order, bounded, and shares one string per player across sessions', () => {
    const a = new PlayerList(2);
    const b = new PlayerList();
    // two distinct string objects with the same value, as two decodes produce
    const first = [PLAYER.slice(0, 18), PLAYER.slice(18)].join('') as ClientUuid;
    const second = [PLAYER.slice(0, 9), PLAYER.slice(9)].join('') as ClientUuid;
    expect(a.add(first)).toBe(true);
    expect(b.add(second)).toBe(true);
    expect(a.uuids()[0]).toBe(PLAYER);
    expect(a.add(OTHER_PLAYER)).toBe(true);
    expect(a.add(parseClientUuid('00000000-0000-4000-8000-000000000000'))).toBe(false);
    expect(a.overflowed).toBe(true);
    expect(a.uuids()).toEqual([PLAYER, OTHER_PLAYER]);
    expect(a.delete(PLAYER)).toBe(true);
    expect(a.has(PLAYER)).toBe(false);
    expect(b.has(PLAYER)).toBe(true);
    a.clear();
    expect([...a]).toEqual([]);
  });
});
