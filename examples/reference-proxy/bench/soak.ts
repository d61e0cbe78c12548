/**
 * Soak benchmark of the reference proxy (`pnpm bench soak`; never run by the tests). Simulated players
 * (the testkit's strict client over QUIC, moving throughout) join through the proxy onto two simulated
 * backends (one QUIC, one TCP, both insisting on the proxy's tickets); each player is migrated to the
 * other backend every few seconds for the whole run. The proxy (`soak-proxy.ts`), the backends
 * (`soak-backends.ts`) and the players (this process) each run in a process of their own, so that the
 * proxy's memory and CPU are its own and the three use both cores.
 *
 * Prints failed migrations by outcome and reason, the proxy's memory (RSS and heap, sampled; start and
 * end after a GC), migrations per second, and the client-visible stall p50/p99; `--json` prints one
 * JSON object on stdout (the lines go to stderr).
 *
 *   pnpm bench soak                                     # 200 players, 5 minutes, a move every 5 s each
 *   pnpm bench soak --players 20 --duration 30          # a quick run
 *   node --conditions=source --import tsx examples/reference-proxy/bench/soak.ts --help
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectStrictClient, type StrictClient } from '@handoff/testkit';
import { writeKeyDirectory } from '@handoff/tickets';
import type { Address } from '@handoff/transport';
import { emit, log, stats, type Stats } from '../../../scripts/bench-kit.js';
import type { RawConfig } from '../src/index.js';
import type { SoakBackend } from './soak-backends.js';
import { SoakProcess, type ProcessSample } from './soak-ipc.js';
import type { SoakResult } from './soak-proxy.js';

const USAGE = `soak [--players 200] [--duration 300] [--interval 5] [--movement-hz 10] [--backends quic,tcp] [--sample 10] [--json]
  --players      simulated players (default 200)
  --duration     seconds of migrations (default 300), after every player joined
  --interval     seconds between two migrations of one player (default 5): players x 1/interval migrations per second are asked for
  --movement-hz  movement packets each player sends per second, throughout (default 10; 0: none)
  --backends     the two backends' transports (default quic,tcp)
  --sample       seconds between two samples of the proxy's memory (default 10)`;

interface Options {
  readonly players: number;
  readonly durationS: number;
  readonly intervalS: number;
  readonly movementHz: number;
  readonly transports: readonly ['quic' | 'tcp', 'quic' | 'tcp'];
  readonly sampleS: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const at = argv.indexOf(`--${name}`);
    if (at < 0) return fallback;
    const n = Number(argv[at + 1]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number\n${USAGE}`);
    return n;
  };
  const at = argv.indexOf('--backends');
  const transports = (at < 0 ? 'quic,tcp' : (argv[at + 1] ?? '')).split(',');
  if (transports.length !== 2 || !transports.every((t) => t === 'quic' || t === 'tcp')) throw new Error(`--backends needs two of quic, tcp\n${USAGE}`);
  const options = {
    players: Math.floor(value('players', 200)),
    durationS: value('duration', 300),
    intervalS: value('interval', 5),
    movementHz: value('movement-hz', 10),
    transports: transports as unknown as Options['transports'],
    sampleS: value('sample', 10),
  };
  if (options.players < 1 || options.intervalS <= 0 || options.sampleS <= 0) throw new Error(`--players, --interval and --sample must be positive\n${USAGE}`);
  return options;
}

const MiB = 1024 * 1024;
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const memory = (s: ProcessSample) => ({ rssMiB: round(s.rss / MiB), heapUsedMiB: round(s.heapUsed / MiB), heapTotalMiB: round(s.heapTotal / MiB), externalMiB: round(s.external / MiB) });
const rounded = (s: Stats) => ({ samples: s.samples, p50: round(s.median, 2), p99: round(s.p99, 2), max: round(s.max, 2), mean: round(s.mean, 2) });
/** CPU share and event-loop delay over the samples taken during the migrations. */
const load = (samples: readonly ProcessSample[]) =>
  samples.length === 0
    ? null
    : { cpuMedian: stats(samples.map((s) => s.cpu)).median, cpuMax: Math.max(...samples.map((s) => s.cpu)), loopDelayP99Median: stats(samples.map((s) => s.loopDelayP99)).median, loopDelayMax: Math.max(...samples.map((s) => s.loopDelayMax)) };

/** Players join in batches of 10 (a QUIC handshake is CPU-bound on both ends); one that cannot join is counted, and the soak goes on without it. */
async function joinPlayers(address: Address, o: Options, closers: Array<() => unknown>): Promise<{ clients: StrictClient[]; failures: Record<string, number> }> {
  const clients: StrictClient[] = [];
  const failures: Record<string, number> = {};
  const started = performance.now();
  for (let i = 0; i < o.players; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, o.players - i) }, async (_, k) => {
        let client: StrictClient | undefined;
        try {
          client = await connectStrictClient({ address, username: `soak${i + k}`, waitTimeoutMs: 60_000 });
          closers.push(() => client!.close());
          await client.inWorld();
        } catch (error) {
          const why = client?.violations.map((v) => v.message).join('; ') || (error instanceof Error ? error.message : String(error));
          failures[why] = (failures[why] ?? 0) + 1;
          return undefined;
        }
        if (o.movementHz > 0) client.startMovement({ intervalMs: 1000 / o.movementHz });
        return client;
      }),
    );
    for (const client of batch) if (client) clients.push(client);
    if ((i + 10) % 50 === 0 || i + 10 >= o.players) log(`  ${clients.length} players in the world after ${round((performance.now() - started) / 1000)} s`);
  }
  if (Object.keys(failures).length > 0) log(`players that could not join: ${JSON.stringify(failures)}`);
  return { clients, failures };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const closers: Array<() => unknown> = [];
  const dir = await mkdtemp(join(tmpdir(), 'handoff-soak-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const proxy = new SoakProcess('proxy', './soak-proxy.ts');
  const backendsProcess = new SoakProcess('backends', './soak-backends.ts');
  closers.push(() => proxy.kill(), () => backendsProcess.kill());
  try {
    log(`soak: ${o.players} players, ${o.durationS} s, a migration every ${o.intervalS} s per player (${round(o.players / o.intervalS)} asked for per second), movement ${o.movementHz} Hz, backends ${o.transports.join(' + ')}`);
    // the proxy's ticket key (`handoff keys generate`); both backends insist on its tickets
    await writeKeyDirectory(join(dir, 'proxy-keys'));
    const backends = await backendsProcess.call<SoakBackend[]>('start', { keys: join(dir, 'proxy-keys'), transports: o.transports });
    // what `handoff proxy --backend game-a=quic://… --backend game-b=tcp://… --ticket-keys <dir> --client-auth none` builds
    const config: RawConfig = {
      // every simulated player connects from 127.0.0.1: the per-address limits are the totals
      listen: {
        address: '127.0.0.1:0',
        limits: { maxConnectionsPerAddress: 4096, handshakeRatePerAddress: { perSecond: 500, burst: 1000 } },
      },
      admin: { address: '127.0.0.1:0' },
      backends: Object.fromEntries(
        backends.map((b) => [b.id, { address: `${b.transport}://127.0.0.1:${b.port}`, ...(b.certificateFingerprint ? { trust: { fingerprints: [b.certificateFingerprint] } } : {}) }]),
      ),
      tickets: { keys: join(dir, 'proxy-keys') },
      clientAuth: { mode: 'none' },
    };
    const address = await proxy.call<Address>('start', { config });
    const before = await proxy.sample(true);

    const { clients, failures: joinFailures } = await joinPlayers(address, o, closers);
    log(`proxy ${JSON.stringify(memory(before))} before the players joined`);
    await sleep(2_000); // everyone settled in: chunks sent, pings running
    const start = await proxy.sample(true);
    const samples: ProcessSample[] = [start];
    const backendSamples: ProcessSample[] = [];
    await backendsProcess.sample();

    // each player: a migration to the other backend every `interval` s (the players spread evenly over the first interval)
    const results: SoakResult[] = [];
    const playersLoop = monitorEventLoopDelay({ resolution: 10 }); // this process: are the players keeping up?
    playersLoop.enable();
    let playersCpu = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + o.durationS * 1000;
    const players = clients.map(async (client, i) => {
      let next = t0 + (i * o.intervalS * 1000) / clients.length;
      while (next <= end) {
        await sleep(Math.max(0, next - performance.now()));
        next += o.intervalS * 1000;
        results.push(await proxy.call<SoakResult>('migrate', { clientUuid: client.clientUuid }));
        next = Math.max(next, performance.now());
      }
    });
    const stopSampling = new AbortController();
    const sampler = (async () => {
      let lastLog = t0;
      for (;;) {
        const slept = await sleep(o.sampleS * 1000, true, { signal: stopSampling.signal }).catch(() => false);
        if (!slept) return;
        const [s, b] = await Promise.all([proxy.sample(), backendsProcess.sample()]);
        samples.push(s);
        backendSamples.push(b);
        if (performance.now() - lastLog >= 30_000) {
          lastLog = performance.now();
          const elapsed = (lastLog - t0) / 1000;
          const failed = results.filter((r) => r.outcome !== 'migrated').length;
          log(`  ${Math.round(elapsed)} s: ${results.length} migrations (${round(results.length / elapsed)}/s), ${failed} failed; proxy rss ${round(s.rss / MiB)} MiB, heap ${round(s.heapUsed / MiB)} MiB, cpu ${s.cpu}`);
        }
      }
    })();
    await Promise.all(players);
    const elapsedS = (performance.now() - t0) / 1000;
    stopSampling.abort();
    await sampler;
    playersCpu = process.cpuUsage(playersCpu);
    playersLoop.disable();
    const last = await proxy.sample(true);
    samples.push(last);
    const warnings = await proxy.call<Record<string, number>>('warnings');
    const backendCloses = await backendsProcess.call<Record<string, number>>('closes');

    // the players' own verdict: live violations (a reconnect, a Disconnect, a world entered without its SetClientId…)
    const violations: Record<string, number> = {};
    for (const c of clients) for (const v of c.violations) violations[v.kind] = (violations[v.kind] ?? 0) + 1;
    const playing = clients.filter((c) => c.state === 'playing').length;
    const reconnects = clients.reduce((n, c) => n + c.counters.reconnects, 0);

    const migrated = results.filter((r) => r.outcome === 'migrated');
    const failures: Record<string, number> = {};
    for (const r of results) if (r.outcome !== 'migrated') failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
    const stalls = migrated.flatMap((r) => (r.stallMs === undefined ? [] : [r.stallMs]));
    const gaps = migrated.flatMap((r) => (r.gapMs === undefined ? [] : [r.gapMs]));
    const phaseNames = [...new Set(migrated.flatMap((r) => Object.keys(r.phases)))].filter((name) => name !== 'Idle');
    const phases = Object.fromEntries(phaseNames.map((name) => [name, rounded(stats(migrated.flatMap((r) => (r.phases[name] === undefined ? [] : [r.phases[name]!]))))]));
    const peak = samples.reduce((m, s) => ({ rss: Math.max(m.rss, s.rss), heapUsed: Math.max(m.heapUsed, s.heapUsed) }), { rss: 0, heapUsed: 0 });
    const report = {
      players: clients.length,
      durationS: round(elapsedS),
      intervalS: o.intervalS,
      movementHz: o.movementHz,
      backends: backends.map((b) => `${b.id}:${b.transport}`),
      migrations: { attempted: results.length, migrated: migrated.length, failed: results.length - migrated.length, failures, perSecond: round(migrated.length / elapsedS, 2) },
      stallMs: stalls.length > 0 ? rounded(stats(stalls)) : null,
      gapMs: gaps.length > 0 ? rounded(stats(gaps)) : null,
      durationMs: results.length > 0 ? rounded(stats(results.map((r) => r.durationMs))) : null,
      phasesMs: phases,
      proxyMemory: {
        beforeJoin: memory(before),
        start: memory(start),
        end: memory(last),
        peakRssMiB: round(peak.rss / MiB),
        peakHeapUsedMiB: round(peak.heapUsed / MiB),
        growthRssMiB: round((last.rss - start.rss) / MiB),
        growthHeapUsedMiB: round((last.heapUsed - start.heapUsed) / MiB),
        samples: samples.map((s) => ({ atS: round(s.at / 1000), ...memory(s) })),
      },
      load: {
        proxy: load(samples.slice(1, -1)),
        backends: load(backendSamples),
        players: {
          cpu: round((playersCpu.user + playersCpu.system) / 1000 / (elapsedS * 1000), 2),
          loopDelayP50: round(playersLoop.percentile(50) / 1e6),
          loopDelayP99: round(playersLoop.percentile(99) / 1e6),
          loopDelayMax: round(playersLoop.max / 1e6),
        },
      },
      proxyWarnings: warnings,
      backendCloses,
      clients: { joined: clients.length, joinFailures, playing, reconnects, violations },
    };

    log(`migrations: ${report.migrations.migrated} of ${report.migrations.attempted} succeeded in ${report.durationS} s (${report.migrations.perSecond}/s); failed ${report.migrations.failed} ${JSON.stringify(failures)}`);
    if (report.stallMs) log(`client-visible stall (Freeze → the target's first frame at the client): p50 ${report.stallMs.p50} ms, p99 ${report.stallMs.p99} ms, max ${report.stallMs.max} ms`);
    if (report.gapMs) log(`gap at the client (the source's last frame → the target's first, idle time included): p50 ${report.gapMs.p50} ms, p99 ${report.gapMs.p99} ms`);
    if (report.durationMs) log(`migration duration (migrate() → result): p50 ${report.durationMs.p50} ms, p99 ${report.durationMs.p99} ms`);
    log(`phases (migrated): ${Object.entries(phases).map(([name, p]) => `${name} p50 ${p.p50} / p99 ${p.p99} ms`).join(', ')}`);
    const m = report.proxyMemory;
    log(`proxy memory: start rss ${m.start.rssMiB} MiB / heap ${m.start.heapUsedMiB} MiB, end rss ${m.end.rssMiB} MiB / heap ${m.end.heapUsedMiB} MiB (after a GC), peak rss ${m.peakRssMiB} MiB; growth rss ${m.growthRssMiB} MiB, heap ${m.growthHeapUsedMiB} MiB`);
    for (const [name, l] of Object.entries(report.load)) {
      if (l) log(`${name} process: ${JSON.stringify(l)}`);
    }
    log(`players: ${playing} of ${clients.length} still playing, ${reconnects} reconnects, violations ${JSON.stringify(violations)}; proxy warnings ${JSON.stringify(warnings)}; backends closed players: ${JSON.stringify(backendCloses)}`);
    emit(report);

    await Promise.all(clients.map((c) => c.leave({ timeoutMs: 5_000 }).catch(() => {})));
    await proxy.stop();
    await backendsProcess.stop();
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
