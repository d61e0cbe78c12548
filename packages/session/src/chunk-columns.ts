/**
 * The chunk columns loaded on the client: what a cutover must unload (REFERENCE.md §7, Implications 6).
 *
 * `SetChunk` loads one (x, y, z) section; `UnloadChunk` unloads a whole (x, z) column. The set holds
 * columns. Coordinates that fit in 16 bits each (±32,767 chunks, over a million blocks) are packed into
 * one int32 key (a small integer to V8: no allocation per column); the rare others go to a second set.
 */

/** One chunk column, in chunk coordinates. */
export interface ChunkColumn {
  readonly x: number;
  readonly z: number;
}

/** Default bound of tracked columns per session (a view radius of 32 chunks is 65 × 65 = 4,225). */
export const DEFAULT_MAX_CHUNK_COLUMNS = 32_768;

const fits16 = (v: number): boolean => v >= -0x8000 && v <= 0x7fff;

/** A bounded set of (x, z) chunk columns. */
export class ChunkColumns {
  readonly limit: number;
  #packed = new Set<number>();
  #wide: Set<string> | undefined;
  #overflowed = false;

  constructor(limit = DEFAULT_MAX_CHUNK_COLUMNS) {
    this.limit = limit;
  }

  /** Number of tracked columns. */
  get size(): number {
    return this.#packed.size + (this.#wide?.size ?? 0);
  }

  /** True once a column could not be tracked because the set was full: the set is incomplete. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  has(x: number, z: number): boolean {
    return fits16(x) && fits16(z) ? this.#packed.has((x << 16) | (z & 0xffff)) : (this.#wide?.has(`${x},${z}`) ?? false);
  }

  /** Tracks a column. Returns `false` (and marks the set incomplete) when the set is full. */
  add(x: number, z: number): boolean {
    if (fits16(x) && fits16(z)) {
      const key = (x << 16) | (z & 0xffff);
      if (this.#packed.has(key)) return true;
      if (this.size >= this.limit) return this.#overflow();
      this.#packed.add(key);
      return true;
    }
    const key = `${x},${z}`;
    this.#wide ??= new Set();
    if (this.#wide.has(key)) return true;
    if (this.size >= this.limit) return this.#overflow();
    this.#wide.add(key);
    return true;
  }

  /** Forgets a column; `true` when it was tracked. */
  delete(x: number, z: number): boolean {
    return fits16(x) && fits16(z) ? this.#packed.delete((x << 16) | (z & 0xffff)) : (this.#wide?.delete(`${x},${z}`) ?? false);
  }

  /** Forgets every column and the overflow mark (after the client was told to unload them all). */
  clear(): void {
    this.#packed.clear();
    this.#wide = undefined;
    this.#overflowed = false;
  }

  /** Every tracked column, in insertion order (packed ones first). */
  *[Symbol.iterator](): IterableIterator<ChunkColumn> {
    for (const key of this.#packed) yield { x: key >> 16, z: (key << 16) >> 16 };
    if (this.#wide) {
      for (const key of this.#wide) {
        const comma = key.indexOf(',');
        yield { x: Number(key.slice(0, comma)), z: Number(key.slice(comma + 1)) };
      }
    }
  }

  toArray(): ChunkColumn[] {
    return [...this];
  }

  toJSON(): { columns: number; overflowed: boolean } {
    return { columns: this.size, overflowed: this.#overflowed };
  }

  #overflow(): false {
    this.#overflowed = true;
    return false;
  }
}
