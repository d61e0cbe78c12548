/**
 * Test fixtures. Every key here is TEST-ONLY (published in this repository): never use it outside tests.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { JWK } from 'jose';
import {
  TicketError,
  createKeyRing,
  type KeyRing,
  type TicketErrorCode,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid, parsePoolId } from '@handoff/types';

/** TEST-ONLY Ed25519 key (also the key of docs/tickets-vectors.json). */
export const TEST_ED25519_JWK: JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'JKF5QlE8GsI2T7gpmEMDMQgGxX7Xinvjkv3Nnwv_3Bs',
  d: 'dm536BGhFZNNZGYWKrGuQb3ZFEt34WHTiN6WzvGtEGo',
};
/** A second TEST-ONLY Ed25519 key (rotation, "other key"). */
export const TEST_ED25519_JWK_2: JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'jzsHoujRiWPyK0pQdZctNTQW-UipcCQwOx74CHv6P5c',
  d: 'mdkVRjQicnhkoNBJRPUMa81UbSrdy4LVwuvvDZ_l7vM',
};
/** TEST-ONLY HS256 secret (40 bytes of ASCII). */
export const TEST_HS256_SECRET_UTF8 = 'handoff-TEST-ONLY-hs256-secret-0123456789';
export const TEST_HS256_SECRET = new Uint8Array(Buffer.from(TEST_HS256_SECRET_UTF8, 'utf8'));

export function publicJwk(jwk: JWK): JWK {
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! };
}

export const CLIENT = parseClientUuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
export const OTHER_CLIENT = parseClientUuid('ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
export const SOURCE = parseBackendId('lobby-1');
export const TARGET = parseBackendId('game-7');
export const BINDING = { clientUuid: CLIENT, source: SOURCE, target: TARGET } as const;

/** The largest ticket (docs/tickets.md: the `Connect.referralData` limit of the server). */
export const MAX_TICKET_BYTES = 4096;

/** SHA-256 of `bytes`, unpadded base64url, computed with node:crypto (independent of the package). */
export function sha256b64u(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

/** 2026-01-01T00:00:00Z, in seconds. */
export const T0 = 1_767_225_600;

/** A settable clock in ms (`now()`), driven in whole seconds by tests. */
export interface TestClock {
  readonly now: () => number;
  set(seconds: number): void;
  advance(seconds: number): void;
  seconds(): number;
}

export function testClock(startSeconds = T0): TestClock {
  let ms = startSeconds * 1000;
  return {
    now: () => ms,
    set(seconds) {
      ms = seconds * 1000;
    },
    advance(seconds) {
      ms += seconds * 1000;
    },
    seconds: () => Math.floor(ms / 1000),
  };
}

/** Deterministic bytes: SHA-256(label ‖ counter) blocks. For vectors and reproducible tests only. */
export function deterministicRandom(label: string): (size: number) => Uint8Array {
  let counter = 0;
  return (size) => {
    const out = new Uint8Array(size);
    for (let filled = 0; filled < size; ) {
      const block = createHash('sha256').update(`${label}:${counter++}`).digest();
      const n = Math.min(block.length, size - filled);
      out.set(block.subarray(0, n), filled);
      filled += n;
    }
    return out;
  };
}

/** A key ring with the test Ed25519 key (`ed-1`) and the test HS256 secret (`hs-1`). */
export async function testKeyRing(now: () => number, which: 'ed' | 'hs' | 'both' = 'both'): Promise<KeyRing> {
  const ring = createKeyRing({ now });
  if (which !== 'hs') await ring.add({ kid: 'ed-1', jwk: TEST_ED25519_JWK });
  if (which !== 'ed') await ring.add({ kid: 'hs-1', secret: TEST_HS256_SECRET });
  return ring;
}

/** Asserts that `promise` rejects with a TicketError of `code` and returns it. */
export async function expectCode(promise: Promise<unknown>, code: TicketErrorCode): Promise<TicketError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(TicketError);
  expect((caught as TicketError).code).toBe(code);
  return caught as TicketError;
}

/** Splits a compact token into decoded header, claims and the raw segments. */
export function decodeToken(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; segments: string[] } {
  const segments = token.split('.');
  return {
    header: JSON.parse(Buffer.from(segments[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(segments[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    segments,
  };
}
