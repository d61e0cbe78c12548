/**
 * Frames over web streams, one at a time and with backpressure: the seam every part of the kit reads
 * and writes through (the client handshake, the backend connector and setup driver, the forwarders).
 * A {@link FrameSource} reads from its stream only when asked for the next frame, so a consumer that
 * stops asking stops the transport (flow control reaches the peer); a {@link FrameSink} resolves a
 * write only once the stream accepted it.
 */
import type { ReadableStreamReadResult } from 'node:stream/web';
import { FrameSplitter, type FrameCheckOptions, type Registry, type WireFrame } from '@handoff/protocol';

/** Frames of one stream. */
export interface FrameSource {
  /**
   * The next frame, or `null` once the stream ended at a frame boundary. Rejects with the splitter's
   * `ProtocolError` on bad bytes, once the whole frames before them were handed out (also for a
   * stream that ends inside a frame; every later call rejects the same way), with the transport's
   * error when the stream failed, or with the signal's reason (the read stays pending for the next call:
   * no byte is lost by an aborted wait).
   */
  next(options?: { readonly signal?: AbortSignal | undefined }): Promise<WireFrame | null>;
  /** Whether the bytes read so far end exactly at a frame boundary (nothing buffered). */
  readonly atBoundary: boolean;
  /** Stops reading and cancels the stream. */
  cancel(reason?: unknown): Promise<void>;
}

/** Whole frames to one stream. */
export interface FrameSink {
  /** Writes one or more whole frames' bytes; resolves once the stream took them (backpressure). */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the stream after what was written. */
  close(): Promise<void>;
  /** Resets the stream; what was not sent is lost. */
  abort(reason?: unknown): void;
}

/** Reads frames of `registry` from `readable` (header checks per `options`: direction and channel). */
export function frameSource(readable: ReadableStream<Uint8Array>, registry: Registry, options: FrameCheckOptions = {}): FrameSource {
  const reader = readable.getReader();
  const splitter = new FrameSplitter(registry, options);
  let queue: WireFrame[] = [];
  let at = 0;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  let ended = false;
  /** A split error, thrown once the frames completed before it in the same chunk were handed out. */
  let failure: { readonly error: unknown } | undefined;

  const read = async (signal: AbortSignal | undefined): Promise<ReadableStreamReadResult<Uint8Array>> => {
    signal?.throwIfAborted();
    if (pending === undefined) {
      pending = reader.read();
      // the read may outlive every wait on it (each aborted, then the link closed): its failure is
      // then nobody's to handle, and must not end the process; a later wait still sees it
      pending.catch(() => {});
    }
    const current = pending;
    if (signal === undefined) {
      const result = await current;
      pending = undefined;
      return result;
    }
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([current, aborted]);
      pending = undefined;
      return result;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  return {
    get atBoundary() {
      return at >= queue.length && splitter.atBoundary;
    },
    async next(options = {}) {
      for (;;) {
        if (at < queue.length) {
          const frame = queue[at]!;
          queue[at++] = undefined as never;
          return frame;
        }
        if (failure !== undefined) throw failure.error;
        if (ended) return null;
        const { value, done } = await read(options.signal);
        if (done) {
          ended = true;
          splitter.end();
          return null;
        }
        const frames: WireFrame[] = [];
        try {
          splitter.pushTo(value, frames);
        } catch (error) {
          failure = { error };
        }
        queue = frames;
        at = 0;
      }
    },
    async cancel(reason) {
      ended = true;
      queue = [];
      at = 0;
      await reader.cancel(reason).catch(() => {});
    },
  };
}

/** Writes whole frames to `writable`. */
export function frameSink(writable: WritableStream<Uint8Array>): FrameSink {
  const writer = writable.getWriter();
  return {
    async write(bytes) {
      await writer.ready;
      await writer.write(bytes);
    },
    async close() {
      await writer.close();
    },
    abort(reason) {
      void writer.abort(reason).catch(() => {});
    },
  };
}
