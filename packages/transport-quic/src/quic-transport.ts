/**
 * The `quic()` factory: a contract `Transport` over `@matrixai/quic`.
 */
import type { Connection, Transport } from '@handoff/transport';
import type { QuicDialInit, QuicListenInit } from './options.js';
import { dialQuic } from './quic-dial.js';
import { listenQuic, type QuicListener } from './quic-listener.js';

/** A QUIC transport: listeners and dialers with ALPN, certificates and the library's faults fenced. */
export interface QuicTransport extends Transport<QuicListenInit, QuicDialInit> {
  readonly name: 'quic';
  /** Starts listening; the listener also reports what its limits refused (`stats`). */
  listen(init: QuicListenInit): Promise<QuicListener>;
}

/**
 * Creates the QUIC transport.
 *
 * @example
 * ```ts
 * const transport = quic();
 * const listener = await transport.listen({
 *   address: { host: '127.0.0.1', port: 5520 },
 *   alpn: ['hytale/2', 'hytale/1'],
 *   certificate: serverCert,
 *   clientCertificate: 'required-any',
 * });
 * ```
 */
export function quic(): QuicTransport {
  return {
    name: 'quic',
    listen: (init: QuicListenInit): Promise<QuicListener> => listenQuic(init),
    dial: (init: QuicDialInit): Promise<Connection> => dialQuic(init),
  };
}
