/**
 * The key directory: the layout `handoff keys generate` writes and every party reads (the Java
 * library's `KeyRing.load` too; docs/tickets.md §Key directory):
 *
 * - `jwks.json`: the public JWK Set, every key a verifier should accept (with optional `nbf`, `exp`,
 *   `pools`); shipped to every backend and proxy.
 * - `signing-key.jwk`: one private Ed25519 JWK with `kid` (mode 0600), only where tickets are issued.
 *
 * The signing key takes the place of the `jwks.json` entry with the same kid: both must hold the same
 * public key, and its `nbf`, `exp` and `pools`, where it has them, must equal the published ones.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { TicketError } from './errors.js';
import { createKeyRing, type KeyRing, type KeyRingInit, type TicketJwks } from './key-ring.js';

/** In a key directory: the private signing key (one JWK with `kid`). */
export const SIGNING_KEY_FILE = 'signing-key.jwk';
/** In a key directory: the public JWK Set. */
export const JWKS_FILE = 'jwks.json';

/** Options of {@link loadKeyDirectory} and {@link loadKeys}. */
export interface LoadKeysOptions extends KeyRingInit {
  /** Add to this ring instead of a new one (all or nothing: on any error no key is added). */
  readonly keyRing?: KeyRing | undefined;
  /** Replace keys of the same kid already in `keyRing` (e.g. a reload). */
  readonly replace?: boolean | undefined;
}

function invalid(reason: string, message: string): TicketError {
  return new TicketError('ERR_TICKET_INVALID_ARGUMENT', message, { reason });
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw invalid('key-file', `key file could not be read: ${what}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // never echo the text: it may hold key material
    throw invalid('key-material', `${what} is not valid JSON`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

type Member = JWK & { nbf?: unknown; exp?: unknown; pools?: unknown };

function sameMember(own: Member, published: Member, name: 'nbf' | 'exp' | 'pools'): boolean {
  return own[name] === undefined || JSON.stringify(own[name]) === JSON.stringify(published[name]);
}

/** The JWK Set a key directory describes (the signing key in place of its published entry). */
export async function readKeyDirectory(dir: string): Promise<TicketJwks> {
  const jwksPath = join(dir, JWKS_FILE);
  const signingPath = join(dir, SIGNING_KEY_FILE);
  const [hasJwks, hasSigning] = await Promise.all([isFile(jwksPath), isFile(signingPath)]);
  if (!hasJwks && !hasSigning) throw invalid('key-directory', `a key directory needs ${JWKS_FILE} or ${SIGNING_KEY_FILE}`);
  let keys: Member[] = [];
  if (hasJwks) {
    const jwks = (await readJson(jwksPath, JWKS_FILE)) as { keys?: unknown } | null;
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw invalid('jwks', 'invalid JWK Set');
    keys = [...(jwks.keys as Member[])];
  }
  if (!hasSigning) return { keys };
  const signing = (await readJson(signingPath, SIGNING_KEY_FILE)) as Member | null;
  if (typeof signing !== 'object' || signing === null || Array.isArray(signing) || signing.kty !== 'OKP' || signing.d === undefined) {
    throw invalid('key-directory', `${SIGNING_KEY_FILE} must hold a private Ed25519 JWK`);
  }
  const index = keys.findIndex((k) => typeof k === 'object' && k !== null && k.kid === signing.kid);
  if (index < 0) return { keys: [...keys, signing] };
  const published = keys[index]!;
  if (published.kty !== 'OKP' || published.x !== signing.x) {
    throw invalid('key-directory', `${JWKS_FILE} lists another key under the signing key's kid`);
  }
  for (const name of ['nbf', 'exp', 'pools'] as const) {
    if (!sameMember(signing, published, name)) throw invalid('key-directory', `the signing key and ${JWKS_FILE} disagree on its ${name}`);
  }
  const merged: Member = { ...signing };
  for (const name of ['nbf', 'exp', 'pools'] as const) if (published[name] !== undefined) merged[name] = published[name];
  keys[index] = merged;
  return { keys };
}

async function addAll(jwks: TicketJwks, options: LoadKeysOptions): Promise<KeyRing> {
  // validate every key in a scratch ring first, so a bad file adds nothing to a live ring
  await createKeyRing().addJwks(jwks);
  const ring = options.keyRing ?? createKeyRing(options.now === undefined ? {} : { now: options.now });
  await ring.addJwks(jwks, { replace: options.replace === true });
  return ring;
}

/**
 * Loads a key directory (see the module comment) into a new key ring, or into `options.keyRing`.
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` for a missing or unreadable file, invalid JSON
 * or an unusable key; messages never contain key material.
 */
export async function loadKeyDirectory(dir: string, options: LoadKeysOptions = {}): Promise<KeyRing> {
  return addAll(await readKeyDirectory(dir), options);
}

/** Loads keys from a key directory or from a JWK Set file, whichever `path` is. */
export async function loadKeys(path: string, options: LoadKeysOptions = {}): Promise<KeyRing> {
  let directory: boolean;
  try {
    directory = (await stat(path)).isDirectory();
  } catch {
    throw invalid('key-file', 'key path could not be read');
  }
  if (directory) return loadKeyDirectory(path, options);
  const jwks = (await readJson(path, 'JWK Set file')) as TicketJwks | null;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw invalid('jwks', 'invalid JWK Set');
  return addAll(jwks, options);
}
