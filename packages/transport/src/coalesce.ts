/** Options of {@link coalescingWritable}. */
export interface CoalesceInit {
  /** Flush as soon as this many bytes are buffered. Default 65 536. */
  readonly maxBytes?: number;
}

/**
 * Wraps a stream's `writable` so that the small chunks written during one event-loop turn reach the
 * transport as one chunk (copied into a buffer of up to `maxBytes`, flushed on `setImmediate` or when
 * full). No timer delay is added; backpressure passes through (a write waits while the previous batch
 * is being written). Useful over any transport whose per-write cost dominates for small frames (QUIC,
 * memory); the TCP adapter has its own zero-copy equivalent (`coalesceWrites`, cork/writev).
 *
 * @example
 * ```ts
 * const out = coalescingWritable(stream.writable);
 * const writer = out.getWriter();
 * for (const frame of frames) void writer.write(frame); // leaves as one chunk
 * ```
 */
export function coalescingWritable(target: WritableStream<Uint8Array>, init: CoalesceInit = {}): WritableStream<Uint8Array> {
  const maxBytes = init.maxBytes ?? 65_536;
  const writer = target.getWriter();
  let buffer = new Uint8Array(maxBytes);
  let used = 0;
  let scheduled: NodeJS.Immediate | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let failure: unknown;

  const flush = (): Promise<void> => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (used === 0) return inFlight;
    const batch = buffer.subarray(0, used);
    buffer = new Uint8Array(maxBytes);
    used = 0;
    inFlight = inFlight.then(() => writer.write(batch)).catch((error: unknown) => {
      failure ??= error;
    });
    return inFlight;
  };

  return new WritableStream<Uint8Array>({
    async write(chunk) {
      if (failure !== undefined) throw failure;
      if (chunk.byteLength >= maxBytes) {
        await flush();
        await writer.write(chunk.slice());
        return;
      }
      if (used + chunk.byteLength > maxBytes) await flush();
      if (failure !== undefined) throw failure;
      buffer.set(chunk, used);
      used += chunk.byteLength;
      scheduled ??= setImmediate(() => {
        scheduled = undefined;
        void flush();
      });
    },
    async close() {
      await flush();
      if (failure !== undefined) throw failure;
      await writer.close();
    },
    async abort(reason) {
      if (scheduled !== undefined) clearImmediate(scheduled);
      scheduled = undefined;
      used = 0;
      await writer.abort(reason);
    },
  });
}
