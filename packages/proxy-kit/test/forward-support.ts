/**
 * Stand-ins for the forwarding unit tests: a backend channel that makes frames only when read (and
 * counts how often it was read), client channels whose writes the test releases, a link over such
 * channels. The end-to-end tests run on the real parts.
 */
import { getGeneration, type Generation } from '@handoff/protocol';
import { parseBackendRef } from '@handoff/types';
import type { BackendEnd, BackendLink, ChannelName } from '../src/contracts.js';
import type { ClientChannels } from '../src/forward/client-channels.js';
import { frameSink, frameSource, type FrameSource } from '../src/frames.js';

export const G3 = getGeneration('G3');
export const G2 = getGeneration('G2');

/** One frame per read, made on demand by `make(n)` (n = 0, 1, …); `pulls` counts the reads of the transport. */
export function lazyChannel(generation: Generation, make: (n: number) => Uint8Array | null, channel?: ChannelName): { source: FrameSource; readonly pulls: number } {
  let pulls = 0;
  const readable = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const bytes = make(pulls++);
        if (bytes === null) controller.close();
        else controller.enqueue(bytes);
      },
    },
    { highWaterMark: 0 },
  );
  const source = frameSource(readable, generation.registry, { direction: 'ToClient', ...(generation.serverUniStreams.length > 0 && channel ? { channel } : {}) });
  return {
    source,
    get pulls() {
      return pulls;
    },
  };
}

/** A link over the given channel sources; `sink` writes go to `sent`. */
export function stubLink(id: string, generation: Generation, channels: Partial<Record<ChannelName, FrameSource>>): BackendLink & { readonly sent: Uint8Array[]; end(end?: BackendEnd): void } {
  const sent: Uint8Array[] = [];
  let resolveEnded!: (end: BackendEnd) => void;
  const ended = new Promise<BackendEnd>((resolve) => (resolveEnded = resolve));
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => void sent.push(chunk) });
  return {
    backend: parseBackendRef({ id }),
    generation,
    connection: {} as never,
    sink: frameSink(writable),
    sent,
    async channel(name) {
      const source = channels[name];
      if (!source) return new Promise<never>(() => {}); // never opened
      return source;
    },
    ended,
    async close() {
      resolveEnded({ initiator: 'proxy' });
    },
    unread() {},
    end(end = { initiator: 'backend' }) {
      resolveEnded(end);
    },
  };
}

/** Client channels whose writes complete only when the test says so (`release`), or at once (`flowing`). */
export function heldChannels(names: readonly ChannelName[]): ClientChannels & {
  readonly written: Array<{ channel: ChannelName; bytes: Uint8Array }>;
  readonly waiting: number;
  flowing: boolean;
  release(): void;
} {
  const written: Array<{ channel: ChannelName; bytes: Uint8Array }> = [];
  let waiters: Array<() => void> = [];
  const channels = {
    names,
    opened: true,
    written,
    flowing: false,
    get waiting() {
      return waiters.length;
    },
    release() {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    },
    async write(channel: ChannelName, bytes: Uint8Array) {
      if (!channels.flowing) await new Promise<void>((resolve) => waiters.push(resolve));
      written.push({ channel, bytes });
    },
    async open() {},
    async close() {},
  };
  return channels;
}

/** Lets every pending callback run: `turns` rounds of the event loop. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function ping(generation: Generation, id: number): Uint8Array {
  return generation.packet('Ping').encodeFrame({ id, time: null, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 });
}

export function unload(generation: Generation, x: number): Uint8Array {
  return generation.packet('UnloadChunk').encodeFrame({ chunkX: x, chunkZ: 0 });
}
