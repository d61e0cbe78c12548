/**
 * The ticket key directory: one Ed25519 signing key and its public JWK Set in one directory, the
 * layout `handoff keys generate --out <dir>` writes ({@link writeKeyDirectory}) and every party of a
 * network reads, the Java library's `KeyRing.load` too (docs/tickets.md, "Key directory"):
 *
 * - `<dir>/signing-key.jwk`: the private Ed25519 JWK (`kty`, `crv`, `x`, `d`, `kid`, `alg: "EdDSA"`),
 *   file mode 0600. Only a party that issues tickets needs it.
 * - `<dir>/jwks.json`: the public JWK Set (`{"keys":[…]}`), every key a verifier should accept (with
 *   optional `nbf`, `exp`, `pools`). A verifier (a backend, a proxy that only verifies) reads only this.
 *
 * The signing key takes the place of the `jwks.json` entry with the same kid: both must hold the same
 * public key, and its `nbf`, `exp` and `pools`, where it has them, must equal the published ones.
 * Key material never appears in an error message: errors name the file and what is wrong with it.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { TicketError } from './errors.js';
import { KID_PATTERN } from './format.js';
import { createKeyRing, type KeyRing, type KeyRingInit, type TicketJwks } from './key-ring.js';

/** In a key directory: the private signing key (one JWK with `kid`). */
export const SIGNING_KEY_FILE = 'signing-key.jwk';
/** In a key directory: the public JWK Set. */
export const JWKS_FILE = 'jwks.json';

/** Options of {@link readKeyDirectory}. */
export interface ReadKeyDirectoryOptions {
  /**
   * Read only `jwks.json` (verify only), never the signing key, even when it is there. This is what a
   * backend does. Default `false`: the signing key is used too when the directory holds one.
   */
  readonly publicOnly?: boolean | undefined;
}

/** Options of {@link loadKeyDirectory} and {@link loadKeys}. */
export interface LoadKeysOptions extends KeyRingInit, ReadKeyDirectoryOptions {
  /** Add to this ring instead of a new one (all or nothing: on any error no key is added). */
  readonly keyRing?: KeyRing | undefined;
  /** Replace keys of the same kid already in `keyRing` (e.g. a reload). */
  readonly replace?: boolean | undefined;
}

/** Options of {@link writeKeyDirectory}. */
export interface WriteKeyDirectoryOptions {
  /** The key id (default: the key's RFC 7638 thumbprint, 43 characters). */
  readonly kid?: string | undefined;
  /** Replace the files if they exist (default: refuse, `ERR_TICKET_INVALID_ARGUMENT` reason `key-directory-exists`). */
  readonly overwrite?: boolean | undefined;
}

/** What {@link writeKeyDirectory} wrote. */
export interface KeyDirectory {
  readonly kid: string;
  /** Path of `signing-key.jwk` (mode 0600). */
  readonly signingKeyPath: string;
  /** Path of `jwks.json`. */
  readonly jwksPath: string;
}

function invalid(reason: string, message: string): TicketError {
  return new TicketError('ERR_TICKET_INVALID_ARGUMENT', message, { reason });
}

/**
 * Generates an Ed25519 key and writes `signing-key.jwk` (mode 0600) and `jwks.json` into `dir`
 * (created if missing, mode 0700). Refuses to replace existing files unless `overwrite`.
 *
 * @example
 * ```ts
 * const { kid } = await writeKeyDirectory('./keys');
 * const signer = await loadKeys('./keys');                        // a key ring that signs and verifies
 * const verifier = await loadKeys('./keys', { publicOnly: true }); // verifies only
 * ```
 */
export async function writeKeyDirectory(dir: string, options: WriteKeyDirectoryOptions = {}): Promise<KeyDirectory> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalid('key-directory', 'a key directory path is required');
  if (options.kid !== undefined && (typeof options.kid !== 'string' || !KID_PATTERN.test(options.kid))) {
    throw invalid('key-kid', 'invalid kid: 1–128 characters of A–Z a–z 0–9 . _ : ~ + / = -');
  }
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = await exportJWK(publicKey);
  const kid = options.kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  const signing: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, d: privateJwk.d, kid, alg: 'EdDSA' };
  const jwks: TicketJwks = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x, kid, alg: 'EdDSA', use: 'sig' }] };

  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw invalid('key-directory', `cannot create the key directory: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const signingKeyPath = join(dir, SIGNING_KEY_FILE);
  const jwksPath = join(dir, JWKS_FILE);
  const flags = options.overwrite === true ? 'w' : 'wx';
  // the private key first: a directory never holds a jwks.json without the key it describes
  await writeFileMode(signingKeyPath, `${JSON.stringify(signing, null, 2)}\n`, 0o600, flags);
  await writeFileMode(jwksPath, `${JSON.stringify(jwks, null, 2)}\n`, 0o644, flags);
  return { kid, signingKeyPath, jwksPath };
}

async function writeFileMode(path: string, text: string, mode: number, flags: 'w' | 'wx'): Promise<void> {
  let handle;
  try {
    handle = await open(path, flags, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw invalid('key-directory-exists', `${basename(path)} already exists: choose another directory or overwrite it`);
    throw invalid('key-file', `cannot write ${basename(path)}: ${code ?? 'error'}`);
  }
  try {
    // `open`'s mode is filtered by the umask and ignored for an existing file: set it explicitly
    await handle.chmod(mode);
    await handle.truncate(0);
    await handle.writeFile(text, 'utf8');
  } catch (error) {
    throw invalid('key-file', `cannot write ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    await handle.close();
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid('key-file', `cannot read ${basename(path)} (${what}): ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
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

/** The JWK Set a key directory describes (the signing key in place of its published entry, unless `publicOnly`). */
export async function readKeyDirectory(dir: string, options: ReadKeyDirectoryOptions = {}): Promise<TicketJwks> {
  const jwksPath = join(dir, JWKS_FILE);
  const signingPath = join(dir, SIGNING_KEY_FILE);
  const publicOnly = options.publicOnly === true;
  const [hasJwks, hasSigning] = await Promise.all([isFile(jwksPath), publicOnly ? false : isFile(signingPath)]);
  if (!hasJwks && !hasSigning) {
    throw invalid('key-directory', publicOnly ? `the key directory has no ${JWKS_FILE}` : `a key directory needs ${JWKS_FILE} or ${SIGNING_KEY_FILE}`);
  }
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
  return addAll(await readKeyDirectory(dir, options), options);
}

/** Loads keys from a key directory or from a JWK Set file, whichever `path` is. */
export async function loadKeys(path: string, options: LoadKeysOptions = {}): Promise<KeyRing> {
  let directory: boolean;
  try {
    directory = (await stat(path)).isDirectory();
  } catch (error) {
    throw invalid('key-file', `cannot read ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (directory) return loadKeyDirectory(path, options);
  const jwks = (await readJson(path, 'JWK Set file')) as TicketJwks | null;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw invalid('jwks', 'invalid JWK Set');
  return addAll(jwks, options);
}
