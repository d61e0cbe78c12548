/**
 * What a simulated backend's world is made of: its UUID, its chunks (whose bytes name the backend, so
 * a client can tell which backend it is on), and the common assets it requires.
 */
import { createHash } from 'node:crypto';
import { TestkitError } from '../errors.js';

/** A common asset the backend requires (WorldSettings) and streams on request (AssetInitialize/Part/Finalize). */
export interface BackendAsset {
  /** 64 lowercase hex characters: SHA-256 of `bytes`. */
  readonly hash: string;
  /** The asset's name, e.g. `Common/Icons/handoff.png` (≤ 512 bytes of UTF-8). */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** An asset given to the backend: a name and its bytes (the hash is computed). */
export interface BackendAssetInit {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** SHA-256 hex of `bytes`: the asset hash Hytale uses. */
export function assetHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function toAsset(init: BackendAssetInit): BackendAsset {
  if (typeof init?.name !== 'string' || init.name.length === 0 || Buffer.byteLength(init.name) > 512) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'an asset needs a name of 1 to 512 bytes');
  }
  if (!(init.bytes instanceof Uint8Array)) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', `asset ${init.name}: bytes must be a Uint8Array`);
  return Object.freeze({ hash: assetHash(init.bytes), name: init.name, bytes: init.bytes });
}

/**
 * The default assets: the same two small files on every backend, as a network whose backends share
 * their asset packs would have (a proxy can then skip re-sending them on a migration).
 */
export function defaultAssets(): BackendAsset[] {
  return [
    toAsset({ name: 'Common/Handoff/testkit.txt', bytes: new TextEncoder().encode('handoff testkit common asset\n') }),
    toAsset({ name: 'Common/Handoff/blocks.bin', bytes: Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff) }),
  ];
}

/** A deterministic UUID (version 4 layout, bytes from SHA-256) for `seed`. */
export function uuidFromSeed(seed: string): string {
  const b = createHash('sha256').update(seed).digest();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A stable 32-bit number for `seed` (entity seed, client id base). */
export function numberFromSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32LE(0);
}

/**
 * The block data of chunk section (x, 0, z) of a backend's world: an ASCII tag that names the backend
 * and the world, then filler. Tests read it back (after decompressing SetChunk) with {@link chunkOwner}.
 */
export function chunkData(backendId: string, worldUuid: string, x: number, z: number, size: number): Uint8Array {
  const tag = new TextEncoder().encode(`handoff-chunk:${backendId}:${worldUuid}:${x}:${z};`);
  const out = new Uint8Array(Math.max(size, tag.length));
  out.set(tag);
  for (let i = tag.length; i < out.length; i++) out[i] = (i + x * 7 + z * 13) & 0xff;
  return out;
}

/** The backend id and world UUID a simulated backend wrote into a chunk's `data`, or `undefined`. */
export function chunkOwner(data: Uint8Array | null | undefined): { backendId: string; worldUuid: string; x: number; z: number } | undefined {
  if (!data) return undefined;
  const text = Buffer.from(data.subarray(0, Math.min(data.length, 200))).toString('latin1');
  const match = /^handoff-chunk:([A-Za-z0-9._:-]+?):([0-9a-f-]{36}):(-?\d+):(-?\d+);/.exec(text);
  if (!match) return undefined;
  return { backendId: match[1]!, worldUuid: match[2]!, x: Number(match[3]), z: Number(match[4]) };
}
