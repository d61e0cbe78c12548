/**
 * A TCP backend's one stream, demultiplexed onto the client's channels by packet id, with a slow
 * channel consumer: the shared stream is read only while no channel holds its high-water mark, so
 * memory stays bounded, and nothing is lost or reordered.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getGeneration } from '@handoff/protocol';
import { ManualClock, chunkOwner } from '@handoff/testkit';
import { Closers, PLAYER, inWorld, network, readUntil, simulatedBackend } from './backend-fixtures.js';

const closers = new Closers();
afterEach(() => closers.closeAll());
const G3 = getGeneration('G3');

describe('TCP demultiplexing', () => {
  it('a Chunks consumer that lags holds the shared stream at the high-water mark; every frame still arrives, in order', async () => {
    const net = await network(closers);
    const clock = new ManualClock();
    const radius = 6;
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp', clock, chunkRadius: radius, chunkBytes: 8192 });
    const highWaterMark = 2048;
    const { link } = await inWorld(closers, net, b, { channelHighWaterMark: highWaterMark });

    // Default up to the first Ping; then the backend streams its chunks, and Default waits for the next Ping
    const defaults = await link.channel('Default');
    await readUntil(defaults, 'Ping');
    const nextDefault = defaults.next();
    nextDefault.catch(() => {}); // awaited below; a failed test must not leave it unhandled
    // the pending Default read pumps the stream until the Chunks queue is full, then stops reading
    await vi.waitFor(() => expect(link.stats().demux!.queuedBytes['Chunks']).toBeGreaterThanOrEqual(highWaterMark), { timeout: 10_000, interval: 5 });

    const chunks = await link.channel('Chunks');
    const sections = (2 * radius + 1) ** 2;
    let largest = 0;
    let total = 0;
    const seen = new Set<string>();
    for (let i = 0; i < sections; i++) {
      const frame = (await chunks.next())!;
      expect(frame.descriptor.name).toBe('SetChunk');
      largest = Math.max(largest, frame.bytes.byteLength);
      total += frame.bytes.byteLength;
      const owner = chunkOwner(G3.packet('SetChunk').decodeFrame(frame).data)!;
      expect(owner.backendId).toBe('game');
      seen.add(`${owner.x},${owner.z}`);
      // a slow consumer: one frame per macrotask
      await new Promise((resolve) => setImmediate(resolve));
      expect(link.stats().demux!.queuedBytes['Chunks']).toBeLessThanOrEqual(highWaterMark + largest);
    }
    expect(seen.size).toBe(sections);
    const stats = link.stats().demux!;
    expect(total).toBeGreaterThan(10 * highWaterMark); // far more than the mark went through
    expect(stats.peakQueuedBytes).toBeLessThanOrEqual(highWaterMark + largest);
    expect(stats.queuedBytes['Chunks']).toBe(0);

    // the Default reader was never lost: the next Ping reaches it
    await clock.advance(1000);
    expect((await nextDefault)!.descriptor.name).toBe('Ping');
    expect((await (await link.channel('WorldMap')).next())!.descriptor.name).toBe('ClearWorldMap');
  });

  it('a cancelled channel stops holding the others up: its frames are dropped from then on', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp', clock: new ManualClock(), chunkRadius: 3, chunkBytes: 8192 });
    const { link } = await inWorld(closers, net, b, { channelHighWaterMark: 1024 });
    await (await link.channel('Chunks')).cancel();
    await (await link.channel('WorldMap')).cancel();
    const defaults = await link.channel('Default');
    await readUntil(defaults, 'Ping');
    // the chunks behind it are read past and dropped: the backend's kick after them gets through
    const reading = readUntil(defaults, 'Disconnect');
    await b.kick(PLAYER, 'bye');
    expect((await reading).before).toEqual([]);
    expect(link.stats().demux!.queuedBytes).toEqual({ Default: 0, Chunks: 0, WorldMap: 0 });
  });
});
