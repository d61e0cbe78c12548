import type { Address, Connection } from '../connection.js';
import type { Listener } from '../listener.js';
import type { DialInit, ListenInit } from '../transport.js';

/**
 * What an adapter can do. The suite runs every test whose capabilities are present and skips the
 * others *by name* (`test.skipIf`), so a missing capability is visible in the report, never a pass.
 */
export interface TransportCapabilities {
  /** Concurrent bidi streams a dialer can open on one connection (TCP: 1). */
  readonly bidiStreams: number;
  /** The listener side can open bidi streams too (TCP: no, its one stream is the dialer's). */
  readonly listenerOpensBidi: boolean;
  /** Unidirectional streams, opened by either side. Without them `openStream({ kind: 'uni' })` must fail with `ERR_TRANSPORT_STREAM_LIMIT`. */
  readonly uniStreams: boolean;
  /** `maxStreams` is honoured: opening past the peer's limit fails with `ERR_TRANSPORT_STREAM_LIMIT`. */
  readonly streamLimits: boolean;
  /** ALPN negotiation (listener preference wins; no common protocol → `ERR_TRANSPORT_ALPN_MISMATCH` on both sides). */
  readonly alpn: boolean;
  /** Both sides present certificates (the factory configures them); `peerCertificates`/fingerprint are set. */
  readonly certificates: boolean;
  /** The application close code and reason reach the peer. */
  readonly closeCodes: boolean;
  /** One stream can be reset without ending the connection. */
  readonly streamReset: boolean;
  /** A live connection with no traffic outlives its idle timeout (keep-alive). */
  readonly keepAlive: boolean;
  /** Dialling an address where nothing listens fails promptly with `ERR_TRANSPORT_CONNECT_REFUSED`. */
  readonly connectRefused: boolean;
}

/**
 * How the suite can make a peer vanish (no close, no reset, no more packets) to test idle timeouts:
 * a function that does it to a connection's peer, or a relay the suite puts between dialer and
 * listener and then black-holes (`'tcp-relay'`, `'udp-relay'`).
 */
export type VanishMethod = ((connection: Connection) => void | Promise<void>) | 'tcp-relay' | 'udp-relay';

/** What an adapter hands to `transportCompliance`. */
export interface ComplianceSetup {
  readonly capabilities: TransportCapabilities;
  /** Opens a listener. The suite passes `address`, and sometimes `alpn`, `idleTimeout`, `maxStreams`, `onHandshakeError`, `signal`. */
  listen(init: ListenInit): Promise<Listener>;
  /** Dials. The suite passes `address` and sometimes `alpn`, `idleTimeout`, `maxStreams`, `signal`. */
  dial(init: DialInit): Promise<Connection>;
  /** Where listeners listen; port 0. Default `{ host: '127.0.0.1', port: 0 }`. */
  readonly address?: Address;
  /** How to make a peer vanish; without it the idle-timeout test is skipped as `vanish`. */
  readonly vanish?: VanishMethod;
  /** Upper bound (ms) on how long the suite waits for things that should be prompt. Default 10 000. */
  readonly patience?: number;
}
