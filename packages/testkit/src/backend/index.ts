/**
 * The simulated Hytale backend (docs/testkit.md, "Simulated backend").
 */
export { createBackend, DEFAULT_BACKEND_TIMEOUTS } from './backend.js';
export { ManualClock, systemClock, settle, type Clock, type ClockTimer } from './clock.js';
export { PROTOCOL_VIOLATION_CLOSE, STAGE_TIMEOUT_REASON, frameDigest } from './player.js';
export type { TicketCheckInit } from './ticket-seam.js';
export type {
  BackendCounters,
  BackendEvent,
  BackendEventType,
  BackendInit,
  BackendPlayer,
  BackendQuicInit,
  BackendStage,
  BackendTimeouts,
  BackendTransport,
  DisconnectKind,
  PacketLogMode,
  PlayerCounters,
  ReceivedPacket,
  SetupConnectDecision,
  SimulatedBackend,
} from './types.js';
export { assetHash, chunkData, chunkOwner, type BackendAsset, type BackendAssetInit } from './world.js';
