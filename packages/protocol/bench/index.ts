/**
 * `pnpm bench protocol`: the codec's numbers.
 *
 * - frame splitting of a large stream of mixed frames, beside a plain `Buffer.copy` of
 *   the same bytes (same run, same chunking);
 * - decode/encode of Connect and JoinWorld, generic schema codec beside a hand-written
 *   codec of the same packet (`hand-written.ts`);
 * - a fixed-field reader (`generation.fixedFields`) beside the full decode of the same packet
 *   (a Pong's id and type, what a capture tap reads of every Pong);
 * - zstd decompression of a 1 MiB WorldSettings.
 */
import { emit, log, opsPerSecond, stats } from '../../../scripts/bench-kit.js';
import { FrameSplitter, MAX_PACKET_SIZE, type WireFrame, getGeneration, zstdReady } from '../src/index.js';
import { decodeConnect, decodeJoinWorld, encodeConnect, encodeJoinWorld } from './hand-written.js';
import { performance } from 'node:perf_hooks';

await zstdReady;
const g3 = getGeneration('G3');

// ---------------------------------------------------------------- splitter
const mixed: Uint8Array[] = [
  g3.packet('JoinWorld').encodeFrame({ clearWorld: true, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' }),
  g3.packet('ViewRadius').encodeFrame({ value: 12 }),
  g3.packet('Ping').encodeFrame({ id: 1, time: { seconds: 1n, nanos: 2 }, lastPingValueRaw: 3, lastPingValueDirect: 4, lastPingValueTick: 5 }),
  g3.packet('UnloadChunk').encodeFrame({ chunkX: 5, chunkZ: -7 }),
  g3.packet('Disconnect').encodeFrame({ reason: 'x'.repeat(200), type: 'Disconnect' }),
  g3.packet('AssetPart').encodeFrame({ part: new Uint8Array(16 * 1024).map((_, i) => (i * 31) & 0xff) }),
  g3.packet('ServerInfo').encodeFrame({ serverName: 'A server', motd: 'Welcome', maxPlayers: 100 }),
];
const target = 64 * 1024 * 1024;
const parts: Uint8Array[] = [];
let total = 0;
let frameCount = 0;
for (let i = 0; total < target; i++) {
  const f = mixed[i % mixed.length]!;
  parts.push(f);
  total += f.length;
  frameCount++;
}
const stream = Buffer.concat(parts);
const CHUNK = 16 * 1024; // a QUIC/TCP-sized read
const chunks: Uint8Array[] = [];
for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.subarray(at, Math.min(at + CHUNK, stream.length)));

function splitOnce(): number {
  const splitter = new FrameSplitter(g3.registry, { direction: 'ToClient' });
  const out: WireFrame[] = [];
  let n = 0;
  for (const chunk of chunks) {
    out.length = 0;
    splitter.pushTo(chunk, out);
    n += out.length;
  }
  return n;
}

const sink = Buffer.allocUnsafe(CHUNK);
function copyOnce(): number {
  let n = 0;
  for (const chunk of chunks) n += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).copy(sink, 0);
  return n;
}

function timed(fn: () => unknown, rounds: number): number[] {
  fn();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    fn();
    out.push(performance.now() - start);
  }
  return out;
}

if (splitOnce() !== frameCount) throw new Error('splitter lost frames');
const rounds = 9;
const splitMs = [] as number[];
const copyMs = [] as number[];
for (let i = 0; i < rounds; i++) {
  // interleave so both see the same machine load
  splitMs.push(...timed(splitOnce, 1));
  copyMs.push(...timed(copyOnce, 1));
}
const mib = stream.length / (1024 * 1024);
const split = stats(splitMs);
const copy = stats(copyMs);
const splitter = {
  streamMiB: Number(mib.toFixed(1)),
  frames: frameCount,
  chunkBytes: CHUNK,
  splitMiBps: Number((mib / (split.median / 1000)).toFixed(0)),
  splitFramesPerSecond: Math.round(frameCount / (split.median / 1000)),
  bufferCopyMiBps: Number((mib / (copy.median / 1000)).toFixed(0)),
  copyOverSplitRatio: Number((split.median / copy.median).toFixed(2)),
};
log(`splitter: ${splitter.splitMiBps} MiB/s (${splitter.splitFramesPerSecond} frames/s) vs Buffer.copy ${splitter.bufferCopyMiBps} MiB/s: split takes ${splitter.copyOverSplitRatio}x the copy time (median of ${rounds})`);

// ---------------------------------------------------------------- packet codecs
const connectValue = {
  protocolCrc: -1356075132,
  protocolBuildNumber: 20,
  clientVersion: '2026.02.17',
  clientType: 'Game' as const,
  uuid: '4f3f22e0-5f49-4fcb-b8c3-34d869da8b76',
  username: 'CodecBot',
  identityToken: `eyJhbGciOiJFZERTQSJ9.${'e'.repeat(600)}.${'s'.repeat(86)}`,
  language: 'en-US',
  referralData: new Uint8Array(300).fill(7),
  referralSource: { host: 'lobby-1.example.net', port: 5520 },
};
const joinValue = { clearWorld: true, fadeInOut: true, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' };
const connect = g3.packet('Connect');
const joinWorld = g3.packet('JoinWorld');
const connectPayload = connect.encode(connectValue);
const joinPayload = joinWorld.encode(joinValue);
if (Buffer.compare(Buffer.from(encodeConnect(connectValue)), Buffer.from(connectPayload)) !== 0) throw new Error('hand-written Connect differs');
if (Buffer.compare(Buffer.from(encodeJoinWorld(joinValue)), Buffer.from(joinPayload)) !== 0) throw new Error('hand-written JoinWorld differs');

function pair(label: string, generic: () => unknown, hand: () => unknown, batch: number) {
  const g = [] as number[];
  const h = [] as number[];
  for (let i = 0; i < 5; i++) {
    g.push(opsPerSecond(generic, batch, 3).opsPerSecond);
    h.push(opsPerSecond(hand, batch, 3).opsPerSecond);
  }
  const gm = stats(g).median;
  const hm = stats(h).median;
  const result = { genericOpsPerSecond: Math.round(gm), handWrittenOpsPerSecond: Math.round(hm), slowdown: Number((hm / gm).toFixed(2)) };
  log(`${label}: generic ${result.genericOpsPerSecond} ops/s, hand-written ${result.handWrittenOpsPerSecond} ops/s → generic is ${result.slowdown}x slower`);
  return result;
}

const codecs = {
  connectDecode: pair('Connect decode', () => connect.decode(connectPayload), () => decodeConnect(connectPayload), 20000),
  connectEncode: pair('Connect encode', () => connect.encode(connectValue), () => encodeConnect(connectValue), 20000),
  joinWorldDecode: pair('JoinWorld decode', () => joinWorld.decode(joinPayload), () => decodeJoinWorld(joinPayload), 100000),
  joinWorldEncode: pair('JoinWorld encode', () => joinWorld.encode(joinValue), () => encodeJoinWorld(joinValue), 100000),
};

// ---------------------------------------------------------------- fixed-field reader
const pongCodec = g3.packet('Pong');
const pongPayload = pongCodec.encode({ id: -123456, time: { seconds: 1n, nanos: 2 }, type: 'Tick', packetQueueSize: 3 });
const pongReader = g3.fixedFields('Pong', ['id', 'type']);
const fixedRead = (() => {
  const r = [] as number[];
  const d = [] as number[];
  for (let i = 0; i < 5; i++) {
    r.push(opsPerSecond(() => pongReader.read(pongPayload), 200000, 3).opsPerSecond);
    d.push(opsPerSecond(() => pongCodec.decode(pongPayload), 200000, 3).opsPerSecond);
  }
  const rm = stats(r).median;
  const dm = stats(d).median;
  return { readerOpsPerSecond: Math.round(rm), decodeOpsPerSecond: Math.round(dm), speedup: Number((rm / dm).toFixed(2)) };
})();
log(`Pong id+type: fixed-field reader ${fixedRead.readerOpsPerSecond} ops/s, full decode ${fixedRead.decodeOpsPerSecond} ops/s → the reader is ${fixedRead.speedup}x faster`);

// ---------------------------------------------------------------- zstd
const assets = [] as { hash: string; name: string }[];
let worldSettingsSize = 0;
for (let i = 0; worldSettingsSize < 1024 * 1024; i++) {
  const hash = (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(16, '0').slice(-16).repeat(4);
  const asset = { hash, name: `Common/Blocks/Block_${i % 97}/Variant_${i}.blockymodel` };
  assets.push(asset);
  worldSettingsSize = g3.packet('WorldSettings').size({ worldHeight: 320, requiredAssets: assets });
}
const worldSettings = g3.packet('WorldSettings').encodeFrame({ worldHeight: 320, requiredAssets: assets });
const compressedPayload = worldSettings.subarray(8);
const ws = g3.packet('WorldSettings');
const decompressMs = stats(timed(() => ws.decodeFrame(worldSettings), 30));
const { decompressPayload } = await import('../src/zstd.js');
const rawDecompressMs = stats(timed(() => decompressPayload(compressedPayload, MAX_PACKET_SIZE), 30));
const zstd = {
  uncompressedBytes: worldSettingsSize,
  compressedBytes: compressedPayload.length,
  decompressMedianMs: Number(rawDecompressMs.median.toFixed(3)),
  decompressMiBps: Number((worldSettingsSize / 1048576 / (rawDecompressMs.median / 1000)).toFixed(0)),
  decompressAndDecodeMedianMs: Number(decompressMs.median.toFixed(3)),
};
log(`zstd: 1 MiB WorldSettings (${zstd.compressedBytes} bytes compressed) decompresses in ${zstd.decompressMedianMs} ms (${zstd.decompressMiBps} MiB/s); with decoding ${assets.length} assets: ${zstd.decompressAndDecodeMedianMs} ms`);

emit({ splitter, codecs, fixedRead, zstd });
