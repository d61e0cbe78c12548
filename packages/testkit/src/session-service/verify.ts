/**
 * The checks a Hytale server makes on a client's tokens (docs/testkit.md § Token checks), as a small
 * reusable verifier: the identity token of `Connect`, the access token of `AuthToken` and its
 * binding to the client's TLS certificate, and (the client's side) the server's access token.
 *
 * Every refusal is a {@link TokenError} with an `ERR_TESTKIT_TOKEN_*` code and the token it concerns;
 * no message, field or cause ever holds a token.
 */
import {
  compactVerify,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type CompactVerifyGetKey,
  type JSONWebKeySet,
} from 'jose';
import { isClientUuid, parseClientUuid, type ClientUuid } from '@handoff/types';
import { TestkitError, isTestkitError, type TestkitErrorCode } from '../errors.js';
import { CLIENT_SCOPE, EDITOR_SCOPE, HYTALE_SESSION_ISSUER } from './tokens.js';

/** The clock tolerance of the server's checks on `exp`, `nbf` and `iat`, in seconds. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 300;

/** Which token a check concerns. */
export type TokenKind = 'identity' | 'access' | 'server-access';

/** The codes a token check can fail with. */
export type TokenErrorCode = Extract<TestkitErrorCode, `ERR_TESTKIT_TOKEN_${string}`>;

/** A refused token: `code` says which check, `token` which token. Never holds the token itself. */
export class TokenError extends TestkitError<TokenErrorCode> {
  override readonly name = 'TokenError';
  /** Which token was refused. */
  readonly token: TokenKind;

  constructor(code: TokenErrorCode, token: TokenKind, message: string, options: { cause?: unknown } = {}) {
    super(code, `${token} token refused: ${message}`, options);
    this.token = token;
  }
}

/** True when `value` is a {@link TokenError} (of `code` when given). */
export function isTokenError(value: unknown, code?: TokenErrorCode): value is TokenError {
  return isTestkitError(value, code) && (value as { token?: unknown }).token !== undefined;
}

/**
 * Where the verification keys come from: a JWKS object, the URL of one (fetched and cached by
 * `jose`), or a key-resolving function from `jose` (`createLocalJWKSet`, `createRemoteJWKSet`).
 */
export type JwksSource = JSONWebKeySet | URL | CompactVerifyGetKey;

/** Options every check shares. */
export interface TokenCheckOptions {
  /** The verification keys. */
  readonly jwks: JwksSource;
  /** The issuer to require; default `https://sessions.hytale.com`. */
  readonly issuer?: string;
  /** "Now" for `exp`/`nbf`/`iat`; default the current time. */
  readonly now?: Date;
  /** Seconds of tolerance on `exp`/`nbf`/`iat`; default 300, as the server. */
  readonly clockToleranceSeconds?: number;
}

/** Options of {@link verifyIdentityToken}. */
export interface IdentityTokenExpectations extends TokenCheckOptions {
  /** The UUID the client sent in `Connect` (`sub` must equal it). */
  readonly clientUuid: ClientUuid | string;
  /** `'Game'` (scope `hytale:client`, the default) or `'Editor'` (scope `hytale:editor`). */
  readonly clientType?: 'Game' | 'Editor';
}

/** Options of {@link verifyAccessToken}. */
export interface AccessTokenExpectations extends TokenCheckOptions {
  /** This server's audience (the first element of `aud` must equal it). */
  readonly audience: string;
  /** SHA-256 of the certificate the client presented on this connection, base64url without padding. */
  readonly certificateFingerprint: string;
  /** The UUID the client sent in `Connect`. */
  readonly clientUuid: ClientUuid | string;
  /** The username the client sent in `Connect`. */
  readonly username: string;
}

/** What a verified identity token says. */
export interface VerifiedIdentityToken {
  readonly clientUuid: ClientUuid;
  readonly username: string | undefined;
  readonly scopes: readonly string[];
  readonly expiresAt: Date;
}

/** What a verified access token says. */
export interface VerifiedAccessToken {
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly audience: string;
  readonly certificateFingerprint: string;
  readonly expiresAt: Date;
}

const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;

function keyResolver(jwks: JwksSource): CompactVerifyGetKey {
  if (typeof jwks === 'function') return jwks;
  if (jwks instanceof URL) return createRemoteJWKSet(jwks) as unknown as CompactVerifyGetKey;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as JSONWebKeySet).keys)) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'jwks must be a JSON Web Key Set, its URL or a jose key resolver');
  }
  return createLocalJWKSet(jwks) as unknown as CompactVerifyGetKey;
}

/** A jose error without anything that could echo the token (jose errors carry claims at most). */
function sanitised(error: unknown): Error {
  const safe = new Error(error instanceof Error ? error.message : 'verification failed');
  safe.name = error instanceof Error ? error.name : 'Error';
  return safe;
}

export type Claims = Record<string, unknown>;

/**
 * Structure, algorithm, key and signature, then the common claims (§ Token checks, "every token"):
 * what the server checks on every token before the token-specific checks. Internal (the session
 * service uses it on tokens it issued); returns the claims.
 */
export async function verifyCommon(token: unknown, kind: TokenKind, options: TokenCheckOptions): Promise<Claims> {
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'not a string');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, `${parts.length} dot-separated parts, not 3`);
  const signatureLength = parts[2]!.length;
  if (signatureLength < 80 || signatureLength > 90) {
    throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, `signature of ${signatureLength} characters, not 80 to 90`);
  }
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (error) {
    throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'unreadable header', { cause: sanitised(error) });
  }
  if (alg !== 'EdDSA') throw new TokenError('ERR_TESTKIT_TOKEN_ALGORITHM', kind, `algorithm ${JSON.stringify(alg)}, not EdDSA`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, keyResolver(options.jwks), { algorithms: ['EdDSA'] }));
  } catch (error) {
    if (isTestkitError(error)) throw error;
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new TokenError('ERR_TESTKIT_TOKEN_SIGNATURE', kind, 'signature does not verify', { cause: sanitised(error) });
    }
    if (
      error instanceof joseErrors.JWKSNoMatchingKey ||
      error instanceof joseErrors.JWKSMultipleMatchingKeys ||
      error instanceof joseErrors.JWKSInvalid ||
      error instanceof joseErrors.JWKSTimeout ||
      error instanceof joseErrors.JOSENotSupported
    ) {
      throw new TokenError('ERR_TESTKIT_TOKEN_UNKNOWN_KEY', kind, 'no usable key for its kid', { cause: sanitised(error) });
    }
    if (error instanceof joseErrors.JOSEAlgNotAllowed) {
      throw new TokenError('ERR_TESTKIT_TOKEN_ALGORITHM', kind, 'algorithm not allowed', { cause: sanitised(error) });
    }
    if (error instanceof joseErrors.JOSEError) {
      // JWSInvalid and friends: a broken compact serialisation
      throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'not a valid JWS', { cause: sanitised(error) });
    }
    // fetching a remote JWKS failed (network): no key to check with
    throw new TokenError('ERR_TESTKIT_TOKEN_UNKNOWN_KEY', kind, 'the JWKS could not be read', { cause: sanitised(error) });
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'claims are not JSON', { cause: sanitised(error) });
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'claims are not a JSON object');
  }
  const c = claims as Claims;
  const issuer = options.issuer ?? HYTALE_SESSION_ISSUER;
  if (c['iss'] !== issuer) throw new TokenError('ERR_TESTKIT_TOKEN_ISSUER', kind, 'issuer is not the session service');
  const tolerance = options.clockToleranceSeconds ?? TOKEN_CLOCK_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = c['exp'];
  if (exp === undefined) throw new TokenError('ERR_TESTKIT_TOKEN_EXPIRED', kind, 'no exp claim');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, 'exp is not a number');
  if (exp < now - tolerance) throw new TokenError('ERR_TESTKIT_TOKEN_EXPIRED', kind, 'expired');
  for (const claim of ['nbf', 'iat'] as const) {
    const value = c[claim];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenError('ERR_TESTKIT_TOKEN_MALFORMED', kind, `${claim} is not a number`);
    if (value > now + tolerance) throw new TokenError('ERR_TESTKIT_TOKEN_NOT_YET_VALID', kind, `${claim} is in the future`);
  }
  const sub = c['sub'];
  if (typeof sub !== 'string' || !isClientUuid(sub.toLowerCase())) throw new TokenError('ERR_TESTKIT_TOKEN_SUBJECT', kind, 'sub is not a UUID');
  return c;
}

function expectedUuid(value: ClientUuid | string): ClientUuid {
  try {
    return parseClientUuid(value);
  } catch (error) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'clientUuid is not a UUID', { cause: error });
  }
}

function subjectOf(claims: Claims): ClientUuid {
  return parseClientUuid(claims['sub'] as string);
}

/**
 * The server's checks on `Connect.identityToken`: EdDSA signature by a JWKS key, issuer, `exp`
 * (required) / `nbf` / `iat` with 300 s tolerance, `sub` a UUID equal to the Connect UUID, and the
 * scope `hytale:client` (`hytale:editor` for an editor). No audience, no certificate binding.
 *
 * @example
 * ```ts
 * const identity = await verifyIdentityToken(connect.identityToken, { jwks: service.jwksUrl, clientUuid: connect.uuid });
 * identity.username; // from the token's profile
 * ```
 */
export async function verifyIdentityToken(token: unknown, expect: IdentityTokenExpectations): Promise<VerifiedIdentityToken> {
  const clientUuid = expectedUuid(expect.clientUuid);
  const claims = await verifyCommon(token, 'identity', expect);
  if (subjectOf(claims) !== clientUuid) throw new TokenError('ERR_TESTKIT_TOKEN_SUBJECT', 'identity', 'sub is not the Connect UUID');
  const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ').filter(Boolean) : [];
  const wanted = expect.clientType === 'Editor' ? EDITOR_SCOPE : CLIENT_SCOPE;
  if (!scopes.includes(wanted)) throw new TokenError('ERR_TESTKIT_TOKEN_SCOPE', 'identity', `scope does not include ${wanted}`);
  const profile = claims['profile'];
  const username =
    typeof profile === 'object' && profile !== null && typeof (profile as Claims)['username'] === 'string'
      ? ((profile as Claims)['username'] as string)
      : undefined;
  return { clientUuid, username, scopes, expiresAt: new Date((claims['exp'] as number) * 1000) };
}

function firstAudience(claims: Claims): unknown {
  const aud = claims['aud'];
  return Array.isArray(aud) ? aud[0] : aud;
}

function boundFingerprint(claims: Claims): unknown {
  const cnf = claims['cnf'];
  return typeof cnf === 'object' && cnf !== null ? (cnf as Claims)['x5t#S256'] : undefined;
}

function checkFingerprintArgument(value: unknown): void {
  if (typeof value !== 'string' || !FINGERPRINT.test(value)) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'certificateFingerprint must be a SHA-256 in base64url without padding (43 characters)');
  }
}

/**
 * The server's checks on `AuthToken.accessToken`: the common checks (signature, issuer, times,
 * `sub` a UUID), then `aud` (its first element) equal to this server's audience, `sub` equal to the
 * Connect UUID, `username` equal to the Connect username, and `cnf.x5t#S256` present and equal to
 * the fingerprint of the certificate the client presented on this very connection.
 *
 * @example
 * ```ts
 * await verifyAccessToken(authToken.accessToken, {
 *   jwks: service.jwksUrl, audience, clientUuid: connect.uuid, username: connect.username,
 *   certificateFingerprint: connection.peerCertificateFingerprint!,
 * }); // throws TokenError ERR_TESTKIT_TOKEN_BINDING for a token bound to another certificate
 * ```
 */
export async function verifyAccessToken(token: unknown, expect: AccessTokenExpectations): Promise<VerifiedAccessToken> {
  const clientUuid = expectedUuid(expect.clientUuid);
  checkFingerprintArgument(expect.certificateFingerprint);
  if (typeof expect.audience !== 'string' || expect.audience.length === 0) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'audience must be a non-empty string');
  }
  const claims = await verifyCommon(token, 'access', expect);
  if (firstAudience(claims) !== expect.audience) throw new TokenError('ERR_TESTKIT_TOKEN_AUDIENCE', 'access', 'aud is not this server');
  if (subjectOf(claims) !== clientUuid) throw new TokenError('ERR_TESTKIT_TOKEN_SUBJECT', 'access', 'sub is not the Connect UUID');
  if (claims['username'] !== expect.username) throw new TokenError('ERR_TESTKIT_TOKEN_USERNAME', 'access', 'username is not the Connect username');
  const bound = boundFingerprint(claims);
  if (bound === undefined) throw new TokenError('ERR_TESTKIT_TOKEN_BINDING', 'access', 'no cnf.x5t#S256 claim');
  if (bound !== expect.certificateFingerprint) {
    throw new TokenError('ERR_TESTKIT_TOKEN_BINDING', 'access', "bound to another certificate than the client's");
  }
  return {
    clientUuid,
    username: expect.username,
    audience: expect.audience,
    certificateFingerprint: expect.certificateFingerprint,
    expiresAt: new Date((claims['exp'] as number) * 1000),
  };
}

/** Options of {@link verifyClientTokens}: both tokens' expectations together. */
export interface ClientTokenExpectations extends TokenCheckOptions {
  readonly identityToken: unknown;
  readonly accessToken: unknown;
  readonly audience: string;
  readonly certificateFingerprint: string;
  readonly clientUuid: ClientUuid | string;
  readonly username: string;
  readonly clientType?: 'Game' | 'Editor';
}

/**
 * Both checks a server makes on a joining client, in the server's order: the identity token (at
 * Connect), then the access token and its certificate binding (at AuthToken).
 *
 * @example
 * ```ts
 * const { identity, access } = await verifyClientTokens({
 *   identityToken, accessToken, jwks: service.jwks(), audience,
 *   certificateFingerprint: connection.peerCertificateFingerprint!, clientUuid, username,
 * });
 * ```
 */
export async function verifyClientTokens(
  options: ClientTokenExpectations,
): Promise<{ readonly identity: VerifiedIdentityToken; readonly access: VerifiedAccessToken }> {
  const { identityToken, accessToken, ...expect } = options;
  const jwks = typeof expect.jwks === 'function' ? expect.jwks : keyResolver(expect.jwks); // one key set (one fetch) for both
  const identity = await verifyIdentityToken(identityToken, { ...expect, jwks });
  const access = await verifyAccessToken(accessToken, { ...expect, jwks });
  return { identity, access };
}

/** Options of {@link verifyServerAccessToken}. */
export interface ServerAccessTokenExpectations extends TokenCheckOptions {
  /** SHA-256 of the certificate the server presented in the TLS handshake, base64url without padding. */
  readonly certificateFingerprint: string;
}

/**
 * A client's check of `ServerAuthToken.serverAccessToken` (inferred, as no client code is public):
 * the common checks, and `cnf.x5t#S256` equal to the certificate the server presented.
 */
export async function verifyServerAccessToken(token: unknown, expect: ServerAccessTokenExpectations): Promise<{ readonly subject: string; readonly expiresAt: Date }> {
  checkFingerprintArgument(expect.certificateFingerprint);
  const claims = await verifyCommon(token, 'server-access', expect);
  const bound = boundFingerprint(claims);
  if (bound === undefined) throw new TokenError('ERR_TESTKIT_TOKEN_BINDING', 'server-access', 'no cnf.x5t#S256 claim');
  if (bound !== expect.certificateFingerprint) {
    throw new TokenError('ERR_TESTKIT_TOKEN_BINDING', 'server-access', "bound to another certificate than the server's");
  }
  return { subject: claims['sub'] as string, expiresAt: new Date((claims['exp'] as number) * 1000) };
}
