/**
 * The chunk columns loaded on the client: what a cutover must unload (docs/session.md, "Chunks and the player list on the server").
 *
 * `SetChunk` loads one (x, y, z) section; `UnloadChunk` unloads a whole (x, z) column. The set holds
 * columns. Coordinates that fit in 16 bits each (±32,767 chunks, over a million blocks) are packed into
 * one int32 key, kept in a sorted `Int32Array` (4 bytes per column, binary search; a new column moves
 * the keys after it, a few microseconds at the worst, far less than the decompression of the SetChunk
 * that brought it). The rare wider coordinates go to a second set.
 */

/** One chunk column, in chunk coordinates. */
export interface ChunkColumn {
  readonly x: number;
  readonly z: number;
}

/** Default bound of tracked columns per session (a view radius of 32 chunks is 65 × 65 = 4,225). */
export const DEFAULT_MAX_CHUNK_COLUMNS = 32_768;

const fits16 = (v: number): boolean => v >= -0x8000 && v <= 0x7fff;
const pack = (x: number, z: number): number => (x << 16) | (z & 0xffff);

/** A bounded set of (x, z) chunk columns. */
export class ChunkColumns {
  readonly limit: number;
  /** Sorted packed keys in `[0, #count)`; allocated on the first column. */
  #keys: Int32Array | undefined;
  #count = 0;
  #wide: Set<string> | undefined;
  #overflowed = false;

  constructor(limit = DEFAULT_MAX_CHUNK_COLUMNS) {
    this.limit = limit;
  }

  /** Number of tracked columns. */
  get size(): number {
    return this.#count + (this.#wide?.size ?? 0);
  }

  /** True once a column could not be tracked because the set was full: the set is incomplete. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  has(x: number, z: number): boolean {
    if (fits16(x) && fits16(z)) return this.#find(pack(x, z)) >= 0;
    return this.#wide?.has(`${x},${z}`) ?? false;
  }

  /** Tracks a column. Returns `false` (and marks the set incomplete) when the set is full. */
  add(x: number, z: number): boolean {
    if (fits16(x) && fits16(z)) {
      const key = pack(x, z);
      const at = this.#find(key);
      if (at >= 0) return true;
      if (this.size >= this.limit) return this.#overflow();
      this.#insert(~at, key);
      return true;
    }
    const key = `${x},${z}`;
    if (this.#wide?.has(key) === true) return true;
    if (this.size >= this.limit) return this.#overflow();
    (this.#wide ??= new Set()).add(key);
    return true;
  }

  /** Forgets a column; `true` when it was tracked. */
  delete(x: number, z: number): boolean {
    if (!(fits16(x) && fits16(z))) return this.#wide?.delete(`${x},${z}`) ?? false;
    const at = this.#find(pack(x, z));
    if (at < 0) return false;
    const keys = this.#keys!;
    keys.copyWithin(at, at + 1, this.#count);
    this.#count--;
    return true;
  }

  /** Forgets every column and the overflow mark (after the client was told to unload them all). */
  clear(): void {
    this.#keys = undefined;
    this.#count = 0;
    this.#wide = undefined;
    this.#overflowed = false;
  }

  /** Every tracked column (packed ones in key order, then the wide ones). */
  *[Symbol.iterator](): IterableIterator<ChunkColumn> {
    const keys = this.#keys;
    const count = this.#count;
    for (let i = 0; i < count; i++) {
      const key = keys![i]!;
      yield { x: key >> 16, z: (key << 16) >> 16 };
    }
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

  /** Index of `key`, or `~insertionPoint` when absent. */
  #find(key: number): number {
    const keys = this.#keys;
    let lo = 0;
    let hi = this.#count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys![mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return mid;
    }
    return ~lo;
  }

  #insert(at: number, key: number): void {
    let keys = this.#keys;
    if (keys === undefined || this.#count === keys.length) {
      const grown = new Int32Array(Math.min(Math.max(16, this.#count * 2), Math.max(16, this.limit)));
      if (keys !== undefined) grown.set(keys.subarray(0, this.#count));
      keys = this.#keys = grown;
    }
    keys.copyWithin(at + 1, at, this.#count);
    keys[at] = key;
    this.#count++;
  }

  #overflow(): false {
    this.#overflowed = true;
    return false;
  }
}
