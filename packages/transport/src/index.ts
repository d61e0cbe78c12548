/**
 * `@handoff/transport`: the transport contract every Handoff adapter implements (`Transport`,
 * `Listener`, `Connection`, `Stream` on web streams), its typed errors and shared helpers, and the
 * in-memory transport with fault injection. The adapter compliance suite is the separate entry
 * `@handoff/transport/compliance`.
 *
 * @example
 * ```ts
 * import { memory, CloseCode } from '@handoff/transport';
 *
 * const transport = memory();
 * const listener = await transport.listen({ address: { host: 'backend-a', port: 5520 }, alpn: ['hytale/2'] });
 * const [client, server] = await Promise.all([
 *   transport.dial({ address: listener.address, alpn: ['hytale/2'] }),
 *   listener.accept(),
 * ]);
 * const stream = await client.openStream({ kind: 'bidi' });
 * const writer = stream.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * const incoming = await server.acceptStream();
 * const { value } = await incoming.readable!.getReader().read(); // Uint8Array [1, 2, 3]
 * await client.close({ code: CloseCode.NO_ERROR, reason: 'bye' });
 * console.log(await server.closed); // { initiator: 'remote', code: 0, reason: 'bye' }
 * await listener.close();
 * ```
 */
export type { AbortOptions } from './abort.js';
export { throwIfAborted, raceSignal, onAbort } from './abort.js';
export type { Channel } from './channel.js';
export { Channels, inferChannel } from './channel.js';
export { CloseCode, closeCodeName } from './close-codes.js';
export type { Address, CloseInfo, CloseInitiator, CloseOptions, Connection } from './connection.js';
export type { TransportErrorCode, TransportErrorOptions } from './errors.js';
export { TransportError, abortError, isTransportError, toTransportError, transportErrorCodes } from './errors.js';
export { certificateFingerprint } from './fingerprint.js';
export type { Listener } from './listener.js';
export type {
  BidiStream,
  IncomingStream,
  Initiator,
  OpenStreamOptions,
  ReceiveStream,
  SendStream,
  Stream,
  StreamAbortOptions,
  StreamBase,
  StreamCloseInfo,
  StreamKind,
} from './stream.js';
export type { DialInit, EndpointInit, ListenInit, StreamLimits, Transport } from './transport.js';
export { InboundQueue } from './inbound-queue.js';
export type { InboundQueueInit } from './inbound-queue.js';
export { memory, faultsOf } from './memory/index.js';
export type {
  MemoryDialInit,
  MemoryEndpointInit,
  MemoryFaults,
  MemoryListenInit,
  MemoryTransport,
  MemoryTransportInit,
} from './memory/index.js';
export { coalescingWritable } from './coalesce.js';
export type { CoalesceInit } from './coalesce.js';
