/** Frames built from a record: the cutover's cleanup, and what is replayed to backend B. */
import { FrameSplitter } from '@handoff/protocol';
import { describe, expect, it } from 'vitest';
import {
  SessionRecord,
  buildCleanupFrames,
  buildRequestAssetsFrame,
  buildViewRadiusFrame,
  createCaptureTap,
} from '@handoff/session';
import { G3, OTHER_PLAYER, PLAYER, assets, backend, bid, connectV2, frame, hash, setChunk } from './support/frames.js';
import { playSession } from './support/scenario.js';

describe('cleanup frames', () => {
  it('unload every tracked column and remove every player-list entry; tapping them empties the record', () => {
    const record = new SessionRecord({ backend: backend('lobby-1') });
    const tap = createCaptureTap(record);
    playSession(tap);
    tap.serverToClient(setChunk(G3, 40_000, 0, -40_000)); // outside the packed range
    const cleanup = buildCleanupFrames(record);
    expect(cleanup.complete).toBe(true);
    expect(cleanup.players).toEqual([PLAYER, OTHER_PLAYER]);
    expect(cleanup.columns).toHaveLength(10);

    const frames = [...new FrameSplitter(G3.registry, { direction: 'ToClient', channel: 'Chunks' }).push(cleanup.unloadChunks)];
    expect(frames.map((f) => f.descriptor.name)).toEqual(Array(10).fill('UnloadChunk'));
    const unloaded = frames.map((f) => G3.packet('UnloadChunk').decodeFrame(f));
    expect(unloaded.map((u) => ({ x: u.chunkX, z: u.chunkZ })).sort((a, b) => a.x - b.x || a.z - b.z)).toEqual(
      [...record.chunks].sort((a, b) => a.x - b.x || a.z - b.z),
    );
    expect(G3.packet('RemoveFromServerPlayerList').decodeFrame(cleanup.removePlayers!).players).toEqual([PLAYER, OTHER_PLAYER]);

    // the record is unchanged until the frames reach the client through the tap
    expect(record.chunks.size).toBe(10);
    for (const f of frames) tap.serverToClient(f, bid('proxy'));
    tap.serverToClient(new FrameSplitter(G3.registry).push(cleanup.removePlayers!)[0]!, bid('proxy'));
    expect(record.chunks.size).toBe(0);
    expect(record.playerList.size).toBe(0);
    expect(buildCleanupFrames(record)).toMatchObject({ unloadChunks: new Uint8Array(0), removePlayers: undefined, complete: true });
  });

  it('says when it is incomplete (a bound overflowed); forgetWorld resets', () => {
    const record = new SessionRecord({ backend: backend('a'), limits: { chunkColumns: 1 } });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(setChunk(G3, 0, 0, 0));
    tap.serverToClient(setChunk(G3, 1, 0, 0));
    expect(buildCleanupFrames(record).complete).toBe(false);
    record.forgetWorld();
    expect(buildCleanupFrames(record)).toMatchObject({ complete: true, columns: [] });
  });
});

describe('replay to backend B', () => {
  it('asks B only for the assets the client lacks, and replays its ViewRadius', () => {
    const record = new SessionRecord({ backend: backend('lobby-1') });
    playSession(createCaptureTap(record)); // the client holds assets 0..49
    const bRequires = assets(40, 20); // 40..59
    const { frame: request, assets: missing } = buildRequestAssetsFrame(record, bRequires);
    expect(missing.map((a) => a.hash)).toEqual(assets(50, 10).map((a) => a.hash));
    expect(G3.packet('RequestAssets').decodeFrame(request).assets).toEqual(assets(50, 10));
    expect(G3.packet('RequestAssets').decodeFrame(buildRequestAssetsFrame(record, assets(0, 3)).frame).assets).toEqual([]);
    expect(G3.packet('ViewRadius').decodeFrame(buildViewRadiusFrame(record)!).value).toBe(192);
    expect(record.assets.has(hash(59))).toBe(false);
  });

  it('without a captured ViewRadius there is nothing to replay', () => {
    const record = new SessionRecord();
    createCaptureTap(record).clientToServer(connectV2());
    expect(buildViewRadiusFrame(record)).toBeUndefined();
    record.setViewRadius('client', 64);
    expect(buildViewRadiusFrame(record)).toEqual(frame(G3, 'ViewRadius', { value: 64 }).bytes);
  });
});
