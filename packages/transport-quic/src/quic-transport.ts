/**
 * The `quic()` factory: a contract `Transport` over `@matrixai/quic`.
 */
import type { Connection, Listener, Transport } from '@handoff/transport';
import type { QuicDialInit, QuicListenInit } from './options.js';
import { dialQuic } from './quic-dial.js';
import { listenQuic } from './quic-listener.js';

/** A QUIC transport: listeners and dialers with ALPN, certificates and the library's faults fenced. */
export interface QuicTransport extends Transport<QuicListenInit, QuicDialInit> {
  readonly name: 'quic';
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
    listen: (init: QuicListenInit): Promise<Listener> => listenQuic(init),
    dial: (init: QuicDialInit): Promise<Connection> => dialQuic(init),
  };
}
