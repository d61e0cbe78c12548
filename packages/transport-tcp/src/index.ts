/**
 * `@handoff/transport-tcp`: the Handoff transport over `node:net`, for Hytale backends started with
 * `--transport TCP`. Each socket is a `Connection` with exactly one bidi stream (every channel shares
 * it; packet ids tell them apart above this layer).
 *
 * @example
 * ```ts
 * import { tcp } from '@handoff/transport-tcp';
 *
 * const transport = tcp();
 * const listener = await transport.listen({ address: { host: '127.0.0.1', port: 0 } });
 * const [client, server] = await Promise.all([transport.dial({ address: listener.address }), listener.accept()]);
 * const stream = await client.openStream(); // the dialer opens the one stream…
 * const incoming = await server.acceptStream(); // …the listener accepts it
 * await client.close();
 * ```
 */
export { tcp } from './tcp-transport.js';
export type { TcpDialInit, TcpListenInit, TcpTransport, TcpTransportInit } from './tcp-transport.js';
