/**
 * `pnpm bench migration` (node --expose-gc):
 *
 * 1. stall: what a client sees from Freeze to B's first frame (its JoinWorld), and from Freeze until
 *    the buffer drained to B, with 0, 100 and 1000 client packets buffered during Freeze — over the
 *    in-memory transport (client ⇄ proxy ⇄ A/B, real G3 frames, the migrator in the proxy);
 * 2. memory: heap per session — an idle migrator (machine actor), one frozen mid-migration, and
 *    per buffered packet (actors that complete on microtasks, no transport);
 * 3. concurrency: 1000 sessions migrating at once over the in-memory transport (one network per
 *    session, all in this process).
 */
import { performance } from 'node:perf_hooks';
import { emit, jsonMode, log, stats, type Stats } from '../../../scripts/bench-kit.js';
import { getGeneration, readFrame, type Frame } from '@handoff/protocol';
import { parseSessionId } from '@handoff/types';
import { BufferBudget, createMigrator, type FrameLike, type MigrationSteps } from '../src/index.js';
import { A, B, frameBytes, world, type World } from '../test/support/memory-proxy.js';

const registry = getGeneration('G3').registry;
const NAMES = ['ChatMessage', 'ClientMovement', 'SetActiveSlot', 'ChatMessage'];
const gc = (globalThis as { gc?: () => void }).gc;

function clientFrames(n: number): Frame[] {
  return Array.from({ length: n }, (_, i) => readFrame(registry, frameBytes(NAMES[i % NAMES.length]!, i, 'client'), { direction: 'ToServer' }));
}

/** One migration in a fresh world; returns ms from Freeze to B's JoinWorld at the client, and to the end of the drain. */
async function oneStall(buffered: number, frames: Frame[]): Promise<{ firstB: number; drained: number }> {
  let w!: World;
  let t0 = 0;
  let firstB = 0;
  let drained = 0;
  w = await world({}, {}, {
    // Packets that reached the proxy during Freeze (offered as the forwarding loop would).
    freeze: async () => {
      for (let i = 0; i < buffered; i++) w.proxy.migrator.clientFrame(frames[i]!);
    },
  });
  w.client.onReceive = (e) => {
    if (e.origin === 'B' && firstB === 0) firstB = performance.now() - t0;
  };
  w.proxy.migrator.on('migration:phase', (e) => {
    if (e.phase === 'Freeze') t0 = performance.now();
    if (e.phase === 'Cleanup') drained = performance.now() - t0;
  });
  const result = await w.proxy.migrator.migrate({ target: B });
  if (result.kind !== 'migrated') throw new Error(`bench migration ended ${result.kind}`);
  while (firstB === 0) await new Promise((r) => setImmediate(r));
  await w.close();
  return { firstB, drained };
}

async function stall(): Promise<Record<string, { freezeToFirstBFrame: Stats; freezeToDrained: Stats }>> {
  const out: Record<string, { freezeToFirstBFrame: Stats; freezeToDrained: Stats }> = {};
  for (const n of [0, 100, 1000]) {
    const frames = clientFrames(n);
    const rounds = n === 1000 ? 100 : 200;
    for (let i = 0; i < 10; i++) await oneStall(n, frames);
    const firstB: number[] = [];
    const drained: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await oneStall(n, frames);
      firstB.push(r.firstB);
      drained.push(r.drained);
    }
    out[`buffered${n}`] = { freezeToFirstBFrame: stats(firstB), freezeToDrained: stats(drained) };
    const f = stats(firstB);
    const d = stats(drained);
    log(
      `stall, ${String(n).padStart(4)} buffered: Freeze→first B frame median ${f.median.toFixed(3)} ms p99 ${f.p99.toFixed(3)} ms; ` +
        `Freeze→drained median ${d.median.toFixed(3)} ms p99 ${d.p99.toFixed(3)} ms (${rounds} rounds)`,
    );
  }
  return out;
}

/** Steps that complete on microtasks; `hold` keeps a migration in Freeze until released. */
function microtaskSteps(hold?: Promise<void>): MigrationSteps<FrameLike> {
  const ok = async () => {};
  return {
    prepare: ok,
    auth: ok,
    sync: ok,
    freeze: hold ? () => hold : ok,
    cutover: ok,
    cleanup: ok,
    closeTarget: ok,
    sendDisconnect: ok,
    sendToSource: () => {},
    sendToTarget: () => {},
  };
}

/**
 * Heap in use after gc, measured in a fresh job: objects a `WeakRef` was made to (the migrator
 * registry) are kept alive until the end of the job that made it, so a same-job reading would count
 * the previous round's garbage.
 */
async function heapUsed(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function memory(): Promise<Record<string, number>> {
  if (!gc) log('memory: run with --expose-gc (pnpm bench does) for meaningful numbers');
  const sessions = 1000;
  const perPacket = 20;
  const budget = new BufferBudget();
  const frame = (i: number): FrameLike => ({ id: 211, bytes: frameBytes('ChatMessage', i, 'client', 56), descriptor: { name: 'ChatMessage' } });

  const base = await heapUsed();
  const idle = Array.from({ length: sessions }, (_, i) =>
    createMigrator({ session: { id: parseSessionId(`s${i}`) }, backend: A, steps: microtaskSteps(), budget }),
  );
  const idleBytes = ((await heapUsed()) - base) / sessions;

  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  const frozen = Array.from({ length: sessions }, (_, i) =>
    createMigrator({ session: { id: parseSessionId(`f${i}`) }, backend: A, steps: microtaskSteps(hold), budget }),
  );
  const base2 = await heapUsed();
  const results = frozen.map((m) => m.migrate({ target: B }));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  if (frozen.some((m) => m.phase !== 'Freeze')) throw new Error('not all sessions reached Freeze');
  const frozenBytes = ((await heapUsed()) - base2) / sessions;
  const base3 = await heapUsed();
  for (const m of frozen) for (let i = 0; i < perPacket; i++) m.clientFrame(frame(i));
  const packetBytes = ((await heapUsed()) - base3) / (sessions * perPacket);
  release();
  await Promise.all(results);
  for (const m of [...idle, ...frozen]) m.stop();
  const out = {
    idleMigratorBytes: Math.round(idleBytes),
    migrationInFreezeExtraBytes: Math.round(frozenBytes),
    migratingSessionBytes: Math.round(idleBytes + frozenBytes),
    perBufferedPacketBytes: Math.round(packetBytes),
    bufferedPacketFrameBytes: 64,
  };
  log(
    `memory: idle migrator (machine actor) ${out.idleMigratorBytes} B; a migration in Freeze adds ${out.migrationInFreezeExtraBytes} B ` +
      `(buffer, barrier, invoked actor) → ${out.migratingSessionBytes} B per migrating session; ` +
      `+${out.perBufferedPacketBytes} B per buffered 64-byte packet (${sessions} sessions, heap deltas after gc)`,
  );
  return out;
}

async function concurrent(): Promise<Record<string, unknown>> {
  const sessions = 1000;
  const perSession = 10;
  const frames = clientFrames(perSession);
  const worlds: World[] = [];
  for (let i = 0; i < sessions; i++) {
    const w: World = await world({}, { budget: new BufferBudget() }, {
      freeze: async () => {
        for (const f of frames) w.proxy.migrator.clientFrame(f);
      },
    });
    worlds.push(w);
  }
  const durations: number[] = [];
  const start = performance.now();
  const results = await Promise.all(
    worlds.map(async (w) => {
      const t = performance.now();
      const r = await w.proxy.migrator.migrate({ target: B });
      durations.push(performance.now() - t);
      return r.kind;
    }),
  );
  const wall = performance.now() - start;
  const migrated = results.filter((k) => k === 'migrated').length;
  for (const w of worlds) await w.close();
  const s = stats(durations);
  log(
    `concurrency: ${sessions} sessions migrating at once over the memory transport (${perSession} buffered packets each): ` +
      `${migrated}/${sessions} migrated in ${wall.toFixed(0)} ms wall (${((sessions / wall) * 1000).toFixed(0)} migrations/s); ` +
      `per migration median ${s.median.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms`,
  );
  return { transport: 'memory', sessions, bufferedPerSession: perSession, migrated, wallMs: wall, migrationsPerSecond: (sessions / wall) * 1000, perMigration: s };
}

const result = { stall: await stall(), memory: await memory(), concurrent: await concurrent() };
if (jsonMode) emit(result);
