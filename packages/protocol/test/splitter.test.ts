import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrameSplitter, ProtocolError, createFrameStream, fromHex, getGeneration, toHex, writeFrameHeader, type WireFrame } from '@handoff/protocol';
import { code } from './support/errors.js';

const g3 = getGeneration('G3');
const join = g3.packet('JoinWorld').encodeFrame({ clearWorld: true, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' });
const view = g3.packet('ViewRadius').encodeFrame({ value: 12 });
const finished = g3.packet('WorldLoadFinished').encodeFrame({});
const disconnect = g3.packet('Disconnect').encodeFrame({ reason: 'x'.repeat(300), type: 'Disconnect' });
const frames = [join, view, finished, disconnect, view];
const stream = Uint8Array.from(Buffer.concat(frames));


describe('FrameSplitter', () => {
  test('frames inside one chunk are views of it (no copy)', () => {
    const splitter = new FrameSplitter(g3.registry);
    const out = splitter.push(stream);
    expect(out.map((f) => f.descriptor.name)).toEqual(['JoinWorld', 'ViewRadius', 'WorldLoadFinished', 'Disconnect', 'ViewRadius']);
    for (const f of out) expect(f.bytes.buffer).toBe(stream.buffer);
    expect(out[1]!.payload).toEqual(fromHex('0c000000'));
    expect(splitter.atBoundary).toBe(true);
  });

  test('chunks cut anywhere give the same frames, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cutsRaw) => {
        const cuts = [...new Set(cutsRaw)].sort((a, b) => a - b);
        const splitter = new FrameSplitter(g3.registry);
        const out: WireFrame[] = [];
        let prev = 0;
        for (const cut of [...cuts, stream.length]) {
          out.push(...splitter.push(stream.subarray(prev, cut)));
          prev = cut;
        }
        splitter.end();
        expect(out.map((f) => toHex(f.bytes))).toEqual(frames.map((f) => toHex(f)));
      }),
    );
  });

  test('byte by byte', () => {
    const splitter = new FrameSplitter(g3.registry);
    const out: WireFrame[] = [];
    for (const b of stream) out.push(...splitter.push(Uint8Array.of(b)));
    expect(out.length).toBe(frames.length);
  });

  test('a negative length, an unknown id or a length over maxSize fails on the header, before the body', () => {
    const negative = fromHex('ffffffff' + '20000000');
    expect(code(() => new FrameSplitter(g3.registry).push(negative))).toBe('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH');
    const unknown = fromHex('00000000' + 'e7030000');
    expect(code(() => new FrameSplitter(g3.registry).push(unknown))).toBe('ERR_PROTOCOL_UNKNOWN_PACKET');
    // ViewRadius (maxSize 4) declaring 5 bytes, with none of the body sent
    const tooLarge = fromHex('05000000' + '20000000');
    const splitter = new FrameSplitter(g3.registry);
    expect(code(() => splitter.push(tooLarge))).toBe('ERR_PROTOCOL_FRAME_TOO_LARGE');
    // poisoned afterwards: the stream is out of sync
    expect(code(() => splitter.push(view))).toBe('ERR_PROTOCOL_FRAME_TOO_LARGE');
  });

  test('the header check works when the header itself spans chunks', () => {
    const splitter = new FrameSplitter(g3.registry);
    expect(splitter.push(fromHex('05000000'))).toEqual([]);
    expect(code(() => splitter.push(fromHex('2000')))).toBeUndefined();
    expect(code(() => splitter.push(fromHex('0000')))).toBe('ERR_PROTOCOL_FRAME_TOO_LARGE');
  });

  test('a huge declared length costs nothing until its bytes arrive', () => {
    const splitter = new FrameSplitter(g3.registry);
    // WorldSettings may be up to 1.6 GB: declare 1 GB, send 10 bytes
    const header = new Uint8Array(18);
    writeFrameHeader(header, 0, 20, 1 << 30);
    expect(splitter.push(header)).toEqual([]);
    expect(splitter.buffered).toBe(18);
  });

  test('direction and channel filters (G3)', () => {
    const toServer = new FrameSplitter(g3.registry, { direction: 'ToServer' });
    expect(code(() => toServer.push(join))).toBe('ERR_PROTOCOL_UNKNOWN_PACKET');
    expect(code(() => new FrameSplitter(g3.registry, { direction: 'ToClient' }).push(view))).toBeUndefined();
    const chunks = new FrameSplitter(g3.registry, { channel: 'Chunks' });
    expect(code(() => chunks.push(join))).toBe('ERR_PROTOCOL_WRONG_CHANNEL');
    const unload = g3.packet('UnloadChunk').encodeFrame({ chunkX: 1, chunkZ: -1 });
    expect(new FrameSplitter(g3.registry, { channel: 'Chunks' }).push(unload)).toHaveLength(1);
  });

  test('end() inside a frame is a truncation', () => {
    const splitter = new FrameSplitter(g3.registry);
    splitter.push(join.subarray(0, 10));
    expect(code(() => splitter.end())).toBe('ERR_PROTOCOL_TRUNCATED');
  });

  test('as a TransformStream: frames out, and an error stops the stream', async () => {
    const readable = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(stream.subarray(0, 7));
        controller.enqueue(stream.subarray(7));
        controller.close();
      },
    }).pipeThrough(createFrameStream(g3.registry));
    const names: string[] = [];
    for await (const f of readable) names.push(f.descriptor.name);
    expect(names).toHaveLength(5);

    const bad = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(view);
        controller.enqueue(fromHex('ffffffff00000000'));
        controller.close();
      },
    }).pipeThrough(createFrameStream(g3.registry));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const f of bad) seen.push(f.descriptor.name);
      })(),
    ).rejects.toMatchObject({ code: 'ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH' });
    expect(seen).toEqual(['ViewRadius']);
  });
});
