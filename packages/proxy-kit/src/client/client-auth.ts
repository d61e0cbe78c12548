/**
 * Client auth, pluggable: what `acceptClient` does between the client's Connect and its password
 * stage. `noClientAuth()` is the development mode (the server's insecure path: `ConnectAccept`, the
 * Connect's UUID and username are trusted); `sessionServiceAuth()` is the server's authenticated path
 * (AuthGrant → AuthToken → ServerAuthToken) against a session service, with the tokens verified by
 * `jose` (docs/proxy-kit.md, "Client side › Client auth").
 *
 * `acceptClient` drives the stages, their timeouts and what the client is told; a `ClientAuth` only
 * answers the four questions of the authenticated path. A refusal is a {@link ProxyError}
 * `ERR_PROXY_CLIENT_AUTH_REFUSED` (or `ERR_PROXY_CLIENT_SESSION_SERVICE`) whose `reason` is a
 * {@link ClientAuthCheck}; any other error counts as a failure of that stage.
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { isClientUuid, type ClientUuid, type Logger } from '@handoff/types';
import { ProxyError, isProxyError } from '../errors.js';
import type { SessionServiceClient } from './session-service.js';

/** The issuer servers require of every token. */
export const HYTALE_TOKEN_ISSUER = 'https://sessions.hytale.com';
/** Seconds of tolerance on `exp`, `nbf` and `iat`, as the server allows. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 300;
/** After a verification failure the keys are fetched again, but at most once per this many ms (as the server). */
export const JWKS_REFRESH_INTERVAL_MS = 5 * 60_000;
/** The identity-token scope of a game client, and of an editor client. */
export const CLIENT_SCOPES = Object.freeze({ Game: 'hytale:client', Editor: 'hytale:editor' });

/**
 * Which check refused a client (the `reason` of an `ERR_PROXY_CLIENT_AUTH_REFUSED`), and the
 * session-service failures (`ERR_PROXY_CLIENT_SESSION_SERVICE`):
 *
 * - `identity-invalid`: the identity token is malformed, not EdDSA, badly signed, of another issuer,
 *   expired or not yet valid, or has no `exp`;
 * - `identity-subject`: its `sub` is not the Connect's UUID; `identity-scope`: it lacks the client's scope;
 * - `access-invalid`: the access token is empty, malformed, badly signed, expired, of another issuer
 *   or audience, or not bound to the client's certificate;
 * - `access-subject`, `access-username-missing`, `access-username`: its claims do not name the Connect's player;
 * - `keys-unavailable`: the session service's keys could not be fetched (nothing could be verified);
 * - `grant-failed`, `exchange-failed`: the session service refused or failed an exchange;
 * - `server-identity-unavailable`: the proxy has no identity token to send (a configuration error).
 */
export const CLIENT_AUTH_CHECKS = Object.freeze([
  'identity-invalid',
  'identity-subject',
  'identity-scope',
  'access-invalid',
  'access-subject',
  'access-username-missing',
  'access-username',
  'keys-unavailable',
  'grant-failed',
  'exchange-failed',
  'server-identity-unavailable',
] as const);

/** One of {@link CLIENT_AUTH_CHECKS}. */
export type ClientAuthCheck = (typeof CLIENT_AUTH_CHECKS)[number];

/** Per-call options of a {@link ClientAuth} step. */
export interface ClientAuthCallOptions {
  /** Aborted when the stage times out or the client goes away. */
  readonly signal: AbortSignal;
}

/** Development mode: no token is checked; the Connect's UUID and username are trusted. */
export interface DevelopmentClientAuth {
  readonly mode: 'development';
}

/** The authenticated path: the four steps `acceptClient` drives, in this order. */
export interface AuthenticatedClientAuth {
  readonly mode: 'authenticated';
  /** Checks `Connect.identityToken`: signature, issuer, times, `sub` = the Connect's UUID, the client's scope. */
  verifyIdentityToken(
    identityToken: string,
    expect: { readonly clientUuid: ClientUuid; readonly clientType: 'Game' | 'Editor' },
    options: ClientAuthCallOptions,
  ): Promise<void>;
  /** The grant for the client (sent in `AuthGrant`) and the proxy's own identity token (sent with it). */
  requestAuthGrant(
    request: { readonly identityToken: string; readonly clientUuid: ClientUuid },
    options: ClientAuthCallOptions,
  ): Promise<{ readonly authorizationGrant: string; readonly serverIdentityToken: string }>;
  /**
   * Checks `AuthToken.accessToken`: signature, issuer, times, audience = the proxy's, `cnf.x5t#S256` =
   * the fingerprint of the certificate the client presented on this connection, `sub` and `username`
   * = the Connect's.
   */
  verifyAccessToken(
    accessToken: string,
    expect: { readonly clientUuid: ClientUuid; readonly username: string; readonly certificateFingerprint: string },
    options: ClientAuthCallOptions,
  ): Promise<void>;
  /** Exchanges the grant the client obtained for the proxy for the proxy's access token (sent in `ServerAuthToken`). */
  exchangeServerGrant(serverAuthorizationGrant: string, options: ClientAuthCallOptions): Promise<string>;
}

/** How `acceptClient` authenticates clients. */
export type ClientAuth = DevelopmentClientAuth | AuthenticatedClientAuth;

/**
 * Development mode, the server's insecure path: the client gets `ConnectAccept` at once (then the
 * proxy's password challenge, if one is configured) and its Connect's UUID and username are trusted.
 * Anyone can claim any name: use it only where the proxy is not reachable by players you do not
 * trust (a local test network), never on the internet.
 */
export function noClientAuth(): DevelopmentClientAuth {
  return Object.freeze({ mode: 'development' as const });
}

/** `sessionServiceAuth()` options. */
export interface SessionServiceAuthInit {
  /** The session service (`httpSessionService(...)`, or any {@link SessionServiceClient}). */
  readonly sessionService: SessionServiceClient;
  /** The proxy's audience: clients' access tokens must name it (their first `aud`), and grants are asked for it. */
  readonly audience: string;
  /**
   * The proxy's own identity token, sent to the client in `AuthGrant` for mutual authentication (a
   * function is asked for it at each client, so a refreshed token is picked up). Without one, clients
   * are refused as the server refuses them ("Server authentication unavailable").
   */
  readonly serverIdentityToken?: string | (() => string | undefined | Promise<string | undefined>) | undefined;
  /**
   * SHA-256 of the proxy's listener certificate (base64url without padding, what
   * `certificateFingerprint(der)` prints): the proxy's access token is bound to it, and the client
   * checks it against the certificate it saw.
   */
  readonly serverCertificateFingerprint: string;
  /** The issuer to require; default `https://sessions.hytale.com`. */
  readonly issuer?: string | undefined;
  /** Seconds of tolerance on `exp`/`nbf`/`iat`; default 300. */
  readonly clockToleranceSeconds?: number | undefined;
  /** Minimum interval between two key refreshes after verification failures, ms; default 5 minutes. */
  readonly jwksRefreshIntervalMs?: number | undefined;
  /** The clock of token times and key refreshes, ms since the epoch; default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /** Debug lines (which check failed, key refreshes): never a token or a claim value. */
  readonly logger?: Logger | undefined;
}

const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;

type TokenKind = 'identity' | 'access';

function refusal(check: ClientAuthCheck, message: string, cause?: unknown): ProxyError {
  const code = check === 'keys-unavailable' || check === 'grant-failed' || check === 'exchange-failed' || check === 'server-identity-unavailable'
    ? 'ERR_PROXY_CLIENT_SESSION_SERVICE'
    : 'ERR_PROXY_CLIENT_AUTH_REFUSED';
  return new ProxyError(code, message, { reason: check, ...(cause === undefined ? {} : { cause }) });
}

/** A jose error reduced to its name and message (jose errors carry the claims they refused). */
function sanitised(error: unknown): Error {
  const safe = new Error(error instanceof Error ? error.message : 'verification failed');
  safe.name = error instanceof Error ? error.name : 'Error';
  return safe;
}

/**
 * The session service's keys, fetched once and kept; after a verification failure (an unknown key, a
 * signature that does not verify) they are fetched again, at most once per `refreshIntervalMs`.
 */
class JwksCache {
  readonly #service: SessionServiceClient;
  readonly #now: () => number;
  readonly #interval: number;
  readonly #logger: Logger | undefined;
  #keys: JWTVerifyGetKey | undefined;
  #loading: Promise<JWTVerifyGetKey> | undefined;
  #lastRefresh = Number.NEGATIVE_INFINITY;

  constructor(service: SessionServiceClient, now: () => number, interval: number, logger: Logger | undefined) {
    this.#service = service;
    this.#now = now;
    this.#interval = interval;
    this.#logger = logger;
  }

  /** The cached keys, fetching them the first time (or after a failed fetch). */
  get(signal: AbortSignal): Promise<JWTVerifyGetKey> {
    if (this.#keys !== undefined) return Promise.resolve(this.#keys);
    return this.#load(signal);
  }

  /** Fetches the keys again if the last refresh is old enough; `undefined` when it is too soon. */
  refresh(signal: AbortSignal): Promise<JWTVerifyGetKey> | undefined {
    if (this.#loading !== undefined) return this.#loading;
    const now = this.#now();
    if (now - this.#lastRefresh < this.#interval) return undefined;
    this.#lastRefresh = now;
    this.#logger?.debug?.({}, 'refreshing the session service keys after a verification failure');
    return this.#load(signal);
  }

  #load(signal: AbortSignal): Promise<JWTVerifyGetKey> {
    this.#loading ??= (async () => {
      try {
        const jwks: JSONWebKeySet = await this.#service.fetchJwks({ signal });
        const keys = createLocalJWKSet(jwks);
        this.#keys = keys;
        return keys;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }
}

/** Why a token failed before its kind-specific checks. */
interface CommonFailure {
  readonly kind: 'keys' | 'invalid';
  readonly detail: string;
  readonly cause?: Error;
}

/**
 * The server's authenticated path against a session service: the identity token checked at Connect,
 * a grant asked for the client, the access token checked at AuthToken (audience, certificate binding,
 * subject, username), the client's grant for the proxy exchanged for the proxy's own access token.
 * Tokens are verified with `jose` against the service's JWKS (EdDSA only), cached as the server caches
 * them.
 *
 * @example
 * ```ts
 * const auth = sessionServiceAuth({
 *   sessionService: httpSessionService({ serverSessionToken }),
 *   audience,                       // the proxy's audience, as the session service knows it
 *   serverIdentityToken,            // the proxy's identity token
 *   serverCertificateFingerprint,   // certificateFingerprint(der of the listener's certificate)
 * });
 * const client = await acceptClient(connection, { auth });
 * ```
 */
export function sessionServiceAuth(init: SessionServiceAuthInit): AuthenticatedClientAuth {
  const service = init?.sessionService;
  if (
    typeof service !== 'object' ||
    service === null ||
    typeof service.fetchJwks !== 'function' ||
    typeof service.requestAuthGrant !== 'function' ||
    typeof service.exchangeAuthGrant !== 'function'
  ) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'sessionService must be a SessionServiceClient (httpSessionService(...))');
  }
  const audience = init.audience;
  if (typeof audience !== 'string' || audience.length === 0) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'audience must be a non-empty string');
  const fingerprint = init.serverCertificateFingerprint;
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
    throw new ProxyError(
      'ERR_PROXY_INVALID_ARGUMENT',
      'serverCertificateFingerprint must be the SHA-256 of the listener certificate, base64url without padding (43 characters)',
    );
  }
  const identitySource = init.serverIdentityToken;
  if (identitySource !== undefined && typeof identitySource !== 'string' && typeof identitySource !== 'function') {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'serverIdentityToken must be a string or a function returning one');
  }
  const issuer = init.issuer ?? HYTALE_TOKEN_ISSUER;
  const tolerance = init.clockToleranceSeconds ?? TOKEN_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'clockToleranceSeconds must be >= 0');
  const interval = init.jwksRefreshIntervalMs ?? JWKS_REFRESH_INTERVAL_MS;
  if (!Number.isFinite(interval) || interval < 0) throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'jwksRefreshIntervalMs must be >= 0');
  const now = init.now ?? Date.now;
  const logger = init.logger;
  const keys = new JwksCache(service, now, interval, logger);

  /** Structure, algorithm, signature (refreshing the keys once on a failure), issuer, times, a UUID `sub`. */
  async function verifyCommon(token: string, kind: TokenKind, signal: AbortSignal): Promise<JWTPayload> {
    const parts = token.split('.');
    if (parts.length !== 3) throw invalidToken(kind, `${parts.length} dot-separated parts, not 3`);
    const signatureLength = parts[2]!.length;
    // the server's structural pre-check (an Ed25519 signature is 86 characters)
    if (signatureLength < 80 || signatureLength > 90) throw invalidToken(kind, `a signature of ${signatureLength} characters, not 80 to 90`);
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (error) {
      throw invalidToken(kind, 'an unreadable header', sanitised(error));
    }
    if (alg !== 'EdDSA') throw invalidToken(kind, 'an algorithm other than EdDSA');
    type Attempt = { readonly ok: true; readonly payload: JWTPayload } | { readonly ok: false; readonly failure: CommonFailure };
    const attempt = async (getKey: JWTVerifyGetKey): Promise<Attempt> => {
      try {
        const { payload } = await jwtVerify(token, getKey, {
          algorithms: ['EdDSA'],
          issuer,
          clockTolerance: tolerance,
          currentDate: new Date(now()),
          requiredClaims: ['exp'],
        });
        return { ok: true, payload };
      } catch (error) {
        const fail = (kind: CommonFailure['kind'], detail: string): Attempt => ({ ok: false, failure: { kind, detail, cause: sanitised(error) } });
        if (error instanceof joseErrors.JWKSNoMatchingKey) return fail('keys', 'no key for its kid');
        if (error instanceof joseErrors.JWSSignatureVerificationFailed) return fail('keys', 'a signature that does not verify');
        if (error instanceof joseErrors.JWTExpired) return fail('invalid', 'expired');
        if (error instanceof joseErrors.JWTClaimValidationFailed) {
          const claim = error.claim;
          return fail('invalid', claim === 'iss' ? 'another issuer' : claim === 'nbf' ? 'not yet valid' : claim === 'exp' ? 'no exp claim' : `an invalid ${claim} claim`);
        }
        return fail('invalid', 'not a valid JWT');
      }
    };
    const unavailable = (error: unknown): ProxyError => {
      if (signal.aborted) throw signal.reason;
      return refusal('keys-unavailable', `the session service keys could not be fetched to check the ${kind} token`, isProxyError(error) ? error : sanitised(error));
    };
    let result: Attempt;
    try {
      result = await attempt(await keys.get(signal));
      if (!result.ok && result.failure.kind === 'keys') {
        const refreshed = keys.refresh(signal);
        if (refreshed !== undefined) result = await attempt(await refreshed);
      }
    } catch (error) {
      throw unavailable(error);
    }
    if (!result.ok) throw invalidToken(kind, result.failure.detail, result.failure.cause);
    const payload = result.payload;
    const iat = payload.iat;
    if (iat !== undefined && iat > Math.floor(now() / 1000) + tolerance) throw invalidToken(kind, 'issued in the future');
    const sub = payload.sub;
    if (typeof sub !== 'string' || !isClientUuid(sub.toLowerCase())) throw invalidToken(kind, 'a sub that is not a UUID');
    return payload;
  }

  function invalidToken(kind: TokenKind, detail: string, cause?: Error): ProxyError {
    logger?.debug?.({ token: kind, check: detail }, 'token refused');
    return refusal(kind === 'identity' ? 'identity-invalid' : 'access-invalid', `the ${kind} token was refused: ${detail}`, cause);
  }

  async function serverIdentityToken(): Promise<string | undefined> {
    const value = typeof identitySource === 'function' ? await identitySource() : identitySource;
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  const auth: AuthenticatedClientAuth = {
    mode: 'authenticated',
    async verifyIdentityToken(identityToken, expect, options) {
      const claims = await verifyCommon(identityToken, 'identity', options.signal);
      if ((claims.sub as string).toLowerCase() !== expect.clientUuid) throw refusal('identity-subject', 'the identity token names another player than the Connect');
      const scope = CLIENT_SCOPES[expect.clientType] ?? CLIENT_SCOPES.Game;
      const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : [];
      if (!scopes.includes(scope)) throw refusal('identity-scope', `the identity token lacks the ${scope} scope`);
    },
    async requestAuthGrant(request, options) {
      const serverIdentity = await serverIdentityToken();
      if (serverIdentity === undefined) throw refusal('server-identity-unavailable', 'the proxy has no identity token to send the client (serverIdentityToken)');
      let authorizationGrant: string;
      try {
        authorizationGrant = await service.requestAuthGrant({ identityToken: request.identityToken, audience }, { signal: options.signal });
      } catch (error) {
        if (options.signal.aborted) throw options.signal.reason;
        throw refusal('grant-failed', 'the session service gave no authorization grant for the client', isProxyError(error) ? error : sanitised(error));
      }
      return { authorizationGrant, serverIdentityToken: serverIdentity };
    },
    async verifyAccessToken(accessToken, expect, options) {
      const claims = await verifyCommon(accessToken, 'access', options.signal);
      const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
      if (aud !== audience) throw invalidToken('access', "an audience other than the proxy's");
      const cnf = claims['cnf'];
      const bound = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
      if (bound === undefined) throw invalidToken('access', 'no certificate binding (cnf.x5t#S256)');
      if (bound !== expect.certificateFingerprint) throw invalidToken('access', "a binding to another certificate than the client's");
      if ((claims.sub as string).toLowerCase() !== expect.clientUuid) throw refusal('access-subject', 'the access token names another player than the Connect');
      const username = claims['username'];
      if (typeof username !== 'string' || username.length === 0) throw refusal('access-username-missing', 'the access token names no username');
      if (username !== expect.username) throw refusal('access-username', 'the access token names another username than the Connect');
    },
    async exchangeServerGrant(serverAuthorizationGrant, options) {
      try {
        return await service.exchangeAuthGrant({ authorizationGrant: serverAuthorizationGrant, certificateFingerprint: fingerprint }, { signal: options.signal });
      } catch (error) {
        if (options.signal.aborted) throw options.signal.reason;
        throw refusal('exchange-failed', "the session service did not exchange the client's grant for the proxy's access token", isProxyError(error) ? error : sanitised(error));
      }
    },
  };
  return Object.freeze(auth);
}
