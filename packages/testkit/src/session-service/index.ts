/**
 * The fake session service (an HTTP server on loopback issuing EdDSA identity and access tokens),
 * a client of its exchanges, and the token checks a server makes on a joining client.
 */
export { PlayerCredentials, ServerCredentials, REDACTED } from './credentials.js';
export {
  createSessionService,
  SESSION_SERVICE_PATHS,
  type CreatePlayerOptions,
  type CreateServerOptions,
  type MintAccessTokenOptions,
  type SessionService,
  type SessionServiceCounters,
  type SessionServiceInit,
  type SessionServiceRequest,
  type SessionServiceRoute,
} from './service.js';
export {
  sessionServiceClient,
  SessionServiceHttpError,
  type ExchangeOptions,
  type SessionServiceClient,
  type SessionServiceClientInit,
} from './http-client.js';
export {
  CLIENT_SCOPE,
  EDITOR_SCOPE,
  HYTALE_SESSION_ISSUER,
  SERVER_SCOPE,
  TOKEN_FAULTS,
  type AccessTokenClaims,
  type IdentityTokenClaims,
  type TokenFault,
} from './tokens.js';
export {
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  TokenError,
  isTokenError,
  verifyAccessToken,
  verifyClientTokens,
  verifyIdentityToken,
  verifyServerAccessToken,
  type AccessTokenExpectations,
  type ClientTokenExpectations,
  type IdentityTokenExpectations,
  type JwksSource,
  type ServerAccessTokenExpectations,
  type TokenCheckOptions,
  type TokenErrorCode,
  type TokenKind,
  type VerifiedAccessToken,
  type VerifiedIdentityToken,
} from './verify.js';
