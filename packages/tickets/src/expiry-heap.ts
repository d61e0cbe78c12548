/** A binary min-heap of `(expiresAt, key)` pairs: reclaims expired map entries in O(log n) each. */
export class ExpiryHeap {
  readonly #times: number[] = [];
  readonly #keys: string[] = [];

  get size(): number {
    return this.#times.length;
  }

  push(expiresAt: number, key: string): void {
    const times = this.#times;
    const keys = this.#keys;
    let i = times.length;
    times.push(expiresAt);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= expiresAt) break;
      times[i] = times[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    times[i] = expiresAt;
    keys[i] = key;
  }

  /** Pops every pair with `expiresAt <= now` and calls `onExpired` for each. */
  popExpired(now: number, onExpired: (key: string, expiresAt: number) => void): void {
    const times = this.#times;
    while (times.length > 0 && times[0]! <= now) {
      const expiresAt = times[0]!;
      const key = this.#keys[0]!;
      this.#popTop();
      onExpired(key, expiresAt);
    }
  }

  clear(): void {
    this.#times.length = 0;
    this.#keys.length = 0;
  }

  #popTop(): void {
    const times = this.#times;
    const keys = this.#keys;
    const lastTime = times.pop()!;
    const lastKey = keys.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && times[right]! < times[left]! ? right : left;
      if (times[child]! >= lastTime) break;
      times[i] = times[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    times[i] = lastTime;
    keys[i] = lastKey;
  }
}
