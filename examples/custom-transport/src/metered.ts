/**
 * A custom transport: `metered(inner)` wraps any adapter of the transport contract and counts what
 * crosses it — connections and their closes, streams, bytes each way — per peer address, without
 * changing what the contract promises (backpressure, half-close, resets, errors and close codes pass
 * through untouched). A wrapper like this is easy to get subtly wrong (a read-ahead that breaks
 * backpressure, an error swallowed at a half-close), which is what the compliance suite is for:
 * `meteredCompliance()` is the setup the suite certifies it with.
 */
import type {
  AbortOptions,
  Address,
  CloseInfo,
  CloseOptions,
  Connection,
  DialInit,
  IncomingStream,
  Listener,
  ListenInit,
  OpenStreamOptions,
  Stream,
  Transport,
} from '@handoff/transport';

/** What crossed the transport to or from one peer address. */
export interface PeerMeter {
  connections: number;
  /** Closes by how they ended: `code:<n>` for an application close, else the transport error's code. */
  readonly closes: Record<string, number>;
  streams: number;
  bytesSent: number;
  bytesReceived: number;
}

/** The counters of a metered transport, by peer (`host:port`: the dialled address, or the remote address of an accepted connection). */
export interface TransportMeter {
  readonly peers: ReadonlyMap<string, Readonly<PeerMeter>>;
  /** Every peer's counters added up. */
  total(): PeerMeter;
  /** Resolves once every connection opened so far has ended and its close is counted. */
  settled(): Promise<void>;
}

/** A transport that counts what crosses it: the adapter it wraps, plus `meter`. */
export interface MeteredTransport<L extends ListenInit = ListenInit, D extends DialInit = DialInit> extends Transport<L, D> {
  readonly meter: TransportMeter;
}

const keyOf = (address: Address): string => `${address.host}:${address.port}`;

/** Wraps `inner` (any adapter: `tcp()`, `quic()`, `memory()`…) so that everything crossing it is counted. */
export function metered<L extends ListenInit, D extends DialInit>(inner: Transport<L, D>): MeteredTransport<L, D> {
  const peers = new Map<string, PeerMeter>();
  const open = new Set<Promise<unknown>>();
  const peer = (address: Address): PeerMeter => {
    const key = keyOf(address);
    let found = peers.get(key);
    if (!found) peers.set(key, (found = { connections: 0, closes: {}, streams: 0, bytesSent: 0, bytesReceived: 0 }));
    return found;
  };
  const meter: TransportMeter = {
    peers,
    total() {
      const sum: PeerMeter = { connections: 0, closes: {}, streams: 0, bytesSent: 0, bytesReceived: 0 };
      for (const p of peers.values()) {
        sum.connections += p.connections;
        sum.streams += p.streams;
        sum.bytesSent += p.bytesSent;
        sum.bytesReceived += p.bytesReceived;
        for (const [how, n] of Object.entries(p.closes)) sum.closes[how] = (sum.closes[how] ?? 0) + n;
      }
      return sum;
    },
    async settled() {
      while (open.size > 0) await Promise.all(open);
    },
  };
  const track = (connection: Connection): Connection => {
    const closed = connection.closed.finally(() => open.delete(closed));
    open.add(closed);
    return connection;
  };
  return {
    // the inner name, unchanged: the kit and the testkit read `name === 'tcp'` as "one stream carries every channel"
    name: inner.name,
    meter,
    async listen(init) {
      return meteredListener(await inner.listen(init), (connection) => track(meteredConnection(connection, peer(connection.remoteAddress))));
    },
    async dial(init) {
      return track(meteredConnection(await inner.dial(init), peer(init.address)));
    },
  };
}

function meteredListener(inner: Listener, wrap: (connection: Connection) => Connection): Listener {
  return {
    get address() {
      return inner.address;
    },
    async accept(options?: AbortOptions) {
      return wrap(await inner.accept(options));
    },
    close: (options?: AbortOptions) => inner.close(options),
  };
}

function meteredConnection(inner: Connection, meter: PeerMeter): Connection {
  meter.connections += 1;
  const closed = inner.closed.then((info: CloseInfo) => {
    const how = info.error ? info.error.code : `code:${info.code ?? 0}`;
    meter.closes[how] = (meter.closes[how] ?? 0) + 1;
    return info;
  });
  const wrap = <S extends Stream>(stream: S): S => {
    meter.streams += 1;
    return meteredStream(stream, meter);
  };
  const connection: Connection = {
    get id() {
      return inner.id;
    },
    get direction() {
      return inner.direction;
    },
    get alpn() {
      return inner.alpn;
    },
    get localAddress() {
      return inner.localAddress;
    },
    get remoteAddress() {
      return inner.remoteAddress;
    },
    get peerCertificates() {
      return inner.peerCertificates;
    },
    get peerCertificateFingerprint() {
      return inner.peerCertificateFingerprint;
    },
    openStream: (async (options?: OpenStreamOptions) => wrap(await inner.openStream(options as OpenStreamOptions<'bidi'>))) as Connection['openStream'],
    acceptStream: async (options?: AbortOptions): Promise<IncomingStream> => wrap(await inner.acceptStream(options)),
    close: (options?: CloseOptions) => inner.close(options),
    closed,
  };
  return connection;
}

/** The same stream, its halves counted. Errors, ends and resets of the inner halves pass through as they are. */
function meteredStream<S extends Stream>(inner: S, meter: PeerMeter): S {
  const readable = inner.readable ? countedReadable(inner.readable, (n) => (meter.bytesReceived += n)) : null;
  const writable = inner.writable ? countedWritable(inner.writable, (n) => (meter.bytesSent += n)) : null;
  return {
    get id() {
      return inner.id;
    },
    kind: inner.kind,
    initiator: inner.initiator,
    get channel() {
      return inner.channel;
    },
    closed: inner.closed,
    abort: (options?: Parameters<Stream['abort']>[0]) => inner.abort(options),
    readable,
    writable,
  } as S;
}

/**
 * A readable that reads the inner one only when its own reader asks (high-water mark 0: no read-ahead,
 * so a reader that stops reading stops the peer through the transport's flow control, as before).
 */
function countedReadable(inner: ReadableStream<Uint8Array>, count: (bytes: number) => void): ReadableStream<Uint8Array> {
  const reader = inner.getReader();
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // an inner error surfaces at once, not only at the next read
        reader.closed.catch((error: unknown) => controller.error(error));
      },
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        count(value.byteLength);
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** A writable that hands each chunk to the inner one and waits for it: one chunk in flight, as bounded as the inner stream. */
function countedWritable(inner: WritableStream<Uint8Array>, count: (bytes: number) => void): WritableStream<Uint8Array> {
  const writer = inner.getWriter();
  return new WritableStream<Uint8Array>({
    start(controller) {
      writer.closed.catch((error: unknown) => controller.error(error));
    },
    async write(chunk) {
      await writer.write(chunk);
      count(chunk.byteLength);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}
