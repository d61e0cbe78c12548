/**
 * The cutover's frames: what the client is sent, in order, when it moves from backend A to backend B
 * (docs/proxy-kit.md, "The cutover"). A Hytale server changes a player's world by unloading every
 * chunk column the player had, then sending `JoinWorld(clearWorld=true)`; the kit does the same
 * across servers, and also removes A's server-player-list entries (no world change resets that list)
 * and resets the UI state A left:
 *
 * 1. `UnloadChunk` for every column the record tracks (G3: on the Chunks stream);
 * 2. one `RemoveFromServerPlayerList` with every entry the record tracks;
 * 3. `ResetUserInterfaceState` (what the server sends when it resets a player);
 * 4. what B sent before its JoinWorld that is meant for the client (its player list, its tags);
 * 5. B's `JoinWorld`, rewritten to `clearWorld=true, fadeInOut=true` (B sent `false`: to B this is a
 *    first join);
 * 6. asset packets kept by a `forward-after-cutover` asset policy (the hot-reload path);
 * 7. B's frames queued after its JoinWorld, then B's channels, live.
 *
 * B's `SetClientId` comes from B itself once the client's `ClientReady` reaches it.
 */
import { readFrame, type Generation, type WireFrame } from '@handoff/protocol';
import { buildCleanupFrames, type SessionRecord } from '@handoff/session';
import type { ChannelName } from './contracts.js';

/** One write of the cutover: whole frames for one client channel. */
export interface CutoverWrite {
  readonly channel: ChannelName;
  readonly frames: readonly WireFrame[];
  /** Why the kit writes it (for traces): the cleanup, or a frame of B's. */
  readonly origin: 'cleanup' | 'target';
}

/** The cleanup of what A left on the client, from the record (it is not changed: call `record.forgetWorld()` after writing). */
export function cleanupWrites(record: SessionRecord, generation: Generation): { readonly writes: CutoverWrite[]; readonly complete: boolean } {
  const cleanup = buildCleanupFrames(record, generation);
  const writes: CutoverWrite[] = [];
  const chunksChannel: ChannelName = generation.serverUniStreams.includes('Chunks') ? 'Chunks' : 'Default';
  if (cleanup.unloadChunks.length > 0) writes.push({ channel: chunksChannel, frames: splitFrames(generation, cleanup.unloadChunks), origin: 'cleanup' });
  const defaults: WireFrame[] = [];
  if (cleanup.removePlayers) defaults.push(...splitFrames(generation, cleanup.removePlayers));
  if (generation.isModelled('ResetUserInterfaceState')) defaults.push(wire(generation, generation.packet('ResetUserInterfaceState').encodeFrame({} as never)));
  if (defaults.length > 0) writes.push({ channel: 'Default', frames: defaults, origin: 'cleanup' });
  return { writes, complete: cleanup.complete };
}

/** B's JoinWorld as the client must see it: `clearWorld=true`, `fadeInOut=true`, B's world UUID. */
export function rewriteJoinWorld(frame: WireFrame, generation: Generation): WireFrame {
  const codec = generation.packet('JoinWorld');
  const join = codec.decodeFrame(frame);
  return wire(generation, codec.encodeFrame({ ...join, clearWorld: true, fadeInOut: true }));
}

/** A frame the kit built, as a `WireFrame` of `generation`. */
export function wire(generation: Generation, bytes: Uint8Array): WireFrame {
  return readFrame(generation.registry, bytes);
}

/** Back-to-back frames the kit built, one `WireFrame` each. */
export function splitFrames(generation: Generation, bytes: Uint8Array): WireFrame[] {
  const out: WireFrame[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0; pos < bytes.length; ) {
    const end = pos + 8 + view.getInt32(pos, true);
    out.push(readFrame(generation.registry, bytes.subarray(pos, end)));
    pos = end;
  }
  return out;
}
