import { describe, expect, test } from 'vitest';
import {
  MAX_PACKET_SIZE,
  ProtocolError,
  frameFromPayload,
  compressPayload,
  decodeFrame,
  decompressPayload,
  fromHex,
  getGeneration,
  zstdContentSize,
} from '@handoff/protocol';
import { code } from './support/errors.js';


const g3 = getGeneration('G3');

describe('zstd', () => {
  test('written frames carry their content size', () => {
    const data = new TextEncoder().encode('hello hytale '.repeat(1000));
    const compressed = compressPayload(data);
    expect(compressed.length).toBeLessThan(data.length / 10);
    expect(zstdContentSize(compressed)).toBe(data.length);
    expect(decompressPayload(compressed, data.length)).toEqual(data);
  });

  test('a frame without its content size is refused (vector N7)', () => {
    const noSize = fromHex('28b52ffd0000310000010001000000');
    expect(zstdContentSize(noSize)).toBeUndefined();
    expect(code(() => decompressPayload(noSize, 1000))).toBe('ERR_PROTOCOL_ZSTD_NO_CONTENT_SIZE');
  });

  test('a declared size over the limit is refused before anything is allocated', () => {
    // header declaring 4 GiB - 1 in a 9-byte input
    const huge = fromHex('28b52ffd' + 'a0' + 'ffffffff');
    expect(zstdContentSize(huge)).toBe(0xffffffff);
    expect(code(() => decompressPayload(huge, MAX_PACKET_SIZE))).toBe('ERR_PROTOCOL_ZSTD_TOO_LARGE');
    expect(code(() => decompressPayload(new Uint8Array(100), 50))).toBe('ERR_PROTOCOL_ZSTD_TOO_LARGE');
  });

  test('garbage and lies are corrupt, not a crash', () => {
    expect(code(() => decompressPayload(fromHex('0011223344'), 100))).toBe('ERR_PROTOCOL_ZSTD_CORRUPT');
    const real = compressPayload(new Uint8Array(64).fill(7));
    const lie = real.slice();
    lie[5] = 65; // single-segment 1-byte content size: now 65 instead of 64
    expect(code(() => decompressPayload(lie, 1000))).toBe('ERR_PROTOCOL_ZSTD_CORRUPT');
    const cut = real.subarray(0, real.length - 2);
    expect(code(() => decompressPayload(cut, 1000))).toBe('ERR_PROTOCOL_ZSTD_CORRUPT');
  });

  test('compressed packets are compressed on encode and decompressed on decode', () => {
    const hash = 'a'.repeat(64);
    const value = { worldHeight: 320, requiredAssets: Array.from({ length: 50 }, (_, i) => ({ hash, name: `Common/Item_${i}.png` })) };
    const frame = g3.packet('WorldSettings').encodeFrame(value);
    const plain = g3.packet('WorldSettings').encode(value);
    expect(frame.length - 8).toBeLessThan(plain.length);
    const decoded = decodeFrame(g3, frame);
    expect(decoded).toMatchObject({ name: 'WorldSettings', value });
    // opaque compressed packets are decompressed too
    const entityUpdates = g3.registry.byName('EntityUpdates')!;
    const payload = compressPayload(Uint8Array.of(0));
    const opaque = frameFromPayload(entityUpdates.id, payload);
    expect(decodeFrame(g3, opaque)).toMatchObject({ modelled: false, name: 'EntityUpdates', payload: Uint8Array.of(0) });
  });

  test('a caller may bound decompression below maxSize', () => {
    const frame = g3.packet('RequestAssets').encodeFrame({ assets: [{ hash: 'b'.repeat(64), name: 'x'.repeat(400) }] });
    expect(code(() => decodeFrame(g3, frame, { maxDecompressedSize: 100 }))).toBe('ERR_PROTOCOL_ZSTD_TOO_LARGE');
  });
});
