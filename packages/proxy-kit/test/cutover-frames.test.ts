/**
 * The cutover's frames from the record: an UnloadChunk per tracked column (on the Chunks stream in
 * G3, the bidi stream before), one RemoveFromServerPlayerList, the UI reset; B's JoinWorld rewritten
 * to clearWorld=true. The record itself is not changed by building them.
 */
import { describe, expect, it } from 'vitest';
import { readFrame, type Generation } from '@handoff/protocol';
import { SessionRecord, createCaptureTap } from '@handoff/session';
import { parseBackendId, parseClientUuid } from '@handoff/types';
import { cleanupWrites, rewriteJoinWorld } from '../src/cutover.js';
import { G2, G3, unload } from './forward-support.js';

const A_ID = parseBackendId('a');
const B_ID = parseBackendId('b');

const OTHER = parseClientUuid('0b0b0b0b-0000-4000-8000-00000000000b');

function recordWith(g: Generation): SessionRecord {
  const record = new SessionRecord();
  const tap = createCaptureTap(record, { generation: g });
  for (const x of [1, 2, 3]) tap.serverToClient(readFrame(g.registry, unload(g, x)), A_ID); // unloads of untracked columns: nothing tracked yet
  record.chunks.add(1, 1);
  record.chunks.add(2, 5);
  tap.serverToClient(readFrame(g.registry, g.packet('AddToServerPlayerList').encodeFrame({ players: [{ uuid: OTHER, username: 'Other', worldUuid: null, ping: 0 }] })), A_ID);
  return record;
}

describe('the cutover frames', () => {
  it.each([
    ['G3', G3, 'Chunks'],
    ['G2', G2, 'Default'],
  ] as const)('%s: UnloadChunk per tracked column on %s, then the player-list removal and the UI reset', (_, g, chunksChannel) => {
    const record = recordWith(g);
    const { writes, complete } = cleanupWrites(record, g);
    expect(complete).toBe(true);
    const shape = writes.map((w) => [w.channel, w.frames.map((f) => f.descriptor.name)]);
    const cleanupNames = ['RemoveFromServerPlayerList', 'ResetUserInterfaceState'];
    expect(shape).toEqual(chunksChannel === 'Chunks'
      ? [['Chunks', ['UnloadChunk', 'UnloadChunk']], ['Default', cleanupNames]]
      : [['Default', ['UnloadChunk', 'UnloadChunk']], ['Default', cleanupNames]]);
    const columns = writes[0]!.frames.map((f) => g.packet('UnloadChunk').decodeFrame(f)).map((u) => [u.chunkX, u.chunkZ]);
    expect(columns.sort()).toEqual([[1, 1], [2, 5]]);
    expect(g.packet('RemoveFromServerPlayerList').decodeFrame(writes[1]!.frames[0]!).players).toEqual([OTHER]);
    expect(record.chunks.size).toBe(2); // building them changes nothing
  });

  it('nothing tracked: only the UI reset', () => {
    const { writes } = cleanupWrites(new SessionRecord({}), G3);
    expect(writes.map((w) => w.frames.map((f) => f.descriptor.name))).toEqual([['ResetUserInterfaceState']]);
  });

  it("rewrites B's first-join JoinWorld to a world change, keeping B's world", () => {
    const worldUuid = '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f';
    const join = readFrame(G3.registry, G3.packet('JoinWorld').encodeFrame({ clearWorld: false, fadeInOut: false, worldUuid }));
    expect(G3.packet('JoinWorld').decodeFrame(rewriteJoinWorld(join, G3))).toEqual({ clearWorld: true, fadeInOut: true, worldUuid });
  });
});
