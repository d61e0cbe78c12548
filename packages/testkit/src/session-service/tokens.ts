/**
 * Minting the fake session service's tokens: EdDSA (Ed25519) JWTs shaped like the Hytale session
 * service's (docs/testkit.md § Fake session service), and the faults a test can ask for on purpose.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** The issuer of the real service's tokens, which the server requires (`iss`). */
export const HYTALE_SESSION_ISSUER = 'https://sessions.hytale.com';

/** The identity-token scope of a game client (an editor client carries `hytale:editor`). */
export const CLIENT_SCOPE = 'hytale:client';
/** The identity-token scope of an editor client. */
export const EDITOR_SCOPE = 'hytale:editor';
/** The identity-token scope this fake gives a server's (or proxy's) own identity. */
export const SERVER_SCOPE = 'hytale:server';

/**
 * A deliberate defect in a minted token, to prove a verifier refuses it:
 *
 * - `'expired'`: `exp` an hour in the past (beyond the 300 s tolerance);
 * - `'not-yet-valid'`: `nbf` and `iat` an hour in the future;
 * - `'no-expiry'`: no `exp` claim at all;
 * - `'badly-signed'`: signed by another Ed25519 key under the service's `kid`;
 * - `'wrong-issuer'`: `iss` is not the service's issuer;
 * - `'wrong-subject'`: `sub` is another UUID than the player's;
 * - `'wrong-audience'` (access tokens): `aud` is another server's audience;
 * - `'wrongly-bound'` (access tokens): `cnf.x5t#S256` is the fingerprint of another certificate;
 * - `'unbound'` (access tokens): no `cnf` claim;
 * - `'wrong-scope'` (identity tokens): `scope` is not the client scope.
 */
export type TokenFault =
  | 'expired'
  | 'not-yet-valid'
  | 'no-expiry'
  | 'badly-signed'
  | 'wrong-issuer'
  | 'wrong-subject'
  | 'wrong-audience'
  | 'wrongly-bound'
  | 'unbound'
  | 'wrong-scope';

/** Every {@link TokenFault}, for tests that walk them all. */
export const TOKEN_FAULTS: readonly TokenFault[] = Object.freeze([
  'expired',
  'not-yet-valid',
  'no-expiry',
  'badly-signed',
  'wrong-issuer',
  'wrong-subject',
  'wrong-audience',
  'wrongly-bound',
  'unbound',
  'wrong-scope',
]);

/** The claims of an identity token (`Connect.identityToken`). */
export interface IdentityTokenClaims {
  readonly iss: string;
  /** The player's (or server's) UUID. */
  readonly sub: string;
  /** Space-separated scopes: `hytale:client`, `hytale:editor` or (this fake) `hytale:server`. */
  readonly scope: string;
  readonly profile: { readonly username: string; readonly entitlements: readonly string[] };
  readonly iat: number;
  readonly nbf?: number;
  readonly exp?: number;
}

/** The claims of an access token (`AuthToken.accessToken`, `ServerAuthToken.serverAccessToken`). */
export interface AccessTokenClaims {
  readonly iss: string;
  /** The audience list; the server compares its first element with its own audience. */
  readonly aud: readonly string[];
  readonly sub: string;
  readonly username: string;
  /** The address the exchange came from (informative; the server does not check it). */
  readonly ip?: string;
  readonly iat: number;
  readonly nbf?: number;
  readonly exp?: number;
  /** The certificate binding: SHA-256 of the holder's TLS certificate, base64url without padding. */
  readonly cnf?: { readonly 'x5t#S256': string };
}

/** An Ed25519 signing key with its `kid` and public JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Makes an Ed25519 key; its `kid` is the RFC 7638 thumbprint of the public key. */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: Object.freeze({ ...jwk, kid, alg: 'EdDSA', use: 'sig' }) };
}

/** The public JWKS of some keys. */
export function jwksOf(keys: readonly SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}

/** What the token minter needs to know about time and keys. */
export interface MintContext {
  readonly issuer: string;
  readonly key: SigningKey;
  /** Signs `'badly-signed'` tokens: another key, presented under `key.kid`. */
  readonly rogueKey: SigningKey;
  /** Seconds since the epoch. */
  readonly now: number;
  /** Lifetime of a token, seconds. */
  readonly ttlSeconds: number;
}

const HOUR = 3600;

/** A fingerprint of no certificate anyone holds (for `'wrongly-bound'`). */
function strayFingerprint(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url');
}

function timesFor(fault: TokenFault | undefined, context: MintContext): { iat: number; nbf?: number; exp?: number } {
  const { now, ttlSeconds } = context;
  switch (fault) {
    case 'expired':
      return { iat: now - 2 * HOUR, nbf: now - 2 * HOUR, exp: now - HOUR };
    case 'not-yet-valid':
      return { iat: now + HOUR, nbf: now + HOUR, exp: now + HOUR + ttlSeconds };
    case 'no-expiry':
      return { iat: now, nbf: now };
    default:
      return { iat: now, nbf: now, exp: now + ttlSeconds };
  }
}

async function sign(claims: object, fault: TokenFault | undefined, context: MintContext): Promise<string> {
  const key = fault === 'badly-signed' ? context.rogueKey : context.key;
  return new SignJWT({ ...claims } as Record<string, unknown>)
    .setProtectedHeader({ alg: 'EdDSA', kid: context.key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/** What an identity token names. */
export interface IdentitySubject {
  readonly subject: string;
  readonly username: string;
  readonly scope: string;
  readonly entitlements?: readonly string[];
}

/** Mints an identity token (optionally with a deliberate fault). */
export async function mintIdentityToken(subject: IdentitySubject, context: MintContext, fault?: TokenFault): Promise<string> {
  const claims: IdentityTokenClaims = {
    iss: fault === 'wrong-issuer' ? 'https://sessions.invalid' : context.issuer,
    sub: fault === 'wrong-subject' ? randomUUID() : subject.subject,
    scope: fault === 'wrong-scope' ? 'hytale:nothing' : subject.scope,
    profile: { username: subject.username, entitlements: [...(subject.entitlements ?? ['game.base'])] },
    ...timesFor(fault, context),
  };
  return sign(claims, fault, context);
}

/** What an access token names and binds. */
export interface AccessSubject {
  readonly subject: string;
  readonly username: string;
  readonly audience: string;
  /** `cnf.x5t#S256`: SHA-256 of the holder's certificate, base64url without padding. */
  readonly certificateFingerprint: string;
  readonly ip?: string;
}

/** Mints an access token (optionally with a deliberate fault). */
export async function mintAccessToken(subject: AccessSubject, context: MintContext, fault?: TokenFault): Promise<string> {
  const claims: AccessTokenClaims = {
    iss: fault === 'wrong-issuer' ? 'https://sessions.invalid' : context.issuer,
    aud: [fault === 'wrong-audience' ? randomUUID() : subject.audience],
    sub: fault === 'wrong-subject' ? randomUUID() : subject.subject,
    username: subject.username,
    ...(subject.ip === undefined ? {} : { ip: subject.ip }),
    ...timesFor(fault, context),
    ...(fault === 'unbound' ? {} : { cnf: { 'x5t#S256': fault === 'wrongly-bound' ? strayFingerprint() : subject.certificateFingerprint } }),
  };
  return sign(claims, fault, context);
}

/** An opaque single-use secret (grants, session tokens): 32 random bytes, base64url. */
export function opaqueSecret(): string {
  return randomBytes(32).toString('base64url');
}
