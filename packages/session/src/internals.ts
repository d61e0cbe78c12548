/**
 * `@handoff/session/internals`: the building blocks behind `@handoff/session` — the record's bounded
 * collections, their default bounds, the secret names, the ledger's and the tap's counters, the
 * capture value types. The package's own tests and benchmark use them; a proxy author does not need
 * them (`record.chunks`, `record.pings`, `tap.counters` are reachable from the main entry). No
 * stability promise: these may change in any release.
 */
export { REDACTED, SECRET_NAMES, type SessionSecrets } from './secrets.js';
export {
  DEFAULT_MAX_PLAYER_OPTIONS_BYTES,
  DEFAULT_MIGRATION_HISTORY,
  type JoinWorldCapture,
  type ServerInfoCapture,
  type ViewRadiusCapture,
  type WorldSettingsCapture,
} from './record.js';
export { ChunkColumns, DEFAULT_MAX_CHUNK_COLUMNS } from './chunk-columns.js';
export { DEFAULT_MAX_PLAYER_LIST_ENTRIES, PlayerList } from './player-list.js';
export { AssetSet, ClientAssets, DEFAULT_MAX_ASSET_HASHES, internedAssetSets } from './client-assets.js';
export { DEFAULT_PING_LEDGER_HISTORY, DEFAULT_PING_LEDGER_LIMIT, PONG_TYPES, type PingLedgerCounters, type PingLedgerInit } from './ping-ledger.js';
export type { CaptureCounters } from './capture-tap.js';
export { DEFAULT_DIRECTORY_TTL_MS } from './directory.js';
export { DEFAULT_DIRECTORY_KEY_PREFIX } from './redis-directory.js';
