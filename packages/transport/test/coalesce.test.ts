import { describe, expect, test } from 'vitest';
import { coalescingWritable } from '@handoff/transport';

function sink(): { writable: WritableStream<Uint8Array>; chunks: Uint8Array[]; closed: () => boolean; abortedWith: () => unknown } {
  const chunks: Uint8Array[] = [];
  let closed = false;
  let aborted: unknown;
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(chunk),
    close: () => void (closed = true),
    abort: (reason) => void (aborted = reason),
  });
  return { writable, chunks, closed: () => closed, abortedWith: () => aborted };
}

describe('coalescingWritable', () => {
  test('the frames written in one turn reach the target as one chunk, in order, then it closes', async () => {
    const target = sink();
    const writer = coalescingWritable(target.writable).getWriter();
    const frames = Array.from({ length: 200 }, (_, i) => new Uint8Array(100).fill(i));
    for (const frame of frames) void writer.write(frame);
    await writer.close();
    expect(target.chunks.length).toBe(1);
    expect(Buffer.compare(Buffer.from(target.chunks[0]!), Buffer.concat(frames))).toBe(0);
    expect(target.closed()).toBe(true);
  });

  test('a batch never exceeds maxBytes; big chunks pass through; buffers reused by the caller are safe', async () => {
    const target = sink();
    const writer = coalescingWritable(target.writable, { maxBytes: 1000 }).getWriter();
    const reused = new Uint8Array(300);
    for (let i = 0; i < 10; i++) {
      reused.fill(i);
      await writer.write(reused);
    }
    await writer.write(new Uint8Array(5000).fill(99));
    await writer.close();
    for (const chunk of target.chunks.slice(0, -1)) expect(chunk.byteLength).toBeLessThanOrEqual(1000);
    const all = Buffer.concat(target.chunks);
    expect(all.byteLength).toBe(8000);
    for (let i = 0; i < 10; i++) expect(all[i * 300]).toBe(i);
    expect(all[3000]).toBe(99);
  });

  test('a failing target fails later writes and close; abort reaches the target', async () => {
    const failing = new WritableStream<Uint8Array>({
      write: () => {
        throw new Error('boom');
      },
    });
    const writer = coalescingWritable(failing).getWriter();
    await writer.write(new Uint8Array(10));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(writer.write(new Uint8Array(10))).rejects.toThrow('boom');

    const target = sink();
    const second = coalescingWritable(target.writable).getWriter();
    await second.write(new Uint8Array(10));
    await second.abort('stop');
    expect(target.abortedWith()).toBe('stop');
    expect(target.chunks).toEqual([]);
  });
});
