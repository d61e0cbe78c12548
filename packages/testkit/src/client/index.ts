/**
 * The strict client: a simulated Hytale client that judges whether a run was seamless, and reports
 * every way it was not as a typed violation.
 */
export {
  StrictClient,
  connectStrictClient,
  defaultChunkWorld,
  type ChunkPacket,
  type ConnectionReport,
  type StrictClientAuth,
  type StrictClientCounters,
  type StrictClientInit,
  type StrictClientReport,
  type StrictClientState,
  type WaitOptions,
  type WorldVisit,
} from './strict-client.js';
export {
  CHUNK_PACKETS,
  SETUP_PACKETS,
  VIOLATION_KINDS,
  type Violation,
  type ViolationBase,
  type ViolationDetails,
  type ViolationKind,
  type ViolationOf,
} from './violations.js';
export {
  deliveryLogOf,
  droppedByRule,
  type AccountOptions,
  type DeliveryLog,
  type LoggedPacket,
  type SentPacket,
} from './accounting.js';
export { MOVEMENT_PACKET, MovementProbe, movementFrame } from './movement.js';
