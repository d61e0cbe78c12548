/**
 * `pnpm bench proxy-kit` (`--json` for one JSON object on stdout; the human lines then go to stderr).
 *
 * The proxy runs alone in a child process (bench/proxy-process.ts): its memory and CPU are its own.
 * This process holds the backends and the clients (bench/peers.ts: a minimal G3 server and client).
 * Everything on loopback; the QUIC transport is measured as it is on this branch.
 *
 * 1. Proxy overhead: a client's round trip (an echo) and download throughput through the proxy,
 *    divided by the same client talking to the same backend directly over QUIC; proxy QUIC→QUIC and
 *    QUIC→TCP. Goal: round trip ≤ 1.2×, throughput ≥ 0.9× of direct.
 * 2. Client-visible stall of a migration: the last frame of A's stream → B's JoinWorld at the client,
 *    over 200 migrations (A and B each stream a tagged frame every millisecond). Goal: p99 ≤ 2 round
 *    trips (the proxy's, from 1).
 * 3. Memory of the proxy process per idle proxied session, and per session with a migration in
 *    flight (held in Sync: B has not answered PlayerOptions), heap + array buffers after GC.
 * 4. Migrations per second: 200 players moved from A to B at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { benchBackend, benchClient, type BenchBackend, type BenchClient } from './peers.js';
import type { BackendSpec, Command, Reply } from './proxy-process.js';

const json = process.argv.includes('--json');
const say = (line: string): void => void (json ? process.stderr : process.stdout).write(`${line}\n`);
const results: Record<string, unknown> = {};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** The proxy in its own process. */
class ProxyProcess {
  readonly #child: ChildProcess;
  readonly #waiters = new Map<number, (reply: Reply) => void>();
  #next = 0;
  host = '';
  port = 0;

  constructor() {
    this.#child = fork(new URL('./proxy-process.ts', import.meta.url), [], {
      execArgv: ['--expose-gc', '--conditions=source', '--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply: Reply & { readonly id: number }) => {
      if (reply.op === 'error') throw new Error(`proxy process: ${reply.message}`);
      const waiter = this.#waiters.get(reply.id);
      this.#waiters.delete(reply.id);
      waiter?.(reply);
    });
  }

  request<R extends Reply>(command: Command): Promise<R> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#waiters.set(id, resolve as (reply: Reply) => void);
      this.#child.send({ ...command, id });
    });
  }

  async start(backends: readonly BackendSpec[], mode: 'session' | 'pipe' = 'session'): Promise<void> {
    const started = await this.request<Extract<Reply, { op: 'started' }>>({ op: 'start', backends, mode });
    this.host = started.host;
    this.port = started.port;
  }

  get address() {
    return { host: this.host, port: this.port };
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ op: 'stop' } satisfies Command);
    await exited;
  }
}

const spec = (b: BenchBackend, id: string, transport: 'quic' | 'tcp'): BackendSpec => ({
  id,
  transport,
  ...(transport === 'quic' ? b.quicAddress : b.tcpAddress),
});

async function joinAll(address: { host: string; port: number }, count: number, batch = 20): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const c = await benchClient(address);
        await c.worlds(1);
        return c;
      }),
    );
    clients.push(...made);
  }
  return clients;
}

/**
 * The three paths measured in turns (round after round, each path in each round), so that the noise
 * of a shared machine falls on all of them alike; medians over all rounds.
 */
async function overhead(): Promise<number> {
  const rounds = 10;
  say(`# 1. proxy overhead: echo round trips (${rounds} rounds × 40 per path) and 4 MiB downloads (3 per path), in turns; medians`);
  const x = await benchBackend({ index: 0 });
  const viaQuic = new ProxyProcess();
  await viaQuic.start([spec(x, 'x', 'quic')]);
  const viaTcp = new ProxyProcess();
  await viaTcp.start([spec(x, 'x', 'tcp')]);
  const paths = {
    direct: await benchClient(x.quicAddress),
    quicToQuic: await benchClient(viaQuic.address),
    quicToTcp: await benchClient(viaTcp.address),
  };
  const names = Object.keys(paths) as (keyof typeof paths)[];
  for (const c of Object.values(paths)) await c.worlds(1);
  const rtts: Record<string, number[]> = { direct: [], quicToQuic: [], quicToTcp: [] };
  for (const name of names) for (let i = 0; i < 30; i++) await paths[name].echo(); // warm up
  for (let round = 0; round < rounds; round++) {
    for (const name of names) for (let i = 0; i < 40; i++) rtts[name]!.push(await paths[name].echo());
  }
  const rates: Record<string, number[]> = { direct: [], quicToQuic: [], quicToTcp: [] };
  const bytes = 4 * 1024 * 1024;
  for (const name of names) await paths[name].download(256 * 1024); // warm up
  for (let round = 0; round < 3; round++) {
    for (const name of names) rates[name]!.push(bytes / (1024 * 1024) / ((await paths[name].download(bytes)) / 1000));
  }
  for (const c of Object.values(paths)) await c.close();
  await Promise.all([viaQuic.stop(), viaTcp.stop()]);
  await x.close();
  const out: Record<string, unknown> = {};
  const d = { rttMs: r2(median(rtts['direct']!)), rttP99Ms: r2(pct(rtts['direct']!, 99)), mibPerSecond: r2(median(rates['direct']!)) };
  out['direct'] = d;
  say(`direct QUIC:           rtt ${d.rttMs} ms (p99 ${d.rttP99Ms}), ${d.mibPerSecond} MiB/s`);
  for (const name of ['quicToQuic', 'quicToTcp'] as const) {
    const m = { rttMs: r2(median(rtts[name]!)), rttP99Ms: r2(pct(rtts[name]!, 99)), mibPerSecond: r2(median(rates[name]!)) };
    const rttRatio = r2(m.rttMs / d.rttMs);
    const throughputRatio = r2(m.mibPerSecond / d.mibPerSecond);
    say(`proxy ${name === 'quicToQuic' ? 'QUIC→QUIC' : 'QUIC→TCP'}:`.padEnd(23) + `rtt ${m.rttMs} ms (p99 ${m.rttP99Ms}), ${m.mibPerSecond} MiB/s — ${rttRatio}× rtt, ${throughputRatio}× throughput of direct`);
    out[name] = { ...m, rttRatio, throughputRatio };
  }
  results['overhead'] = out;
  return (out['quicToTcp'] as { rttMs: number }).rttMs;
}

async function stall(proxyRttMs: number): Promise<void> {
  const n = 200;
  say(`# 2. client-visible stall of a migration (last A frame → B's JoinWorld), ${n} migrations, proxy QUIC→TCP`);
  const a = await benchBackend({ index: 0, streamEveryMs: 1 });
  const b = await benchBackend({ index: 1, streamEveryMs: 1 });
  const proxy = new ProxyProcess();
  await proxy.start([spec(a, 'a', 'tcp'), spec(b, 'b', 'tcp')]);
  const client = await benchClient(proxy.address);
  await client.worlds(1);
  const worldIndex = new Map([[a.worldUuid, 0], [b.worldUuid, 1]]);
  const stalls: number[] = [];
  let from = 0;
  client.onJoin = (worldUuid, at) => {
    const to = worldIndex.get(worldUuid);
    const last = client.log.lastStream.get(from);
    if (to !== undefined && to !== from && last !== undefined) stalls.push(at - last);
  };
  const kinds: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const target = from === 0 ? 'b' : 'a';
    const reply = await proxy.request<Extract<Reply, { op: 'migrated' }>>({ op: 'migrate', clients: [client.clientUuid], target });
    const kind = reply.results[0]!.kind;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    await client.worlds(i + 2);
    from = from === 0 ? 1 : 0;
    // the stream of the new backend runs again before the next move
    const seen = client.log.lastStream.get(from) ?? 0;
    await new Promise<void>((resolve) => {
      client.onStream = (backend, at) => {
        if (backend === from && at > seen) {
          client.onStream = undefined;
          resolve();
        }
      };
    });
  }
  const inside = (await proxy.request<Extract<Reply, { op: 'stalls' }>>({ op: 'stalls' })).stalls;
  await client.close();
  await proxy.stop();
  await Promise.all([a.close(), b.close()]);
  const stallMedian = r2(median(stalls));
  const stallP90 = r2(pct(stalls, 90));
  const stallP99 = r2(pct(stalls, 99));
  const inRoundTrips = r2(stallP99 / proxyRttMs);
  say(`at the client: median ${stallMedian} ms, p90 ${stallP90} ms, p99 ${stallP99} ms (p99 = ${inRoundTrips} proxy round trips of ${proxyRttMs} ms); outcomes ${JSON.stringify(kinds)}`);
  const proxySide = { medianMs: r2(median(inside)), p90Ms: r2(pct(inside, 90)), p99Ms: r2(pct(inside, 99)) };
  say(`inside the proxy (last A frame written → B's JoinWorld written): median ${proxySide.medianMs} ms, p90 ${proxySide.p90Ms} ms, p99 ${proxySide.p99Ms} ms`);
  results['stall'] = { migrations: n, outcomes: kinds, medianMs: stallMedian, p90Ms: stallP90, p99Ms: stallP99, proxyRttMs, p99InRoundTrips: inRoundTrips, proxySide };
}

async function memory(): Promise<void> {
  const n = 100;
  say(`# 3. memory of the proxy process per session (${n} players, QUIC clients, TCP backends; heap + array buffers after GC)`);
  const a = await benchBackend({ index: 0 });
  const b = await benchBackend({ index: 1 });
  const proxy = new ProxyProcess();
  await proxy.start([spec(a, 'a', 'tcp'), spec(b, 'b', 'tcp')]);
  const used = (m: Extract<Reply, { op: 'memory' }>) => m.heapUsed + m.arrayBuffers;
  // one player first: the code paths are loaded and the shared objects made before the baseline
  const warm = await joinAll(proxy.address, 1);
  const base = await proxy.request<Extract<Reply, { op: 'memory' }>>({ op: 'memory' });
  const clients = await joinAll(proxy.address, n);
  const idle = await proxy.request<Extract<Reply, { op: 'memory' }>>({ op: 'memory' });
  const perIdle = (used(idle) - used(base)) / n;
  b.holdJoins = true;
  const migrating = proxy.request<Extract<Reply, { op: 'migrated' }>>({ op: 'migrate', clients: clients.map((c) => c.clientUuid), target: 'b' });
  // every migration is in Sync once B has seen every PlayerOptions: ask until then (B holds them)
  let during: Extract<Reply, { op: 'memory' }>;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    during = await proxy.request<Extract<Reply, { op: 'memory' }>>({ op: 'memory' });
    if (b.heldCount >= n) break;
  }
  const perMigrating = (used(during) - used(base)) / n;
  b.releaseJoins();
  const done = await migrating;
  const ok = done.results.filter((r) => r.kind === 'migrated').length;
  for (const c of [...warm, ...clients]) await c.close();
  await proxy.stop();
  await Promise.all([a.close(), b.close()]);
  // the transports alone: the same client and backend connections, the client's stream piped byte for byte
  const pipes = new ProxyProcess();
  const c = await benchBackend({ index: 2 });
  await pipes.start([spec(c, 'c', 'tcp')], 'pipe');
  const piped0 = await joinAll(pipes.address, 1);
  const pipeBase = await pipes.request<Extract<Reply, { op: 'memory' }>>({ op: 'memory' });
  const piped = await joinAll(pipes.address, n);
  const pipeFull = await pipes.request<Extract<Reply, { op: 'memory' }>>({ op: 'memory' });
  const perPipe = (used(pipeFull) - used(pipeBase)) / n;
  for (const x of [...piped0, ...piped]) await x.close();
  await pipes.stop();
  await c.close();
  const kit = perIdle - perPipe;
  say(
    `idle proxied session: ${(perIdle / 1024).toFixed(1)} KiB, of which the two connections piped without a session take ${(perPipe / 1024).toFixed(1)} KiB: the kit's share ${(kit / 1024).toFixed(1)} KiB; ` +
      `with a migration in flight (B joined, held in Sync): ${(perMigrating / 1024).toFixed(1)} KiB (${ok}/${n} migrated after)`,
  );
  results['memory'] = {
    players: n,
    idleSessionBytes: Math.round(perIdle),
    transportsAloneBytes: Math.round(perPipe),
    kitShareBytes: Math.round(kit),
    migratingSessionBytes: Math.round(perMigrating),
    migratedAfterRelease: ok,
  };
}

async function rate(): Promise<void> {
  const n = 200;
  say(`# 4. migrations per second: ${n} players moved at once (QUIC clients, TCP backends)`);
  const a = await benchBackend({ index: 0 });
  const b = await benchBackend({ index: 1 });
  const proxy = new ProxyProcess();
  await proxy.start([spec(a, 'a', 'tcp'), spec(b, 'b', 'tcp')]);
  const joinStarted = performance.now();
  const clients = await joinAll(proxy.address, n);
  const joinMs = performance.now() - joinStarted;
  const reply = await proxy.request<Extract<Reply, { op: 'migrated' }>>({ op: 'migrate', clients: clients.map((c) => c.clientUuid), target: 'b' });
  const kinds: Record<string, number> = {};
  for (const r of reply.results) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
  const perSecond = r2((kinds['migrated'] ?? 0) / (reply.wallMs / 1000));
  const each = reply.results.map((r) => r.ms);
  for (const c of clients) await c.close();
  await proxy.stop();
  await Promise.all([a.close(), b.close()]);
  say(
    `${kinds['migrated'] ?? 0}/${n} migrated in ${Math.round(reply.wallMs)} ms: ${perSecond} migrations/s; one migration median ${Math.round(median(each))} ms, p99 ${Math.round(pct(each, 99))} ms (joining the ${n} took ${Math.round(joinMs)} ms); outcomes ${JSON.stringify(kinds)}`,
  );
  results['rate'] = { players: n, outcomes: kinds, wallMs: Math.round(reply.wallMs), migrationsPerSecond: perSecond, medianMs: Math.round(median(each)), p99Ms: Math.round(pct(each, 99)), joinMs: Math.round(joinMs) };
}

/** `HANDOFF_BENCH_ONLY=overhead|stall|memory|rate` runs one part (development); the default runs all. */
const only = process.env['HANDOFF_BENCH_ONLY'];
const proxyRtt = only === undefined || only === 'overhead' || only === 'stall' ? await overhead() : NaN;
if (only === undefined || only === 'stall') await stall(proxyRtt);
if (only === undefined || only === 'memory') await memory();
if (only === undefined || only === 'rate') await rate();
if (json) process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
