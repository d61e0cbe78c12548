/**
 * `pnpm bench session`:
 *
 * 1. the cost of the capture taps per frame on a realistic gameplay mix (mostly opaque frames, a Ping a
 *    second answered by three Pongs, a few captured packets), against a loop that only reads the id;
 * 2. the cost of one SetChunk (zstd decompression of a realistic section, then the schema's x/z reader);
 * 3. the heap per idle session (record + tap) with --expose-gc: 10,000 sessions, each with a captured
 *    Connect (secrets), setup, 200 chunk columns and 20 player-list entries;
 * 4. directory round trips (claim, heartbeat, update, release), memory and Redis (a private
 *    redis-server on a free loopback port, or HANDOFF_REDIS_URL).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { frameFromPayload, getGeneration, readFrame, zstdReady, type Frame, type PacketInputs, type PacketName } from '@handoff/protocol';
import { parseBackendId, parseBackendRef, parseClientUuid, parseMigrationId, parseSessionId, type ClientUuid } from '@handoff/types';
import { emit, log, stats } from '../../../scripts/bench-kit.js';
import { redisForBenchmark } from '../../../test/support/redis-server.js';
import { SessionRecord, createCaptureTap, createMemoryDirectory, createRedisDirectory, type SessionDirectory } from '../src/index.js';

await zstdReady;
const G3 = getGeneration('G3');
const frame = <N extends PacketName>(name: N, value: PacketInputs[N]): Frame => readFrame(G3.registry, G3.packet(name).encodeFrame(value));
const opaque = (name: string, wanted: number, seed: number): Frame => {
  const d = G3.registry.byName(name)!;
  const size = Math.min(wanted, d.maxSize);
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = ((i + 8) * 31 + seed) & 0xff;
  return readFrame(G3.registry, frameFromPayload(d.id, payload));
};
const LOBBY = parseBackendId('lobby-1');
const uuid = (i: number): string => `${(0x10000000 + i).toString(16)}-0d4a-4c6b-9e7f-${(0x100000000000 + i).toString(16)}`;

/** A deterministic generator (benchmarks must be repeatable). */
let seed = 42;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

// ------------------------------------------------------------------ 1. tap cost per frame

const S2C_OPAQUE: Array<[string, number]> = [
  ['EntityUpdates', 600], ['EntityUpdates', 1500], ['UpdateTime', 13], ['PlaySoundEvent3D', 40], ['SpawnParticleSystem', 80],
  ['UpdatePlayerInventory', 400], ['ServerSetBlock', 20], ['UpdateBlockDamage', 20], ['SetChunkHeightmap', 900], ['UpdateWorldMap', 300],
  ['ServerMessage', 120], ['UpdateEntityUIComponents', 60], ['SetActiveSlot', 9],
];
const C2S_OPAQUE: Array<[string, number]> = [
  ['ClientMovement', 90], ['MouseInteraction', 40], ['SyncInteractionChains', 120], ['SetActiveSlot', 9], ['ClientPlaceBlock', 30],
];
for (const [name] of [...S2C_OPAQUE, ...C2S_OPAQUE]) if (!G3.registry.byName(name)) throw new Error(`G3 has no ${name}`);

interface Tapped {
  readonly frame: Frame;
  readonly toServer: boolean;
}

/** One "second" of a player in game: ~60 frames down, ~30 up, a Ping and its three Pongs, a few captured packets. */
function gameplaySecond(second: number): Tapped[] {
  const out: Tapped[] = [];
  for (let i = 0; i < 60; i++) {
    const [name, size] = S2C_OPAQUE[Math.floor(rand() * S2C_OPAQUE.length)]!;
    out.push({ frame: opaque(name, size, i), toServer: false });
  }
  for (let i = 0; i < 30; i++) {
    const [name, size] = C2S_OPAQUE[Math.floor(rand() * C2S_OPAQUE.length)]!;
    out.push({ frame: opaque(name, size, i), toServer: true });
  }
  const id = second * 7919;
  out.splice(10, 0, { frame: frame('Ping', { id, time: { seconds: 1n, nanos: 0 }, lastPingValueRaw: 1, lastPingValueDirect: 1, lastPingValueTick: 1 }), toServer: false });
  for (const [k, type] of (['Raw', 'Direct', 'Tick'] as const).entries()) {
    out.splice(20 + k * 20, 0, { frame: frame('Pong', { id, time: { seconds: 1n, nanos: 0 }, type, packetQueueSize: 0 }), toServer: true });
  }
  if (second % 5 === 0) out.push({ frame: frame('UnloadChunk', { chunkX: second, chunkZ: -second }), toServer: false });
  if (second % 10 === 0) {
    out.push({ frame: frame('AddToServerPlayerList', { players: [{ uuid: uuid(second), username: `P${second}`, worldUuid: null, ping: 20 }] }), toServer: false });
    out.push({ frame: frame('ViewRadius', { value: 192 }), toServer: true });
  }
  if (second % 30 === 0) out.push({ frame: frame('SetClientId', { clientId: second }), toServer: false });
  return out;
}

const mix: Tapped[] = [];
for (let s = 0; s < 120; s++) mix.push(...gameplaySecond(s));
const capturedInMix = mix.filter((t) => ['Ping', 'Pong', 'UnloadChunk', 'AddToServerPlayerList', 'ViewRadius', 'SetClientId'].includes(t.frame.descriptor.name)).length;

function connectedTap() {
  const record = new SessionRecord({ backend: parseBackendRef({ id: LOBBY }) });
  const tap = createCaptureTap(record);
  tap.clientToServer(
    frame('Connect', {
      protocolCrc: G3.identify.protocolCrc!, protocolBuildNumber: 20, clientVersion: '1.0', clientType: 'Game', uuid: uuid(1),
      username: 'Bob', identityToken: 'x'.repeat(600), language: 'en', referralData: new Uint8Array(300), referralSource: { host: 'lb', port: 5520 },
    }),
  );
  return { record, tap };
}

function timePerFrame(run: () => void, frames: number, rounds = 25): { nsPerFrame: number; framesPerSecond: number; p99NsPerFrame: number } {
  for (let i = 0; i < 5; i++) run();
  const durations: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    run();
    durations.push(performance.now() - start);
  }
  const s = stats(durations);
  return { nsPerFrame: (s.median * 1e6) / frames, framesPerSecond: (frames / s.median) * 1000, p99NsPerFrame: (s.p99 * 1e6) / frames };
}

const REPEAT = 20;
const { tap } = connectedTap();
let sink = 0;
const tapped = timePerFrame(() => {
  for (let k = 0; k < REPEAT; k++) {
    for (const t of mix) {
      const r = t.toServer ? tap.clientToServer(t.frame) : tap.serverToClient(t.frame, LOBBY);
      if (r !== undefined) sink++;
    }
  }
}, mix.length * REPEAT);
const idOnly = (f: Frame): number => (f.id === 2 ? 1 : 0);
const baseline = timePerFrame(() => {
  for (let k = 0; k < REPEAT; k++) for (const t of mix) sink += t.toServer ? idOnly(t.frame) : idOnly(t.frame);
}, mix.length * REPEAT);
if (tap.counters.errors !== 0) throw new Error(`the mix produced ${tap.counters.errors} capture errors`);
log(`tap, gameplay mix (${mix.length} frames, ${capturedInMix} captured = ${((capturedInMix / mix.length) * 100).toFixed(1)} %):`);
log(`  ${tapped.nsPerFrame.toFixed(1)} ns/frame (p99 round ${tapped.p99NsPerFrame.toFixed(1)}), ${(tapped.framesPerSecond / 1e6).toFixed(1)} M frames/s`);
log(`  baseline loop reading only the id: ${baseline.nsPerFrame.toFixed(1)} ns/frame; the tap adds ${(tapped.nsPerFrame - baseline.nsPerFrame).toFixed(1)} ns/frame`);

// opaque-only frames: the cost every non-captured frame pays
const opaqueOnly = mix.filter((t) => t.frame.descriptor.name !== 'Ping' && t.frame.descriptor.name !== 'Pong' && !['UnloadChunk', 'AddToServerPlayerList', 'ViewRadius', 'SetClientId'].includes(t.frame.descriptor.name));
const opaqueCost = timePerFrame(() => {
  for (let k = 0; k < REPEAT; k++) for (const t of opaqueOnly) if ((t.toServer ? tap.clientToServer(t.frame) : tap.serverToClient(t.frame, LOBBY)) !== undefined) sink++;
}, opaqueOnly.length * REPEAT);
log(`  opaque frames only: ${opaqueCost.nsPerFrame.toFixed(1)} ns/frame`);

// ------------------------------------------------------------------ 2. SetChunk

function sectionBytes(n: number): Uint8Array {
  // palette indices in runs, like terrain: compresses roughly 4–8x
  const out = new Uint8Array(n);
  let v = 0;
  for (let i = 0; i < n; i++) {
    if (rand() < 0.08) v = Math.floor(rand() * 12);
    out[i] = v;
  }
  return out;
}
const chunkFrames = Array.from({ length: 64 }, (_, i) =>
  frame('SetChunk', { x: i % 8, y: i >> 3, z: -(i % 8), localLight: sectionBytes(2048), globalLight: sectionBytes(2048), data: sectionBytes(32768) }),
);
const chunkCompressed = chunkFrames.reduce((a, f) => a + f.payload.length, 0) / chunkFrames.length;
const chunkSession = connectedTap();
const chunkCost = timePerFrame(() => {
  for (const f of chunkFrames) chunkSession.tap.serverToClient(f, LOBBY);
}, chunkFrames.length, 15);
log(`SetChunk (36 KiB section, ${(chunkCompressed / 1024).toFixed(1)} KiB compressed): ${(chunkCost.nsPerFrame / 1000).toFixed(1)} µs/frame, ${Math.round(chunkCost.framesPerSecond)} frames/s`);

// ------------------------------------------------------------------ 3. memory per idle session

const gc = (globalThis as { gc?: () => void }).gc;
let memory: { sessions: number; bytesPerSession: number; sharedAssetListBytes: number } | { skipped: string };
if (gc === undefined) {
  memory = { skipped: 'run with --expose-gc (pnpm bench does)' };
  log('memory: skipped (run with --expose-gc)');
} else {
  const SESSIONS = 10_000;
  const ws = frame('WorldSettings', {
    worldHeight: 320,
    requiredAssets: Array.from({ length: 4000 }, (_, i) => ({ hash: i.toString(16).padStart(64, '0'), name: `Common/Blocks/Block${i}.png` })),
  });
  const skin = { bodyCharacteristic: 'Default', underwear: 'Basic', face: 'Face_1', eyes: 'Eyes_Blue', haircut: 'Short', pants: 'Jeans', overtop: 'Jacket', shoes: 'Boots' };
  const setupFrames: Tapped[] = [
    { frame: ws, toServer: false },
    { frame: frame('ServerInfo', { serverName: 'Lobby 1', motd: 'Welcome to the network', maxPlayers: 200 }), toServer: false },
    { frame: frame('RequestAssets', { assets: [] }), toServer: true },
    { frame: frame('ViewRadius', { value: 192 }), toServer: true },
    { frame: frame('PlayerOptions', { skin }), toServer: true },
    { frame: frame('JoinWorld', { clearWorld: false, fadeInOut: false, worldUuid: uuid(99) }), toServer: false },
    { frame: frame('SetClientId', { clientId: 7 }), toServer: false },
    { frame: frame('ViewRadius', { value: 384 }), toServer: false },
  ];
  // the backend's player list as it reaches each client: 20 of 5,000 players, decoded by the tap
  const playerLists = Array.from({ length: 250 }, (_, k) =>
    frame('AddToServerPlayerList', {
      players: Array.from({ length: 20 }, (_, p) => ({ uuid: randomUUID(), username: `Player${k * 20 + p}`, worldUuid: uuid(99), ping: 20 + p })),
    }),
  );
  const build = (i: number) => {
    const record = new SessionRecord({ backend: parseBackendRef({ id: LOBBY, pool: 'lobby' }) });
    const t = createCaptureTap(record);
    t.clientToServer(
      frame('Connect', {
        protocolCrc: G3.identify.protocolCrc!, protocolBuildNumber: 20, clientVersion: '1.0', clientType: 'Game', uuid: uuid(i),
        username: `Player${i}`, identityToken: `eyJ${'a'.repeat(700)}`, language: 'en', referralData: new Uint8Array(400), referralSource: { host: 'lobby', port: 5520 },
      }),
    );
    for (const s of setupFrames) (s.toServer ? t.clientToServer(s.frame) : t.serverToClient(s.frame, LOBBY));
    record.setSecret('accessToken', `eyJ${'b'.repeat(700)}`);
    for (let c = 0; c < 200; c++) record.chunks.add((c % 15) - 7 + (i % 64), Math.floor(c / 15) - 7);
    t.serverToClient(playerLists[i % playerLists.length]!, LOBBY);
    record.pings.recordPing(i, LOBBY);
    return t;
  };
  // JS heap plus the typed arrays' backing stores (outside the heap: referral data, PlayerOptions, chunk keys)
  // (array buffers are released after the GC's finalisation pass: collect, yield, collect)
  const used = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // the interned asset list is shared by every session: measure it once, apart
  const beforeShared = await used();
  const first = build(0);
  const sharedAssetListBytes = (await used()) - beforeShared;
  const keep: unknown[] = [first];
  const before = await used();
  for (let i = 1; i <= SESSIONS; i++) keep.push(build(i));
  const perSession = ((await used()) - before) / SESSIONS;
  memory = { sessions: SESSIONS, bytesPerSession: Math.round(perSession), sharedAssetListBytes: Math.round(sharedAssetListBytes - perSession) };
  log(`memory: ${(perSession / 1024).toFixed(2)} KiB per idle session (record + tap, heap + array buffers; ${SESSIONS} sessions, 200 columns, 20 player-list entries, 2 tokens, 400-byte referral)`);
  log(`  the shared 4,000-asset required list: ${(memory.sharedAssetListBytes / 1024).toFixed(0)} KiB once, for every session that received it`);
  if (keep.length !== SESSIONS + 1) throw new Error('unreachable');
}

// ------------------------------------------------------------------ 4. directory round trips


async function directoryRoundTrips(directory: SessionDirectory, players: number) {
  const ids = Array.from({ length: players }, () => parseClientUuid(randomUUID()));
  const [session, migration] = [parseSessionId('s'), parseMigrationId('m')];
  const lap = async (fn: (id: ClientUuid) => Promise<unknown>) => {
    const start = performance.now();
    for (const id of ids) await fn(id);
    return ((performance.now() - start) * 1000) / players; // µs per call, one at a time
  };
  const claim = await lap((id) => directory.claim({ clientUuid: id, sessionId: session, backend: parseBackendRef({ id: LOBBY }) }));
  const heartbeat = await lap((id) => directory.heartbeat(id, session));
  const update = await lap((id) => directory.update(id, session, { phase: 'Prepare', migrationId: migration }));
  const lookup = await lap((id) => directory.lookup(id));
  const release = await lap((id) => directory.release(id, session));
  return { claimUs: claim, heartbeatUs: heartbeat, updateUs: update, lookupUs: lookup, releaseUs: release };
}

const memoryDirectory = await directoryRoundTrips(createMemoryDirectory({ proxyId: 'bench' }), 20_000);
const redis = await redisForBenchmark();
let redisDirectory: Awaited<ReturnType<typeof directoryRoundTrips>>;
try {
  const dir = createRedisDirectory({ url: redis.url, proxyId: 'bench', keyPrefix: `handoff:bench:${randomUUID()}:` });
  await directoryRoundTrips(dir, 500); // warm-up (script load)
  redisDirectory = await directoryRoundTrips(dir, 3_000);
  await dir.close();
} finally {
  await redis.stop();
}
const fmt = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k.replace(/Us$/, '')} ${v.toFixed(1)} µs`).join(', ');
log(`directory, one call at a time: memory ${fmt(memoryDirectory)}`);
log(`                               redis  ${fmt(redisDirectory)}`);

emit({
  tap: {
    mixFrames: mix.length,
    capturedShare: capturedInMix / mix.length,
    nsPerFrame: tapped.nsPerFrame,
    framesPerSecond: tapped.framesPerSecond,
    baselineNsPerFrame: baseline.nsPerFrame,
    opaqueOnlyNsPerFrame: opaqueCost.nsPerFrame,
  },
  setChunk: { compressedBytes: Math.round(chunkCompressed), usPerFrame: chunkCost.nsPerFrame / 1000, framesPerSecond: chunkCost.framesPerSecond },
  memory,
  directory: { memory: memoryDirectory, redis: redisDirectory },
  sink: sink > 0,
});
