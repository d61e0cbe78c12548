/**
 * Key rings: several `kid`s at once, each with one algorithm and an optional validity window and
 * pool scope, changed at runtime (add, retire, remove) so keys rotate without a restart.
 * Key material never leaves this module: the public surface exposes {@link KeyInfo} only.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { isPoolId, type PoolId } from '@handoff/types';
import { TicketError, sanitizeCause } from './errors.js';
import { KID_PATTERN, decodeBase64urlStrict, type TicketAlgorithm } from './format.js';

/** The shortest HS256 secret accepted, in bytes. */
export const MIN_HS256_SECRET_BYTES = 32;

/** Validity window and scope shared by every kind of key input. */
export interface KeyOptions {
  /** The key id, carried in the ticket header. */
  readonly kid: string;
  /** Before this instant (ms since epoch, or a Date) the key neither signs nor verifies. */
  readonly notBefore?: Date | number | undefined;
  /** After this instant the key neither signs nor verifies. The issuer stops using it `ttl` earlier. */
  readonly notAfter?: Date | number | undefined;
  /**
   * Restricts the key to tickets of these pools (a ticket without `pool` is then refused). Plain
   * strings are accepted (key sets are configuration) and checked against the pool id grammar.
   */
  readonly pools?: readonly string[] | undefined;
}

/** A key to add: a JWK (OKP Ed25519 public/private, or oct), a PEM (PKCS#8 / SPKI Ed25519), or a raw HS256 secret. */
export type KeyInput =
  | (KeyOptions & { readonly jwk: JWK })
  | (KeyOptions & { readonly pem: string })
  | (KeyOptions & { readonly secret: Uint8Array });

/** Public facts about a key (never its material). */
export interface KeyInfo {
  readonly kid: string;
  readonly alg: TicketAlgorithm;
  /** True for Ed25519 private keys and HS256 secrets. */
  readonly canSign: boolean;
  readonly notBefore: number | undefined;
  readonly notAfter: number | undefined;
  readonly pools: readonly PoolId[] | undefined;
}

/** What changed in a key ring. */
export interface KeyRingEvent {
  readonly type: 'key-added' | 'key-retired' | 'key-removed';
  readonly kid: string;
}

/** A JWK Set whose keys may carry the extension members `nbf`, `exp` (NumericDate seconds) and `pools`. */
export interface TicketJwks {
  readonly keys: readonly JWK[];
}

/** Construction options of a key ring. */
export interface KeyRingInit {
  /** Clock in ms since the epoch (default `Date.now`); `retire()` without `at` uses it. */
  readonly now?: (() => number) | undefined;
}

/** A mutable set of ticket keys. */
export interface KeyRing {
  /**
   * Imports and adds a key. Throws `ERR_TICKET_INVALID_ARGUMENT` for an unusable key (wrong type or
   * curve, secret shorter than 32 bytes, private/public mismatch) or a `kid` already present (unless `replace`).
   */
  add(input: KeyInput, options?: { readonly replace?: boolean }): Promise<KeyInfo>;
  /** Adds every key of a JWK Set (each needs `kid`). With `replace`, keys of the same `kid` are replaced. */
  addJwks(jwks: TicketJwks, options?: { readonly replace?: boolean }): Promise<KeyInfo[]>;
  /** Sets the key's `notAfter` to `at` (default now) unless it already ends earlier. */
  retire(kid: string, at?: Date | number): KeyInfo;
  /** Removes a key at once (e.g. a compromised key). Returns whether it was present. */
  remove(kid: string): boolean;
  get(kid: string): KeyInfo | undefined;
  list(): KeyInfo[];
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: (event: KeyRingEvent) => void): () => void;
}

interface Entry {
  readonly info: KeyInfo;
  readonly verifyKey: CryptoKey;
  readonly signKey: CryptoKey | undefined;
  readonly seq: number;
}

interface RingState {
  readonly entries: Map<string, Entry>;
  readonly now: () => number;
}

const states = new WeakMap<KeyRing, RingState>();

function invalid(reason: string, message: string, cause?: unknown): TicketError {
  return new TicketError('ERR_TICKET_INVALID_ARGUMENT', message, { reason, ...(cause === undefined ? {} : { cause: sanitizeCause(cause) }) });
}

function toMs(value: Date | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw invalid('key-validity', `invalid key ${what}`);
  return ms;
}

function checkPools(pools: readonly string[] | undefined): readonly PoolId[] | undefined {
  if (pools === undefined) return undefined;
  if (!Array.isArray(pools) || !pools.every(isPoolId)) throw invalid('key-pools', 'invalid key pools');
  return Object.freeze([...pools]);
}

async function importHmac(secret: Uint8Array): Promise<CryptoKey> {
  if (secret.length < MIN_HS256_SECRET_BYTES) {
    throw invalid('secret-too-short', `HS256 secrets must be at least ${MIN_HS256_SECRET_BYTES} bytes`);
  }
  return crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

interface Imported {
  readonly alg: TicketAlgorithm;
  readonly verifyKey: CryptoKey;
  readonly signKey: CryptoKey | undefined;
}

/**
 * Imports an Ed25519 JWK; any failure becomes `ERR_TICKET_INVALID_ARGUMENT` whose cause is the
 * library's error reduced to its name, message and code (never the key bytes).
 */
async function importOrRefuse(jwk: JWK, message: string): Promise<CryptoKey> {
  try {
    return (await importJWK(jwk, 'EdDSA', { extractable: false })) as CryptoKey;
  } catch (error) {
    throw invalid('key-material', message, error);
  }
}

async function importOkp(jwk: JWK): Promise<Imported> {
  if (jwk.crv !== 'Ed25519') throw invalid('key-curve', 'OKP keys must use the Ed25519 curve');
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') throw invalid('key-alg', 'Ed25519 keys must have alg "EdDSA" when alg is present');
  if (typeof jwk.x !== 'string' || decodeBase64urlStrict(jwk.x)?.length !== 32) throw invalid('key-material', 'invalid Ed25519 public key');
  const verifyKey = await importOrRefuse({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'invalid Ed25519 public key');
  if (jwk.d === undefined) return { alg: 'EdDSA', verifyKey, signKey: undefined };
  if (typeof jwk.d !== 'string' || decodeBase64urlStrict(jwk.d)?.length !== 32) throw invalid('key-material', 'invalid Ed25519 private key');
  const signKey = await importOrRefuse({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, 'Ed25519 private key does not match its public key');
  // A private half that does not match `x` would sign tickets nobody can verify: refuse it now.
  const probe = new TextEncoder().encode('handoff key-ring self-check');
  const signature = await crypto.subtle.sign('Ed25519', signKey, probe);
  if (!(await crypto.subtle.verify('Ed25519', verifyKey, signature, probe))) {
    throw invalid('key-mismatch', 'Ed25519 private key does not match its public key');
  }
  return { alg: 'EdDSA', verifyKey, signKey };
}

async function importJwkInput(jwk: JWK): Promise<Imported> {
  if (typeof jwk !== 'object' || jwk === null) throw invalid('key-material', 'invalid JWK');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid('key-use', 'JWK "use" must be "sig" when present');
  if (jwk.kty === 'OKP') return importOkp(jwk);
  if (jwk.kty === 'oct') {
    if (jwk.alg !== undefined && jwk.alg !== 'HS256') throw invalid('key-alg', 'oct keys must have alg "HS256" when alg is present');
    const secret = typeof jwk.k === 'string' ? decodeBase64urlStrict(jwk.k) : undefined;
    if (secret === undefined) throw invalid('key-material', 'invalid oct key');
    const key = await importHmac(secret);
    return { alg: 'HS256', verifyKey: key, signKey: key };
  }
  throw invalid('key-type', 'unsupported key type: use OKP Ed25519 or oct (HS256)');
}

function importPem(pem: string): Promise<Imported> {
  let object: KeyObject;
  try {
    object = pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    throw invalid('key-material', 'PEM could not be parsed (expect PKCS#8 or SPKI)', error);
  }
  if (object.asymmetricKeyType !== 'ed25519') throw invalid('key-type', 'PEM keys must be Ed25519');
  return importOkp(object.export({ format: 'jwk' }) as JWK);
}

function jwkToInput(jwk: JWK): KeyInput {
  const extra = jwk as JWK & { nbf?: unknown; exp?: unknown; pools?: unknown };
  if (typeof jwk.kid !== 'string') throw invalid('key-kid', 'every JWK in the set needs a "kid"');
  const seconds = (value: unknown, what: string): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid('key-validity', `invalid JWK ${what}`);
    return value * 1000;
  };
  if (extra.pools !== undefined && !Array.isArray(extra.pools)) throw invalid('key-pools', 'invalid JWK pools');
  return {
    kid: jwk.kid,
    jwk,
    notBefore: seconds(extra.nbf, 'nbf'),
    notAfter: seconds(extra.exp, 'exp'),
    pools: extra.pools as string[] | undefined,
  };
}

/** Creates an empty key ring. */
export function createKeyRing(init: KeyRingInit = {}): KeyRing {
  const now = init.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const listeners = new Set<(event: KeyRingEvent) => void>();
  let seq = 0;

  const emit = (event: KeyRingEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own; the ring stays consistent
      }
    }
  };

  const ring: KeyRing = {
    async add(input, options = {}) {
      if (typeof input !== 'object' || input === null) throw invalid('key-input', 'invalid key input');
      const { kid } = input;
      if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) throw invalid('key-kid', 'invalid kid');
      const notBefore = toMs(input.notBefore, 'notBefore');
      const notAfter = toMs(input.notAfter, 'notAfter');
      if (notBefore !== undefined && notAfter !== undefined && notAfter < notBefore) {
        throw invalid('key-validity', 'key notAfter is before notBefore');
      }
      const pools = checkPools(input.pools);
      if (entries.has(kid) && options.replace !== true) throw invalid('key-duplicate', 'a key with this kid is already in the ring');
      let imported: Imported;
      if ('jwk' in input) {
        if (input.jwk.kid !== undefined && input.jwk.kid !== kid) throw invalid('key-kid', 'JWK kid differs from the given kid');
        imported = await importJwkInput(input.jwk);
      } else if ('pem' in input) {
        imported = await importPem(input.pem);
      } else if ('secret' in input && input.secret instanceof Uint8Array) {
        const key = await importHmac(input.secret);
        imported = { alg: 'HS256', verifyKey: key, signKey: key };
      } else {
        throw invalid('key-input', 'a key input needs one of jwk, pem or secret');
      }
      if (entries.has(kid) && options.replace !== true) throw invalid('key-duplicate', 'a key with this kid is already in the ring');
      const info: KeyInfo = Object.freeze({
        kid,
        alg: imported.alg,
        canSign: imported.signKey !== undefined,
        notBefore,
        notAfter,
        pools,
      });
      entries.set(kid, { info, verifyKey: imported.verifyKey, signKey: imported.signKey, seq: seq++ });
      emit({ type: 'key-added', kid });
      return info;
    },

    async addJwks(jwks, options = {}) {
      if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw invalid('jwks', 'invalid JWK Set');
      const inputs = jwks.keys.map(jwkToInput);
      const added: KeyInfo[] = [];
      for (const input of inputs) added.push(await ring.add(input, options));
      return added;
    },

    retire(kid, at) {
      const entry = entries.get(kid);
      if (entry === undefined) throw invalid('key-unknown', 'no key with this kid');
      const when = toMs(at ?? now(), 'retire time') as number;
      const notAfter = entry.info.notAfter === undefined ? when : Math.min(entry.info.notAfter, when);
      const info: KeyInfo = Object.freeze({ ...entry.info, notAfter });
      entries.set(kid, { ...entry, info });
      emit({ type: 'key-retired', kid });
      return info;
    },

    remove(kid) {
      const had = entries.delete(kid);
      if (had) emit({ type: 'key-removed', kid });
      return had;
    },

    get(kid) {
      return entries.get(kid)?.info;
    },

    list() {
      return [...entries.values()].sort((a, b) => a.seq - b.seq).map((e) => e.info);
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  states.set(ring, { entries, now });
  return ring;
}

/** Creates a key ring holding every key of a JWK Set. */
export async function keyRingFromJwks(jwks: TicketJwks, init: KeyRingInit = {}): Promise<KeyRing> {
  const ring = createKeyRing(init);
  await ring.addJwks(jwks);
  return ring;
}

function stateOf(ring: KeyRing): RingState {
  const state = states.get(ring);
  if (state === undefined) throw invalid('key-ring', 'not a key ring made by createKeyRing');
  return state;
}

/** Asserts that `ring` was made by {@link createKeyRing} (internal). */
export function assertKeyRing(ring: KeyRing): void {
  stateOf(ring);
}

/** Whether a key may sign or verify tickets of `pool` (`undefined`: a ticket without pool). */
export function keyAllowsPool(info: KeyInfo, pool: string | undefined): boolean {
  return info.pools === undefined || (pool !== undefined && (info.pools as readonly string[]).includes(pool));
}

function inWindow(info: KeyInfo, at: number, toleranceMs: number): boolean {
  return (info.notBefore === undefined || at >= info.notBefore - toleranceMs) && (info.notAfter === undefined || at <= info.notAfter + toleranceMs);
}

/** A key resolved for verification (internal). */
export interface VerificationKey {
  readonly info: KeyInfo;
  readonly key: CryptoKey;
}

/**
 * The key to verify a ticket with `kid` at `at` (ms), or `ERR_TICKET_KEY_UNKNOWN`
 * (`reason`: `unknown-kid` or `outside-window`). Internal: not re-exported.
 */
export function resolveVerificationKey(ring: KeyRing, kid: string, at: number, toleranceMs: number): VerificationKey {
  const entry = stateOf(ring).entries.get(kid);
  if (entry === undefined) throw new TicketError('ERR_TICKET_KEY_UNKNOWN', 'no key with the ticket kid', { reason: 'unknown-kid' });
  if (!inWindow(entry.info, at, toleranceMs)) {
    throw new TicketError('ERR_TICKET_KEY_UNKNOWN', 'the ticket key is outside its validity window', { reason: 'outside-window' });
  }
  return { info: entry.info, key: entry.verifyKey };
}

/**
 * The newest signing key usable for `pool` at `at` for a ticket living `lifetimeMs`: active now and
 * still valid when the ticket expires. "Newest" is the latest `notBefore`, then the latest added.
 */
export function selectSigningKey(ring: KeyRing, at: number, pool: string | undefined, lifetimeMs: number): VerificationKey | undefined {
  let best: Entry | undefined;
  for (const entry of stateOf(ring).entries.values()) {
    const { info } = entry;
    if (entry.signKey === undefined || !keyAllowsPool(info, pool)) continue;
    if (info.notBefore !== undefined && at < info.notBefore) continue;
    if (info.notAfter !== undefined && at + lifetimeMs > info.notAfter) continue;
    if (
      best === undefined ||
      (info.notBefore ?? -Infinity) > (best.info.notBefore ?? -Infinity) ||
      ((info.notBefore ?? -Infinity) === (best.info.notBefore ?? -Infinity) && entry.seq > best.seq)
    ) {
      best = entry;
    }
  }
  return best === undefined ? undefined : { info: best.info, key: best.signKey as CryptoKey };
}

/** Whether some key can verify tickets of `pool` at `at` (for the pool policy). */
export function hasVerificationKey(ring: KeyRing, pool: string | undefined, at: number): boolean {
  for (const entry of stateOf(ring).entries.values()) {
    if (keyAllowsPool(entry.info, pool) && inWindow(entry.info, at, 0)) return true;
  }
  return false;
}

/** The ring's clock (internal). */
export function ringNow(ring: KeyRing): number {
  return stateOf(ring).now();
}
