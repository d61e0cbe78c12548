/**
 * The asset hashes the client holds (docs/session.md, "Assets on the server"): so that the proxy,
 * playing the client to backend B, requests from B only the assets the client lacks.
 *
 * - `WorldSettings.requiredAssets` lists what the server requires;
 * - the client's `RequestAssets` that follows lists the ones it lacks: the rest it already holds;
 * - each `AssetInitialize` the client receives adds an asset it now holds.
 *
 * A required-asset list is large (thousands of 64-character hashes) and the same for every player of a
 * backend pool, so it is interned: one immutable {@link AssetSet} per distinct `WorldSettings` payload,
 * shared by every session that received it and freed when none does. Each session keeps only its own
 * differences (requested but not yet received; received outside the list).
 */
import { createHash } from 'node:crypto';

/** An asset as the protocol names it: a 64-character hash and a name. */
export interface AssetRef {
  readonly hash: string;
  readonly name: string;
}

/** An immutable set of asset hashes (one WorldSettings' required list), shared between sessions. */
export class AssetSet {
  readonly #hashes: ReadonlySet<string>;
  /** SHA-256 (hex) of the packet payload the set was built from. */
  readonly digest: string;
  /** `worldHeight` of the WorldSettings the list came from. */
  readonly worldHeight: number;

  constructor(hashes: Iterable<string>, digest: string, worldHeight: number) {
    this.#hashes = new Set(hashes);
    this.digest = digest;
    this.worldHeight = worldHeight;
  }

  get size(): number {
    return this.#hashes.size;
  }

  has(hash: string): boolean {
    return this.#hashes.has(hash);
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.#hashes.values();
  }

  toJSON(): { assets: number } {
    return { assets: this.#hashes.size };
  }
}

const interned = new Map<string, WeakRef<AssetSet>>();
const finalizer = new FinalizationRegistry<string>((digest) => {
  const ref = interned.get(digest);
  if (ref !== undefined && ref.deref() === undefined) interned.delete(digest);
});

/** SHA-256 (hex) of a payload: the interning key of the asset list it carries. */
export function payloadDigest(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex');
}

/**
 * The shared {@link AssetSet} of a WorldSettings payload digest, building it with `build()` (which
 * decodes the packet, or throws) only when no live session holds one already.
 */
export function internAssetSet(digest: string, build: () => { readonly hashes: Iterable<string>; readonly worldHeight: number }): AssetSet {
  const existing = interned.get(digest)?.deref();
  if (existing !== undefined) return existing;
  const built = build();
  const set = new AssetSet(built.hashes, digest, built.worldHeight);
  interned.set(digest, new WeakRef(set));
  finalizer.register(set, digest);
  return set;
}

/** Number of distinct asset lists currently interned (for tests and metrics). */
export function internedAssetSets(): number {
  let live = 0;
  for (const ref of interned.values()) if (ref.deref() !== undefined) live++;
  return live;
}

/** Default bound of per-session asset hashes (requested-but-missing plus received-outside-the-list). */
export const DEFAULT_MAX_ASSET_HASHES = 65_536;
/** Required-asset lists a session keeps (one per WorldSettings the client answered; usually one). */
const MAX_BASES = 8;

/** What the client holds, as far as the proxy has seen. */
export class ClientAssets {
  readonly limit: number;
  #bases: AssetSet[] = [];
  /** The last WorldSettings list, held once the client's RequestAssets answers it. */
  #candidate: AssetSet | undefined;
  #missing: Set<string> | undefined;
  #extra: Set<string> | undefined;
  #overflowed = false;

  constructor(limit = DEFAULT_MAX_ASSET_HASHES) {
    this.limit = limit;
  }

  /** True once a hash could not be tracked: `has()` may then answer `false` for an asset the client holds. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** True once the client answered a WorldSettings (the proxy knows something of what it holds). */
  get known(): boolean {
    return this.#bases.length > 0 || (this.#extra?.size ?? 0) > 0;
  }

  /** The required-asset list of the last WorldSettings the client received, if any. */
  get required(): AssetSet | undefined {
    return this.#candidate ?? this.#bases[this.#bases.length - 1];
  }

  /** Whether the client holds the asset with this hash. */
  has(hash: string): boolean {
    if (this.#missing?.has(hash) === true) return false;
    if (this.#extra?.has(hash) === true) return true;
    for (const base of this.#bases) if (base.has(hash)) return true;
    return false;
  }

  /** The assets of `required` (e.g. backend B's `WorldSettings.requiredAssets`) the client lacks. */
  missingFrom<A extends AssetRef>(required: Iterable<A>): A[] {
    const out: A[] = [];
    for (const asset of required) if (!this.has(asset.hash)) out.push(asset);
    return out;
  }

  /** (The capture tap calls it.) The client received a WorldSettings with this (interned) required list. */
  noteRequired(set: AssetSet): void {
    this.#candidate = set;
  }

  /** (The capture tap calls it.) The client asked for these hashes: it lacks them and holds the rest of the last list. */
  noteRequested(hashes: Iterable<string>): boolean {
    if (this.#candidate !== undefined) {
      if (!this.#bases.includes(this.#candidate)) {
        if (this.#bases.length >= MAX_BASES) this.#bases.shift();
        this.#bases.push(this.#candidate);
      }
      this.#candidate = undefined;
    }
    let ok = true;
    for (const hash of hashes) {
      this.#extra?.delete(hash);
      if (this.#missing?.has(hash) === true) continue;
      if (this.#tracked() >= this.limit) {
        ok = false;
        continue;
      }
      (this.#missing ??= new Set()).add(hash);
    }
    if (!ok) this.#overflowed = true;
    return ok;
  }

  /** (The capture tap calls it.) The client received this asset. */
  noteReceived(hash: string): boolean {
    this.#missing?.delete(hash);
    for (const base of this.#bases) if (base.has(hash)) return true;
    if (this.#extra?.has(hash) === true) return true;
    if (this.#tracked() >= this.limit) {
      this.#overflowed = true;
      return false;
    }
    (this.#extra ??= new Set()).add(hash);
    return true;
  }

  toJSON(): { lists: number; requiredAssets: number; missing: number; extra: number; overflowed: boolean } {
    return {
      lists: this.#bases.length,
      requiredAssets: this.required?.size ?? 0,
      missing: this.#missing?.size ?? 0,
      extra: this.#extra?.size ?? 0,
      overflowed: this.#overflowed,
    };
  }

  #tracked(): number {
    return (this.#missing?.size ?? 0) + (this.#extra?.size ?? 0);
  }
}
