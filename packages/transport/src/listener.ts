import type { AbortOptions } from './abort.js';
import type { Address, Connection } from './connection.js';

/**
 * Accepts incoming connections. A connection whose handshake fails (TLS, ALPN) is never returned by
 * `accept`; it is reported to `ListenInit.onHandshakeError` instead.
 */
export interface Listener {
  /** The bound address (with the real port when 0 was asked for). */
  readonly address: Address;
  /**
   * The next established connection, in arrival order. Rejects with `ERR_TRANSPORT_CLOSED` once
   * the listener is closed, `ERR_TRANSPORT_ABORTED` on abort (the listener stays open).
   */
  accept(options?: AbortOptions): Promise<Connection>;
  /**
   * Stops listening. Connections already accepted stay open; connections established but not yet
   * accepted are closed. Resolves once no new connection can arrive; idempotent. Where accepted
   * connections share the listener's socket (QUIC: one UDP socket), the address itself is released
   * only when the last of them ends; elsewhere (memory, TCP) at once.
   */
  close(options?: AbortOptions): Promise<void>;
}
