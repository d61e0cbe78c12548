/**
 * The ticket key directory: one Ed25519 signing key and its public JWK Set in one directory, the
 * layout `handoff keys generate --out <dir>` writes and every party of a network reads (docs/tickets.md,
 * "Key directory"):
 *
 * - `<dir>/signing-key.jwk`: the private Ed25519 JWK (`kty`, `crv`, `x`, `d`, `kid`, `alg: "EdDSA"`),
 *   file mode 0600. Only a party that issues tickets needs it.
 * - `<dir>/jwks.json`: the public JWK Set (`{"keys":[…]}`) with the same `kid`. A verifier (a backend,
 *   a proxy that only verifies) reads only this file.
 *
 * Key material never appears in an error message: errors name the file (by its base name) and what is
 * wrong with it.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { TicketError } from './errors.js';
import { KID_PATTERN } from './format.js';
import { createKeyRing, type KeyRing, type KeyRingInit, type TicketJwks } from './key-ring.js';

/** File name of the private signing key in a key directory. */
export const SIGNING_KEY_FILE = 'signing-key.jwk';
/** File name of the public JWK Set in a key directory. */
export const JWKS_FILE = 'jwks.json';

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

/** Options of {@link readKeyDirectory}. */
export interface ReadKeyDirectoryOptions extends KeyRingInit {
  /**
   * Read only `jwks.json` (verify only), never the signing key, even when it is there. This is what a
   * backend does. Default `false`: the signing key is added too when the directory holds one.
   */
  readonly publicOnly?: boolean | undefined;
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
 * const signer = await readKeyDirectory('./keys');                        // can sign and verify
 * const verifier = await readKeyDirectory('./keys', { publicOnly: true }); // verifies only
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
    throw invalid('key-file', `cannot read ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('key-file', `${basename(path)} is not valid JSON (${what} expected)`);
  }
}

function asJwks(value: unknown, file: string): TicketJwks {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw invalid('jwks', `${file} is not a JWK Set ({"keys": [...]})`);
  }
  return value as TicketJwks;
}

const sameMember = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * A key ring holding the keys at `path`: a key directory as {@link writeKeyDirectory} writes it, or a
 * JWK Set file. In a directory, `jwks.json` lists every key to verify with; `signing-key.jwk`, when
 * present and `publicOnly` is not set, takes the place of the `jwks.json` entry of the same `kid`
 * (both must hold the same public key, and its `nbf`, `exp` and `pools` must not disagree) or is added
 * when `jwks.json` does not list it. A directory needs at least one of the two files.
 *
 * @throws {TicketError} `ERR_TICKET_INVALID_ARGUMENT` (reason `key-file`, `key-directory`, `jwks`, or the
 *   key ring's own reasons) for a missing or unreadable file or an unusable key.
 */
export async function readKeyDirectory(path: string, options: ReadKeyDirectoryOptions = {}): Promise<KeyRing> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw invalid('key-file', `cannot read ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const ring = createKeyRing(options.now === undefined ? {} : { now: options.now });
  if (!isDirectory) {
    await ring.addJwks(asJwks(await readJson(path, 'a JWK Set'), basename(path)));
    return ring;
  }
  const jwksPath = join(path, JWKS_FILE);
  const signingPath = join(path, SIGNING_KEY_FILE);
  const exists = async (p: string) => stat(p).then((s) => s.isFile(), () => false);
  const hasJwks = await exists(jwksPath);
  const hasSigning = options.publicOnly !== true && (await exists(signingPath));
  if (!hasJwks && !hasSigning) {
    throw invalid('key-directory', options.publicOnly === true ? `the key directory has no ${JWKS_FILE}` : `a key directory needs ${JWKS_FILE} or ${SIGNING_KEY_FILE}`);
  }
  const keys: JWK[] = hasJwks ? [...asJwks(await readJson(jwksPath, 'a JWK Set'), JWKS_FILE).keys] : [];
  if (hasSigning) {
    const signing = (await readJson(signingPath, 'a JWK')) as JWK & { nbf?: unknown; exp?: unknown; pools?: unknown };
    if (typeof signing !== 'object' || signing === null || signing.kty !== 'OKP' || typeof signing.d !== 'string' || typeof signing.kid !== 'string') {
      throw invalid('key-directory', `${SIGNING_KEY_FILE} must hold a private Ed25519 JWK with a kid`);
    }
    const at = keys.findIndex((key) => key.kid === signing.kid);
    if (at < 0) {
      keys.push(signing);
    } else {
      const published = keys[at] as JWK & { nbf?: unknown; exp?: unknown; pools?: unknown };
      if (published.kty !== 'OKP' || published.x !== signing.x) throw invalid('key-directory', `${JWKS_FILE} lists another key under the signing key's kid`);
      for (const member of ['nbf', 'exp', 'pools'] as const) {
        if (signing[member] !== undefined && !sameMember(signing[member], published[member])) {
          throw invalid('key-directory', `the signing key and ${JWKS_FILE} disagree on its ${member === 'pools' ? 'pools' : 'window'}`);
        }
      }
      const merged: JWK = { ...signing };
      for (const member of ['nbf', 'exp', 'pools'] as const) {
        if (published[member] !== undefined) (merged as Record<string, unknown>)[member] = published[member];
      }
      keys[at] = merged;
    }
  }
  await ring.addJwks({ keys });
  return ring;
}
