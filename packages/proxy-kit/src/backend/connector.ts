/**
 * The backend connector: joins a backend on the player's behalf. It dials the backend with the
 * transport its config names, opens the one bidirectional stream, sends the `Connect` built from the
 * session record (with the ticket and the proxy's address), and hands out the backend's frames per
 * client channel: over QUIC, `Default` from that stream and (G3) `Chunks`/`WorldMap` from the two
 * unidirectional streams the backend opens, told apart by their order; over TCP, the one stream
 * demultiplexed by each packet's registry channel. Nothing is read until a channel's reader asks, so
 * a slow reader slows the backend through the transport's flow control.
 */
import { isProtocolError, type Generation, type WireFrame } from '@handoff/protocol';
import type { SessionRecord } from '@handoff/session';
import { raceSignal, type Address, type BidiStream, type CloseInfo, type Connection, type DialInit, type IncomingStream } from '@handoff/transport';
import type { BackendRef, Logger } from '@handoff/types';
import type { BackendConfig, BackendEnd, BackendLink, ChannelName } from '../contracts.js';
import { ProxyError, isProxyError } from '../errors.js';
import { frameSink, frameSource, type FrameSink, type FrameSource } from '../frames.js';
import { PushbackSource, demuxChannels, type Demux, type DemuxStats, type UnreadableSource } from './channels.js';
import { buildConnectFrame } from './connect-frame.js';

/** Options of {@link connectBackend}. */
export interface ConnectBackendOptions {
  /** The player's session record: the Connect's fields (and the identity token) come from it. */
  readonly record: SessionRecord;
  /** The generation to speak (default: the record's, which the client's Connect named). */
  readonly generation?: Generation | undefined;
  /** The ticket for `Connect.referralData` (`TicketPolicy.issue`). Without one the join is a development join. */
  readonly ticket?: string | undefined;
  /** The proxy's address, sent as `referralSource` (backends map it to the proxy's id to check its tickets). */
  readonly proxyAddress: Address;
  /** Aborts the dial (and the stream open): the connector then closes what it opened. */
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
  /** Told of the Connect (the whole frame) once it is written: the session's trace reads its name and size. */
  readonly onConnectSent?: ((frame: Uint8Array) => void) | undefined;
  /**
   * TCP backends: bytes one channel may hold unread before the shared stream is no longer read
   * (default 1 MiB). Memory per link stays under about three times this, plus the transport's buffers.
   */
  readonly channelHighWaterMark?: number | undefined;
}

/** A {@link BackendLink} as the connector makes it, with its buffer counters. */
export interface ConnectedBackend extends BackendLink {
  /** What the link holds now (TCP: frames demultiplexed but not yet read by their channel). */
  stats(): BackendLinkStats;
}

export interface BackendLinkStats {
  /** `'streams'`: one stream per channel (QUIC); `'demux'`: one stream for every channel (TCP). */
  readonly mode: 'streams' | 'demux';
  readonly demux: DemuxStats | undefined;
  /** Channels the backend opened so far. */
  readonly channels: readonly ChannelName[];
}

/** Default of {@link ConnectBackendOptions.channelHighWaterMark}. */
export const DEFAULT_CHANNEL_HIGH_WATER_MARK = 1024 * 1024;

/** How long `close()` lets the Disconnect it sends the backend go out before closing anyway. */
const CLOSE_GRACE_MS = 250;

/** The ALPN a client of `generation` offers: `hytale/1` for G1, `hytale/2` from G2 (a G2+ server refuses `hytale/1`). */
export function alpnFor(generation: Generation): string[] {
  return generation.alpn.includes('hytale/2') ? ['hytale/2'] : [generation.alpn[0] ?? 'hytale/1'];
}

function closeDetail(end: { code?: number | undefined; reason?: string | undefined }): string {
  return end.code === undefined ? '' : ` (code ${end.code}${end.reason ? `: ${end.reason}` : ''})`;
}

/**
 * Joins `config`'s backend on the player's behalf: dials, opens the stream, sends the Connect.
 * Resolves once the Connect is written (the backend's answer is the setup driver's to read).
 *
 * @example
 * ```ts
 * const ticket = await tickets.issue({ clientUuid: record.clientUuid!, target: lobby.ref });
 * const link = await connectBackend(lobby, { record, ticket, proxyAddress: { host: 'proxy.example', port: 5520 } });
 * await createSetupDriver({ link, record, password: lobby.password }).auth({ signal });
 * ```
 * @throws {ProxyError} `ERR_PROXY_BACKEND_CONNECT_FAILED` (reason `dial`, `stream` or `aborted`; the
 * cause is the transport's error), `ERR_PROXY_SETUP_INCOMPLETE_RECORD`, `ERR_PROXY_INVALID_ARGUMENT`.
 */
export async function connectBackend<D extends DialInit>(config: BackendConfig<D>, options: ConnectBackendOptions): Promise<ConnectedBackend> {
  const { record, signal, logger } = options;
  const generation = options.generation ?? record.generation;
  if (generation === undefined) {
    throw new ProxyError('ERR_PROXY_SETUP_INCOMPLETE_RECORD', 'the session record has no generation yet (no Connect captured)', { reason: 'no-connect' });
  }
  const highWaterMark = options.channelHighWaterMark ?? DEFAULT_CHANNEL_HIGH_WATER_MARK;
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'channelHighWaterMark must be a positive integer', { reason: 'channel-high-water-mark' });
  }
  const connect = buildConnectFrame(record, generation, {
    ticket: options.ticket,
    proxyAddress: options.proxyAddress,
    forwardIdentityToken: config.forwardIdentityToken,
  });
  const backend = config.ref;
  const failed = (reason: 'dial' | 'stream', error: unknown): ProxyError => {
    const aborted = signal?.aborted === true;
    return new ProxyError(
      'ERR_PROXY_BACKEND_CONNECT_FAILED',
      aborted ? `joining backend ${backend.id} was aborted` : `backend ${backend.id} could not be joined (${reason}): ${error instanceof Error ? error.message : 'failed'}`,
      { reason: aborted ? 'aborted' : reason, cause: aborted ? signal.reason : error },
    );
  };

  let connection: Connection;
  try {
    signal?.throwIfAborted();
    connection = await config.transport.dial({
      ...config.dial,
      address: config.address,
      alpn: config.dial?.alpn ?? alpnFor(generation),
      // the backend may open the uni streams of its generation (G3: Chunks, WorldMap), nothing else
      maxStreams: { bidi: 0, uni: generation.serverUniStreams.length },
      ...(signal === undefined ? {} : { signal }),
    } as D);
  } catch (error) {
    throw failed('dial', error);
  }

  let stream: BidiStream;
  let sink: FrameSink;
  try {
    stream = await connection.openStream({ kind: 'bidi', channel: 'Default', ...(signal === undefined ? {} : { signal }) });
    sink = frameSink(stream.writable);
    await raceSignal(sink.write(connect), signal);
  } catch (error) {
    await connection.close({ code: 0, reason: 'aborted' }).catch(() => {});
    throw failed('stream', error);
  }
  logger?.debug?.({ backend: backend.id, transport: config.transport.name, alpn: connection.alpn, ticket: options.ticket !== undefined }, 'backend joined: Connect sent');
  try {
    options.onConnectSent?.(connect);
  } catch {
    // an observer never fails the join
  }
  return new Link(config, generation, connection, stream, sink, highWaterMark, logger);
}

interface ChannelSlot {
  source: UnreadableSource | undefined;
  waiters: Array<{ resolve: (source: UnreadableSource) => void; reject: (error: unknown) => void }>;
}

class Link implements ConnectedBackend {
  readonly backend: BackendRef;
  readonly generation: Generation;
  readonly connection: Connection;
  readonly sink: FrameSink;
  readonly ended: Promise<BackendEnd>;
  readonly #logger: Logger | undefined;
  readonly #slots = new Map<ChannelName, ChannelSlot>();
  readonly #demux: Demux | undefined;
  readonly #disconnectId: number | undefined;
  #closing: Promise<void> | undefined;
  #end: BackendEnd | undefined;
  #disconnect: BackendEnd['disconnect'];

  constructor(
    config: BackendConfig<DialInit>,
    generation: Generation,
    connection: Connection,
    stream: BidiStream,
    sink: FrameSink,
    highWaterMark: number,
    logger: Logger | undefined,
  ) {
    this.backend = config.ref;
    this.generation = generation;
    this.connection = connection;
    this.sink = sink;
    this.#logger = logger;
    this.#disconnectId = generation.registry.byName('Disconnect')?.id;
    const channels: ChannelName[] = ['Default', ...(generation.serverUniStreams as ChannelName[])];
    for (const channel of channels) this.#slots.set(channel, { source: undefined, waiters: [] });
    const registry = generation.registry;
    const onFrame = (frame: WireFrame): void => this.#snoop(frame);
    // One stream for every channel: TCP (the server maps Chunks and WorldMap onto its one connection).
    if (config.transport.name === 'tcp') {
      this.#demux = demuxChannels(frameSource(stream.readable, registry, { direction: 'ToClient' }), {
        channels,
        highWaterMark,
        onFrame,
        // a Hytale server closes its TCP channel fully: its FIN ends the link (our FIN answers it)
        onEnd: () => void connection.close({ code: 0 }).catch(() => {}),
      });
      for (const [channel, source] of this.#demux.sources) this.#slots.get(channel)!.source = source;
    } else {
      const check = channels.length > 1 ? { direction: 'ToClient' as const, channel: 'Default' } : { direction: 'ToClient' as const };
      this.#slots.get('Default')!.source = new PushbackSource(frameSource(stream.readable, registry, check), onFrame);
      if (channels.length > 1) void this.#acceptUniStreams();
    }
    this.ended = connection.closed.then((info) => this.#ended(info));
  }

  stats(): BackendLinkStats {
    return {
      mode: this.#demux === undefined ? 'streams' : 'demux',
      demux: this.#demux?.stats(),
      channels: [...this.#slots].filter(([, slot]) => slot.source !== undefined).map(([name]) => name),
    };
  }

  async channel(name: ChannelName, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<FrameSource> {
    const slot = this.#slots.get(name);
    if (slot === undefined) {
      throw new ProxyError('ERR_PROXY_BACKEND_NO_CHANNEL', `a ${this.generation.id} backend has no ${name} channel`, { reason: name });
    }
    if (slot.source !== undefined) return slot.source;
    if (this.#end !== undefined) throw this.#closedError(`before it opened its ${name} stream`);
    const { signal } = options;
    signal?.throwIfAborted();
    return new Promise<FrameSource>((resolve, reject) => {
      const waiter = {
        resolve: (source: UnreadableSource) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(source);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        slot.waiters = slot.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      slot.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  unread(channel: ChannelName, frames: readonly WireFrame[]): void {
    const source = this.#slots.get(channel)?.source;
    if (source === undefined) {
      throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `the ${channel} channel of backend ${this.backend.id} is not open: nothing can be put back on it`, {
        reason: 'channel',
      });
    }
    source.unread(frames);
  }

  close(reason = 'proxy closed the connection'): Promise<void> {
    this.#closing ??= (async () => {
      const disconnect = this.generation.packet('Disconnect').encodeFrame({ reason, type: 'Disconnect' });
      // a player leaving sends Disconnect; a backend that no longer reads cannot hold the close up
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.sink.write(disconnect).catch(() => {}),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
          timer.unref?.();
        }),
      ]);
      clearTimeout(timer);
      await this.connection.close({ code: 0, reason }).catch(() => {});
      await this.#demux?.cancel(reason).catch(() => {});
      await this.ended;
    })();
    return this.#closing;
  }

  #snoop(frame: WireFrame): void {
    if (frame.id !== this.#disconnectId || this.#disconnect !== undefined) return;
    try {
      const value = this.generation.packet('Disconnect').decodeFrame(frame);
      this.#disconnect = { reason: value.reason, type: value.type };
    } catch {
      this.#disconnect = { reason: null, type: 'Disconnect' };
    }
  }

  async #acceptUniStreams(): Promise<void> {
    const expected = this.generation.serverUniStreams as ChannelName[];
    let opened = 0;
    for (;;) {
      let stream: IncomingStream;
      try {
        stream = await this.connection.acceptStream();
      } catch {
        return; // the connection is over
      }
      // the adapter names a peer's uni streams by QUIC stream number: the first Chunks, the second WorldMap
      const channel = (stream.kind === 'uni' ? (stream.channel ?? expected[opened]) : undefined) as ChannelName | undefined;
      const slot = channel === undefined || !expected.includes(channel) ? undefined : this.#slots.get(channel);
      if (slot === undefined || slot.source !== undefined) {
        this.#logger?.warn?.({ backend: this.backend.id, streamKind: stream.kind, streamId: stream.id }, 'backend opened a stream its generation does not have: reset');
        stream.abort({ code: 0 });
        continue;
      }
      opened++;
      const source = new PushbackSource(frameSource(stream.readable, this.generation.registry, { direction: 'ToClient', channel: channel! }));
      slot.source = source;
      const waiters = slot.waiters;
      slot.waiters = [];
      for (const waiter of waiters) waiter.resolve(source);
    }
  }

  #ended(info: CloseInfo): BackendEnd {
    const initiator: BackendEnd['initiator'] =
      this.#closing !== undefined || info.initiator === 'local' ? 'proxy' : info.initiator === 'remote' && info.error === undefined ? 'backend' : 'transport';
    const end: BackendEnd = {
      initiator,
      ...(info.code === undefined ? {} : { code: info.code }),
      ...(info.reason === undefined || info.reason === '' ? {} : { reason: info.reason }),
      ...(this.#disconnect === undefined ? {} : { disconnect: this.#disconnect }),
    };
    this.#end = end;
    for (const [name, slot] of this.#slots) {
      const waiters = slot.waiters;
      slot.waiters = [];
      for (const waiter of waiters) waiter.reject(this.#closedError(`before it opened its ${name} stream`));
    }
    this.#logger?.debug?.({ backend: this.backend.id, initiator, code: end.code, error: info.error?.code }, 'backend link ended');
    return end;
  }

  #closedError(when: string): ProxyError {
    const end = this.#end!;
    return new ProxyError('ERR_PROXY_BACKEND_CLOSED', `backend ${this.backend.id} link ended (${end.initiator})${closeDetail(end)} ${when}`, {
      reason: end.initiator,
    });
  }
}

/**
 * Maps a failure to read a backend channel to the kit's error: a codec error is
 * `ERR_PROXY_BACKEND_PROTOCOL`, anything else (the stream or connection failed)
 * `ERR_PROXY_BACKEND_CLOSED`; the cause is kept.
 */
export function backendReadError(link: BackendLink, error: unknown, when: string): ProxyError {
  if (isProxyError(error)) return error;
  if (isProtocolError(error)) {
    return new ProxyError('ERR_PROXY_BACKEND_PROTOCOL', `backend ${link.backend.id} sent an unreadable frame ${when}: ${error.code}`, {
      reason: error.code,
      cause: error,
    });
  }
  return new ProxyError('ERR_PROXY_BACKEND_CLOSED', `backend ${link.backend.id} stream failed ${when}`, { reason: 'transport', cause: error });
}
