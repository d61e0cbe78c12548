/**
 * `@handoff/transport/compliance`: the suite every transport adapter runs (vitest is a peer
 * dependency of this entry only), plus the helpers and relays it uses.
 *
 * @example
 * ```ts
 * // packages/transport/test/memory.compliance.test.ts
 * import { transportCompliance } from '@handoff/transport/compliance';
 * import { faultsOf, memory } from '@handoff/transport';
 *
 * const transport = memory();
 * transportCompliance('memory', {
 *   capabilities: { bidiStreams: 100, listenerOpensBidi: true, uniStreams: true, streamLimits: true, alpn: true,
 *     certificates: true, closeCodes: true, streamReset: true, keepAlive: true, connectRefused: true },
 *   listen: (init) => transport.listen({ ...init, certificates }),
 *   dial: (init) => transport.dial({ ...init, certificates }),
 *   vanish: (connection) => faultsOf(connection).blackhole(),
 * });
 * ```
 */
export { transportCompliance } from './suite.js';
export type { ComplianceSetup, TransportCapabilities, VanishMethod } from './types.js';
export { tcpRelay, udpRelay } from './relay.js';
export type { Relay } from './relay.js';
export {
  activeResources,
  concat,
  isPending,
  patternBytes,
  readAll,
  readExactly,
  resourcesAbove,
  settleResources,
  within,
  writeAll,
} from './helpers.js';
