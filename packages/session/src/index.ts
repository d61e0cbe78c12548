/**
 * `@handoff/session`: session capture for a Hytale full proxy — the typed session record, the capture
 * tap the forwarding loop feeds with every frame, the ping ledger, the local store and the session
 * directory (memory or Redis), with secrets kept out of every serialised form. Ids, references and
 * phases are the shared vocabulary of `@handoff/types`.
 *
 * Collections, bounds and other building blocks a proxy author does not need are in
 * `@handoff/session/internals` (no stability promise).
 *
 * @example
 * ```ts
 * import { parseBackendRef } from '@handoff/types';
 * import { buildCleanupFrames, claimOf, createCaptureTap, createMemoryDirectory, createSessionStore } from '@handoff/session';
 *
 * const store = createSessionStore();
 * const record = store.create({ backend: parseBackendRef({ id: 'lobby-1' }) });
 * const tap = createCaptureTap(record, { logger });
 *
 * // in the forwarding loop, every frame, each direction:
 * const result = tap.clientToServer(frame);          // a Pong: result.kind === 'pong', result.backendId
 * tap.serverToClient(frameFromBackend, record.backend!.id);
 *
 * console.log(JSON.stringify(record));               // no token, grant or referral data, ever
 * const directory = createMemoryDirectory({ proxyId: 'proxy-1' });
 * await directory.claim(claimOf(record));
 * const cleanup = buildCleanupFrames(record);         // UnloadChunk per column, RemoveFromServerPlayerList
 * const drainPolicy = { isSourcePong: record.pings.isSourcePong }; // for @handoff/migration
 * ```
 */
export { SessionError, isSessionError, sessionErrorCodes, type SessionErrorCode, type SessionErrorOptions } from './errors.js';
export type { SecretName } from './secrets.js';
export {
  SessionRecord,
  type ConnectInfo,
  type MigrationHistoryEntry,
  type SessionLimits,
  type SessionRecordInit,
  type SessionSnapshot,
} from './record.js';
export type { AssetRef } from './client-assets.js';
export type { ChunkColumn } from './chunk-columns.js';
export { PingLedger, type PongRoute, type PongStatus, type PongType } from './ping-ledger.js';
export { CaptureTap, createCaptureTap, type CaptureFailure, type CaptureTapInit, type FrameSource, type TapResult } from './capture-tap.js';
export {
  buildCleanupFrames,
  buildPlayerOptionsFrame,
  buildRequestAssetsFrame,
  buildViewRadiusFrame,
  type CleanupFrames,
} from './replay-frames.js';
export { createSessionStore, type SessionStore } from './session-store.js';
export {
  assertClaimed,
  claimOf,
  type ClaimInit,
  type ClaimOptions,
  type ClaimResult,
  type DirectoryCallOptions,
  type DirectoryEntry,
  type DirectoryUpdate,
  type SessionDirectory,
} from './directory.js';
export { MemoryDirectoryMap, createMemoryDirectory, type MemoryDirectoryInit } from './memory-directory.js';
export { createRedisDirectory, type RedisDirectoryInit } from './redis-directory.js';
