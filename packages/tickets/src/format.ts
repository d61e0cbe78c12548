/**
 * The wire format of a migration ticket (see docs/tickets.md): a compact JWS whose protected header is
 * exactly `{"alg","kid","typ"}` and whose payload is a closed set of claims. This module parses and
 * encodes both strictly; it performs no cryptography.
 */
import { TicketError } from './errors.js';
import { BACKEND_ID_PATTERN, CLIENT_UUID_PATTERN, SESSION_ID_PATTERN } from '@handoff/types';

/** The `typ` header value every ticket carries. */
export const TICKET_TYP = 'handoff-migration+jwt';
/** The largest ticket, in bytes (the `Connect.referralData` limit). */
export const MAX_TICKET_BYTES = 4096;
/** Size of the `jti` nonce in bytes (base64url: 22 characters). */
export const NONCE_BYTES = 16;
/** The algorithms a ticket may use. Every other value (including `none`) is refused. */
export const TICKET_ALGORITHMS = ['EdDSA', 'HS256'] as const;
/** A ticket signature algorithm. */
export type TicketAlgorithm = (typeof TICKET_ALGORITHMS)[number];
/** Signature length in bytes per algorithm. */
export const SIGNATURE_BYTES: Readonly<Record<TicketAlgorithm, number>> = { EdDSA: 64, HS256: 32 };
/** Grammar of key ids. */
export const KID_PATTERN = /^[A-Za-z0-9._:~+/=-]{1,128}$/;
/** Grammar of a by-reference state `ref`. */
export const STATE_REF_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Upper bound of the `len` member of a by-reference state claim. */
export const MAX_STATE_REF_LENGTH = 2 ** 31 - 1;

const B64U = /^[A-Za-z0-9_-]*$/;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const SHA256_B64U_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The protected header of a ticket. */
export interface TicketHeader {
  readonly alg: TicketAlgorithm;
  readonly kid: string;
  readonly typ: typeof TICKET_TYP;
}

/** The `st` claim: state inline (`in`, base64url bytes) or by reference into a shared store. */
export type StateClaim =
  | { readonly in: string }
  | { readonly ref: string; readonly len: number; readonly sha256: string };

/** The claims of a ticket, in their canonical serialisation order. */
export interface TicketClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly pool?: string;
  readonly sid?: string;
  readonly st?: StateClaim;
}

function malformed(reason: string): TicketError {
  return new TicketError('ERR_TICKET_MALFORMED', `malformed ticket: ${reason.replace(/-/g, ' ')}`, { reason });
}

/** Unpadded base64url of `bytes` (RFC 4648 §5). */
export function base64url(bytes: Uint8Array | string): string {
  return (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('base64url');
}

/**
 * Decodes canonical unpadded base64url, or returns `undefined`: characters outside the alphabet, `=`,
 * a length ≡ 1 (mod 4) and non-zero trailing bits are all refused (decode then re-encode must match).
 */
export function decodeBase64urlStrict(text: string): Buffer | undefined {
  if (!B64U.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** The three segments of a compact ticket. */
export interface TicketSegments {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
}

/**
 * Checks the size and the structure of a compact ticket: at most {@link MAX_TICKET_BYTES} bytes,
 * ASCII, exactly three segments of canonical base64url, header and payload non-empty.
 */
export function splitTicket(token: string | Uint8Array): TicketSegments {
  let text: string;
  if (token instanceof Uint8Array) {
    if (token.length > MAX_TICKET_BYTES) throw new TicketError('ERR_TICKET_TOO_LARGE', undefined, { reason: 'verify' });
    for (const byte of token) if (byte > 0x7e || byte < 0x21) throw malformed('not-ascii');
    text = Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('latin1');
  } else if (typeof token === 'string') {
    // UTF-8 is never shorter than UTF-16 code units, so `length` alone decides the common case.
    if (token.length > MAX_TICKET_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TICKET_BYTES) {
      throw new TicketError('ERR_TICKET_TOO_LARGE', undefined, { reason: 'verify' });
    }
    text = token;
  } else {
    throw malformed('not-a-string');
  }
  const parts = text.split('.');
  if (parts.length !== 3) throw malformed('segment-count');
  const [header, payload, signature] = parts as [string, string, string];
  if (header.length === 0 || payload.length === 0) throw malformed('empty-segment');
  for (const part of parts) if (decodeBase64urlStrict(part) === undefined) throw malformed('base64url');
  return { header, payload, signature };
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw malformed(`${what}-json`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what}-not-object`);
  return value as Record<string, unknown>;
}

const HEADER_MEMBERS = new Set(['alg', 'kid', 'typ']);

/**
 * Parses the protected header. Structure first (`ERR_TICKET_MALFORMED`: JSON object with exactly
 * `alg`, `kid`, `typ`, all strings, `typ` exact, `kid` grammar), then the algorithm value
 * (`ERR_TICKET_ALG` for `none` and anything but `EdDSA`/`HS256`).
 */
export function parseHeader(segment: string): TicketHeader {
  const header = parseJsonObject(Buffer.from(segment, 'base64url'), 'header');
  for (const key of Object.keys(header)) if (!HEADER_MEMBERS.has(key)) throw malformed('header-member');
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') throw malformed('header-alg');
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) throw malformed('header-kid');
  if (typ !== TICKET_TYP) throw malformed('header-typ');
  if (!(TICKET_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TicketError('ERR_TICKET_ALG', 'ticket algorithm is not allowed', { reason: alg === 'none' ? 'none' : 'unsupported' });
  }
  return { alg: alg as TicketAlgorithm, kid, typ: TICKET_TYP };
}

const CLAIM_MEMBERS = new Set(['iss', 'aud', 'sub', 'jti', 'iat', 'exp', 'pool', 'sid', 'st']);

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseStateClaim(value: unknown): StateClaim {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('claim-st');
  const st = value as Record<string, unknown>;
  const keys = Object.keys(st).sort().join(',');
  if (keys === 'in') {
    if (typeof st.in !== 'string' || decodeBase64urlStrict(st.in) === undefined) throw malformed('claim-st-in');
    return { in: st.in };
  }
  if (keys === 'len,ref,sha256') {
    if (typeof st.ref !== 'string' || !STATE_REF_PATTERN.test(st.ref)) throw malformed('claim-st-ref');
    if (typeof st.len !== 'number' || !Number.isSafeInteger(st.len) || st.len < 0 || st.len > MAX_STATE_REF_LENGTH) {
      throw malformed('claim-st-len');
    }
    if (typeof st.sha256 !== 'string' || !SHA256_B64U_PATTERN.test(st.sha256) || decodeBase64urlStrict(st.sha256) === undefined) {
      throw malformed('claim-st-sha256');
    }
    return { ref: st.ref, len: st.len, sha256: st.sha256 };
  }
  throw malformed('claim-st');
}

/** Parses and type-checks the claims (closed set; see docs/tickets.md §Claims) from the payload bytes or its base64url segment. */
export function parseClaims(payload: Uint8Array | string): TicketClaims {
  const claims = parseJsonObject(typeof payload === 'string' ? Buffer.from(payload, 'base64url') : payload, 'payload');
  for (const key of Object.keys(claims)) if (!CLAIM_MEMBERS.has(key)) throw malformed('claim-unknown');
  const { iss, aud, sub, jti, iat, exp, pool, sid, st } = claims;
  if (typeof iss !== 'string' || !BACKEND_ID_PATTERN.test(iss)) throw malformed('claim-iss');
  if (typeof aud !== 'string' || !BACKEND_ID_PATTERN.test(aud)) throw malformed('claim-aud');
  if (typeof sub !== 'string' || !CLIENT_UUID_PATTERN.test(sub)) throw malformed('claim-sub');
  if (typeof jti !== 'string' || !NONCE_PATTERN.test(jti) || decodeBase64urlStrict(jti) === undefined) throw malformed('claim-jti');
  if (!isNumericDate(iat)) throw malformed('claim-iat');
  if (!isNumericDate(exp)) throw malformed('claim-exp');
  if (exp <= iat) throw malformed('claim-exp-before-iat');
  if (pool !== undefined && (typeof pool !== 'string' || !BACKEND_ID_PATTERN.test(pool))) throw malformed('claim-pool');
  if (sid !== undefined && (typeof sid !== 'string' || !SESSION_ID_PATTERN.test(sid))) throw malformed('claim-sid');
  const state = st === undefined ? undefined : parseStateClaim(st);
  return {
    iss,
    aud,
    sub,
    jti,
    iat,
    exp,
    ...(pool === undefined ? {} : { pool: pool as string }),
    ...(sid === undefined ? {} : { sid: sid as string }),
    ...(state === undefined ? {} : { st: state }),
  };
}

/** The canonical JSON of a header: members in the order alg, kid, typ; no whitespace. */
export function encodeHeader(header: { alg: TicketAlgorithm; kid: string }): string {
  return JSON.stringify({ alg: header.alg, kid: header.kid, typ: TICKET_TYP });
}

/** The canonical JSON of the claims: iss, aud, sub, jti, iat, exp, pool, sid, st; no whitespace. */
export function encodeClaims(claims: TicketClaims): string {
  const ordered: Record<string, unknown> = {
    iss: claims.iss,
    aud: claims.aud,
    sub: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
  };
  if (claims.pool !== undefined) ordered.pool = claims.pool;
  if (claims.sid !== undefined) ordered.sid = claims.sid;
  if (claims.st !== undefined) {
    ordered.st = 'in' in claims.st ? { in: claims.st.in } : { ref: claims.st.ref, len: claims.st.len, sha256: claims.st.sha256 };
  }
  return JSON.stringify(ordered);
}

/** Exact byte length of a compact ticket with this header and claims JSON, signed with `alg`. */
export function compactLength(headerJson: string, claimsJson: string, alg: TicketAlgorithm): number {
  const b64len = (n: number): number => Math.floor((n * 4 + 2) / 3);
  return (
    b64len(Buffer.byteLength(headerJson, 'utf8')) + 1 + b64len(Buffer.byteLength(claimsJson, 'utf8')) + 1 + b64len(SIGNATURE_BYTES[alg])
  );
}
