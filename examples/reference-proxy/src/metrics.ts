/**
 * The proxy's metrics, in the Prometheus text format (`prom-client`). Everything comes from the kit's
 * public surface: session events (`migration:phase`, `migration:result`, `referral`, `failover`,
 * `closed`), session counters (`stats()`), each session's trace recorder (the client-visible stall, the
 * packets a migration buffered), the client side's counters, the ticket policy and the pool policy.
 * docs/operations.md lists every metric; docs/grafana-dashboard.json charts them.
 */
import { performance } from 'node:perf_hooks';
import { BufferBudget, type BufferLimits } from '@handoff/migration';
import type { ClientCounters, ProxyMigrationResult, ProxySession, ProxySessionStats, TraceRecord, TraceRecorder } from '@handoff/proxy-kit';
import type { PoolPolicy } from '@handoff/tickets';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendRegistry } from './backends.js';

/** Every metric name the proxy exports (besides prom-client's `process_*` and `nodejs_*`). */
export const METRIC_NAMES = [
  'handoff_sessions',
  'handoff_clients_accepted_total',
  'handoff_client_refusals_total',
  'handoff_session_ends_total',
  'handoff_migrations_total',
  'handoff_migration_duration_seconds',
  'handoff_migration_phase_duration_seconds',
  'handoff_client_stall_seconds',
  'handoff_migration_buffered_packets',
  'handoff_migration_buffered_bytes',
  'handoff_migration_buffer_packets',
  'handoff_migration_buffer_bytes',
  'handoff_migration_buffer_high_water_packets',
  'handoff_migration_buffer_high_water_bytes',
  'handoff_bytes_total',
  'handoff_frames_total',
  'handoff_frames_dropped_total',
  'handoff_referrals_total',
  'handoff_failovers_total',
  'handoff_ticket_verification_failures_total',
  'handoff_tickets_issued_total',
  'handoff_pool_seamless',
  'handoff_replay_store_up',
  'handoff_backend_players',
  'handoff_backend_up',
  'handoff_backend_draining',
  'handoff_backend_join_failures_total',
  'handoff_drain_migrations_total',
] as const;

/**
 * The shared buffer budget of every migration, with its high-water marks: the most packets and bytes
 * that were buffered at once since the proxy started.
 */
export class TrackedBudget extends BufferBudget {
  #highPackets = 0;
  #highBytes = 0;

  constructor(limits: Partial<BufferLimits> = {}) {
    super(limits);
  }

  override tryReserve(packets: number, bytes: number): 'ok' | 'packets' | 'bytes' {
    const result = super.tryReserve(packets, bytes);
    if (result === 'ok') {
      const usage = this.usage();
      this.#highPackets = Math.max(this.#highPackets, usage.packets);
      this.#highBytes = Math.max(this.#highBytes, usage.bytes);
    }
    return result;
  }

  get highWater(): { readonly packets: number; readonly bytes: number } {
    return { packets: this.#highPackets, bytes: this.#highBytes };
  }
}

/** What the metrics read from the proxy at each scrape. */
export interface MetricsSources {
  readonly sessions: () => Iterable<ProxySession>;
  readonly backends: BackendRegistry;
  readonly players: (backend: string) => number;
  readonly clientCounters: ClientCounters;
  readonly budget: TrackedBudget;
  readonly poolPolicy?: PoolPolicy | undefined;
  readonly ticketsIssued?: (() => number) | undefined;
}

/** Per-session tracking: the stall and buffer of the migration in flight. */
interface MigrationTrack {
  source: string;
  startedAt: number;
  phase: string;
  phaseAt: number;
  /** When the client last got a frame of the source (before the cut). */
  lastSourceAt: number | undefined;
  stallObserved: boolean;
  bufferedPackets: number;
  bufferedBytes: number;
}

/** Ties one session to the metrics: its trace recorder, then `attach(session)` once it exists. */
export interface SessionTracker {
  readonly recorder: TraceRecorder;
  attach(session: ProxySession): void;
}

const STALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const PHASE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function resultLabels(result: ProxyMigrationResult): { outcome: string; reason: string; trigger: string } {
  const trigger = String(result.trigger);
  if (result.kind === 'refused') return { outcome: 'refused', reason: result.refusal, trigger };
  if (result.kind === 'migrated') return { outcome: 'migrated', reason: 'none', trigger };
  return { outcome: result.kind, reason: result.reason.code, trigger };
}

/** The proxy's Prometheus registry and what feeds it. */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #live = new Set<ProxySession>();
  /** Counters of sessions that ended (live ones are read at each scrape). */
  readonly #ended = { toClient: { frames: 0, bytes: 0 }, toServer: { frames: 0, bytes: 0 }, droppedToClient: new Map<string, number>(), droppedToServer: new Map<string, number>() };

  readonly migrations: Counter<'outcome' | 'reason' | 'trigger'>;
  readonly migrationDuration: Histogram<'outcome'>;
  readonly phaseDuration: Histogram<'phase'>;
  readonly stall: Histogram;
  readonly bufferedPackets: Histogram;
  readonly bufferedBytes: Histogram;
  readonly referrals: Counter<'action' | 'reason'>;
  readonly failovers: Counter<'result'>;
  readonly ticketFailures: Counter<'code'>;
  readonly sessionEnds: Counter<'reason'>;
  readonly joinFailures: Counter<'backend' | 'code'>;
  readonly drainMigrations: Counter<'backend' | 'result'>;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const live = this.#live;
    const ended = this.#ended;
    const src = sources;

    this.migrations = new Counter({
      name: 'handoff_migrations_total',
      help: 'Migrations by outcome (migrated, rolled-back, referred, disconnected, refused), reason (failure or refusal code) and trigger (api, referral, failover, drain)',
      labelNames: ['outcome', 'reason', 'trigger'],
      registers,
    });
    this.migrationDuration = new Histogram({
      name: 'handoff_migration_duration_seconds',
      help: 'Time from Prepare to the end of a migration, by outcome',
      labelNames: ['outcome'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.phaseDuration = new Histogram({
      name: 'handoff_migration_phase_duration_seconds',
      help: 'Time spent in each migration phase (Prepare, Auth, Sync, Freeze, Cutover, Resume, Cleanup, Failed…)',
      labelNames: ['phase'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.stall = new Histogram({
      name: 'handoff_client_stall_seconds',
      help: "Client-visible stall of a migration: the last frame of the source backend to the first frame of the target at the client's connection",
      buckets: STALL_BUCKETS,
      registers,
    });
    this.bufferedPackets = new Histogram({
      name: 'handoff_migration_buffered_packets',
      help: 'Client packets buffered by one migration (its buffer high-water mark: the buffer only fills between Freeze and the drain)',
      buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.bufferedBytes = new Histogram({
      name: 'handoff_migration_buffered_bytes',
      help: 'Bytes of client packets buffered by one migration (its high-water mark)',
      buckets: [0, 256, 1024, 4096, 16384, 65536, 262144, 1048576],
      registers,
    });
    this.referrals = new Counter({
      name: 'handoff_referrals_total',
      help: "Backends' ClientReferrals: migrate (a valid ticket: seamless), forward (an ordinary referral, by reason), ignored (a migration was in flight)",
      labelNames: ['action', 'reason'],
      registers,
    });
    this.failovers = new Counter({
      name: 'handoff_failovers_total',
      help: 'Lost or kicking backends: migrated (the player landed on a fallback), failed (tried, not moved), none (no fallback)',
      labelNames: ['result'],
      registers,
    });
    this.ticketFailures = new Counter({
      name: 'handoff_ticket_verification_failures_total',
      help: "Referral tickets that failed the proxy's verification, by ticket error code (ERR_TICKET_*)",
      labelNames: ['code'],
      registers,
    });
    this.sessionEnds = new Counter({
      name: 'handoff_session_ends_total',
      help: 'Sessions ended, by reason (client-left, kicked, referred, disconnected, backend-lost, closed, client-error)',
      labelNames: ['reason'],
      registers,
    });
    this.joinFailures = new Counter({
      name: 'handoff_backend_join_failures_total',
      help: "First joins a backend failed (could not be dialled, refused the player or the proxy's ticket), by error code",
      labelNames: ['backend', 'code'],
      registers,
    });
    this.drainMigrations = new Counter({
      name: 'handoff_drain_migrations_total',
      help: 'Migrations started by drains, by drained backend and result',
      labelNames: ['backend', 'result'],
      registers,
    });

    new Gauge({
      name: 'handoff_sessions',
      help: 'Proxy sessions now, by backend and migration phase',
      labelNames: ['backend', 'phase'],
      registers,
      collect() {
        this.reset();
        for (const session of src.sessions()) {
          if (!session.isClosed) this.inc({ backend: session.backend.id, phase: session.phase });
        }
      },
    });
    new Counter({
      name: 'handoff_clients_accepted_total',
      help: 'Clients whose handshake completed',
      registers,
      collect() {
        this.reset();
        this.inc(src.clientCounters.accepted);
      },
    });
    new Counter({
      name: 'handoff_client_refusals_total',
      help: "Clients the proxy closed, by reason (wrong-generation, auth-required, rate-limited, stage-timeout…: docs/proxy-kit.md)",
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(src.clientCounters.closed)) this.inc({ reason }, count);
      },
    });
    const traffic = (name: string, help: string, key: 'frames' | 'bytes') =>
      new Counter({
        name,
        help,
        labelNames: ['direction'],
        registers,
        collect() {
          this.reset();
          let toClient = ended.toClient[key];
          let toServer = ended.toServer[key];
          for (const session of live) {
            const stats = session.stats();
            toClient += stats.toClient[key];
            toServer += stats.toServer[key];
          }
          this.inc({ direction: 'to_client' }, toClient);
          this.inc({ direction: 'to_server' }, toServer);
        },
      });
    traffic('handoff_bytes_total', 'Bytes of frames forwarded, by direction (to_client, to_server)', 'bytes');
    traffic('handoff_frames_total', 'Frames forwarded, by direction (to_client, to_server)', 'frames');
    new Counter({
      name: 'handoff_frames_dropped_total',
      help: 'Frames that went nowhere, by direction and the named rule that dropped them',
      labelNames: ['direction', 'rule'],
      registers,
      collect() {
        this.reset();
        const toClient = new Map(ended.droppedToClient);
        const toServer = new Map(ended.droppedToServer);
        for (const session of live) {
          const stats = session.stats();
          for (const [rule, n] of Object.entries(stats.droppedToClient)) toClient.set(rule, (toClient.get(rule) ?? 0) + n);
          for (const [rule, n] of Object.entries(stats.droppedToServer)) toServer.set(rule, (toServer.get(rule) ?? 0) + n);
        }
        for (const [rule, n] of toClient) this.inc({ direction: 'to_client', rule }, n);
        for (const [rule, n] of toServer) this.inc({ direction: 'to_server', rule }, n);
      },
    });
    const budgetGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    budgetGauge('handoff_migration_buffer_packets', 'Client packets buffered by every migration now', () => src.budget.usage().packets);
    budgetGauge('handoff_migration_buffer_bytes', 'Bytes buffered by every migration now', () => src.budget.usage().bytes);
    budgetGauge('handoff_migration_buffer_high_water_packets', 'The most client packets buffered at once since the start', () => src.budget.highWater.packets);
    budgetGauge('handoff_migration_buffer_high_water_bytes', 'The most bytes buffered at once since the start', () => src.budget.highWater.bytes);
    new Counter({
      name: 'handoff_tickets_issued_total',
      help: 'Tickets the proxy issued (first joins and migrations)',
      registers,
      collect() {
        this.reset();
        this.inc(src.ticketsIssued?.() ?? 0);
      },
    });
    new Gauge({
      name: 'handoff_pool_seamless',
      help: 'Per pool: 1 while migrations into it are seamless, 0 while they fall back to referrals (no key, replay store down)',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const pool of src.backends.pools()) this.set({ pool }, src.poolPolicy === undefined || src.poolPolicy.status(pool).seamless ? 1 : 0);
      },
    });
    new Gauge({
      name: 'handoff_replay_store_up',
      help: "1 while the ticket replay store answered its last probe (always 1 in memory or without tickets)",
      registers,
      collect() {
        this.set(src.poolPolicy === undefined || src.poolPolicy.snapshot().replayStore.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'handoff_backend_players',
      help: 'Players on each backend now',
      labelNames: ['backend', 'pool'],
      registers,
      collect() {
        this.reset();
        for (const entry of src.backends.all()) this.set({ backend: entry.id, pool: entry.pool }, src.players(entry.id));
      },
    });
    new Gauge({
      name: 'handoff_backend_up',
      help: 'Per backend: 1 when its last join or migration worked, 0 when it could not be reached or was lost (absent until first tried)',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const entry of src.backends.all()) if (entry.state !== 'unknown') this.set({ backend: entry.id }, entry.state === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'handoff_backend_draining',
      help: 'Per backend: 1 while it is being drained',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const entry of src.backends.all()) this.set({ backend: entry.id }, entry.draining ? 1 : 0);
      },
    });
  }

  /** Counts a referral decision's failed ticket check. */
  ticketFailure(code: string): void {
    this.ticketFailures.inc({ code });
  }

  /** A tracker for the session about to be created. */
  tracker(): SessionTracker {
    let track: MigrationTrack | undefined;
    /** The last backend a frame reached the client from, and when. */
    let lastFrom: { backend: string; at: number } | undefined;
    const recorder: TraceRecorder = {
      record: (entry: TraceRecord) => {
        const at = performance.now();
        if (entry.direction === 'ToClient') {
          if (entry.backend === undefined || entry.action === 'dropped' || entry.action === 'suppressed') return;
          if (track && !track.stallObserved && entry.backend !== track.source) {
            // the first frame of the target: the stall ends here
            const from = track.lastSourceAt ?? (lastFrom?.backend === track.source ? lastFrom.at : undefined);
            if (from !== undefined) this.stall.observe((at - from) / 1000);
            track.stallObserved = true;
          }
          lastFrom = { backend: entry.backend, at };
          if (track && !track.stallObserved && entry.backend === track.source) track.lastSourceAt = at;
        } else if (track && entry.action === 'buffered') {
          track.bufferedPackets += 1;
          track.bufferedBytes += entry.size;
        }
      },
    };
    return {
      recorder,
      attach: (session) => {
        this.#live.add(session);
        session.on('migration:phase', ({ phase }) => {
          const now = performance.now();
          if (track && track.phase !== 'Idle') this.phaseDuration.observe({ phase: track.phase }, (now - track.phaseAt) / 1000);
          if (phase === 'Idle') {
            if (track) track.phase = 'Idle';
            return;
          }
          if (!track) {
            track = {
              source: session.backend.id,
              startedAt: now,
              phase,
              phaseAt: now,
              lastSourceAt: lastFrom?.backend === session.backend.id ? lastFrom.at : undefined,
              stallObserved: false,
              bufferedPackets: 0,
              bufferedBytes: 0,
            };
          } else {
            track.phase = phase;
            track.phaseAt = now;
          }
        });
        session.on('migration:result', ({ result }) => {
          this.migrations.inc(resultLabels(result));
          if (result.kind === 'refused' || !track) return;
          const now = performance.now();
          if (track.phase !== 'Idle') this.phaseDuration.observe({ phase: track.phase }, (now - track.phaseAt) / 1000);
          this.migrationDuration.observe({ outcome: result.kind }, (now - track.startedAt) / 1000);
          this.bufferedPackets.observe(track.bufferedPackets);
          this.bufferedBytes.observe(track.bufferedBytes);
          track = undefined;
        });
        session.on('referral', ({ action, reason }) => this.referrals.inc({ action, reason: reason ?? 'none' }));
        session.on('failover', ({ target, result }) =>
          this.failovers.inc({ result: target === undefined ? 'none' : result?.kind === 'migrated' ? 'migrated' : 'failed' }),
        );
        session.on('closed', ({ reason }) => {
          this.sessionEnds.inc({ reason });
          this.#account(session.stats());
          this.#live.delete(session);
        });
      },
    };
  }

  #account(stats: ProxySessionStats): void {
    const ended = this.#ended;
    ended.toClient.frames += stats.toClient.frames;
    ended.toClient.bytes += stats.toClient.bytes;
    ended.toServer.frames += stats.toServer.frames;
    ended.toServer.bytes += stats.toServer.bytes;
    for (const [rule, n] of Object.entries(stats.droppedToClient)) ended.droppedToClient.set(rule, (ended.droppedToClient.get(rule) ?? 0) + n);
    for (const [rule, n] of Object.entries(stats.droppedToServer)) ended.droppedToServer.set(rule, (ended.droppedToServer.get(rule) ?? 0) + n);
  }

  /** The text of `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  get sources(): MetricsSources {
    return this.#sources;
  }
}
