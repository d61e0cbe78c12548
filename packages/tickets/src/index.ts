/**
 * `@handoff/tickets`: migration tickets. A ticket lets a proxy join backend B on a player's behalf:
 * signed (EdDSA or HS256), short-lived, single-use, bound to the client and to the source and
 * target backends, carried in `Connect.referralData`. Format: docs/tickets.md.
 *
 * The ids a ticket binds (`ClientUuid`, `BackendId`, `PoolId`, `SessionId`) and their parsers come
 * from `@handoff/types`, the vocabulary every Handoff package shares.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from 'node:crypto';
 * import { createKeyRing, createTicketIssuer, createTicketVerifier, createMemoryReplayStore } from '@handoff/tickets';
 * import { parseBackendId, parseClientUuid, parsePoolId } from '@handoff/types';
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
 * const token = await issuer.issue({ clientUuid: player, target: game, pool: parsePoolId('minigames') });
 *
 * const verifier = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore() });
 * const ticket = await verifier.verify(token, { clientUuid: player, source: lobby, target: game });
 * ticket.pool; // 'minigames'; a second verify of `token` throws ERR_TICKET_REPLAYED
 * ```
 * @packageDocumentation
 */
export { TicketError, isTicketError, ticketErrorCodes, type TicketErrorCode } from './errors.js';
export {
  createKeyRing,
  keyRingFromJwks,
  type KeyInfo,
  type KeyInput,
  type KeyRing,
  type KeyRingEvent,
  type KeyRingInit,
  type TicketJwks,
} from './key-ring.js';
export {
  JWKS_FILE,
  SIGNING_KEY_FILE,
  loadKeyDirectory,
  loadKeys,
  readKeyDirectory,
  writeKeyDirectory,
  type KeyDirectory,
  type LoadKeysOptions,
  type ReadKeyDirectoryOptions,
  type WriteKeyDirectoryOptions,
} from './key-directory.js';
export { createTicketIssuer, type IssueInput, type TicketIssuer, type TicketIssuerInit } from './issuer.js';
export { createTicketVerifier, type TicketVerifier, type TicketVerifierInit, type VerifyExpectations } from './verifier.js';
export { isVerifiedTicket, type TicketState, type VerifiedTicket } from './verified-ticket.js';
export type { ReplayStore } from './replay-store.js';
export { createMemoryReplayStore, type MemoryReplayStore, type MemoryReplayStoreInit } from './memory-replay-store.js';
export { createRedisReplayStore, type RedisReplayStore, type RedisReplayStoreInit } from './redis-replay-store.js';
export {
  checkTicketState,
  createMemoryStateStore,
  loadTicketState,
  type MemoryStateStoreInit,
  type TicketStateStore,
} from './state.js';
export { createRedisStateStore, type RedisStateStoreInit } from './redis-state-store.js';
export {
  createPoolPolicy,
  type PoolPolicy,
  type PoolPolicyEvent,
  type PoolPolicyInit,
  type PoolPolicySnapshot,
  type PoolStatus,
} from './pool-policy.js';
