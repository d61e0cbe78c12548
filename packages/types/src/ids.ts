/**
 * Branded, validated identifiers. Only the parsers below (and code that has already checked the
 * grammar, such as the ticket verifier) make them, so a function that takes a `ClientUuid` never
 * sees an unchecked string. At runtime a brand is a plain string: JSON, logs and Redis see text.
 */
import { TypesError } from './errors.js';

declare const clientUuidBrand: unique symbol;
declare const backendIdBrand: unique symbol;
declare const poolIdBrand: unique symbol;
declare const sessionIdBrand: unique symbol;
declare const migrationIdBrand: unique symbol;

/** A player's UUID in canonical lowercase form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (Java `UUID.toString()`). */
export type ClientUuid = string & { readonly [clientUuidBrand]: true };
/** A backend id: 1–64 characters from `A–Z a–z 0–9 . _ : -`. What the proxy routes by; a ticket's `iss`/`aud`. */
export type BackendId = string & { readonly [backendIdBrand]: true };
/** A pool name: same grammar as {@link BackendId}. Groups backends for policy (fallback, tickets, assets). */
export type PoolId = string & { readonly [poolIdBrand]: true };
/** A proxy session id (one per connected player): 1–128 characters from `A–Z a–z 0–9 . _ : -`. */
export type SessionId = string & { readonly [sessionIdBrand]: true };
/** A migration id: same grammar as {@link SessionId}. */
export type MigrationId = string & { readonly [migrationIdBrand]: true };

/** Canonical lowercase UUID text. */
export const CLIENT_UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Grammar of backend ids and pool ids. */
export const BACKEND_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** Grammar of session ids and migration ids. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const ANY_CASE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const invalid = (kind: string) => new TypesError('ERR_TYPES_INVALID_ID', kind);

/**
 * Parses a UUID in the 8-4-4-4-12 hex form (any case) and returns it lowercased.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when `value` is not such a UUID.
 */
export function parseClientUuid(value: unknown): ClientUuid {
  if (typeof value !== 'string' || !ANY_CASE_UUID.test(value)) throw invalid('client uuid');
  return value.toLowerCase() as ClientUuid;
}

/**
 * The UUID of 16 big-endian bytes (as Java's `UUID(mostSigBits, leastSigBits)` lays them out).
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` unless `bytes` has exactly 16 bytes.
 */
export function clientUuidFromBytes(bytes: Uint8Array): ClientUuid {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw invalid('client uuid');
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as ClientUuid;
}

/** The 16 big-endian bytes of a client UUID (the inverse of {@link clientUuidFromBytes}). */
export function clientUuidToBytes(uuid: ClientUuid): Uint8Array {
  return Uint8Array.from(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
}

/**
 * Validates a backend id.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when `value` does not match {@link BACKEND_ID_PATTERN}.
 */
export function parseBackendId(value: unknown): BackendId {
  if (typeof value !== 'string' || !BACKEND_ID_PATTERN.test(value)) throw invalid('backend id');
  return value as BackendId;
}

/**
 * Validates a pool id.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when `value` does not match {@link BACKEND_ID_PATTERN}.
 */
export function parsePoolId(value: unknown): PoolId {
  if (typeof value !== 'string' || !BACKEND_ID_PATTERN.test(value)) throw invalid('pool id');
  return value as PoolId;
}

/**
 * Validates a proxy session id.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when `value` does not match {@link SESSION_ID_PATTERN}.
 */
export function parseSessionId(value: unknown): SessionId {
  if (typeof value !== 'string' || !SESSION_ID_PATTERN.test(value)) throw invalid('session id');
  return value as SessionId;
}

/**
 * Validates a migration id.
 * @throws {TypesError} `ERR_TYPES_INVALID_ID` when `value` does not match {@link SESSION_ID_PATTERN}.
 */
export function parseMigrationId(value: unknown): MigrationId {
  if (typeof value !== 'string' || !SESSION_ID_PATTERN.test(value)) throw invalid('migration id');
  return value as MigrationId;
}

/** True when `value` is a canonical lowercase client UUID. */
export function isClientUuid(value: unknown): value is ClientUuid {
  return typeof value === 'string' && CLIENT_UUID_PATTERN.test(value);
}

/** True when `value` is a valid backend id. */
export function isBackendId(value: unknown): value is BackendId {
  return typeof value === 'string' && BACKEND_ID_PATTERN.test(value);
}

/** True when `value` is a valid pool id. */
export function isPoolId(value: unknown): value is PoolId {
  return typeof value === 'string' && BACKEND_ID_PATTERN.test(value);
}

/** True when `value` is a valid session id. */
export function isSessionId(value: unknown): value is SessionId {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

/** True when `value` is a valid migration id. */
export function isMigrationId(value: unknown): value is MigrationId {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}
