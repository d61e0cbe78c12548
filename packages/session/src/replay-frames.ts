/**
 * Frames built from a record: what the migration sends the client to undo backend A (UnloadChunk per
 * tracked column, one RemoveFromServerPlayerList), and what it replays to backend B in the client's
 * place (PlayerOptions, ViewRadius, RequestAssets for what the client lacks). Encoded with the
 * record's generation; none of them carries a secret.
 */
import { FRAME_HEADER_SIZE, frameFromPayload, getGeneration, type Generation } from '@handoff/protocol';
import type { ClientUuid } from '@handoff/types';
import type { AssetRef } from './client-assets.js';
import type { ChunkColumn } from './chunk-columns.js';
import { SessionError } from './errors.js';
import type { SessionRecord } from './record.js';

function generationOf(record: SessionRecord, generation: Generation | string | undefined): Generation {
  const g = generation ?? record.generation;
  if (g === undefined) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the record has no Connect yet: pass the generation', { reason: 'no-generation' });
  return typeof g === 'string' ? getGeneration(g) : g;
}

/** The frames that undo on the client what the current backend left there. */
export interface CleanupFrames {
  /** Every `UnloadChunk` frame, back to back (G3: the Chunks stream). Empty when no column is tracked. */
  readonly unloadChunks: Uint8Array;
  /** One `RemoveFromServerPlayerList` frame with every tracked UUID (Default stream), if any. */
  readonly removePlayers: Uint8Array | undefined;
  /** The columns unloaded, in the order of `unloadChunks`. */
  readonly columns: readonly ChunkColumn[];
  /** The UUIDs removed. */
  readonly players: readonly ClientUuid[];
  /** False when a collection overflowed: the client may keep chunks or entries the record did not track. */
  readonly complete: boolean;
}

/**
 * Builds the cleanup frames from what the record tracks, without changing it. Tap them as you write
 * them to the client (`tap.serverToClient(frame, 'proxy')`), or call `record.forgetWorld()` after.
 */
export function buildCleanupFrames(record: SessionRecord, generation?: Generation | string): CleanupFrames {
  const g = generationOf(record, generation);
  const unload = g.packet('UnloadChunk');
  const columns = record.chunks.toArray();
  const frameSize = FRAME_HEADER_SIZE + unload.descriptor.fixedBlockSize;
  const unloadChunks = new Uint8Array(columns.length * frameSize);
  let pos = 0;
  for (const column of columns) {
    unloadChunks.set(unload.encodeFrame({ chunkX: column.x, chunkZ: column.z }), pos);
    pos += frameSize;
  }
  const players = record.playerList.uuids();
  const removePlayers = players.length === 0 ? undefined : g.packet('RemoveFromServerPlayerList').encodeFrame({ players });
  return {
    unloadChunks,
    removePlayers,
    columns,
    players,
    complete: !record.chunks.overflowed && !record.playerList.overflowed,
  };
}

/** The client's PlayerOptions as a frame, byte for byte as it sent it; `undefined` when none was captured. */
export function buildPlayerOptionsFrame(record: SessionRecord, generation?: Generation | string): Uint8Array | undefined {
  const payload = record.playerOptions;
  if (payload === undefined) return undefined;
  return frameFromPayload(generationOf(record, generation).packet('PlayerOptions').descriptor.id, payload);
}

/** The client's last ViewRadius (blocks) as a frame to the server; `undefined` when it sent none. */
export function buildViewRadiusFrame(record: SessionRecord, generation?: Generation | string): Uint8Array | undefined {
  const value = record.viewRadius.client;
  if (value === null) return undefined;
  return generationOf(record, generation).packet('ViewRadius').encodeFrame({ value });
}

/**
 * A `RequestAssets` frame asking backend B only for the assets of its required list that the client
 * lacks (the list may be empty), and those assets.
 */
export function buildRequestAssetsFrame<A extends AssetRef>(
  record: SessionRecord,
  required: Iterable<A> | null,
  generation?: Generation | string,
): { readonly frame: Uint8Array; readonly assets: readonly A[] } {
  const assets = record.assets.missingFrom(required ?? []);
  const frame = generationOf(record, generation)
    .packet('RequestAssets')
    .encodeFrame({ assets: assets.map((a) => ({ hash: a.hash, name: a.name })) });
  return { frame, assets };
}
