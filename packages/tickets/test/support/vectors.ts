/**
 * Builds docs/tickets-vectors.json deterministically (fixed keys, fixed clock, deterministic nonces).
 * Expected results are written here by hand from the spec, never computed by running the verifier;
 * `test/vectors.test.ts` checks the file against the code both ways.
 *
 * Regenerate: `cd /work/main && node --conditions=source --import tsx packages/tickets/test/support/generate-vectors.ts`
 */
import { createHash } from 'node:crypto';
import type { JWK } from 'jose';
import {
  createKeyRing,
  createMemoryStateStore,
  createTicketIssuer,
  type TicketErrorCode,
  type KeyRing,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid, parsePoolId, parseSessionId } from '@handoff/types';
import { BINDING, T0, TEST_ED25519_JWK, TEST_ED25519_JWK_2, TEST_HS256_SECRET, TEST_HS256_SECRET_UTF8, deterministicRandom, publicJwk, testClock } from './fixtures.js';
import { b64u, signRaw } from './raw-sign.js';

export type VectorResult = { readonly ok: true; readonly header: Record<string, unknown>; readonly claims: Record<string, unknown> } | { readonly ok: false; readonly code: TicketErrorCode };

export interface Vector {
  readonly name: string;
  readonly description: string;
  /** Verifier clock, seconds since the epoch. */
  readonly now: number;
  readonly token: string;
  /** Results of verifying `token` repeatedly against one fresh replay store, in order. */
  readonly verifications: readonly VectorResult[];
  /** For by-reference state: the bytes the store returned (base64url) and the result of checking them. */
  readonly state?: { readonly fetched: string; readonly result: { readonly ok: true } | { readonly ok: false; readonly code: TicketErrorCode } };
}

export interface VectorFile {
  readonly $comment: readonly string[];
  readonly version: 1;
  readonly typ: 'handoff-migration+jwt';
  readonly maxTicketBytes: 4096;
  readonly keys: readonly Record<string, unknown>[];
  readonly verifier: { readonly maxTtlSeconds: number; readonly clockToleranceSeconds: number };
  readonly binding: { readonly clientUuid: string; readonly source: string; readonly target: string };
  readonly vectors: readonly Vector[];
}

export const ED_KID = 'vectors-ed25519';
export const HS_KID = 'vectors-hs256';
const TYP = 'handoff-migration+jwt';
const TTL = 30;
const MAX_TTL = 60;
const TOLERANCE = 5;

type Claims = Record<string, unknown>;

function fail(code: TicketErrorCode): VectorResult {
  return { ok: false, code };
}

export async function buildVectors(): Promise<VectorFile> {
  const clock = testClock(T0);
  const produced: Uint8Array[] = [];
  const base = deterministicRandom('handoff-ticket-vectors-v1');
  const random = (size: number): Uint8Array => {
    const bytes = base(size);
    produced.push(bytes);
    return bytes;
  };
  const lastRandom = (): string => b64u(produced[produced.length - 1]!);

  const edRing = createKeyRing({ now: clock.now });
  await edRing.add({ kid: ED_KID, jwk: TEST_ED25519_JWK });
  const hsRing = createKeyRing({ now: clock.now });
  await hsRing.add({ kid: HS_KID, secret: TEST_HS256_SECRET });
  const stateStore = createMemoryStateStore({ now: clock.now, random });

  const vectors: Vector[] = [];
  const edHeader = { alg: 'EdDSA', kid: ED_KID, typ: TYP };
  const hsHeader = { alg: 'HS256', kid: HS_KID, typ: TYP };
  const binding = { sub: BINDING.clientUuid, iss: BINDING.source, aud: BINDING.target };

  /** Issues with the package issuer at `iat`; returns the token and the claims the spec says it carries. */
  const issue = async (
    ring: KeyRing,
    iat: number,
    options: { ttl?: number; iss?: string; aud?: string; sub?: string; pool?: string; sid?: string; state?: Uint8Array } = {},
  ): Promise<{ token: string; claims: Claims }> => {
    clock.set(iat);
    const ttl = options.ttl ?? TTL;
    const issuer = createTicketIssuer({ keyRing: ring, issuer: parseBackendId(options.iss ?? binding.iss), ttlSeconds: ttl, now: clock.now, random, stateStore });
    const mark = produced.length;
    const token = await issuer.issue({
      clientUuid: parseClientUuid(options.sub ?? binding.sub),
      target: parseBackendId(options.aud ?? binding.aud),
      pool: options.pool === undefined ? undefined : parsePoolId(options.pool),
      sessionId: options.sid === undefined ? undefined : parseSessionId(options.sid),
      state: options.state,
    });
    const jti = b64u(produced[mark]!);
    const claims: Claims = { iss: options.iss ?? binding.iss, aud: options.aud ?? binding.aud, sub: options.sub ?? binding.sub, jti, iat, exp: iat + ttl };
    if (options.pool !== undefined) claims.pool = options.pool;
    if (options.sid !== undefined) claims.sid = options.sid;
    if (options.state !== undefined) {
      claims.st =
        produced.length > mark + 1
          ? { ref: b64u(produced[mark + 1]!), len: options.state.length, sha256: sha256b64u(options.state) }
          : { in: b64u(options.state) };
    }
    return { token, claims };
  };
  const ok = (header: Claims, claims: Claims): VectorResult => ({ ok: true, header, claims });
  const rawClaims = (iat: number, extra: Claims = {}): Claims => {
    random(16);
    return { iss: binding.iss, aud: binding.aud, sub: binding.sub, jti: lastRandom(), iat, exp: iat + TTL, ...extra };
  };
  const canonical = (claims: Claims): Claims => {
    const { iss, aud, sub, jti, iat, exp, ...rest } = claims;
    return { iss, aud, sub, jti, iat, exp, ...rest };
  };

  // --- valid tickets
  const edValid = await issue(edRing, T0, { pool: 'minigames', sid: 'sess-42' });
  vectors.push({
    name: 'valid-eddsa',
    description: 'EdDSA ticket with pool and sid, verified at its iat',
    now: T0,
    token: edValid.token,
    verifications: [ok(edHeader, edValid.claims)],
  });
  const hsValid = await issue(hsRing, T0);
  vectors.push({
    name: 'valid-hs256',
    description: 'HS256 ticket with only the required claims',
    now: T0,
    token: hsValid.token,
    verifications: [ok(hsHeader, hsValid.claims)],
  });
  const inlineState = new TextEncoder().encode(JSON.stringify({ world: 'hub', x: 12.5, y: 64, z: -3, inventory: ['sword', 'bread'] }));
  const inline = await issue(edRing, T0, { pool: 'minigames', state: inlineState });
  vectors.push({
    name: 'valid-state-inline',
    description: 'state small enough to fit the 4096-byte budget travels inline (st.in)',
    now: T0,
    token: inline.token,
    verifications: [ok(edHeader, inline.claims)],
  });
  const bigState = deterministicRandom('vectors-state')(3000);
  const byRef = await issue(edRing, T0, { pool: 'minigames', state: bigState });
  vectors.push({
    name: 'valid-state-reference',
    description: '3000 state bytes do not fit inline, so they go by reference (st.ref, st.len, st.sha256); the fetched bytes match',
    now: T0,
    token: byRef.token,
    verifications: [ok(edHeader, byRef.claims)],
    state: { fetched: b64u(bigState), result: { ok: true } },
  });
  const byRef2 = await issue(edRing, T0, { state: bigState });
  const tamperedState = new Uint8Array(bigState);
  tamperedState[1500] = tamperedState[1500]! ^ 0x01;
  vectors.push({
    name: 'state-reference-hash-mismatch',
    description: 'valid ticket, but the bytes fetched for its reference differ in one bit: the SHA-256 check refuses them',
    now: T0,
    token: byRef2.token,
    verifications: [ok(edHeader, byRef2.claims)],
    state: { fetched: b64u(tamperedState), result: { ok: false, code: 'ERR_TICKET_STATE_MISMATCH' } },
  });
  vectors.push({
    name: 'state-reference-length-mismatch',
    description: 'valid ticket, but the fetched bytes are one byte short',
    now: T0,
    token: byRef2.token,
    verifications: [ok(edHeader, byRef2.claims)],
    state: { fetched: b64u(bigState.subarray(0, bigState.length - 1)), result: { ok: false, code: 'ERR_TICKET_STATE_MISMATCH' } },
  });

  // --- single use
  const replay = await issue(edRing, T0);
  vectors.push({
    name: 'replay',
    description: 'the same ticket verified twice against one replay store: the second use is refused',
    now: T0,
    token: replay.token,
    verifications: [ok(edHeader, replay.claims), fail('ERR_TICKET_REPLAYED')],
  });

  // --- tampering
  const [h, p, s] = edValid.token.split('.') as [string, string, string];
  vectors.push({
    name: 'tampered-header',
    description: 'header re-encoded with an extra space: same members, different signing input',
    now: T0,
    token: `${b64u(`{"alg":"EdDSA","kid":"${ED_KID}","typ":"${TYP}" }`)}.${p}.${s}`,
    verifications: [fail('ERR_TICKET_SIGNATURE')],
  });
  const tamperedPayload = b64u(JSON.stringify({ ...edValid.claims, pool: 'minigamez' }));
  vectors.push({
    name: 'tampered-payload',
    description: 'payload with pool changed from "minigames" to "minigamez", original signature',
    now: T0,
    token: `${h}.${tamperedPayload}.${s}`,
    verifications: [fail('ERR_TICKET_SIGNATURE')],
  });
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  vectors.push({
    name: 'tampered-signature',
    description: 'one character of the signature changed',
    now: T0,
    token: `${h}.${p}.${flipped}`,
    verifications: [fail('ERR_TICKET_SIGNATURE')],
  });

  // --- algorithms
  vectors.push({
    name: 'alg-none',
    description: 'alg "none" with an empty signature',
    now: T0,
    token: signRaw({ alg: 'none', kid: ED_KID, typ: TYP }, canonical(rawClaims(T0)), { none: true }),
    verifications: [fail('ERR_TICKET_ALG')],
  });
  vectors.push({
    name: 'alg-hs256-with-eddsa-kid',
    description: 'algorithm confusion: HS256 over the Ed25519 kid, keyed with the Ed25519 public key bytes',
    now: T0,
    token: signRaw({ alg: 'HS256', kid: ED_KID, typ: TYP }, canonical(rawClaims(T0)), { hmac: Buffer.from(TEST_ED25519_JWK.x!, 'base64url') }),
    verifications: [fail('ERR_TICKET_ALG')],
  });
  vectors.push({
    name: 'alg-eddsa-with-hs256-kid',
    description: 'EdDSA ticket (valid Ed25519 signature by a test key) naming the HS256 kid',
    now: T0,
    token: signRaw({ alg: 'EdDSA', kid: HS_KID, typ: TYP }, canonical(rawClaims(T0)), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_ALG')],
  });
  vectors.push({
    name: 'alg-rs256',
    description: 'an algorithm that is never allowed (RS256)',
    now: T0,
    token: signRaw({ alg: 'RS256', kid: ED_KID, typ: TYP }, canonical(rawClaims(T0)), { hmac: new Uint8Array(32) }),
    verifications: [fail('ERR_TICKET_ALG')],
  });
  vectors.push({
    name: 'kid-unknown',
    description: 'signed by a key whose kid is not in the key ring',
    now: T0,
    token: signRaw({ alg: 'EdDSA', kid: 'vectors-unknown', typ: TYP }, canonical(rawClaims(T0)), { ed25519: TEST_ED25519_JWK_2 }),
    verifications: [fail('ERR_TICKET_KEY_UNKNOWN')],
  });
  vectors.push({
    name: 'signed-by-other-key',
    description: 'the right kid, but signed by another Ed25519 key',
    now: T0,
    token: signRaw(edHeader, canonical(rawClaims(T0)), { ed25519: TEST_ED25519_JWK_2 }),
    verifications: [fail('ERR_TICKET_SIGNATURE')],
  });

  // --- time (tolerance 5 s; exp is the last valid second, inclusive)
  const edge = await issue(edRing, T0);
  vectors.push({
    name: 'expired-at-tolerance-edge',
    description: 'now = exp + tolerance: still accepted',
    now: T0 + TTL + TOLERANCE,
    token: edge.token,
    verifications: [ok(edHeader, edge.claims)],
  });
  const expired = await issue(edRing, T0);
  vectors.push({
    name: 'expired',
    description: 'now = exp + tolerance + 1: refused',
    now: T0 + TTL + TOLERANCE + 1,
    token: expired.token,
    verifications: [fail('ERR_TICKET_EXPIRED')],
  });
  const early = await issue(edRing, T0 + TOLERANCE);
  vectors.push({
    name: 'not-yet-valid-at-tolerance-edge',
    description: 'iat = now + tolerance: still accepted',
    now: T0,
    token: early.token,
    verifications: [ok(edHeader, early.claims)],
  });
  const future = await issue(edRing, T0 + TOLERANCE + 1);
  vectors.push({
    name: 'not-yet-valid',
    description: 'iat = now + tolerance + 1: refused',
    now: T0,
    token: future.token,
    verifications: [fail('ERR_TICKET_NOT_YET_VALID')],
  });
  const maxTtl = await issue(edRing, T0, { ttl: MAX_TTL });
  vectors.push({
    name: 'ttl-at-maximum',
    description: 'exp - iat = maxTtlSeconds (60): accepted',
    now: T0,
    token: maxTtl.token,
    verifications: [ok(edHeader, maxTtl.claims)],
  });
  const overTtl = await issue(edRing, T0, { ttl: MAX_TTL + 1 });
  vectors.push({
    name: 'ttl-over-maximum',
    description: 'exp - iat = 61 > maxTtlSeconds: refused',
    now: T0,
    token: overTtl.token,
    verifications: [fail('ERR_TICKET_TTL')],
  });

  // --- bindings
  const otherClient = await issue(edRing, T0, { sub: 'ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d' });
  vectors.push({ name: 'client-mismatch', description: 'sub is another client', now: T0, token: otherClient.token, verifications: [fail('ERR_TICKET_CLIENT_MISMATCH')] });
  const otherSource = await issue(edRing, T0, { iss: 'lobby-2' });
  vectors.push({ name: 'source-mismatch', description: 'iss is another backend', now: T0, token: otherSource.token, verifications: [fail('ERR_TICKET_SOURCE_MISMATCH')] });
  const otherTarget = await issue(edRing, T0, { aud: 'game-8' });
  vectors.push({ name: 'target-mismatch', description: 'aud is another backend', now: T0, token: otherTarget.token, verifications: [fail('ERR_TICKET_TARGET_MISMATCH')] });

  // --- size and structure
  const huge = signRaw(edHeader, canonical(rawClaims(T0, { st: { in: b64u(deterministicRandom('vectors-huge')(3000)) } })), { ed25519: TEST_ED25519_JWK });
  vectors.push({
    name: 'too-large',
    description: `a correctly signed ticket of ${huge.length} bytes (> 4096): refused before parsing`,
    now: T0,
    token: huge,
    verifications: [fail('ERR_TICKET_TOO_LARGE')],
  });
  vectors.push({ name: 'malformed-two-segments', description: 'not three segments', now: T0, token: `${h}.${p}`, verifications: [fail('ERR_TICKET_MALFORMED')] });
  vectors.push({
    name: 'malformed-padding',
    description: 'base64url with "=" padding is not canonical',
    now: T0,
    token: `${h}.${p}.${s}==`,
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });
  vectors.push({
    name: 'malformed-typ',
    description: 'typ "JWT" instead of "handoff-migration+jwt" (correctly signed)',
    now: T0,
    token: signRaw({ alg: 'EdDSA', kid: ED_KID, typ: 'JWT' }, canonical(rawClaims(T0)), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });
  vectors.push({
    name: 'malformed-header-member',
    description: 'an extra header member (jku) is refused',
    now: T0,
    token: signRaw({ alg: 'EdDSA', kid: ED_KID, typ: TYP, jku: 'https://attacker.example/jwks' }, canonical(rawClaims(T0)), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });
  vectors.push({
    name: 'malformed-unknown-claim',
    description: 'an unknown claim (nbf) is refused: the claim set is closed (correctly signed)',
    now: T0,
    token: signRaw(edHeader, canonical(rawClaims(T0, { nbf: T0 })), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });
  vectors.push({
    name: 'malformed-uppercase-sub',
    description: 'sub must be a lowercase canonical UUID (correctly signed)',
    now: T0,
    token: signRaw(edHeader, canonical(rawClaims(T0, { sub: binding.sub.toUpperCase() })), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });
  vectors.push({
    name: 'malformed-fractional-exp',
    description: 'iat and exp must be integers (correctly signed)',
    now: T0,
    token: signRaw(edHeader, canonical(rawClaims(T0, { exp: T0 + 10.5 })), { ed25519: TEST_ED25519_JWK }),
    verifications: [fail('ERR_TICKET_MALFORMED')],
  });

  return {
    $comment: [
      'Cross-language test vectors for handoff migration tickets (docs/tickets.md).',
      'TEST-ONLY KEYS: the keys below are public; never use them outside tests.',
      'For each vector: build a verifier with every key below, maxTtlSeconds and clockToleranceSeconds below, a fresh replay store,',
      'and the clock at `now` (seconds); verify `token` against `binding` once per entry of `verifications`, in order.',
      'ok results list the decoded header and claims; failures list the exact error code.',
      'For vectors with `state`: check the fetched bytes (base64url) against the ticket st claim (length, then SHA-256).',
      'Regenerate with packages/tickets/test/support/generate-vectors.ts; packages/tickets/test/vectors.test.ts checks this file against the code.',
    ],
    version: 1,
    typ: TYP,
    maxTicketBytes: 4096,
    keys: [
      { label: 'TEST ONLY - Ed25519 signing key', kid: ED_KID, alg: 'EdDSA', privateJwk: { ...TEST_ED25519_JWK, kid: ED_KID }, publicJwk: { ...publicJwk(TEST_ED25519_JWK), kid: ED_KID } },
      {
        label: 'TEST ONLY - HS256 shared secret (40 ASCII bytes)',
        kid: HS_KID,
        alg: 'HS256',
        secretUtf8: TEST_HS256_SECRET_UTF8,
        jwk: { kty: 'oct', kid: HS_KID, k: b64u(TEST_HS256_SECRET) } satisfies JWK,
      },
    ],
    verifier: { maxTtlSeconds: MAX_TTL, clockToleranceSeconds: TOLERANCE },
    binding: { clientUuid: binding.sub, source: binding.iss, target: binding.aud },
    vectors,
  };
}

/** SHA-256, unpadded base64url; node:crypto directly, independent of the package. */
function sha256b64u(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** The file text exactly as committed (2-space JSON, trailing newline). */
export function serializeVectors(file: VectorFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}
