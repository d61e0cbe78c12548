/**
 * The proxy process of the soak benchmark (`soak.ts` forks it): the reference proxy, started from
 * the config the benchmark sends, its migrations asked for over IPC. It measures what only the proxy
 * sees: each migration's phases and client-visible stall.
 *
 * Requests: `start { config }` → its listen address; `migrate { clientUuid }` → a {@link SoakResult}
 * (to whichever backend the player is not on); `sample { gc }`; `stop`.
 */
import { performance } from 'node:perf_hooks';
import type { ProxyMigrationResult, TraceRecorder } from '@handoff/proxy-kit';
import type { Address } from '@handoff/transport';
import { createProxyLogger, loadProxyConfig, startProxy, type RawConfig, type ReferenceProxy } from '../src/index.js';
import { serve } from './soak-ipc.js';

/** One migration, as the proxy saw it. */
export interface SoakResult {
  /** `migrated`, or why not: `<kind>:<code> in <phase> (<cause>)`, `refused:<refusal>`, `no-session`, `threw:<code>`. */
  readonly outcome: string;
  /** From `migrate()` to its result (ms). */
  readonly durationMs: number;
  /** Freeze (the source's streams stop, the client's packets are held) → the target's first frame written to the client (ms). */
  readonly stallMs?: number | undefined;
  /** The source's last frame written to the client → the target's first (ms): the gap the client saw, idle time before Freeze included. */
  readonly gapMs?: number | undefined;
  /** How long each phase took (ms). */
  readonly phases: Readonly<Record<string, number>>;
}

interface Track {
  readonly source: string;
  readonly target: string;
  readonly phases: Record<string, number>;
  phase?: { readonly name: string; readonly at: number };
  freezeAt?: number;
  stallMs?: number;
  gapMs?: number;
}

const tracks = new Map<string, Track>();
/** Per session: the last frame written to the client, and from which backend. */
const lastToClient = new Map<string, { backend: string; at: number }>();
/** Log lines at `warn` and above, by message and kind. */
const warnings: Record<string, number> = {};
let proxy: ReferenceProxy | undefined;

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

/** `migrated`, `refused:<refusal>`, or `<kind>:<code> in <phase>` with the step's error code when there is one. */
function outcomeOf(result: ProxyMigrationResult): string {
  if (result.kind === 'migrated') return 'migrated';
  if (result.kind === 'refused') return `refused:${result.refusal}`;
  return `${result.kind}:${result.reason.code} in ${result.phase}${result.reason.cause ? ` (${result.reason.cause})` : ''}`;
}

/** What a warning is about: its message and the fields that tell warnings apart (never a player or a secret). */
const WARNING_FIELDS = ['role', 'loss', 'outcome', 'reason', 'phase', 'cause', 'code', 'trigger'];
function warningKey(line: string): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  const fields = WARNING_FIELDS.filter((k) => entry[k] !== undefined).map((k) => `${k}=${String(entry[k])}`);
  return [String(entry.msg ?? '(no message)'), ...fields].join(' ');
}

async function migrate(clientUuid: string): Promise<SoakResult> {
  const session = proxy?.session(clientUuid);
  if (!session) return { outcome: 'no-session', durationMs: 0, phases: {} };
  const target = proxy!.backends().find((b) => b.id !== session.backend.id)!.id;
  const track: Track = { source: session.backend.id, target, phases: {} };
  tracks.set(session.id, track);
  const offLost = session.on('backend:lost', ({ role, loss }) => {
    const key = `backend lost role=${role} ${loss.kind === 'kick' ? `kick: ${loss.reason}` : `lost (${loss.end.initiator}${loss.end.reason ? `: ${loss.end.reason}` : ''})`}`;
    warnings[key] = (warnings[key] ?? 0) + 1;
  });
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
      outcome,
      durationMs: performance.now() - start,
      phases: track.phases,
      ...(outcome === 'migrated' ? { stallMs: track.stallMs, gapMs: track.gapMs } : {}),
    };
  } catch (error) {
    return { outcome: `threw:${(error as { code?: string }).code ?? 'error'}`, durationMs: performance.now() - start, phases: track.phases };
  } finally {
    off();
    offLost();
    tracks.delete(session.id);
  }
}

serve({
  async start({ config }: { readonly config: RawConfig }): Promise<Address> {
    // warnings and errors are counted by message (a soak logs nothing per frame); the lines go nowhere
    const logger = createProxyLogger({
      level: 'warn',
      destination: {
        write(line: string) {
          const key = warningKey(line);
          warnings[key] = (warnings[key] ?? 0) + 1;
        },
      },
    });
    proxy = await startProxy(await loadProxyConfig({ overrides: config, env: {} }), { logger, env: {}, trace });
    return proxy.address;
  },
  migrate: ({ clientUuid }: { readonly clientUuid: string }) => migrate(clientUuid),
  sessions: () => proxy?.sessions().length ?? 0,
  warnings: () => ({ ...warnings }),
  stop: () => proxy?.close(),
});
