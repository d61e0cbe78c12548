export { memory, faultsOf } from './memory-transport.js';
export type {
  MemoryDialInit,
  MemoryEndpointInit,
  MemoryListenInit,
  MemoryTransport,
  MemoryTransportInit,
} from './memory-transport.js';
export type { MemoryFaults } from './memory-connection.js';
