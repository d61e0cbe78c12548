/**
 * Soak benchmark of the reference proxy (`pnpm bench soak`; never run by the tests). Simulated players
 * (the testkit's strict client over QUIC, moving throughout) join through the proxy onto two simulated
 * backends (one QUIC, one TCP, both insisting on the proxy's tickets); each player is migrated to the
 * other backend every few seconds for the whole run. The proxy runs in a process of its own
 * (`soak-proxy.ts`), so that its memory and CPU are its own, not the players' or the backends'.
 *
 * Prints failed migrations by outcome and reason, the proxy's memory (RSS and heap, sampled; start and
 * end after a GC), migrations per second, and the client-visible stall p50/p99; `--json` prints one
 * JSON object on stdout (the lines go to stderr).
 *
 *   pnpm bench soak                                     # 200 players, 5 minutes, a move every 5 s each
 *   pnpm bench soak --players 20 --duration 30          # a quick run
 *   node --conditions=source --import tsx examples/reference-proxy/bench/soak.ts --help
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectStrictClient, createBackend, type SimulatedBackend, type StrictClient } from '@handoff/testkit';
import { loadKeys, writeKeyDirectory } from '@handoff/tickets';
import type { Address } from '@handoff/transport';
import { emit, log, stats, type Stats } from '../../../scripts/bench-kit.js';
import type { RawConfig } from '../src/index.js';
import type { SoakResult, SoakSample } from './soak-proxy.js';

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

/** The proxy process and its IPC: requests answered in any order, matched by id. */
class ProxyProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (result: SoakResult) => void>();
  #samples: Array<(sample: SoakSample) => void> = [];
  #nextId = 1;
  readonly #events = new Map<string, (message: any) => void>();

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./soak-proxy.ts', import.meta.url)), [], {
      execArgv: ['--conditions=source', '--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.#child.stdout!.pipe(process.stderr); // nothing of the proxy's reaches the JSON on stdout
    this.#child.on('message', (message: any) => {
      if (message.type === 'result') {
        this.#pending.get(message.id)?.(message);
        this.#pending.delete(message.id);
      } else if (message.type === 'sample') {
        this.#samples.shift()?.(message);
      } else {
        this.#events.get(message.type)?.(message);
      }
    });
  }

  #once(type: string): Promise<any> {
    return new Promise((resolve, reject) => {
      this.#events.set(type, resolve);
      this.#events.set('failed', (m) => reject(new Error(`the proxy process failed: ${m.message}`)));
      this.#child.once('exit', (code) => reject(new Error(`the proxy process exited (${code})`)));
    });
  }

  async start(config: RawConfig): Promise<Address> {
    const started = this.#once('started');
    this.#child.send({ type: 'start', config });
    return (await started).address;
  }

  /** Migrates the player to the other backend. */
  migrate(clientUuid: string): Promise<SoakResult> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ type: 'migrate', id, clientUuid });
    });
  }

  sample(gc = false): Promise<SoakSample> {
    return new Promise((resolve) => {
      this.#samples.push(resolve);
      this.#child.send({ type: 'sample', gc });
    });
  }

  async stop(): Promise<void> {
    const stopped = this.#once('stopped').catch(() => {});
    this.#child.send({ type: 'stop' });
    await stopped;
    if (this.#child.exitCode === null) await new Promise((resolve) => this.#child.once('exit', resolve));
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill();
  }
}

const MiB = 1024 * 1024;
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const memory = (s: SoakSample) => ({ rssMiB: round(s.rss / MiB), heapUsedMiB: round(s.heapUsed / MiB), heapTotalMiB: round(s.heapTotal / MiB), externalMiB: round(s.external / MiB) });
const rounded = (s: Stats) => ({ samples: s.samples, p50: round(s.median, 2), p99: round(s.p99, 2), max: round(s.max, 2), mean: round(s.mean, 2) });

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const dir = await mkdtemp(join(tmpdir(), 'handoff-soak-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const proxyProcess = new ProxyProcess();
  closers.push(() => proxyProcess.kill());
  try {
    log(`soak: ${o.players} players, ${o.durationS} s, a migration every ${o.intervalS} s per player (${round(o.players / o.intervalS)} asked for per second), movement ${o.movementHz} Hz, backends ${o.transports.join(' + ')}`);
    // the proxy's ticket key; both backends insist on its tickets (the proxy's Connects come from 127.0.0.1)
    await writeKeyDirectory(join(dir, 'proxy-keys'));
    const trust = { keyRing: await loadKeys(join(dir, 'proxy-keys'), { publicOnly: true }), sources: { '127.0.0.1': 'proxy' } };
    const backends: SimulatedBackend[] = [];
    for (const [i, transport] of o.transports.entries()) {
      // `count` packet logs: a soak keeps no per-packet record on the backends
      const b = await createBackend({ id: `game-${'ab'[i]}`, transport, tickets: trust, requireTicket: true, packetLog: 'count' });
      closers.push(() => b.close());
      backends.push(b);
    }
    const config: RawConfig = {
      listen: { address: '127.0.0.1:0' },
      admin: { address: '127.0.0.1:0' },
      backends: Object.fromEntries(
        backends.map((b) => [
          b.id,
          { address: `${b.transport}://127.0.0.1:${b.address.port}`, ...(b.certificateFingerprint ? { trust: { fingerprints: [b.certificateFingerprint] } } : {}) },
        ]),
      ),
      tickets: { keys: join(dir, 'proxy-keys') },
      clientAuth: { mode: 'none' },
    };
    const address = await proxyProcess.start(config);
    const before = await proxyProcess.sample(true);

    // players join in batches of 10 (a QUIC handshake is CPU-bound on both ends) and start moving
    const clients: StrictClient[] = [];
    const joinStart = performance.now();
    for (let i = 0; i < o.players; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, o.players - i) }, async (_, k) => {
          const c = await connectStrictClient({ address, username: `soak${i + k}`, waitTimeoutMs: 120_000 });
          closers.push(() => c.close());
          await c.inWorld();
          if (o.movementHz > 0) c.startMovement({ intervalMs: 1000 / o.movementHz });
          return c;
        }),
      );
      clients.push(...batch);
    }
    log(`${clients.length} players in the world after ${round((performance.now() - joinStart) / 1000)} s; proxy ${JSON.stringify(memory(before))} before they joined`);
    await sleep(2_000); // everyone settled in: chunks sent, pings running
    const start = await proxyProcess.sample(true);
    const samples: SoakSample[] = [start];

    // each player: a migration to the other backend every `interval` s (spread evenly over the first interval)
    const results: SoakResult[] = [];
    const playersLoop = monitorEventLoopDelay({ resolution: 10 }); // the players' and backends' process: is it keeping up?
    playersLoop.enable();
    const t0 = performance.now();
    const end = t0 + o.durationS * 1000;
    const players = clients.map(async (client, i) => {
      let next = t0 + (i * o.intervalS * 1000) / clients.length;
      for (;;) {
        if (next > end) return;
        await sleep(Math.max(0, next - performance.now()));
        next += o.intervalS * 1000;
        results.push(await proxyProcess.migrate(client.clientUuid));
        next = Math.max(next, performance.now());
      }
    });
    const stopSampling = new AbortController();
    const sampler = (async () => {
      let lastLog = t0;
      for (;;) {
        const slept = await sleep(o.sampleS * 1000, true, { signal: stopSampling.signal }).catch(() => false);
        if (!slept) return;
        const s = await proxyProcess.sample();
        samples.push(s);
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
    const last = await proxyProcess.sample(true);
    samples.push(last);

    // the players' own verdict: live violations (a reconnect, a Disconnect, a packet out of place…)
    const violations: Record<string, number> = {};
    for (const c of clients) for (const v of c.violations) violations[v.kind] = (violations[v.kind] ?? 0) + 1;
    const playing = clients.filter((c) => c.state === 'playing').length;
    const reconnects = clients.reduce((n, c) => n + c.counters.reconnects, 0);

    const migrated = results.filter((r) => r.outcome === 'migrated');
    const failures: Record<string, number> = {};
    for (const r of results) if (r.outcome !== 'migrated') failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
    const stalls = migrated.flatMap((r) => (r.stallMs === undefined ? [] : [r.stallMs]));
    const gaps = migrated.flatMap((r) => (r.gapMs === undefined ? [] : [r.gapMs]));
    const peak = samples.reduce((m, s) => ({ rss: Math.max(m.rss, s.rss), heapUsed: Math.max(m.heapUsed, s.heapUsed) }), { rss: 0, heapUsed: 0 });
    const during = samples.slice(1, -1);
    const cpu = during.map((s) => s.cpu);
    const phaseNames = [...new Set(migrated.flatMap((r) => Object.keys(r.phases)))];
    const phases = Object.fromEntries(phaseNames.map((name) => [name, rounded(stats(migrated.flatMap((r) => (r.phases[name] === undefined ? [] : [r.phases[name]!]))))]));
    playersLoop.disable();
    const report = {
      players: clients.length,
      durationS: round(elapsedS),
      intervalS: o.intervalS,
      movementHz: o.movementHz,
      backends: backends.map((b) => `${b.id}:${b.transport}`),
      migrations: { attempted: results.length, migrated: migrated.length, failed: results.length - migrated.length, failures, perSecond: round(migrated.length / elapsedS, 2) },
      durationMs: results.length > 0 ? rounded(stats(results.map((r) => r.durationMs))) : null,
      stallMs: stalls.length > 0 ? rounded(stats(stalls)) : null,
      gapMs: gaps.length > 0 ? rounded(stats(gaps)) : null,
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
      phasesMs: phases,
      proxyCpu: cpu.length > 0 ? { median: stats(cpu).median, max: stats(cpu).max } : null,
      proxyLoopDelayMs: during.length > 0 ? { p99Median: stats(during.map((s) => s.loopDelayP99)).median, max: Math.max(...during.map((s) => s.loopDelayMax)) } : null,
      playersLoopDelayMs: { p50: round(playersLoop.percentile(50) / 1e6), p99: round(playersLoop.percentile(99) / 1e6), max: round(playersLoop.max / 1e6) },
      proxyWarnings: last.warnings,
      clients: { playing, reconnects, violations },
    };

    log(`migrations: ${report.migrations.migrated} of ${report.migrations.attempted} succeeded in ${report.durationS} s (${report.migrations.perSecond}/s); failed ${report.migrations.failed} ${JSON.stringify(failures)}`);
    if (report.stallMs) log(`client-visible stall (Freeze → the target's first frame at the client): p50 ${report.stallMs.p50} ms, p99 ${report.stallMs.p99} ms, max ${report.stallMs.max} ms`);
    if (report.gapMs) log(`gap at the client (the source's last frame → the target's first, idle time included): p50 ${report.gapMs.p50} ms, p99 ${report.gapMs.p99} ms`);
    if (report.durationMs) log(`migration duration (migrate() → result): p50 ${report.durationMs.p50} ms, p99 ${report.durationMs.p99} ms`);
    log(`proxy memory: start rss ${report.proxyMemory.start.rssMiB} MiB / heap ${report.proxyMemory.start.heapUsedMiB} MiB, end rss ${report.proxyMemory.end.rssMiB} MiB / heap ${report.proxyMemory.end.heapUsedMiB} MiB (after a GC), peak rss ${report.proxyMemory.peakRssMiB} MiB; growth rss ${report.proxyMemory.growthRssMiB} MiB, heap ${report.proxyMemory.growthHeapUsedMiB} MiB`);
    log(`phases (migrated): ${Object.entries(phases).map(([name, p]) => `${name} p50 ${p.p50} / p99 ${p.p99} ms`).join(', ')}`);
    if (report.proxyCpu) log(`proxy cpu: median ${report.proxyCpu.median}, max ${report.proxyCpu.max} (1 = one core); event-loop delay p99 ${report.proxyLoopDelayMs?.p99Median} ms (median of samples), max ${report.proxyLoopDelayMs?.max} ms`);
    log(`players' process event-loop delay: p50 ${report.playersLoopDelayMs.p50} ms, p99 ${report.playersLoopDelayMs.p99} ms, max ${report.playersLoopDelayMs.max} ms`);
    log(`players: ${playing} of ${clients.length} still playing, ${reconnects} reconnects, violations ${JSON.stringify(violations)}; proxy warnings ${JSON.stringify(last.warnings)}`);
    emit(report);

    await Promise.all(clients.map((c) => c.leave({ timeoutMs: 5_000 }).catch(() => {})));
    await proxyProcess.stop();
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
