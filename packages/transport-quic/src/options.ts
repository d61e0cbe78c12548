/**
 * Options of the QUIC listener and dialer, and their translation into `@matrixai/quic` config.
 */
import { TransportError, type DialInit, type ListenInit } from '@handoff/transport';
import type { QUICConfig } from '@matrixai/quic';

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
}

/** `quic().listen()` options. */
export interface QuicListenInit extends ListenInit, QuicTuning {
  /** The server's certificate chain and key. */
  readonly certificate: CertificateInit;
  /** The client-certificate policy. */
  readonly clientCertificate: ClientCertificatePolicy;
  /** Established connections waiting for `accept()`; beyond it new ones are closed (default 128). */
  readonly backlog?: number;
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
  const inbound = init.inboundHighWaterMark ?? DEFAULT_INBOUND_HIGH_WATER_MARK;
  if (!Number.isInteger(inbound) || inbound <= 0) throw invalid('inboundHighWaterMark must be a positive integer');
  const config: Partial<QUICConfig> = {
    applicationProtos: [...alpn],
    maxIdleTimeout: idleTimeout,
    // no 0-RTT: Hytale servers disable it, and replayable early data has no place here
    enableEarlyData: false,
    grease: true,
  };
  if (keepAlive > 0) config.keepAliveIntervalTime = keepAlive;
  const limits = init.maxStreams;
  if (limits?.bidi !== undefined) config.initialMaxStreamsBidi = streamLimit(limits.bidi, 'bidi');
  if (limits?.uni !== undefined) config.initialMaxStreamsUni = streamLimit(limits.uni, 'uni');
  return config;
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
