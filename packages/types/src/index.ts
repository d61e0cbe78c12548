/**
 * `@handoff/types`: the vocabulary every `@handoff/*` package shares — branded ids and their parsers,
 * backend and session references, migration phases, the frame and logger shapes (and `redactUrl`), and the error brand
 * behind every package's `is…Error` guard. No dependency, no runtime beyond the parsers.
 *
 * @example
 * ```ts
 * import { parseBackendRef, parseClientUuid, type SessionRef } from '@handoff/types';
 *
 * const target = parseBackendRef({ id: 'game-7', pool: 'games' }); // throws TypesError on bad input
 * const player = parseClientUuid('3F2504E0-4F89-11D3-9A0C-0305E82C3301'); // lowercased
 * ```
 */
export type { BackendId, ClientUuid, MigrationId, PoolId, SessionId } from './ids.js';
export {
  BACKEND_ID_PATTERN,
  CLIENT_UUID_PATTERN,
  SESSION_ID_PATTERN,
  clientUuidFromBytes,
  clientUuidToBytes,
  isBackendId,
  isClientUuid,
  isMigrationId,
  isPoolId,
  isSessionId,
  parseBackendId,
  parseClientUuid,
  parseMigrationId,
  parsePoolId,
  parseSessionId,
} from './ids.js';
export type { BackendRef, MigrationEnds, SessionRef } from './refs.js';
export { backendRef, parseBackendRef, sameBackend } from './refs.js';
export type { Phase } from './phase.js';
export { PHASES, isPhase, parsePhase } from './phase.js';
export type { FrameLike, SourcePongTest } from './frame.js';
export type { Logger } from './logger.js';
export { redactUrl } from './logger.js';
export type { HandoffErrorOptions, TypesErrorCode } from './errors.js';
export { HandoffError, TypesError, handoffErrorPackage, isHandoffError, isTypesError, typesErrorCodes } from './errors.js';
