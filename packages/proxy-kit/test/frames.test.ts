import { describe, expect, it } from 'vitest';
import { getGeneration, isProtocolError } from '@handoff/protocol';
import { frameSink, frameSource } from '@handoff/proxy-kit';

const g3 = getGeneration('G3');
const pong = (id: number) => g3.packet('Pong').encodeFrame({ id, type: 'Raw', packetQueueSize: 0 });

function pipe() {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  return { source: frameSource(readable, g3.registry, { direction: 'ToServer' }), sink: frameSink(writable) };
}

describe('frame sources and sinks', () => {
  it('hands out frames one at a time across chunk cuts, then null at a clean end', async () => {
    const { source, sink } = pipe();
    const bytes = Buffer.concat([pong(1), pong(2), pong(3)]);
    void (async () => {
      await sink.write(bytes.subarray(0, 5));
      await sink.write(bytes.subarray(5, 31));
      await sink.write(bytes.subarray(31));
      await sink.close();
    })();
    const ids: number[] = [];
    for (let f = await source.next(); f !== null; f = await source.next()) ids.push(g3.packet('Pong').decode(f.payload).id);
    expect(ids).toEqual([1, 2, 3]);
    expect(source.atBoundary).toBe(true);
  });

  it('an aborted wait loses nothing: the pending read serves the next call', async () => {
    const { source, sink } = pipe();
    const controller = new AbortController();
    const waiting = source.next({ signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    void sink.write(pong(7));
    const frame = await source.next();
    expect(frame && g3.packet('Pong').decode(frame.payload).id).toBe(7);
  });

  it('a wait with an already aborted signal leaves no read behind to fail unhandled when the stream errors', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail!: (error: unknown) => void;
      const readable = new ReadableStream<Uint8Array>({ start: (controller) => void (fail = (error) => controller.error(error)) });
      const source = frameSource(readable, g3.registry, { direction: 'ToServer' });
      const controller = new AbortController();
      controller.abort(new Error('stop waiting'));
      await expect(source.next({ signal: controller.signal })).rejects.toThrow('stop waiting');
      fail(new Error('the connection was closed locally')); // nobody reads again: the link is closing
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      // a later read still sees the stream's error
      await expect(source.next()).rejects.toThrow('the connection was closed locally');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a stream that ends inside a frame, or carries a packet of the wrong direction, is a ProtocolError', async () => {
    const cut = pipe();
    void cut.sink.write(pong(1).subarray(0, 10)).then(() => cut.sink.close());
    await expect(cut.source.next()).rejects.toSatisfy((e) => isProtocolError(e, 'ERR_PROTOCOL_TRUNCATED'));
    const wrong = pipe();
    void wrong.sink.write(g3.packet('Ping').encodeFrame({ id: 1, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 }));
    await expect(wrong.source.next()).rejects.toSatisfy((e) => isProtocolError(e));
  });

  it('frames before bad bytes in the same chunk are handed out first, then the error (and again on every later call)', async () => {
    const { source, sink } = pipe();
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setInt32(4, 9999, true);
    void sink.write(Buffer.concat([pong(1), pong(2), bad]));
    expect(g3.packet('Pong').decode((await source.next())!.payload).id).toBe(1);
    expect(g3.packet('Pong').decode((await source.next())!.payload).id).toBe(2);
    await expect(source.next()).rejects.toSatisfy((e) => isProtocolError(e, 'ERR_PROTOCOL_UNKNOWN_PACKET'));
    await expect(source.next()).rejects.toSatisfy((e) => isProtocolError(e, 'ERR_PROTOCOL_UNKNOWN_PACKET'));
  });
});
