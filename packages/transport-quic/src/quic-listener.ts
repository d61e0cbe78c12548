/**
 * The QUIC listener: a `QUICServer` on a socket we own and fence.
 */
import {
  CloseCode,
  TransportError,
  isTransportError,
  raceSignal,
  throwIfAborted,
  toTransportError,
  type AbortOptions,
  type Address,
  type Connection,
  type Listener,
} from '@handoff/transport';
import { QUICServer, QUICSocket, type QUICConfig, type QUICConnection, type QUICServerCrypto } from '@matrixai/quic';
import { serverCrypto } from './crypto-ops.js';
import { validateToken } from '@matrixai/quic/utils.js';
import { initialHeader, offeredAlpn, preferredAlpn } from './client-hello.js';
import { AdmissionControl, type Admission, type RateLimit, type RefusalReason } from './admission.js';
import { abortHandshake, abortStartingConnections, catchEventErrors, fenceSocket, hasConnection, setSocketBuffers } from './fences.js';
import { codeToReason, reasonToCode } from './library-errors.js';
import { libraryLogger } from './library-logger.js';
import {
  DEFAULT_BACKLOG,
  checkAddress,
  checkCertificate,
  commonConfig,
  connectionBudgets,
  listenerLimits,
  pemList,
  socketBufferSize,
  type ConnectionBudgets,
  type QuicListenInit,
} from './options.js';
import { QuicConnectionAdapter } from './quic-connection.js';

/** QUIC transport error CONNECTION_REFUSED (RFC 9000 §20.1). */
const CONNECTION_REFUSED = 0x2;

function listenerConfig(init: QuicListenInit): Partial<QUICConfig> & { key: string; cert: string } {
  checkAddress(init.address);
  if (init.certificate === undefined) {
    throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'a QUIC listener needs `certificate` (its certificate chain and key)');
  }
  checkCertificate(init.certificate, 'certificate');
  const config = { ...commonConfig(init), key: init.certificate.keyPem, cert: init.certificate.certPem, verifyPeer: true };
  const policy = init.clientCertificate;
  if (policy === 'required-any') {
    // Fault 3: a server-side verifyCallback lets early client streams be dispatched before the
    // connection is handed out. Harmless here: fences.ts catches every stream from the moment the
    // connection exists. With a callback BoringSSL still requires a certificate and checks the
    // client's proof of key possession; the callback only skips chain validation.
    return { ...config, verifyCallback: async (certs: Uint8Array[]) => (certs.length === 0 ? 0x100 + 116 : undefined) };
  }
  if (typeof policy === 'object' && policy !== null && policy.policy === 'required-and-verified') {
    const ca = pemList(policy.ca);
    if (ca.length === 0 || ca.some((pem) => !pem.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'clientCertificate.ca must hold PEM CA certificates');
    }
    // verified natively by BoringSSL against `ca`: no verifyCallback (fault 3)
    return { ...config, ca };
  }
  throw new TransportError(
    'ERR_TRANSPORT_INVALID_ARGUMENT',
    "clientCertificate must be 'required-any' or { policy: 'required-and-verified', ca }",
  );
}

/** What the listener has refused or closed to protect itself, since it started. */
export interface QuicListenerStats {
  /** Connections counted now: in their handshake, established, or refused and closing. */
  readonly connections: number;
  /** Peers refused and told so (handshake completed, then closed with code 1, `RATE_LIMITED`), by limit. */
  readonly refused: Readonly<Record<RefusalReason | 'backlog', number>>;
  /** Refused peers turned away with a bare CONNECTION_REFUSED, refusals coming faster than `limits.refusalRate`. */
  readonly turnedAway: number;
  /** Handshakes abandoned after `limits.handshakeTimeout`. */
  readonly handshakeTimeouts: number;
  /** Connections closed with code 4 (`TIMEOUT`): the peer did not take what was sent (`maxBufferedBytes`, `sendStallTimeout`). */
  readonly slowPeers: number;
  /** Connections closed with code 1 (`RATE_LIMITED`) for opening streams faster than they were accepted (`maxPendingStreams`). */
  readonly streamFloods: number;
  /** Handshakes abandoned for sending more than `limits.maxHandshakeBytes` before completing. */
  readonly handshakeFloods: number;
  /** Connections closed with code 1 (`RATE_LIMITED`) for sending datagrams faster than `limits.datagramRate`. */
  readonly datagramFloods: number;
}

/** A QUIC listener: the contract's `Listener`, with what its limits did. */
export interface QuicListener extends Listener {
  /** A snapshot of the counters. */
  readonly stats: QuicListenerStats;
}

/** Opens a QUIC listener. */
export async function listenQuic(init: QuicListenInit): Promise<QuicListener> {
  throwIfAborted(init.signal);
  const config = listenerConfig(init);
  const budgets = connectionBudgets(init);
  const limits = listenerLimits(init.limits);
  const bufferSize = socketBufferSize(init);
  const logger = init.logger;
  const matrixLogger = libraryLogger('QUICServer', logger);
  const socket = new QUICSocket({ logger: matrixLogger.getChild('QUICSocket') });
  const crypto = serverCrypto();
  const listener = new QuicListenerImpl(init, socket, config.applicationProtos ?? [], budgets, limits, crypto);
  fenceSocket(
    socket,
    (connection) => listener.register(connection),
    (error) => logger?.warn?.({ err: error }, 'QUIC datagram handling failed'),
    (datagram, remote) => listener.gate(datagram, remote),
  );
  catchEventErrors(socket, (error) => logger?.warn?.({ err: error }, 'QUIC socket failure'));
  try {
    await raceSignal(socket.start({ host: init.address.host, port: init.address.port }), init.signal);
  } catch (error) {
    await socket.stop({ force: true }).catch(() => {});
    if (isTransportError(error)) throw error;
    throw toTransportError(error instanceof Error && error.cause !== undefined ? error.cause : error, 'ERR_TRANSPORT_LISTEN_FAILED');
  }
  setSocketBuffers(socket, bufferSize, (error) => logger?.debug?.({ err: error }, 'QUIC socket buffer size not applied'));
  const server = new QUICServer({
    crypto,
    config,
    socket,
    reasonToCode,
    codeToReason,
    logger: matrixLogger,
  });
  catchEventErrors(server, (error) => logger?.warn?.({ err: error }, 'QUIC server failure'));
  await server.start();
  listener.started(server);
  return listener;
}

const REFUSAL_REASONS: Record<RefusalReason, string> = {
  connections: 'Server full',
  'connections-per-address': 'Too many connections from your address',
  'handshake-rate': 'Too many connection attempts',
  'handshake-rate-per-address': 'Too many connection attempts from your address',
};

class QuicListenerImpl implements QuicListener {
  readonly #init: QuicListenInit;
  readonly #budgets: ConnectionBudgets;
  readonly #handshakeTimeout: number;
  readonly #inbound: { readonly maxHandshakeBytes: number; readonly datagramRate: RateLimit };
  readonly #admission: AdmissionControl;
  readonly #crypto: QUICServerCrypto;
  /** Admissions decided at the gate, by connection id, until the library registers the connection. */
  readonly #pending = new Map<string, { readonly admission: Admission; readonly at: number }>();
  #pendingSweep: NodeJS.Timeout | undefined;
  /** Connections refused with a reason to tell once their handshake completes. */
  readonly #refused = new WeakMap<QuicConnectionAdapter, RefusalReason>();
  readonly #counts = {
    refused: { connections: 0, 'connections-per-address': 0, 'handshake-rate': 0, 'handshake-rate-per-address': 0, backlog: 0 },
    turnedAway: 0,
    handshakeTimeouts: 0,
    slowPeers: 0,
    streamFloods: 0,
    handshakeFloods: 0,
    datagramFloods: 0,
  };
  readonly #socket: QUICSocket;
  #server: QUICServer | undefined;
  #address: Address = { host: '', port: 0 };
  #closed = false;
  #released: Promise<void> | undefined;
  /** Every connection of this listener that has not stopped yet. */
  readonly #live = new Set<QuicConnectionAdapter>();
  readonly #ready: QuicConnectionAdapter[] = [];
  readonly #waiters: { resolve: (connection: Connection) => void; reject: (error: unknown) => void }[] = [];
  readonly #alpn: readonly string[];
  #alpnOverridden = false;

  constructor(
    init: QuicListenInit,
    socket: QUICSocket,
    alpn: readonly string[],
    budgets: ConnectionBudgets,
    limits: ReturnType<typeof listenerLimits>,
    crypto: QUICServerCrypto,
  ) {
    this.#crypto = crypto;
    this.#init = init;
    this.#socket = socket;
    this.#alpn = alpn;
    this.#budgets = budgets;
    this.#handshakeTimeout = limits.handshakeTimeout;
    this.#inbound = { maxHandshakeBytes: limits.maxHandshakeBytes, datagramRate: limits.datagramRate };
    this.#admission = new AdmissionControl(limits);
  }

  get stats(): QuicListenerStats {
    const c = this.#counts;
    return {
      connections: this.#admission.connections,
      refused: { ...c.refused },
      turnedAway: c.turnedAway,
      handshakeTimeouts: c.handshakeTimeouts,
      slowPeers: c.slowPeers,
      streamFloods: c.streamFloods,
      handshakeFloods: c.handshakeFloods,
      datagramFloods: c.datagramFloods,
    };
  }

  /**
   * The socket fence's gate, first to see every datagram. Admission happens here, for the datagram
   * that would make the library create a connection: a client Initial with a Retry token (the
   * library answers tokenless ones with a stateless Retry, which proves the source address). The
   * token is checked first (the library's own check, with the listener's key), so that spoofed
   * packets cannot use up another address's limits. A peer refused without being told (refusals
   * coming faster than `limits.refusalRate`) is dropped here, before any handshake work.
   */
  gate(datagram: Buffer, remote: { address: string; port: number }): boolean | Promise<boolean> {
    if ((datagram[0]! & 0xb0) !== 0x80) {
      // not a long-header Initial
      this.#restoreAlpn();
      return true;
    }
    const header = initialHeader(datagram);
    if (header === undefined || this.#server === undefined) return true;
    const id = header.dcid.toString('hex');
    if (header.token.byteLength === 0 || hasConnection(this.#socket, id) || this.#pending.has(id)) {
      this.#preferAlpn(datagram);
      return true;
    }
    return validateToken(header.token, remote.address as never, this.#crypto).then(
      (original) => {
        if (original === undefined) return true; // the library drops it too
        if (!hasConnection(this.#socket, id) && !this.#pending.has(id) && !this.#closed) {
          const admission = this.#admission.admit(remote.address);
          if (!admission.admitted && !admission.tell) {
            this.#admission.release(admission.key);
            this.#counts.turnedAway++;
            return false;
          }
          this.#pending.set(id, { admission, at: performance.now() });
          this.#pendingSweep ??= setTimeout(() => this.#sweepPending(), 2_000);
        }
        this.#preferAlpn(datagram);
        return true;
      },
      () => true,
    );
  }

  /** Admissions whose connection the library never created (it refused the packet after all). */
  #sweepPending(): void {
    this.#pendingSweep = undefined;
    const cutoff = performance.now() - 1_000;
    for (const [id, entry] of this.#pending) {
      if (entry.at > cutoff) continue;
      this.#pending.delete(id);
      this.#admission.release(entry.admission.key);
    }
    if (this.#pending.size > 0) this.#pendingSweep = setTimeout(() => this.#sweepPending(), 1_000);
  }

  /**
   * Listener ALPN preference. quiche would pick the first protocol of the *client's* list that we
   * support; we read the client's offer from its Initial and, when our preference differs, give
   * the connection about to be created only our preferred protocol. The library creates the
   * connection within this datagram's microtasks (our crypto ops never wait on I/O), before any
   * other datagram is handled, so the override is restored by the next datagram or by `register`.
   */
  #preferAlpn(datagram: Buffer): void {
    this.#restoreAlpn();
    if (this.#server === undefined || this.#alpn.length < 2) return;
    const offered = offeredAlpn(datagram);
    if (offered === undefined) return;
    const preferred = preferredAlpn(this.#alpn, offered);
    const quicheChoice = offered.find((protocol) => this.#alpn.includes(protocol));
    if (preferred === undefined || preferred === quicheChoice) return;
    this.#server.updateConfig({ applicationProtos: [preferred] });
    this.#alpnOverridden = true;
  }

  #restoreAlpn(): void {
    if (!this.#alpnOverridden) return;
    this.#alpnOverridden = false;
    this.#server?.updateConfig({ applicationProtos: [...this.#alpn] });
  }

  get address(): Address {
    return this.#address;
  }

  started(server: QUICServer): void {
    this.#server = server;
    const host = this.#socket.host;
    this.#address = {
      host: host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host,
      port: this.#socket.port,
    };
  }

  /**
   * Called by the socket fence for every connection the library creates, before its handshake
   * (the library has validated the peer's address with a Retry by then). Admission happens here.
   */
  register(library: QUICConnection): void {
    if (library.type !== 'server') return;
    this.#restoreAlpn();
    const id = library.connectionId.toString();
    const admission = this.#pending.get(id)?.admission ?? this.#admission.admit(library.remoteHost);
    this.#pending.delete(id);
    const connection = new QuicConnectionAdapter(library, {
      direction: 'inbound',
      coalesceWrites: this.#init.coalesceWrites ?? true,
      budgets: this.#budgets,
      logger: this.#init.logger,
      inbound: this.#inbound,
      onLimit: (kind) => {
        if (kind === 'slow-peer') this.#counts.slowPeers++;
        else if (kind === 'stream-flood') this.#counts.streamFloods++;
        else if (kind === 'handshake-flood') this.#counts.handshakeFloods++;
        else this.#counts.datagramFloods++;
      },
    });
    if (!admission.admitted) {
      // told why (`tell`: turned-away peers never get here), once the handshake completes
      this.#counts.refused[admission.reason]++;
      this.#refused.set(connection, admission.reason);
      this.#init.logger?.debug?.({ remote: library.remoteHost, reason: admission.reason }, 'QUIC connection refused');
    }
    const deadline = setTimeout(() => {
      if (connection.isOpen || connection.isClosing) return;
      this.#counts.handshakeTimeouts++;
      abortHandshake(library, new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', `the handshake took longer than ${this.#handshakeTimeout} ms`), CONNECTION_REFUSED);
    }, this.#handshakeTimeout);
    this.#live.add(connection);
    void connection.established.then(
      () => clearTimeout(deadline),
      () => clearTimeout(deadline),
    );
    void connection.closed.then(() => {
      clearTimeout(deadline);
      this.#admission.release(admission.key);
      this.#live.delete(connection);
      const index = this.#ready.indexOf(connection);
      if (index >= 0) this.#ready.splice(index, 1);
      if (this.#closed && this.#live.size === 0) void this.#release();
    });
    connection.established.then(
      () => this.#onEstablished(connection),
      (error: unknown) => {
        this.#live.delete(connection);
        void connection.finishFailedHandshake();
        if (this.#closed) return; // aborted by our own close()
        const remote = { host: library.remoteHost, port: library.remotePort };
        this.#init.onHandshakeError?.(toTransportError(error, 'ERR_TRANSPORT_TLS'), {
          host: remote.host.startsWith('::ffff:') && remote.host.includes('.') ? remote.host.slice(7) : remote.host,
          port: remote.port,
        });
      },
    );
  }

  #onEstablished(connection: QuicConnectionAdapter): void {
    if (!connection.isOpen) return;
    const refusal = this.#refused.get(connection);
    if (refusal !== undefined) {
      void connection.close({ code: CloseCode.RATE_LIMITED, reason: REFUSAL_REASONS[refusal] });
      return;
    }
    if (this.#closed) {
      void connection.close({ code: 0, reason: 'listener closed' });
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(connection);
      return;
    }
    if (this.#ready.length >= (this.#init.backlog ?? DEFAULT_BACKLOG)) {
      this.#init.logger?.warn?.({ connection: connection.id }, 'QUIC accept backlog full; closing the new connection');
      this.#counts.refused.backlog++;
      void connection.close({ code: CloseCode.RATE_LIMITED, reason: 'Server busy' });
      return;
    }
    this.#ready.push(connection);
  }

  accept(options: AbortOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal);
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed'));
    let waiter!: { resolve: (connection: Connection) => void; reject: (error: unknown) => void };
    const promise = new Promise<Connection>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    this.#waiters.push(waiter);
    return raceSignal(promise, options.signal, () => {
      const index = this.#waiters.indexOf(waiter);
      if (index >= 0) this.#waiters.splice(index, 1);
    });
  }

  /**
   * Stops accepting: no new connection is answered, handshakes in progress are aborted, and
   * established connections nobody accepted are closed. Accepted connections stay open; they
   * share the listener's UDP socket, which is released when the last of them ends.
   */
  async close(options: AbortOptions = {}): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.unsetServer();
      if (this.#pendingSweep !== undefined) clearTimeout(this.#pendingSweep);
      this.#pendingSweep = undefined;
      for (const entry of this.#pending.values()) this.#admission.release(entry.admission.key);
      this.#pending.clear();
      if (this.#server !== undefined) {
        abortStartingConnections(this.#server, new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed'));
      }
      const error = new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed');
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
      const unaccepted = this.#ready.splice(0);
      await Promise.all(unaccepted.map((connection) => connection.close({ code: 0, reason: 'listener closed' })));
    }
    if (this.#live.size === 0) await raceSignal(this.#release(), options.signal);
  }

  #release(): Promise<void> {
    this.#released ??= (async () => {
      try {
        await this.#server?.stop({ force: true });
      } catch (error) {
        this.#init.logger?.debug?.({ err: error }, 'QUIC server stop failed');
      }
      try {
        await this.#socket.stop({ force: true });
      } catch (error) {
        this.#init.logger?.debug?.({ err: error }, 'QUIC socket stop failed');
      }
    })();
    return this.#released;
  }
}
