import { raceSignal, throwIfAborted } from '../abort.js';
import type { Address, Connection } from '../connection.js';
import { TransportError } from '../errors.js';
import type { DialInit, ListenInit, Transport } from '../transport.js';
import { MemoryConnection, type EndpointConfig, type MemoryFaults } from './memory-connection.js';
import { MemoryListener } from './memory-listener.js';

/** Options of `memory()`: defaults for every listener and connection of this transport. */
export interface MemoryTransportInit {
  /** Default idle timeout (ms) of endpoints that set none. Default 30 000. */
  readonly idleTimeout?: number;
  /** Default stream limits of endpoints that set none. Default 100 bidi, 100 uni. */
  readonly maxStreams?: { readonly bidi?: number; readonly uni?: number };
  /**
   * Per-stream flow-control window (bytes): how much a sender may have written that the receiver has
   * not read yet; further writes wait. Default 131 072 (Hytale's `initialMaxStreamData*`).
   */
  readonly streamWindow?: number;
  /** highWaterMark (bytes) of each stream's `writable` queue. Default 65 536. */
  readonly writeHighWaterMark?: number;
}

/** Options a memory endpoint (listener or dialer) adds to the common ones. */
export interface MemoryEndpointInit {
  /** Latency (ms) added to everything this side sends (set up, data, close). Default 0. */
  readonly latency?: number;
  /** A (fake) certificate chain this side presents, DER, leaf first. Default: none. */
  readonly certificates?: readonly Uint8Array[];
}

/** `memory().listen` options. */
export interface MemoryListenInit extends ListenInit, MemoryEndpointInit {
  /** Reject dialers that present no certificate (like Hytale's `ClientAuth.REQUIRE`): `ERR_TRANSPORT_TLS` on both sides. */
  readonly requireCertificate?: boolean;
  /** The listener never answers: dials hang until their idle timeout (`ERR_TRANSPORT_IDLE_TIMEOUT`). */
  readonly unresponsive?: boolean;
}

/** `memory().dial` options. */
export interface MemoryDialInit extends DialInit, MemoryEndpointInit {}

/** The in-memory transport. Every `memory()` call is its own network of named addresses. */
export interface MemoryTransport extends Transport<MemoryListenInit, MemoryDialInit> {
  readonly name: 'memory';
}

const DEFAULT_IDLE_TIMEOUT = 30_000;

/** Fault injection on a connection of the memory transport; throws for any other transport. */
export function faultsOf(connection: Connection): MemoryFaults {
  if (connection instanceof MemoryConnection) return connection.faults;
  throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'fault injection works only on memory connections');
}

function key(address: Address): string {
  return `${address.host}:${address.port}`;
}

function checkAddress(address: Address | undefined): Address {
  if (
    address === undefined ||
    typeof address.host !== 'string' ||
    !Number.isInteger(address.port) ||
    address.port < 0 ||
    address.port > 65_535
  ) {
    throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'an address is { host: string, port: integer 0–65535 }');
  }
  return address;
}

function checkMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', `${name} must be a finite number of ms ≥ 0`);
  }
}

/** Sleeps `ms` (no timer when 0); rejects with `ERR_TRANSPORT_ABORTED` on abort, clearing the timer. */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) {
    await Promise.resolve();
    throwIfAborted(signal);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return raceSignal(slept, signal, () => clearTimeout(timer));
}

/**
 * ALPN as QUIC does it: the listener picks its most preferred protocol that the dialer offers. When
 * neither side configures ALPN there is none; when only one does, or they share none, it is a mismatch.
 */
function negotiateAlpn(listener: readonly string[] | undefined, dialer: readonly string[] | undefined): string | undefined | null {
  if ((listener === undefined || listener.length === 0) && (dialer === undefined || dialer.length === 0)) return undefined;
  for (const protocol of listener ?? []) if (dialer?.includes(protocol) === true) return protocol;
  return null;
}

/**
 * The in-memory transport, for tests of higher layers: real web streams with flow control and
 * backpressure, QUIC-like stream numbering, limits, ALPN and certificates, plus fault injection
 * (latency, stalled streams, dropped connections, vanished peers; see `faultsOf`).
 *
 * @example
 * ```ts
 * const transport = memory({ idleTimeout: 500 });
 * const listener = await transport.listen({ address: { host: 'backend-a', port: 5520 } });
 * const client = await transport.dial({ address: listener.address, latency: 20 });
 * faultsOf(client).blackhole(); // both sides fail with ERR_TRANSPORT_IDLE_TIMEOUT after 500 ms
 * ```
 */
export function memory(init: MemoryTransportInit = {}): MemoryTransport {
  checkMs('idleTimeout', init.idleTimeout);
  const listeners = new Map<string, MemoryListener>();
  let nextPort = 49_152;
  let nextDialerPort = 1;
  const window = init.streamWindow ?? 131_072;
  const writeHighWaterMark = init.writeHighWaterMark ?? 65_536;

  function limits(own: ListenInit['maxStreams']): { bidi: number; uni: number } {
    return {
      bidi: own?.bidi ?? init.maxStreams?.bidi ?? 100,
      uni: own?.uni ?? init.maxStreams?.uni ?? 100,
    };
  }

  return {
    name: 'memory',

    async listen(listenInit) {
      throwIfAborted(listenInit.signal);
      const asked = checkAddress(listenInit.address);
      checkMs('idleTimeout', listenInit.idleTimeout);
      checkMs('latency', listenInit.latency);
      let port = asked.port;
      if (port === 0) {
        while (listeners.has(key({ host: asked.host, port: nextPort }))) nextPort++;
        port = nextPort++;
      }
      const address: Address = { host: asked.host, port };
      if (listeners.has(key(address))) {
        throw new TransportError('ERR_TRANSPORT_LISTEN_FAILED', `memory address ${key(address)} is already in use`);
      }
      const listener = new MemoryListener(address, listenInit, () => listeners.delete(key(address)));
      listeners.set(key(address), listener);
      return listener;
    },

    async dial(dialInit) {
      const signal = dialInit.signal;
      throwIfAborted(signal);
      const target = checkAddress(dialInit.address);
      checkMs('idleTimeout', dialInit.idleTimeout);
      checkMs('latency', dialInit.latency);
      const dialerIdle = dialInit.idleTimeout ?? init.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
      const localAddress: Address = { host: 'memory-dialer', port: nextDialerPort++ };
      const dialLatency = dialInit.latency ?? 0;

      const listener = listeners.get(key(target));
      if (listener === undefined) {
        await sleep(dialLatency, signal);
        throw new TransportError('ERR_TRANSPORT_CONNECT_REFUSED', `nothing listens at memory address ${key(target)}`);
      }
      const listenInit = listener.init;
      if (listenInit.unresponsive === true) {
        await sleep(dialerIdle, signal);
        throw new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', `no answer from ${key(target)} within ${dialerIdle} ms (idle timeout)`);
      }
      const listenLatency = listenInit.latency ?? 0;

      // first flight: the dialer's hello reaches the listener
      await sleep(dialLatency, signal);
      if (listener.isClosed) throw new TransportError('ERR_TRANSPORT_CONNECT_REFUSED', `nothing listens at memory address ${key(target)}`);

      const alpn = negotiateAlpn(listenInit.alpn, dialInit.alpn);
      let failure: TransportError | undefined;
      if (alpn === null) {
        failure = new TransportError(
          'ERR_TRANSPORT_ALPN_MISMATCH',
          `no common ALPN protocol (listener: ${(listenInit.alpn ?? []).join(', ') || 'none'}; dialer: ${(dialInit.alpn ?? []).join(', ') || 'none'})`,
        );
      } else if (listenInit.requireCertificate === true && (dialInit.certificates?.length ?? 0) === 0) {
        failure = new TransportError('ERR_TRANSPORT_TLS', 'the listener requires a client certificate and the dialer presented none');
      }
      if (failure !== undefined) {
        listener.handshakeFailed(failure, localAddress);
        await sleep(listenLatency, signal);
        throw failure;
      }

      const common = { window, writeHighWaterMark } as const;
      const idleTimeout = dialerIdle;
      const client = new MemoryConnection({
        ...common,
        direction: 'outbound',
        localAddress,
        remoteAddress: listener.address,
        alpn: alpn ?? undefined,
        peerCertificates: listenInit.certificates ?? [],
        limits: limits(dialInit.maxStreams),
        latency: dialLatency,
        idleTimeout,
        logger: dialInit.logger,
      } satisfies EndpointConfig);
      const server = new MemoryConnection({
        ...common,
        direction: 'inbound',
        localAddress: listener.address,
        remoteAddress: localAddress,
        alpn: alpn ?? undefined,
        peerCertificates: dialInit.certificates ?? [],
        limits: limits(listenInit.maxStreams),
        latency: listenLatency,
        idleTimeout: listenInit.idleTimeout ?? init.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
        logger: listenInit.logger,
      } satisfies EndpointConfig);
      client.peer = server;
      server.peer = client;
      listener.deliver(server);

      // second flight: the listener's answer reaches the dialer
      try {
        await sleep(listenLatency, signal);
      } catch (error) {
        client.faults.drop(); // the listener side sees the connection lost
        throw error;
      }
      return client;
    },
  };
}
