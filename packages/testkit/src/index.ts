/**
 * `@handoff/testkit`: simulated Hytale peers for testing a proxy end to end over real sockets —
 * a backend that behaves like the server (handshake, assets, pings, timeouts, referrals), a strict
 * client oracle that reports every way a migration was not seamless, and a fake session service
 * that issues EdDSA identity and access tokens.
 */
export * from './backend/index.js';
export * from './client/index.js';
export {
  CLIENT_SCOPE,
  EDITOR_SCOPE,
  HYTALE_SESSION_ISSUER,
  PlayerCredentials,
  REDACTED,
  SERVER_SCOPE,
  SESSION_SERVICE_PATHS,
  ServerCredentials,
  SessionServiceHttpError,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  TOKEN_FAULTS,
  TokenError,
  createSessionService,
  isTokenError,
  sessionServiceClient,
  verifyAccessToken,
  verifyClientTokens,
  verifyIdentityToken,
  verifyServerAccessToken,
  type AccessTokenClaims,
  type AccessTokenExpectations,
  type ClientTokenExpectations,
  type CreatePlayerOptions,
  type CreateServerOptions,
  type ExchangeOptions,
  type IdentityTokenClaims,
  type IdentityTokenExpectations,
  type JwksSource,
  type MintAccessTokenOptions,
  type ServerAccessTokenExpectations,
  type SessionService,
  type SessionServiceClient,
  type SessionServiceClientInit,
  type SessionServiceCounters,
  type SessionServiceInit,
  type SessionServiceRequest,
  type SessionServiceRoute,
  type TokenCheckOptions,
  type TokenErrorCode,
  type TokenFault,
  type TokenKind,
  type VerifiedAccessToken,
  type VerifiedIdentityToken,
} from './session-service/index.js';
export { TestkitError, isTestkitError, testkitErrorCodes, type TestkitErrorCode } from './errors.js';
