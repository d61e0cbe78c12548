/**
 * The client's side of the forwarding: one writer per client channel. `Default` is the client's
 * bidi stream. On G3 the proxy opens the two uni streams a server opens (`Chunks`, then `WorldMap`:
 * the client tells them apart by that order, nothing on the wire names them) once, when a server
 * would — on the client's first `PlayerOptions` — and whichever backend is current feeds them from
 * then on. On G1 and G2 every channel is the one bidi stream.
 */
import type { Generation } from '@handoff/protocol';
import type { Connection } from '@handoff/transport';
import type { ChannelName } from '../contracts.js';
import { ProxyError } from '../errors.js';
import { frameSink, type FrameSink } from '../frames.js';

/** The client's channels, as the forwarders write to them. */
export interface ClientChannels {
  /** The channels a backend of this generation sends on (`Default`, and on G3 `Chunks`, `WorldMap`). */
  readonly names: readonly ChannelName[];
  /** Whether the uni streams are open (always true before G3, where there are none). */
  readonly opened: boolean;
  /**
   * Writes whole frames to `channel`. On G3, a uni channel's write waits until its stream is open
   * (backpressure: the forwarder reads no further meanwhile). Rejects with `ERR_PROXY_CLOSED` once
   * the channels are closed.
   */
  write(channel: ChannelName, bytes: Uint8Array): Promise<void>;
  /** Opens the uni streams (G3), Chunks then WorldMap; idempotent, a no-op before G3. */
  open(): Promise<void>;
  /** Ends every stream the proxy opened (the bidi stream stays with its owner). */
  close(): Promise<void>;
}

/**
 * The channels of one client: `defaultSink` is its bidi stream (already open); the uni streams are
 * opened on `connection` when {@link ClientChannels.open} is called.
 */
export function clientChannels(connection: Connection, generation: Generation, defaultSink: FrameSink): ClientChannels {
  const uniNames = generation.serverUniStreams as readonly ChannelName[];
  const names: readonly ChannelName[] = ['Default', ...uniNames];
  const sinks = new Map<ChannelName, FrameSink>();
  let opening: Promise<void> | undefined;
  let opened = uniNames.length === 0;
  let closed = false;
  let failure: unknown;
  let release!: () => void;
  const ready = new Promise<void>((resolve) => (release = resolve));
  if (opened) release();

  const open = (): Promise<void> => {
    opening ??= (async () => {
      try {
        // in order: the client names the first server uni stream Chunks and the second WorldMap
        for (const channel of uniNames) {
          const stream = await connection.openStream({ kind: 'uni', channel });
          sinks.set(channel, frameSink(stream.writable));
        }
        opened = true;
      } catch (error) {
        failure = new ProxyError('ERR_PROXY_CLIENT_GONE', 'could not open the client uni streams', { cause: error });
      } finally {
        release();
      }
      if (failure !== undefined) throw failure;
    })();
    return opening;
  };

  return {
    names,
    get opened() {
      return opened;
    },
    async write(channel, bytes) {
      if (closed) throw new ProxyError('ERR_PROXY_CLOSED', 'the client channels are closed');
      if (channel === 'Default' || uniNames.length === 0) return defaultSink.write(bytes);
      if (!opened) await ready;
      if (failure !== undefined) throw failure;
      const sink = sinks.get(channel);
      if (!sink) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `no client channel ${channel} in ${generation.id}`);
      if (closed) throw new ProxyError('ERR_PROXY_CLOSED', 'the client channels are closed');
      return sink.write(bytes);
    },
    open,
    async close() {
      if (closed) return;
      closed = true;
      if (!opened && failure === undefined) {
        failure = new ProxyError('ERR_PROXY_CLOSED', 'the client channels are closed');
        release();
      }
      await Promise.all([...sinks.values()].map((sink) => sink.close().catch(() => {})));
    },
  };
}
