/**
 * `@handoff/tickets`: migration tickets. A ticket lets a proxy join backend B on a player's behalf:
 * signed (EdDSA or HS256), short-lived, single-use, bound to the client and to the source and
 * target backends, carried in `Connect.referralData`. Format: docs/tickets.md.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from 'node:crypto';
 * import {
 *   createKeyRing, createTicketIssuer, createTicketVerifier, createMemoryReplayStore,
 *   parseBackendId, parseClientUuid,
 * } from '@handoff/tickets';
 *
 * const { privateKey } = generateKeyPairSync('ed25519');
 * const keyRing = createKeyRing();
 * await keyRing.add({ kid: 'k1', pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
 *
 * const lobby = parseBackendId('lobby-1');
 * const game = parseBackendId('game-7');
 * const player = parseClientUuid('3f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f');
 *
 * const issuer = createTicketIssuer({ keyRing, issuer: lobby, ttlSeconds: 30 });
 * const token = await issuer.issue({ clientUuid: player, targetBackendId: game, pool: 'minigames' });
 *
 * const verifier = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore() });
 * const ticket = await verifier.verify(token, { clientUuid: player, sourceBackendId: lobby, targetBackendId: game });
 * ticket.pool; // 'minigames'; a second verify of `token` throws ERR_TICKET_REPLAYED
 * ```
 * @packageDocumentation
 */
export { TicketError, errorCodes, isTicketError, type TicketErrorCode, type TicketErrorOptions } from './errors.js';
export {
  parseClientUuid,
  clientUuidFromBytes,
  parseBackendId,
  parsePoolId,
  parseSessionId,
  isClientUuid,
  isBackendId,
  CLIENT_UUID_PATTERN,
  BACKEND_ID_PATTERN,
  SESSION_ID_PATTERN,
  type ClientUuid,
  type BackendId,
  type PoolId,
  type SessionId,
} from './ids.js';
export {
  TICKET_TYP,
  MAX_TICKET_BYTES,
  NONCE_BYTES,
  TICKET_ALGORITHMS,
  KID_PATTERN,
  STATE_REF_PATTERN,
  type TicketAlgorithm,
  type TicketHeader,
  type TicketClaims,
  type StateClaim,
} from './format.js';
export {
  createKeyRing,
  keyRingFromJwks,
  MIN_HS256_SECRET_BYTES,
  type KeyRing,
  type KeyRingInit,
  type KeyInput,
  type KeyOptions,
  type KeyInfo,
  type KeyRingEvent,
  type TicketJwks,
} from './key-ring.js';
export {
  writeKeyDirectory,
  readKeyDirectory,
  SIGNING_KEY_FILE,
  JWKS_FILE,
  type KeyDirectory,
  type WriteKeyDirectoryOptions,
  type ReadKeyDirectoryOptions,
} from './key-directory.js';
export {
  createTicketIssuer,
  type TicketIssuer,
  type TicketIssuerInit,
  type IssueInput,
  type IssueOptions,
  type StateMode,
} from './issuer.js';
export {
  createTicketVerifier,
  replayTtlMs,
  type TicketVerifier,
  type TicketVerifierInit,
  type VerifyExpectations,
  type VerifyOptions,
} from './verifier.js';
export { isVerifiedTicket, type VerifiedTicket, type TicketState } from './verified-ticket.js';
export type { ReplayStore, ConsumeOptions, ConsumeResult, ProbeOptions } from './replay-store.js';
export { createMemoryReplayStore, type MemoryReplayStore, type MemoryReplayStoreInit } from './memory-replay-store.js';
export {
  createRedisReplayStore,
  DEFAULT_REPLAY_KEY_PREFIX,
  type RedisReplayStore,
  type RedisReplayStoreInit,
} from './redis-replay-store.js';
export type { RedisSource } from '@handoff/store-kit';
export {
  checkTicketState,
  loadTicketState,
  stateSha256,
  createMemoryStateStore,
  type TicketStateStore,
  type StatePutOptions,
  type StateGetOptions,
  type LoadStateOptions,
  type MemoryStateStoreInit,
} from './state.js';
export { createRedisStateStore, DEFAULT_STATE_KEY_PREFIX, type RedisStateStoreInit } from './redis-state-store.js';
export {
  createPoolPolicy,
  type PoolPolicy,
  type PoolPolicyInit,
  type PoolStatus,
  type PoolDisabledReason,
  type PoolPolicyEvent,
  type PoolPolicySnapshot,
  type ReplayStoreHealth,
} from './pool-policy.js';
export type { Logger } from './logger.js';
