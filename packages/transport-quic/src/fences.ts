/**
 * Fences around known faults of `@matrixai/quic` 2.0.9. Every access to the library's internals
 * is in this file, typed by {@link ConnectionInternals}, so an upgrade has one place to check.
 *
 * What is fenced here (docs/transports.md § QUIC lists all six faults):
 *
 * - **Streams dispatched before anyone can listen (fault 3).** The library announces a peer's
 *   stream with an event on the connection, but a server connection is handed to the application
 *   only after `start()` resolves (and a client one after `createQUICClient` resolves); a stream that
 *   arrives in between, which a server-side `verifyCallback` makes likely, is silently lost. We hook
 *   the socket's connection map, which sees every connection *before* it starts, and attach our
 *   listeners there.
 * - **Peer streams while the connection is not running (fault 4).** During `start()` (handshake) and
 *   `stop()` the library rejects new peer streams with `streamShutdown(Write)`, which throws
 *   `InvalidStreamState` for a peer's unidirectional stream; the throw escapes `recv()` into the
 *   UDP socket's message handler as an unhandled rejection. We defer stream processing until the
 *   connection runs, reject streams safely while it stops, and catch whatever `recv`/`send` or the
 *   socket's message handler still throws.
 * - **Internal errors re-thrown from event handlers.** The library throws `ErrorQUICConnectionInternal`
 *   and `ErrorQUICStreamInternal` from inside event listeners, which `@matrixai/events` turns into an
 *   uncaught exception. We catch them (`EventError`) and turn them into an ordinary local close of
 *   the connection.
 */
import {
  errors as quicErrors,
  events as quicEvents,
  native,
  type QUICConnection,
  type QUICConnectionMap,
  type QUICServer,
  type QUICSocket,
} from '@matrixai/quic';

/** The parts of a library connection the fences use (internal to the library, stable in 2.0.9). */
export interface ConnectionInternals {
  readonly conn: native.Connection;
  readonly streamMap: Map<number, unknown>;
  processStreams(): void;
  /** Synchronous with the batched-I/O patch (it may still return a promise). */
  recv(data: Uint8Array, remoteInfo: { host: string; port: number }): Promise<void> | void;
  send(): Promise<void>;
  /** The batched-I/O patch: one flush (streams, then send) per event-loop turn. */
  requestFlush(): void;
  /** The batched-I/O patch: where outgoing datagrams go (instead of an event per datagram). */
  sendDatagram?: (msg: Uint8Array, port: number, address: string) => void;
}

interface SocketInternals {
  readonly connectionMap: QUICConnectionMap;
  /** With the batched-I/O patch: `undefined` when handled synchronously, else a promise. */
  handleSocketMessage: (data: Buffer, remoteInfo: { address: string; port: number }) => Promise<void> | undefined;
  readonly socket: import('node:dgram').Socket;
  sendDatagram(msg: Uint8Array, port: number, address: string, callback?: (error: Error | null) => void): void;
}

/** The library connection's internals. */
export function internals(connection: QUICConnection): ConnectionInternals {
  return connection as unknown as ConnectionInternals;
}

/** Lifecycle as the fences see it: from registration in the connection map to `stop()`. */
export type FencedState = 'starting' | 'running' | 'stopping';

/** Callbacks of a fenced connection. */
export interface FenceHooks {
  /** Something the library would have thrown into the void; the connection is being closed. */
  readonly onInternalError: (error: unknown) => void;
  /** Sees every datagram for the connection before quiche does; `false` drops it. */
  readonly onDatagram?: (bytes: number) => boolean;
}

/** A connection with the fences installed. */
export interface FencedConnection {
  readonly state: () => FencedState;
  /** Closes the connection as after an internal failure (used by stream fences). */
  readonly failInternally: (error: unknown) => void;
  /** How many times the library has sent (emitted what quiche had): data handed over since was not sent yet. */
  readonly sends: () => number;
}

const INTERNAL_ERROR = native.ConnectionErrorCode.InternalError;

/**
 * Installs the per-connection fences. Must run before the connection starts (the socket's
 * connection-map hook calls it).
 */
export function fenceConnection(connection: QUICConnection, hooks: FenceHooks): FencedConnection {
  const inner = internals(connection);
  let state: FencedState = 'starting';
  let deferredStreams = false;
  let sends = 0;
  const originalProcessStreams = Object.getPrototypeOf(connection).processStreams as () => void;
  const originalRecv = inner.recv;
  const originalSend = inner.send;

  const failInternally = (error: unknown): void => {
    hooks.onInternalError(error);
    // close quiche and let the library run its ordinary close path with a non-internal error
    try {
      if (!inner.conn.isClosed() && !inner.conn.isDraining()) inner.conn.close(false, INTERNAL_ERROR, new Uint8Array());
      const localError = inner.conn.localError() ?? { isApp: false, errorCode: INTERNAL_ERROR, reason: new Uint8Array() };
      connection.dispatchEvent(
        new quicEvents.EventQUICConnectionError({
          detail: new quicErrors.ErrorQUICConnectionLocal('internal failure in @matrixai/quic', {
            data: localError,
            cause: error,
          }),
        }),
      );
    } catch (secondary) {
      hooks.onInternalError(secondary);
    }
  };

  const safeProcessStreams = (): void => {
    try {
      originalProcessStreams.call(connection);
    } catch (error) {
      failInternally(error);
    }
  };

  const processStreams = (): void => {
    if (state === 'starting') {
      // quiche keeps the data; the streams are processed once the connection runs
      deferredStreams = true;
      return;
    }
    if (state === 'stopping') rejectUnknownPeerStreams(inner);
    safeProcessStreams();
  };
  Object.defineProperty(connection, 'processStreams', { value: processStreams, configurable: true, writable: true });
  Object.defineProperty(connection, 'recv', {
    value: (data: Uint8Array, remoteInfo: { host: string; port: number }): void => {
      if (hooks.onDatagram !== undefined && !hooks.onDatagram(data.byteLength)) return;
      try {
        const result = originalRecv.call(connection, data, remoteInfo);
        if (result !== undefined) result.catch(failInternally);
      } catch (error) {
        failInternally(error);
      }
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(connection, 'send', {
    value: () => {
      sends++;
      return originalSend.call(connection).catch(failInternally);
    },
    configurable: true,
    writable: true,
  });

  connection.addEventListener(
    quicEvents.EventQUICConnectionStarted.name,
    () => {
      state = 'running';
      if (deferredStreams) {
        deferredStreams = false;
        safeProcessStreams();
        void inner.send();
      }
    },
    { once: true },
  );
  connection.addEventListener(
    quicEvents.EventQUICConnectionStop.name,
    () => {
      state = 'stopping';
    },
    { once: true },
  );
  // registered before the library's own handler (added in `start()`), so this runs first
  connection.addEventListener(quicEvents.EventQUICConnectionError.name, (evt: Event) => {
    const error = (evt as quicEvents.EventQUICConnectionError).detail;
    if (error instanceof quicErrors.ErrorQUICConnectionInternal) {
      evt.stopImmediatePropagation();
      failInternally(error);
    }
  });
  // anything a library listener throws becomes an `EventError`, which by default is re-thrown
  // as an uncaught exception: catch it on the connection and on every stream, ours or the peer's
  catchEventErrors(connection, failInternally);
  connection.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => {
    catchEventErrors((evt as quicEvents.EventQUICConnectionStream).detail, failInternally);
  });
  return { state: () => state, failInternally, sends: () => sends };
}

/** The `@matrixai/events` event a listener's exception is re-dispatched as. */
const EVENT_ERROR = 'EventError';

/**
 * Adding any `EventError` listener disables `@matrixai/events`' default one, which throws the
 * error out of the dispatch (an uncaught exception). Ours reports it instead.
 */
export function catchEventErrors(target: EventTarget, onError: (error: unknown) => void): void {
  target.addEventListener(EVENT_ERROR, (evt: Event) => onError((evt as CustomEvent<unknown>).detail));
}

/**
 * While stopping, the library would `streamShutdown(Write)` a new peer unidirectional stream (which
 * throws). Shut new peer streams down here instead, each direction on its own and never throwing.
 */
function rejectUnknownPeerStreams(inner: ConnectionInternals): void {
  const ids = new Set<number>();
  for (const id of inner.conn.readable()) ids.add(id);
  for (const id of inner.conn.writable()) ids.add(id);
  for (const id of ids) {
    if (inner.streamMap.has(id)) continue;
    const uni = (id & 0b10) !== 0;
    tryShutdown(inner, id, native.Shutdown.Read);
    if (!uni) tryShutdown(inner, id, native.Shutdown.Write);
  }
}

function tryShutdown(inner: ConnectionInternals, id: number, direction: native.Shutdown): void {
  try {
    inner.conn.streamShutdown(id, direction, 0);
  } catch {
    // the stream is already gone or has no such direction
  }
}

/**
 * Hooks a socket: `onConnection` sees every connection when the library registers it in the
 * socket's connection map (before `start()`), and the socket's UDP message handler can no longer
 * produce unhandled rejections. `gate` (the listener's admission) sees every datagram first and
 * may drop it (`false`), possibly after asynchronous checks. Call before `socket.start()`.
 */
export function fenceSocket(
  socket: QUICSocket,
  onConnection: (connection: QUICConnection) => void,
  onSocketError: (error: unknown) => void,
  gate?: (data: Buffer, remoteInfo: { address: string; port: number }) => boolean | Promise<boolean>,
): void {
  const inner = socket as unknown as SocketInternals;
  const map = inner.connectionMap;
  const seen = new WeakSet<QUICConnection>();
  const originalSet = map.set.bind(map);
  map.set = (connectionId: Parameters<typeof originalSet>[0], connection: QUICConnection) => {
    if (!seen.has(connection)) {
      seen.add(connection);
      onConnection(connection);
    }
    return originalSet(connectionId, connection);
  };
  const originalHandler = inner.handleSocketMessage;
  const deliver = (data: Buffer, remoteInfo: { address: string; port: number }): void => {
    try {
      const result = originalHandler(data, remoteInfo);
      if (result !== undefined) result.catch(onSocketError);
    } catch (error) {
      onSocketError(error);
    }
  };
  inner.handleSocketMessage = (data, remoteInfo) => {
    let verdict: boolean | Promise<boolean> = true;
    try {
      if (gate !== undefined) verdict = gate(data, remoteInfo);
    } catch (error) {
      onSocketError(error);
    }
    if (verdict === true) deliver(data, remoteInfo);
    else if (verdict !== false) {
      verdict.then(
        (pass) => {
          if (pass) deliver(data, remoteInfo);
        },
        onSocketError,
      );
    }
    return undefined;
  };
}

/** Whether the socket knows a connection by this id (hex). */
export function hasConnection(socket: QUICSocket, connectionId: string): boolean {
  return (socket as unknown as SocketInternals).connectionMap.get(connectionId as never) !== undefined;
}

/** Sends one datagram on the library socket (the batched-I/O patch's direct path). */
export function sendDatagram(
  socket: QUICSocket,
  msg: Uint8Array,
  port: number,
  address: string,
  callback: (error: Error | null) => void,
): void {
  (socket as unknown as SocketInternals).sendDatagram(msg, port, address, callback);
}

/**
 * Resolves once the socket's send queue is empty (datagrams the kernel did not take at once wait
 * there), or after `maxMs`: closing the socket would drop them.
 */
export async function sendQueueDrained(socket: QUICSocket, maxMs = 200): Promise<void> {
  const udp = (socket as unknown as SocketInternals).socket;
  const deadline = performance.now() + maxMs;
  for (;;) {
    let queued = 0;
    try {
      queued = udp.getSendQueueCount();
    } catch {
      return; // not running
    }
    if (queued === 0 || performance.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Sets the UDP socket's receive and send buffer sizes (the kernel caps them at
 * `net.core.rmem_max` / `wmem_max`). Call after `socket.start()`.
 */
export function setSocketBuffers(socket: QUICSocket, size: number, onError: (error: unknown) => void): void {
  const udp = (socket as unknown as SocketInternals).socket;
  for (const set of [(n: number) => udp.setRecvBufferSize(n), (n: number) => udp.setSendBufferSize(n)]) {
    try {
      set(size);
    } catch (error) {
      onError(error);
    }
  }
}

/**
 * Ends a connection in its handshake: quiche closes it with the transport error `code` and the
 * library is told as after a local failure, so its `start()` fails and the adapter reports `cause`.
 * Must run after the library's `start()` has installed its handlers.
 */
export function abortHandshake(connection: QUICConnection, cause: Error, code: number): void {
  const inner = internals(connection);
  try {
    if (inner.conn.isClosed()) return;
    if (!inner.conn.isDraining()) inner.conn.close(false, code, new Uint8Array());
    const localError = inner.conn.localError() ?? { isApp: false, errorCode: code, reason: new Uint8Array() };
    connection.dispatchEvent(
      new quicEvents.EventQUICConnectionError({
        detail: new quicErrors.ErrorQUICConnectionLocal(cause.message, { data: localError, cause }),
      }),
    );
  } catch {
    // already gone
  }
}

/** The socket's connection map (internal to the library). */
export function connectionMapOf(socket: QUICSocket): QUICConnectionMap {
  return (socket as unknown as SocketInternals).connectionMap;
}

/** The negotiated ALPN of a started connection (`undefined` if none). */
export function negotiatedAlpn(connection: QUICConnection): string | undefined {
  const proto = internals(connection).conn.applicationProto();
  return proto.byteLength === 0 ? undefined : Buffer.from(proto).toString('utf8');
}

/** How many more streams of `kind` the peer currently lets us open (quiche's own count). */
export function peerStreamsLeft(connection: QUICConnection, kind: 'bidi' | 'uni'): number {
  const conn = internals(connection).conn;
  return kind === 'bidi' ? conn.peerStreamsLeftBidi() : conn.peerStreamsLeftUni();
}

/**
 * Aborts the server's connections that are still in their handshake, without touching the
 * established ones (`QUICServer.stop()` would stop those too).
 */
export function abortStartingConnections(server: QUICServer, reason: unknown): void {
  (server as unknown as { stopAbortController?: AbortController }).stopAbortController?.abort(reason);
}

interface DrainInternals {
  connTimeoutTimer?: { cancel(reason?: unknown): void };
  resolveClosedP(): void;
}

/**
 * Ends a connection whose handshake failed without waiting out its draining period. The library
 * waits 3 × PTO before `start()` rejects, and before the first RTT sample a PTO is about a
 * second: a refused dial would take ~3 s to fail and keep a timer alive that long. RFC 9000
 * §10.2 lets an endpoint discard its state early; we do so once the close packet has been sent.
 */
export function abandonFailedHandshake(connection: QUICConnection): void {
  const inner = connection as unknown as DrainInternals;
  inner.connTimeoutTimer?.cancel();
  delete inner.connTimeoutTimer;
  inner.resolveClosedP();
}
