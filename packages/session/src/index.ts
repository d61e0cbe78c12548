/**
 * `@handoff/session`: session capture for a Hytale full proxy — the typed session record, the capture
 * tap the forwarding loop feeds with every frame, the ping ledger, the local store and the session
 * directory (memory or Redis), with secrets kept out of every serialised form.
 *
 * @example
 * ```ts
 * import { getGeneration } from '@handoff/protocol';
 * import { buildCleanupFrames, createCaptureTap, createMemoryDirectory, createSessionStore, claimOf } from '@handoff/session';
 *
 * const store = createSessionStore();
 * const record = store.create({ backend: { id: 'lobby-1' } });
 * const tap = createCaptureTap(record, { logger });
 *
 * // in the forwarding loop, every frame, each direction:
 * const result = tap.clientToServer(frame);          // a Pong: result.kind === 'pong', result.backendId
 * tap.serverToClient(frameFromBackend, 'lobby-1');
 *
 * console.log(JSON.stringify(record));               // no token, grant or referral data, ever
 * const directory = createMemoryDirectory({ proxyId: 'proxy-1' });
 * await directory.claim(claimOf(record));
 * const cleanup = buildCleanupFrames(record);         // UnloadChunk per column, RemoveFromServerPlayerList
 * const isSourcePong = record.pings.drainFilter({ source: 'lobby-1', target: 'game-7' });
 * ```
 */
export { SessionError, errorCodes, isSessionError, type SessionErrorCode, type SessionErrorOptions } from './errors.js';
export type { Logger } from './logger.js';
export type { FrameLike } from './frame-like.js';
export { backendRef, type BackendRef, type MigrationHistoryEntry, type SessionPhase, type SessionRef } from './refs.js';
export { REDACTED, SECRET_NAMES, type SecretName, type SessionSecrets } from './secrets.js';
export {
  DEFAULT_MAX_PLAYER_OPTIONS_BYTES,
  DEFAULT_MIGRATION_HISTORY,
  SessionRecord,
  type ConnectInfo,
  type JoinWorldCapture,
  type ServerInfoCapture,
  type SessionLimits,
  type SessionRecordInit,
  type SessionSnapshot,
  type ViewRadiusCapture,
  type WorldSettingsCapture,
} from './record.js';
export { ChunkColumns, DEFAULT_MAX_CHUNK_COLUMNS, type ChunkColumn } from './chunk-columns.js';
export { DEFAULT_MAX_PLAYER_LIST_ENTRIES, PlayerList } from './player-list.js';
export { AssetSet, ClientAssets, DEFAULT_MAX_ASSET_HASHES, internedAssetSets, type AssetRef } from './client-assets.js';
export {
  DEFAULT_PING_LEDGER_HISTORY,
  DEFAULT_PING_LEDGER_LIMIT,
  PONG_TYPES,
  PingLedger,
  readPong,
  type PingLedgerCounters,
  type PingLedgerInit,
  type PongRoute,
  type PongStatus,
  type PongType,
} from './ping-ledger.js';
export {
  CaptureTap,
  createCaptureTap,
  type CaptureCounters,
  type CaptureFailure,
  type CaptureTapInit,
  type FrameSource,
  type TapResult,
} from './capture-tap.js';
export {
  buildCleanupFrames,
  buildPlayerOptionsFrame,
  buildRequestAssetsFrame,
  buildViewRadiusFrame,
  type CleanupFrames,
} from './replay-frames.js';
export { createSessionStore, type SessionStore } from './session-store.js';
export {
  DEFAULT_DIRECTORY_TTL_MS,
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
export { DEFAULT_DIRECTORY_KEY_PREFIX, createRedisDirectory, type RedisDirectoryInit } from './redis-directory.js';
export type { RedisSource } from '@handoff/store-kit';
