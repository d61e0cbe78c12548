/**
 * Branded, validated identifiers. Only the constructors below (and the verifier) make them, so a
 * function that takes a `ClientUuid` never sees an unchecked string.
 */
import { TicketError } from './errors.js';

declare const clientUuidBrand: unique symbol;
declare const backendIdBrand: unique symbol;
declare const poolIdBrand: unique symbol;
declare const sessionIdBrand: unique symbol;

/** A client UUID in canonical lowercase form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (Java `UUID.toString()`). */
export type ClientUuid = string & { readonly [clientUuidBrand]: true };
/** A backend id: 1–64 characters from `A–Z a–z 0–9 . _ : -`. Used for `iss` and `aud`. */
export type BackendId = string & { readonly [backendIdBrand]: true };
/** A pool name: same grammar as {@link BackendId}. */
export type PoolId = string & { readonly [poolIdBrand]: true };
/** A proxy session id: 1–128 characters from `A–Z a–z 0–9 . _ : -`. */
export type SessionId = string & { readonly [sessionIdBrand]: true };

/** Canonical lowercase UUID text, as a ticket's `sub` must carry it. */
export const CLIENT_UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Grammar of backend ids and pool names. */
export const BACKEND_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** Grammar of proxy session ids. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const ANY_CASE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function invalid(what: string): TicketError {
  return new TicketError('ERR_TICKET_INVALID_ARGUMENT', `invalid ${what}`, { reason: what.replace(/ /g, '-') });
}

/**
 * Parses a UUID in the 8-4-4-4-12 hex form (any case) and returns it lowercased.
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` when `value` is not such a UUID.
 */
export function parseClientUuid(value: string): ClientUuid {
  if (typeof value !== 'string' || !ANY_CASE_UUID.test(value)) throw invalid('client uuid');
  return value.toLowerCase() as ClientUuid;
}

/**
 * The UUID of 16 big-endian bytes (as Java's `UUID(mostSigBits, leastSigBits)` lays them out).
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` unless `bytes` has exactly 16 bytes.
 */
export function clientUuidFromBytes(bytes: Uint8Array): ClientUuid {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw invalid('client uuid');
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as ClientUuid;
}

/**
 * Validates a backend id.
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` when `value` does not match {@link BACKEND_ID_PATTERN}.
 */
export function parseBackendId(value: string): BackendId {
  if (typeof value !== 'string' || !BACKEND_ID_PATTERN.test(value)) throw invalid('backend id');
  return value as BackendId;
}

/**
 * Validates a pool name.
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` when `value` does not match {@link BACKEND_ID_PATTERN}.
 */
export function parsePoolId(value: string): PoolId {
  if (typeof value !== 'string' || !BACKEND_ID_PATTERN.test(value)) throw invalid('pool id');
  return value as PoolId;
}

/**
 * Validates a proxy session id.
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` when `value` does not match {@link SESSION_ID_PATTERN}.
 */
export function parseSessionId(value: string): SessionId {
  if (typeof value !== 'string' || !SESSION_ID_PATTERN.test(value)) throw invalid('session id');
  return value as SessionId;
}

/** True when `value` is a canonical lowercase client UUID string. */
export function isClientUuid(value: unknown): value is ClientUuid {
  return typeof value === 'string' && CLIENT_UUID_PATTERN.test(value);
}

/** True when `value` is a valid backend id string. */
export function isBackendId(value: unknown): value is BackendId {
  return typeof value === 'string' && BACKEND_ID_PATTERN.test(value);
}
