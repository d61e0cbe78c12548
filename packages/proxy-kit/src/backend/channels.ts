/**
 * The channel sources of a backend link: a frame source that takes frames back at its head (the
 * setup driver returns the first frame past the handshake), and the demultiplexer that splits the
 * one byte stream of a TCP backend into its channels by packet id, with backpressure.
 */
import { ProtocolError, copyFrame, type WireFrame } from '@handoff/protocol';
import type { ChannelName } from '../contracts.js';
import type { FrameSource } from '../frames.js';

/** A frame source with a head of frames put back ({@link PushbackSource.unread}). */
export interface UnreadableSource extends FrameSource {
  unread(frames: readonly WireFrame[]): void;
}

/** Wraps a source: frames put back come first; `onFrame` sees each frame read from `inner` once. */
export class PushbackSource implements UnreadableSource {
  readonly #inner: FrameSource;
  readonly #onFrame: ((frame: WireFrame) => void) | undefined;
  #head: WireFrame[] = [];

  constructor(inner: FrameSource, onFrame?: (frame: WireFrame) => void) {
    this.#inner = inner;
    this.#onFrame = onFrame;
  }

  get atBoundary(): boolean {
    return this.#head.length === 0 && this.#inner.atBoundary;
  }

  async next(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<WireFrame | null> {
    const head = this.#head.shift();
    if (head !== undefined) return head;
    const frame = await this.#inner.next(options);
    if (frame !== null) this.#onFrame?.(frame);
    return frame;
  }

  unread(frames: readonly WireFrame[]): void {
    this.#head.unshift(...frames);
  }

  async cancel(reason?: unknown): Promise<void> {
    this.#head = [];
    await this.#inner.cancel(reason);
  }
}

/** Options of {@link demuxChannels}. */
export interface DemuxInit {
  /** The channels the stream carries (`Default` first). A frame of another channel is a protocol error. */
  readonly channels: readonly ChannelName[];
  /**
   * Bytes of frames one channel may hold unread. While a channel holds this much, the shared stream is
   * not read further: a consumer that stops reading its channel stops the others (one TCP stream has
   * one flow control), and memory stays bounded.
   */
  readonly highWaterMark: number;
  /** Sees every frame read from the stream, once, before it is queued. */
  readonly onFrame?: ((frame: WireFrame) => void) | undefined;
  /** Called once when the stream has ended at a frame boundary (the peer finished sending). */
  readonly onEnd?: (() => void) | undefined;
}

/** What a demultiplexer holds now. */
export interface DemuxStats {
  /** Bytes of frames queued per channel (read from the stream, not yet taken by the channel's reader). */
  readonly queuedBytes: Readonly<Record<string, number>>;
  /** The most bytes any one channel held at once. */
  readonly peakQueuedBytes: number;
}

interface Queue {
  frames: WireFrame[];
  bytes: number;
  cancelled: boolean;
}

/** The channels of one stream, demultiplexed by each frame's registry channel. */
export interface Demux {
  readonly sources: ReadonlyMap<ChannelName, UnreadableSource>;
  stats(): DemuxStats;
  /** Cancels the stream; every channel ends. */
  cancel(reason?: unknown): Promise<void>;
}

/**
 * Splits `source` (every channel on one stream, as a TCP backend sends them) into one source per
 * channel. Reads are driven by the channels' readers: a `next()` on a channel with nothing queued reads
 * the stream until a frame of its channel comes, queueing the others' frames (copied out of the read
 * buffer, so a queued frame holds only its own bytes). Nothing is read while another channel holds
 * `highWaterMark` bytes; that channel's reader releases it.
 */
export function demuxChannels(source: FrameSource, init: DemuxInit): Demux {
  const queues = new Map<ChannelName, Queue>(init.channels.map((c) => [c, { frames: [], bytes: 0, cancelled: false }]));
  let pumping = false;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let peak = 0;
  let waiters: Array<() => void> = [];

  const notify = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };

  const changed = (signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        waiters = waiters.filter((w) => w !== wake);
        reject(signal!.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  const blocked = (): boolean => {
    for (const queue of queues.values()) if (!queue.cancelled && queue.bytes >= init.highWaterMark) return true;
    return false;
  };

  const take = (queue: Queue): WireFrame => {
    const frame = queue.frames.shift()!;
    queue.bytes -= frame.bytes.byteLength;
    notify();
    return frame;
  };

  const next = async (queue: Queue, signal: AbortSignal | undefined): Promise<WireFrame | null> => {
    for (;;) {
      if (queue.frames.length > 0) return take(queue);
      if (failure !== undefined) throw failure.error;
      if (ended || queue.cancelled) return null;
      if (pumping || blocked()) {
        await changed(signal);
        continue;
      }
      pumping = true;
      let frame: WireFrame | null;
      try {
        frame = await source.next({ signal });
      } catch (error) {
        // an aborted wait loses nothing (the pending read serves the next call); anything else ends every channel
        if (!(signal?.aborted === true && error === signal.reason)) failure = { error };
        throw error;
      } finally {
        pumping = false;
        notify();
      }
      if (frame === null) {
        ended = true;
        notify();
        init.onEnd?.();
        continue;
      }
      init.onFrame?.(frame);
      const own = frame.descriptor.channel;
      const target = queues.get(own as ChannelName);
      if (target === undefined) {
        failure = {
          error: new ProtocolError('ERR_PROTOCOL_WRONG_CHANNEL', `${frame.descriptor.name} travels on channel ${own}, which this stream does not carry`, {
            packet: frame.descriptor.name,
          }),
        };
        notify();
        throw failure.error;
      }
      if (target === queue) return frame;
      if (target.cancelled) continue;
      target.frames.push(copyFrame(frame));
      target.bytes += frame.bytes.byteLength;
      if (target.bytes > peak) peak = target.bytes;
      notify();
    }
  };

  const sources = new Map<ChannelName, UnreadableSource>();
  for (const [channel, queue] of queues) {
    sources.set(channel, {
      get atBoundary() {
        return queue.frames.length === 0 && source.atBoundary;
      },
      next: (options = {}) => next(queue, options.signal),
      unread(frames) {
        queue.frames.unshift(...frames);
        for (const frame of frames) queue.bytes += frame.bytes.byteLength;
        notify();
      },
      async cancel() {
        queue.cancelled = true;
        queue.frames = [];
        queue.bytes = 0;
        notify();
      },
    });
  }

  return {
    sources,
    stats() {
      const queuedBytes: Record<string, number> = {};
      for (const [channel, queue] of queues) queuedBytes[channel] = queue.bytes;
      return { queuedBytes, peakQueuedBytes: peak };
    },
    async cancel(reason) {
      ended = true;
      for (const queue of queues.values()) {
        queue.frames = [];
        queue.bytes = 0;
      }
      notify();
      await source.cancel(reason);
    },
  };
}
