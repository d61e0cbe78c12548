import { connect, createServer, type Socket } from 'node:net';
import {
  TransportError,
  raceSignal,
  throwIfAborted,
  toTransportError,
  type DialInit,
  type ListenInit,
  type Transport,
} from '@handoff/transport';
import type { Logger } from '@handoff/types';
import { TcpConnection, type TcpConnectionInit } from './tcp-connection.js';
import { TcpListener } from './tcp-listener.js';

/** Options of `tcp()`: defaults for every listener and connection it makes. */
export interface TcpTransportInit {
  /**
   * Default idle timeout (ms): nothing received for this long while we wait for data →
   * `ERR_TRANSPORT_IDLE_TIMEOUT`; also bounds `dial`. TCP has no keep-alive frames of its own (the
   * Hytale byte stream cannot carry any), so a live but silent peer times out too; Hytale's pings keep
   * a real session busy. 0 disables it. Default 30 000.
   */
  readonly idleTimeout?: number;
  /** How long `close()` waits for the written data to flush and for the peer's FIN before destroying the socket. Default 2 000. */
  readonly lingerTimeout?: number;
  /**
   * Coalesce the writes of one event-loop turn into one `writev` syscall (cork, uncork on
   * `setImmediate`). Adds no timer delay; pays off with many small frames. Default `true`.
   */
  readonly coalesceWrites?: boolean;
  /** Bytes received and not yet read at which the socket is paused (backpressure). Default 131 072. */
  readonly highWaterMark?: number;
  /** highWaterMark (bytes) of each stream's `writable` queue. Default 65 536. */
  readonly writeHighWaterMark?: number;
  readonly logger?: Logger;
}

/** `tcp().listen` options: `alpn` and `maxStreams` do not apply to TCP and are ignored. */
export interface TcpListenInit extends ListenInit, Pick<TcpTransportInit, 'coalesceWrites' | 'lingerTimeout'> {
  /** `net.Server` backlog. */
  readonly backlog?: number;
}

/** `tcp().dial` options: `alpn` and `maxStreams` do not apply to TCP and are ignored. */
export interface TcpDialInit extends DialInit, Pick<TcpTransportInit, 'coalesceWrites' | 'lingerTimeout'> {}

/** The TCP transport. */
export interface TcpTransport extends Transport<TcpListenInit, TcpDialInit> {
  readonly name: 'tcp';
}

function checkMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', `${name} must be a finite number of ms ≥ 0`);
  }
}

function checkPort(port: unknown): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'the port must be an integer 0–65535');
  }
}

/**
 * TCP for Hytale backends started with `--transport TCP` (plaintext, private networks): each socket
 * is a connection with exactly one bidi stream that carries every channel; no uni streams, no TLS,
 * no ALPN, no close codes on the wire (see docs/transports.md).
 *
 * @example
 * ```ts
 * const transport = tcp({ idleTimeout: 30_000 });
 * const backend = await transport.dial({ address: { host: '10.0.0.5', port: 5520 } });
 * const stream = await backend.openStream(); // the one stream
 * ```
 */
export function tcp(init: TcpTransportInit = {}): TcpTransport {
  checkMs('idleTimeout', init.idleTimeout);
  checkMs('lingerTimeout', init.lingerTimeout);
  const defaults = {
    idleTimeout: init.idleTimeout ?? 30_000,
    lingerTimeout: init.lingerTimeout ?? 2_000,
    coalesceWrites: init.coalesceWrites ?? true,
    highWaterMark: init.highWaterMark ?? 131_072,
    writeHighWaterMark: init.writeHighWaterMark ?? 65_536,
  };

  function connectionInit(
    socket: Socket,
    direction: 'inbound' | 'outbound',
    options: TcpListenInit | TcpDialInit,
  ): TcpConnectionInit {
    return {
      socket,
      direction,
      idleTimeout: options.idleTimeout ?? defaults.idleTimeout,
      lingerTimeout: options.lingerTimeout ?? defaults.lingerTimeout,
      coalesceWrites: options.coalesceWrites ?? defaults.coalesceWrites,
      highWaterMark: defaults.highWaterMark,
      writeHighWaterMark: defaults.writeHighWaterMark,
      logger: options.logger ?? init.logger,
    };
  }

  return {
    name: 'tcp',

    async listen(listenInit) {
      throwIfAborted(listenInit.signal);
      checkMs('idleTimeout', listenInit.idleTimeout);
      checkPort(listenInit.address?.port);
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      let listener: TcpListener | undefined;
      const pending: Socket[] = [];
      server.on('connection', (socket) => {
        if (listener === undefined) {
          pending.push(socket);
          return;
        }
        listener.deliver(new TcpConnection(connectionInit(socket, 'inbound', listenInit)));
      });
      const listening = new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: listenInit.address.host, port: listenInit.address.port, backlog: listenInit.backlog }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      try {
        await raceSignal(listening, listenInit.signal, () => server.close());
      } catch (error) {
        server.close();
        throw toTransportError(error, 'ERR_TRANSPORT_LISTEN_FAILED');
      }
      server.on('error', (error) => {
        (listenInit.logger ?? init.logger)?.warn?.({ error: toTransportError(error).code }, 'tcp listener error');
      });
      const bound = server.address();
      if (bound === null || typeof bound === 'string') {
        server.close();
        throw new TransportError('ERR_TRANSPORT_LISTEN_FAILED', 'the TCP server has no address');
      }
      listener = new TcpListener(server, { host: bound.address, port: bound.port });
      for (const socket of pending.splice(0)) listener.deliver(new TcpConnection(connectionInit(socket, 'inbound', listenInit)));
      return listener;
    },

    async dial(dialInit) {
      throwIfAborted(dialInit.signal);
      checkMs('idleTimeout', dialInit.idleTimeout);
      checkPort(dialInit.address?.port);
      const socket = connect({ host: dialInit.address.host, port: dialInit.address.port, allowHalfOpen: true, noDelay: true });
      socket.pause();
      const timeout = dialInit.idleTimeout ?? defaults.idleTimeout;
      let timer: NodeJS.Timeout | undefined;
      const connected = new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
        if (timeout > 0) {
          timer = setTimeout(
            () => reject(new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', `no answer from ${dialInit.address.host}:${dialInit.address.port} within ${timeout} ms`)),
            timeout,
          );
        }
      });
      try {
        await raceSignal(connected, dialInit.signal);
      } catch (error) {
        socket.destroy();
        throw toTransportError(error, 'ERR_TRANSPORT_CONNECT_FAILED');
      } finally {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('connect');
      }
      return new TcpConnection(connectionInit(socket, 'outbound', dialInit));
    },
  };
}
