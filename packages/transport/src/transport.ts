import type { AbortOptions } from './abort.js';
import type { Address, Connection } from './connection.js';
import type { TransportError } from './errors.js';
import type { Listener } from './listener.js';
import type { Logger } from '@handoff/types';

/**
 * How many streams the *peer* may have open towards us at once, per kind (like QUIC's
 * `initial_max_streams_bidi` / `_uni`). Hytale servers allow a client 1 bidi and 0 uni streams.
 */
export interface StreamLimits {
  readonly bidi?: number;
  readonly uni?: number;
}

/** Construction options common to listeners and dialled connections. Adapters extend them. */
export interface EndpointInit extends AbortOptions {
  /**
   * ALPN protocols. Listener: the ones it accepts, in preference order (it picks the first one the
   * dialer offers). Dialer: the ones it offers. No common protocol → `ERR_TRANSPORT_ALPN_MISMATCH`
   * on both sides. Ignored by transports without ALPN (TCP).
   */
  readonly alpn?: readonly string[];
  /**
   * Milliseconds without hearing from the peer after which the connection fails with
   * `ERR_TRANSPORT_IDLE_TIMEOUT` (the effective value is the smaller of both sides'; it also bounds
   * a dial whose handshake never completes). Adapters with keep-alive keep a live, quiet connection
   * open; see each adapter's docs. Default: the adapter's (30 000 for memory and TCP).
   */
  readonly idleTimeout?: number;
  /** Streams the peer may open towards us at once. */
  readonly maxStreams?: StreamLimits;
  readonly logger?: Logger;
}

/** Options of `Transport.listen`. */
export interface ListenInit extends EndpointInit {
  /** Where to listen; port 0 picks a free port. */
  readonly address: Address;
  /** Reports each incoming connection whose handshake failed (TLS, ALPN, idle timeout). Never awaited. */
  readonly onHandshakeError?: (error: TransportError, remoteAddress: Address) => void;
}

/** Options of `Transport.dial`. */
export interface DialInit extends EndpointInit {
  /** The listener's address. */
  readonly address: Address;
}

/**
 * A transport: opens listeners and dials connections. Adapters are created by factories
 * (`memory()`, `tcp()`, `quic()`) and may widen the init types with their own options.
 */
export interface Transport<L extends ListenInit = ListenInit, D extends DialInit = DialInit> {
  /** `'memory'`, `'tcp'`, `'quic'`, … for logs. */
  readonly name: string;
  /** Starts listening. Rejects with `ERR_TRANSPORT_LISTEN_FAILED`, `ERR_TRANSPORT_ABORTED`, … */
  listen(init: L): Promise<Listener>;
  /**
   * Connects to a listener; resolves once the handshake is complete (ALPN negotiated, certificates
   * exchanged). Rejects with `ERR_TRANSPORT_CONNECT_REFUSED`, `ERR_TRANSPORT_IDLE_TIMEOUT` (no answer),
   * `ERR_TRANSPORT_TLS`, `ERR_TRANSPORT_ALPN_MISMATCH`, `ERR_TRANSPORT_ABORTED`, …
   */
  dial(init: D): Promise<Connection>;
}
