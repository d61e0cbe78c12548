import type { Connection } from '../connection.js';

/** Reads a readable to its end and returns everything as one array. */
export async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  reader.releaseLock();
  return concat(chunks, total);
}

/** Reads exactly `length` bytes (fewer only if the stream ends first). Keeps the reader locked state clean. */
export async function readExactly(readable: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = readable.getReader();
  try {
    while (total < length) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (total > length) throw new Error(`read ${total} bytes where ${length} were expected`);
  return concat(chunks, total);
}

export function concat(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.byteLength, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Writes `data` (in chunks of at most `chunkSize`) and optionally closes the writable. */
export async function writeAll(
  writable: WritableStream<Uint8Array>,
  data: Uint8Array,
  options: { readonly chunkSize?: number; readonly close?: boolean } = {},
): Promise<void> {
  const writer = writable.getWriter();
  const size = options.chunkSize ?? data.byteLength;
  for (let offset = 0; offset < data.byteLength; offset += size) {
    await writer.ready;
    await writer.write(data.subarray(offset, Math.min(data.byteLength, offset + size)));
  }
  if (options.close === true) await writer.close();
  else writer.releaseLock();
}

/** Deterministic pseudo-random bytes (xorshift), so failures are reproducible. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Resolves with `promise`'s value, or rejects when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `'pending'` when `promise` has not settled after a macrotask turn. */
export async function isPending(promise: Promise<unknown>, waitMs = 0): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  return !settled;
}

/** Counts of `process.getActiveResourcesInfo()` by resource type. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Resource types whose count is above `baseline` now. */
export function resourcesAbove(baseline: ReadonlyMap<string, number>): string[] {
  const extra: string[] = [];
  for (const [type, count] of activeResources()) {
    const before = baseline.get(type) ?? 0;
    if (count > before) extra.push(`${type} +${count - before}`);
  }
  return extra;
}

/** Polls until nothing is above `baseline` or `ms` elapse; returns what is still above. */
export async function settleResources(baseline: ReadonlyMap<string, number>, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const extra = resourcesAbove(baseline);
    if (extra.length === 0 || Date.now() > deadline) return extra;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Closes connections quietly (used for cleanup after a test). */
export async function closeQuietly(connections: Iterable<Connection>): Promise<void> {
  await Promise.all(
    [...connections].map(async (connection) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 2_000);
      try {
        await connection.close({ signal: controller.signal });
      } catch {
        // cleanup only
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
