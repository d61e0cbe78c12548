/**
 * Options of the QUIC listener and dialer, and their translation into `@matrixai/quic` config.
 */
import { TransportError, type DialInit, type ListenInit } from '@handoff/transport';
import type { QUICConfig } from '@matrixai/quic';
import type { AdmissionLimits, RateLimit } from './admission.js';

export type { RateLimit } from './admission.js';

/** A certificate chain and its private key, PEM (what `createDevCa().issue()` returns fits). */
export interface CertificateInit {
  /** Certificate chain, leaf first. */
  readonly certPem: string;
  /** Private key (PKCS#8, SEC1 or PKCS#1 PEM). Never logged. */
  readonly keyPem: string;
}

/**
 * What the listener demands of a client's certificate. Both policies require one: a client
 * without a certificate fails the handshake (`ERR_TRANSPORT_TLS`).
 *
 * - `'required-any'`: any certificate is accepted (the client still proves it holds the key). This
 *   is what a Hytale client needs: its certificate only binds tokens (`cnf.x5t#S256`).
 * - `{ policy: 'required-and-verified', ca }`: the chain must verify against `ca` (mTLS to backends).
 */
export type ClientCertificatePolicy =
  | 'required-any'
  | { readonly policy: 'required-and-verified'; readonly ca: string | readonly string[] };

/**
 * How the dialer checks the server's certificate.
 *
 * - `{ ca, serverName? }`: the chain must verify against `ca` and name `serverName` (default: the
 *   dialled host, or `'localhost'` when dialling an IP address: quiche checks the name as a DNS
 *   name, never as an IP SAN).
 * - `{ fingerprints }`: the leaf's SHA-256 (base64url, as `certificateFingerprint` prints it) must be
 *   one of these; for servers with a self-signed certificate, such as a stock Hytale server.
 * - `'insecure-any'`: no check at all. Development only.
 */
export type ServerTrust =
  | { readonly ca: string | readonly string[]; readonly serverName?: string }
  | { readonly fingerprints: readonly string[] }
  | 'insecure-any';

/** Tuning shared by listener and dialer. */
export interface QuicTuning {
  /**
   * Interval (ms) of keep-alive PINGs; must be below `idleTimeout`. Default: a third of
   * `idleTimeout`. `0` disables keep-alive (a quiet but live connection then ends after the idle timeout).
   */
  readonly keepAliveInterval?: number;
  /**
   * Coalesce small writes on a stream into one library write per event-loop turn (default `true`).
   * `write()` then resolves once the bytes are copied, not once quiche took them; `close()` and
   * `Connection.close()` flush first. Turn off to hand each chunk to quiche as it is written.
   */
  readonly coalesceWrites?: boolean;
  /** Bytes read ahead from the library per incoming stream before reading pauses (default 256 KiB). */
  readonly inboundHighWaterMark?: number;
  /**
   * Bytes read ahead across all incoming streams of a connection before reading pauses everywhere
   * (default 1 MiB). With the receive windows below, it bounds what a peer can make a connection
   * hold while the application does not read.
   */
  readonly inboundBudget?: number;
  /**
   * The connection's receive window (quiche's `initial_max_data`, and the ceiling of its window
   * auto-tuning), in bytes: how much the peer may send ahead of what was read (default 2 MiB).
   */
  readonly receiveWindow?: number;
  /** The same per stream (default 1 MiB). */
  readonly streamReceiveWindow?: number;
  /**
   * Bytes written on a connection's streams that quiche has not taken yet (the peer does not read
   * or acknowledge them) beyond which the connection is closed with code 4, `TIMEOUT`, reason
   * "Write timeout" (default 8 MiB). An application that awaits `writer.ready` never gets there;
   * `sendStallTimeout` covers it.
   */
  readonly maxBufferedBytes?: number;
  /**
   * How long data may wait with quiche taking none of it before the connection is closed with code
   * 4, `TIMEOUT`, reason "Write timeout" (ms, default 30 000; 0 turns it off): a peer that stops
   * reading while it keeps the connection alive.
   */
  readonly sendStallTimeout?: number;
  /**
   * Incoming streams the application has not accepted yet beyond which the connection is closed
   * with code 1, `RATE_LIMITED` (default 64).
   */
  readonly maxPendingStreams?: number;
  /**
   * The UDP socket's receive and send buffers (`SO_RCVBUF`/`SO_SNDBUF`), bytes (default 4 MiB; the
   * kernel caps them at `net.core.rmem_max` / `wmem_max`). A small receive buffer drops datagrams
   * of a fast sender before Node reads them.
   */
  readonly socketBufferSize?: number;
}

/** The listener's limits on unauthenticated peers (see docs/transports.md § QUIC, The listener under abuse). */
export interface QuicListenerLimits {
  /** Connections at once (in their handshake, established, accepted or not). Default 4096. */
  readonly maxConnections?: number;
  /**
   * Connections at once from one source address (IPv6: one /64). Default 64: players behind one
   * NAT share an address.
   */
  readonly maxConnectionsPerAddress?: number;
  /** New handshakes in total: a token bucket. Default `{ perSecond: 500, burst: 1000 }`. */
  readonly handshakeRate?: RateLimit;
  /** New handshakes from one source address (IPv6: one /64). Default `{ perSecond: 10, burst: 30 }`. */
  readonly handshakeRatePerAddress?: RateLimit;
  /**
   * Refused peers told why (their handshake completes, then they are closed with code 1,
   * `RATE_LIMITED`). Beyond this rate, refused peers get a bare CONNECTION_REFUSED at once, which
   * costs no handshake. Default `{ perSecond: 100, burst: 200 }`.
   */
  readonly refusalRate?: RateLimit;
  /** A handshake not complete after this long (ms) is abandoned (default 10 000). */
  readonly handshakeTimeout?: number;
  /**
   * Bytes a peer may send before its handshake completes (default 64 KiB; a ClientHello and a
   * client certificate chain take a few KiB). Beyond, the handshake is abandoned: this bounds what
   * an unauthenticated peer can make quiche buffer (CVE-2024-1765, docs/transports.md).
   */
  readonly maxHandshakeBytes?: number;
  /**
   * Datagrams one connection may send us, as a token bucket; beyond, it is closed with code 1,
   * `RATE_LIMITED`, reason "Rate limited" (Hytale servers limit packets the same way). Default
   * `{ perSecond: 30_000, burst: 60_000 }`, about 37 MiB/s of full datagrams: raise it for bulk
   * uploads.
   */
  readonly datagramRate?: RateLimit;
}

/** `quic().listen()` options. */
export interface QuicListenInit extends ListenInit, QuicTuning {
  /** The server's certificate chain and key. */
  readonly certificate: CertificateInit;
  /** The client-certificate policy. */
  readonly clientCertificate: ClientCertificatePolicy;
  /** Established connections waiting for `accept()`; beyond it new ones are closed (default 128). */
  readonly backlog?: number;
  /** Limits on what unauthenticated peers can make the listener do; each has a safe default. */
  readonly limits?: QuicListenerLimits;
}

/** `quic().dial()` options. */
export interface QuicDialInit extends DialInit, QuicTuning {
  /** The client certificate to present (required by Hytale servers and by both listener policies). */
  readonly certificate?: CertificateInit;
  /** How to check the server's certificate. */
  readonly serverTrust: ServerTrust;
}

/** Defaults. */
export const DEFAULT_ALPN: readonly string[] = ['hytale/2'];
export const DEFAULT_IDLE_TIMEOUT = 30_000;
export const DEFAULT_INBOUND_HIGH_WATER_MARK = 256 * 1024;
export const DEFAULT_BACKLOG = 128;
export const DEFAULT_INBOUND_BUDGET = 1024 * 1024;
export const DEFAULT_RECEIVE_WINDOW = 2 * 1024 * 1024;
export const DEFAULT_STREAM_RECEIVE_WINDOW = 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SEND_STALL_TIMEOUT = 30_000;
export const DEFAULT_MAX_PENDING_STREAMS = 64;
export const DEFAULT_SOCKET_BUFFER_SIZE = 4 * 1024 * 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** The listener's default limits. */
export const DEFAULT_LIMITS: ResolvedListenerLimits = {
  maxConnections: 4096,
  maxConnectionsPerAddress: 64,
  handshakeRate: { perSecond: 500, burst: 1000 },
  handshakeRatePerAddress: { perSecond: 10, burst: 30 },
  refusalRate: { perSecond: 100, burst: 200 },
  handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT,
  maxHandshakeBytes: 64 * 1024,
  datagramRate: { perSecond: 30_000, burst: 60_000 },
};

/**
 * Listener limits for peers that all arrive from one address: a backend behind a proxy (every player
 * it serves connects from the proxy's address), or simulated players on loopback in tests and
 * benchmarks. The per-address limits equal the totals; every other limit keeps its default. Never
 * use them on a listener that faces the internet.
 */
export const SHARED_ADDRESS_LIMITS: QuicListenerLimits = {
  maxConnectionsPerAddress: DEFAULT_LIMITS.maxConnections,
  handshakeRatePerAddress: DEFAULT_LIMITS.handshakeRate,
};

/** The listener's limits, resolved. */
export interface ResolvedListenerLimits extends AdmissionLimits {
  readonly handshakeTimeout: number;
  readonly maxHandshakeBytes: number;
  readonly datagramRate: RateLimit;
}

/** What every connection of an endpoint is held to (resolved from `QuicTuning`). */
export interface ConnectionBudgets {
  readonly inboundHighWaterMark: number;
  readonly inboundBudget: number;
  readonly maxBufferedBytes: number;
  readonly sendStallTimeout: number;
  readonly maxPendingStreams: number;
}

function invalid(message: string): TransportError {
  return new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', message);
}

export function pemList(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

/** Checks the options common to both ends and returns the library config they imply. */
export function commonConfig(init: ListenInit & QuicTuning): Partial<QUICConfig> {
  const alpn = init.alpn ?? DEFAULT_ALPN;
  if (alpn.length === 0) throw invalid('alpn must list at least one protocol');
  for (const protocol of alpn) {
    const length = Buffer.byteLength(protocol);
    if (length === 0 || length > 255) throw invalid('each ALPN protocol must be 1 to 255 bytes');
  }
  const idleTimeout = init.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
  if (!Number.isFinite(idleTimeout) || idleTimeout <= 0) {
    // 0 would mean "never" to the library: a dead peer would never be noticed (fault 1)
    throw invalid('idleTimeout must be a positive number of milliseconds');
  }
  const keepAlive = init.keepAliveInterval ?? Math.max(1, Math.floor(idleTimeout / 3));
  if (!Number.isFinite(keepAlive) || keepAlive < 0) throw invalid('keepAliveInterval must be >= 0');
  if (keepAlive >= idleTimeout) throw invalid('keepAliveInterval must be below idleTimeout');
  connectionBudgets(init);
  const window = positiveInteger(init.receiveWindow, DEFAULT_RECEIVE_WINDOW, 'receiveWindow');
  const streamWindow = positiveInteger(init.streamReceiveWindow, DEFAULT_STREAM_RECEIVE_WINDOW, 'streamReceiveWindow');
  positiveInteger(init.socketBufferSize, DEFAULT_SOCKET_BUFFER_SIZE, 'socketBufferSize');
  const config: Partial<QUICConfig> = {
    applicationProtos: [...alpn],
    maxIdleTimeout: idleTimeout,
    // no 0-RTT: Hytale servers disable it, and replayable early data has no place here
    enableEarlyData: false,
    grease: true,
    // what a peer may send ahead of what is read: quiche buffers up to these windows per
    // connection and per stream, and never grows them beyond (its auto-tuning ceiling)
    initialMaxData: window,
    maxConnectionWindow: window,
    initialMaxStreamDataBidiLocal: streamWindow,
    initialMaxStreamDataBidiRemote: streamWindow,
    initialMaxStreamDataUni: streamWindow,
    maxStreamWindow: streamWindow,
    // one read from quiche per 64 KiB instead of per 4 KiB (the streams of a connection share
    // the buffer: patch 2)
    readableChunkSize: 64 * 1024,
  };
  if (keepAlive > 0) config.keepAliveIntervalTime = keepAlive;
  const limits = init.maxStreams;
  if (limits?.bidi !== undefined) config.initialMaxStreamsBidi = streamLimit(limits.bidi, 'bidi');
  if (limits?.uni !== undefined) config.initialMaxStreamsUni = streamLimit(limits.uni, 'uni');
  return config;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw invalid(`${name} must be a positive integer`);
  return resolved;
}

function nonNegativeNumber(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved < 0) throw invalid(`${name} must be a non-negative number`);
  return resolved;
}

/** Checks and resolves the per-connection budgets. */
export function connectionBudgets(init: QuicTuning): ConnectionBudgets {
  return {
    inboundHighWaterMark: positiveInteger(init.inboundHighWaterMark, DEFAULT_INBOUND_HIGH_WATER_MARK, 'inboundHighWaterMark'),
    inboundBudget: positiveInteger(init.inboundBudget, DEFAULT_INBOUND_BUDGET, 'inboundBudget'),
    maxBufferedBytes: positiveInteger(init.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 'maxBufferedBytes'),
    sendStallTimeout: nonNegativeNumber(init.sendStallTimeout, DEFAULT_SEND_STALL_TIMEOUT, 'sendStallTimeout'),
    maxPendingStreams: positiveInteger(init.maxPendingStreams, DEFAULT_MAX_PENDING_STREAMS, 'maxPendingStreams'),
  };
}

/** The socket buffer size to ask the kernel for. */
export function socketBufferSize(init: QuicTuning): number {
  return positiveInteger(init.socketBufferSize, DEFAULT_SOCKET_BUFFER_SIZE, 'socketBufferSize');
}

function rateLimit(value: RateLimit | undefined, fallback: RateLimit, name: string): RateLimit {
  const resolved = value ?? fallback;
  if (
    typeof resolved !== 'object' ||
    resolved === null ||
    !Number.isFinite(resolved.perSecond) ||
    resolved.perSecond < 0 ||
    !Number.isFinite(resolved.burst) ||
    resolved.burst < 1
  ) {
    throw invalid(`${name} must be { perSecond >= 0, burst >= 1 }`);
  }
  return { perSecond: resolved.perSecond, burst: resolved.burst };
}

/** Checks and resolves the listener's limits. */
export function listenerLimits(limits: QuicListenerLimits | undefined): ResolvedListenerLimits {
  const l = limits ?? {};
  const handshakeTimeout = l.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout;
  if (!Number.isFinite(handshakeTimeout) || handshakeTimeout <= 0) throw invalid('limits.handshakeTimeout must be a positive number of milliseconds');
  return {
    maxConnections: positiveInteger(l.maxConnections, DEFAULT_LIMITS.maxConnections, 'limits.maxConnections'),
    maxConnectionsPerAddress: positiveInteger(l.maxConnectionsPerAddress, DEFAULT_LIMITS.maxConnectionsPerAddress, 'limits.maxConnectionsPerAddress'),
    handshakeRate: rateLimit(l.handshakeRate, DEFAULT_LIMITS.handshakeRate, 'limits.handshakeRate'),
    handshakeRatePerAddress: rateLimit(l.handshakeRatePerAddress, DEFAULT_LIMITS.handshakeRatePerAddress, 'limits.handshakeRatePerAddress'),
    refusalRate: rateLimit(l.refusalRate, DEFAULT_LIMITS.refusalRate, 'limits.refusalRate'),
    handshakeTimeout,
    maxHandshakeBytes: positiveInteger(l.maxHandshakeBytes, DEFAULT_LIMITS.maxHandshakeBytes, 'limits.maxHandshakeBytes'),
    datagramRate: rateLimit(l.datagramRate, DEFAULT_LIMITS.datagramRate, 'limits.datagramRate'),
  };
}

function streamLimit(value: number, kind: string): number {
  if (!Number.isInteger(value) || value < 0) throw invalid(`maxStreams.${kind} must be a non-negative integer`);
  return value;
}

export function checkCertificate(certificate: CertificateInit | undefined, who: string): void {
  if (certificate === undefined) return;
  if (typeof certificate.certPem !== 'string' || !certificate.certPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid(`${who}.certPem must hold a PEM certificate`);
  }
  if (typeof certificate.keyPem !== 'string' || !/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(certificate.keyPem)) {
    throw invalid(`${who}.keyPem must hold a PEM private key`);
  }
}

export function checkAddress(address: { host: string; port: number } | undefined): void {
  if (address === undefined || typeof address.host !== 'string' || address.host.length === 0) {
    throw invalid('address.host is required');
  }
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
    throw invalid('address.port must be an integer from 0 to 65535');
  }
}
