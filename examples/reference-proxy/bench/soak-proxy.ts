/**
 * The proxy process of the soak benchmark (`soak.ts` forks it): the reference proxy, started from
 * the config the parent sends, with its migrations asked for over IPC. It measures what only the
 * proxy sees — each migration's client-visible stall, its own memory and CPU — so that the players
 * and backends of the parent process count in neither.
 *
 * Messages in: `start { config }`, `migrate { id, clientUuid }` (to whichever backend the player is not on),
 * `sample { gc }`, `stop`.
 * Messages out: `started { address }`, `result { id, … }`, `sample { … }`, `stopped`, `failed { message }`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ProxyMigrationResult, TraceRecorder } from '@handoff/proxy-kit';
import { createProxyLogger, loadProxyConfig, startProxy, type RawConfig, type ReferenceProxy } from '../src/index.js';

/** One migration, as the proxy saw it. */
export interface SoakResult {
  readonly type: 'result';
  readonly id: number;
  /** `migrated`, or why not: `<kind>:<reason code>`, `refused:<refusal>`, `no-session`, `threw:<code>`. */
  readonly outcome: string;
  /** From `migrate()` to its result (ms). */
  readonly durationMs: number;
  /** Freeze (the source's streams stop, the client's packets are held) → the target's first frame written to the client (ms). */
  readonly stallMs?: number | undefined;
  /** The source's last frame written to the client → the target's first (ms): the gap the client saw, idle time before Freeze included. */
  readonly gapMs?: number | undefined;
  /** How long each phase took (ms), in order. */
  readonly phases: Readonly<Record<string, number>>;
}

/** The proxy process's resources at one moment. */
export interface SoakSample {
  readonly type: 'sample';
  /** ms since the proxy started. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** CPU time (user + system) since the previous sample, as a share of the wall time between them (1 = one core). */
  readonly cpu: number;
  /** The proxy's event-loop delay since the previous sample (ms): how late its timers and I/O callbacks ran. */
  readonly loopDelayP99: number;
  readonly loopDelayMax: number;
  readonly sessions: number;
  /** Log lines at `warn` and above so far, by message. */
  readonly warnings: Readonly<Record<string, number>>;
}

type Request =
  | { readonly type: 'start'; readonly config: RawConfig }
  | { readonly type: 'migrate'; readonly id: number; readonly clientUuid: string }
  | { readonly type: 'sample'; readonly gc: boolean }
  | { readonly type: 'stop' };

interface Track {
  readonly source: string;
  readonly target: string;
  readonly phases: Record<string, number>;
  phase?: { readonly name: string; readonly at: number };
  freezeAt?: number;
  stallMs?: number;
  gapMs?: number;
}

const send = (message: object): void => void process.send!(message);
const tracks = new Map<string, Track>();
/** Per session: the last frame written to the client, and from which backend. */
const lastToClient = new Map<string, { backend: string; at: number }>();
const warnings: Record<string, number> = {};
let proxy: ReferenceProxy | undefined;
let startedAt = performance.now();
let cpuBefore = process.cpuUsage();
let cpuAt = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

// every frame of every session (names and sizes only): the first frame of the target after Freeze ends the stall
const trace: TraceRecorder = {
  record(r) {
    if (r.direction !== 'ToClient' || r.backend === undefined || (r.action !== 'forwarded' && r.action !== 'rewritten')) return;
    const now = performance.now();
    const track = tracks.get(r.session);
    if (track && track.freezeAt !== undefined && track.stallMs === undefined && r.backend === track.target) {
      track.stallMs = now - track.freezeAt;
      const last = lastToClient.get(r.session);
      if (last?.backend === track.source) track.gapMs = now - last.at;
    }
    lastToClient.set(r.session, { backend: r.backend, at: now });
  },
};

function outcomeOf(result: ProxyMigrationResult): string {
  if (result.kind === 'migrated') return 'migrated';
  if (result.kind === 'refused') return `refused:${result.refusal}`;
  return `${result.kind}:${result.reason.code}`;
}

async function migrate(id: number, clientUuid: string): Promise<SoakResult> {
  const session = proxy?.session(clientUuid);
  if (!session) return { type: 'result', id, outcome: 'no-session', durationMs: 0, phases: {} };
  const target = proxy!.backends().find((b) => b.id !== session.backend.id)!.id;
  const track: Track = { source: session.backend.id, target, phases: {} };
  tracks.set(session.id, track);
  const off = session.on('migration:phase', ({ phase }) => {
    const now = performance.now();
    if (track.phase) track.phases[track.phase.name] = (track.phases[track.phase.name] ?? 0) + (now - track.phase.at);
    track.phase = { name: phase, at: now };
    if (phase === 'Freeze') track.freezeAt = now;
  });
  const start = performance.now();
  try {
    const result = await session.migrate(target);
    const outcome = outcomeOf(result);
    return {
      type: 'result',
      id,
      outcome,
      durationMs: performance.now() - start,
      phases: track.phases,
      ...(outcome === 'migrated' ? { stallMs: track.stallMs, gapMs: track.gapMs } : {}),
    };
  } catch (error) {
    return { type: 'result', id, outcome: `threw:${(error as { code?: string }).code ?? 'error'}`, durationMs: performance.now() - start, phases: track.phases };
  } finally {
    off();
    tracks.delete(session.id);
  }
}

function sample(gc: boolean): SoakSample {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const now = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const share = (cpu.user + cpu.system) / 1000 / Math.max(1, now - cpuAt);
  cpuBefore = process.cpuUsage();
  cpuAt = now;
  const delay = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  loopDelay.reset();
  return {
    type: 'sample',
    at: Math.round(now - startedAt),
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    cpu: Math.round(share * 100) / 100,
    loopDelayP99: Math.round(delay.p99 * 10) / 10,
    loopDelayMax: Math.round(delay.max * 10) / 10,
    sessions: proxy?.sessions().length ?? 0,
    warnings: { ...warnings },
  };
}

process.on('message', (message: Request) => {
  switch (message.type) {
    case 'start':
      void (async () => {
        const config = await loadProxyConfig({ overrides: message.config, env: {} });
        // warnings and errors are counted by message (a soak logs nothing per frame); the lines go nowhere
        const logger = createProxyLogger({
          level: 'warn',
          destination: {
            write(line: string) {
              const msg = (JSON.parse(line) as { msg?: string }).msg ?? '(no message)';
              warnings[msg] = (warnings[msg] ?? 0) + 1;
            },
          },
        });
        proxy = await startProxy(config, { logger, env: {}, trace });
        startedAt = performance.now();
        send({ type: 'started', address: proxy.address });
      })().catch((error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
      return;
    case 'migrate':
      void migrate(message.id, message.clientUuid).then(send);
      return;
    case 'sample':
      send(sample(message.gc));
      return;
    case 'stop':
      void (async () => {
        await proxy?.close().catch(() => {});
        send({ type: 'stopped' });
        process.disconnect();
      })();
      return;
  }
});
