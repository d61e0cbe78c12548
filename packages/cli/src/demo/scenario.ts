/**
 * The demo scenario behind `handoff demo`: a real migration, all on loopback, in one process. A fake
 * session service, two simulated backends (one over QUIC, one over TCP, both requiring the proxy's
 * tickets), the reference proxy in front of them, and a strict client over real QUIC that
 * authenticates against the session service, enters backend a's world and keeps moving while it is
 * moved a → b → a → b (by the admin API and by a backend's ticketed referral), and then survives the
 * crash of its backend on the same connection. The strict client judges every step; its findings and
 * the delivery accounting make the summary.
 *
 * Everything it opens (ports, temporary files, the proxy) is closed in `finally`, failure or not.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ReferenceProxy, StartProxyOptions } from '@handoff/reference-proxy';
import type { SimulatedBackend, StrictClient, Violation } from '@handoff/testkit';
import type { Phase } from '@handoff/types';

/** A player's session in the proxy (the kit's `ProxySession`). */
type ProxySession = NonNullable<ReturnType<ReferenceProxy['session']>>;
/** A migration's typed result (the kit's `ProxyMigrationResult`). */
type ProxyMigrationResult = Awaited<ReturnType<ProxySession['migrate']>>;

/** What the proxy's trace recorder receives (the kit's `TraceRecord`). */
export type DemoTraceRecord = Parameters<NonNullable<StartProxyOptions['trace']>['record']>[0];

/** How a migration of the demo is started. */
export type DemoTrigger = 'api' | 'referral' | 'failover';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Protocol generation of the client, the proxy and the backends (default `G3`). */
  readonly generation?: 'G1' | 'G2' | 'G3';
  /** Receives every frame record of the proxy (names, sizes, actions; never a payload or a secret). */
  readonly trace?: { record(entry: DemoTraceRecord): void };
  /** Each step of the timeline, as it happens. */
  readonly onStep?: (step: DemoStep) => void;
  /** Movement packets per second the client sends while it plays (default 50). */
  readonly movementPerSecond?: number;
}

/** One migration of the demo, as it went. */
export interface DemoMigration {
  /** 1, 2, … */
  readonly index: number;
  readonly trigger: DemoTrigger;
  readonly source: string;
  readonly target: string;
  /** The kit's result kind (`migrated`, `rolled-back`, `referred`, `disconnected`, `refused`), or `none` when no result came. */
  readonly outcome: string;
  /** Migrated, and the client entered the target's world on its one connection. */
  readonly succeeded: boolean;
  /** Each phase the migration went through, in order, with its duration (ms). */
  readonly phases: readonly { readonly phase: Phase; readonly ms: number }[];
  /** From the first phase to `Idle` (ms). */
  readonly totalMs: number;
  /**
   * The client-visible stall (ms): from Freeze (the client's packets start being held and the
   * source's streams stop at a frame boundary) to the first frame of the target written to the
   * client, measured at the proxy's client-facing streams.
   */
  readonly stallMs: number | undefined;
  /** Failover only: from the crash to the start of the migration that replaced the backend (ms). */
  readonly detectMs?: number | undefined;
}

/** A line of the timeline. */
export interface DemoStep {
  /** ms since the demo started. */
  readonly at: number;
  readonly kind: 'start' | 'join' | 'play' | 'migration' | 'leave' | 'account';
  readonly text: string;
  /** How long the step took (ms), when it is a span. */
  readonly ms?: number | undefined;
  readonly migration?: DemoMigration | undefined;
}

/** What `handoff demo --json` prints on its last line. */
export interface DemoSummary {
  readonly generation: string;
  readonly backends: Readonly<Record<string, 'quic' | 'tcp'>>;
  readonly migrationsAttempted: number;
  readonly migrationsSucceeded: number;
  /** Times the client had to open a new connection (a referral it followed). */
  readonly clientReconnects: number;
  /** The strict client's findings (kinds, packet names, where; never bytes or tokens). */
  readonly violations: readonly Violation[];
  /** Client packets that reached no backend and no documented rule explains. */
  readonly packetsLost: number;
  /** Client packets that reached their backend out of order. */
  readonly packetsReordered: number;
  /** Client packets delivered more than once. */
  readonly packetsDuplicated: number;
  /** Client packets dropped by a documented rule of the proxy, by rule. */
  readonly packetsDroppedByRule: Readonly<Record<string, number>>;
  /**
   * Movement the proxy had written to the backend that crashed, which it never read: sent in the world
   * the player then left (the drain's `source-bound` rule drops such packets when the proxy still
   * holds them). A crash takes them with it, proxy or not.
   */
  readonly packetsUnreadByCrashedBackend: number;
  /** Movement packets the client sent while playing. */
  readonly movementSent: number;
  readonly maxStallMs: number;
  readonly migrations: readonly DemoMigration[];
  /** The proxy's warnings and errors (the messages of its log lines at warn or above). */
  readonly proxyWarnings: readonly string[];
  /** Wall time of the whole demo (ms). */
  readonly durationMs: number;
  /** Why the demo stopped early, if it did. */
  readonly failure?: string | undefined;
  /** Everything seamless: every migration succeeded, no reconnect, no violation, nothing lost or reordered. */
  readonly seamless: boolean;
}

interface Track {
  readonly index: number;
  readonly trigger: DemoTrigger;
  readonly source: string;
  readonly target: string;
  readonly phases: { phase: Phase; at: number }[];
  migrationId: string | undefined;
  firstTargetFrame: number | undefined;
  crashedAt?: number;
}

/** The migrations the demo attempts, in order. */
export const PLANNED: readonly { readonly trigger: DemoTrigger; readonly source: string; readonly target: string }[] = [
  { trigger: 'api', source: 'a', target: 'b' },
  { trigger: 'referral', source: 'b', target: 'a' },
  { trigger: 'referral', source: 'a', target: 'b' },
  { trigger: 'failover', source: 'b', target: 'a' },
];

/** The client's movement-like packet (testkit `MOVEMENT_PACKET`). */
const MOVEMENT = 'ClientMovement';

/** `msg` of a JSON log line (the logger censors secrets), or the line's start. */
function warningOf(line: string): string {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; level?: unknown };
    return typeof parsed.msg === 'string' ? parsed.msg : line.slice(0, 200);
  } catch {
    return line.slice(0, 200);
  }
}

/** Bounds of the waits (ms of real time): they only end a demo that has gone wrong. */
const WAIT_MS = 15_000;

/** Runs the demo; resolves with its summary once everything it opened is closed. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const generation = options.generation ?? 'G3';
  const started = performance.now();
  const now = () => performance.now() - started;
  const step = (s: Omit<DemoStep, 'at'> & { at?: number }) => options.onStep?.({ at: s.at ?? now(), ...s });

  // loaded here, not at the top: the other commands never pay for QUIC, the testkit or the proxy
  const [{ connectStrictClient, createBackend, createSessionService }, tickets, types, rp] = await Promise.all([
    import('@handoff/testkit'),
    import('@handoff/tickets'),
    import('@handoff/types'),
    import('@handoff/reference-proxy'),
  ]);

  const cleanups: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };

  const migrations: DemoMigration[] = [];
  let tracking: Track | undefined;
  const proxyWarnings: string[] = [];
  /** Movement packets the proxy wrote to each backend (the trace says so), to tell what a crash took with it. */
  const movementDelivered = new Map<string, number>();
  let client: StrictClient | undefined;

  try {
    // ---------------------------------------------------------------- the network
    const dir = await mkdtemp(join(tmpdir(), 'handoff-demo-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const proxyKeys = join(dir, 'proxy-keys');
    await tickets.writeKeyDirectory(proxyKeys);
    const proxyPublic = await tickets.loadKeys(proxyKeys, { publicOnly: true });

    const service = await createSessionService();
    cleanups.push(() => service.close());
    const proxyCredentials = await service.createServer();
    // the proxy reads its session-service tokens from files, as in production (mode 0600, removed at the end)
    const sessionTokenFile = join(dir, 'server-session-token');
    const identityTokenFile = join(dir, 'server-identity-token');
    await writeFile(sessionTokenFile, proxyCredentials.sessionToken, { mode: 0o600 });
    await writeFile(identityTokenFile, proxyCredentials.identityToken, { mode: 0o600 });

    const backendKinds = { a: 'quic', b: 'tcp' } as const;
    const backends = new Map<string, SimulatedBackend>();
    const signers = new Map<string, Awaited<ReturnType<typeof tickets.loadKeys>>>();
    const configBackends: Record<string, unknown> = {};
    for (const [id, transport] of Object.entries(backendKinds)) {
      const backend = await createBackend({
        id,
        transport,
        generation,
        listen: { host: '127.0.0.1', port: 0 },
        // the proxy's tickets: signed with its key; its address (127.0.0.1) stands for the proxy's id
        tickets: { keyRing: proxyPublic, sources: { '127.0.0.1': 'proxy' } },
        requireTicket: true,
      });
      cleanups.push(() => backend.close());
      backends.set(id, backend);
      // the backend's own key: it signs the referral tickets that ask the proxy for a seamless move
      const keys = join(dir, `${id}-keys`);
      await tickets.writeKeyDirectory(keys);
      signers.set(id, await tickets.loadKeys(keys));
      configBackends[id] = {
        address: `${transport}://127.0.0.1:${backend.address.port}`,
        jwks: keys,
        ...(transport === 'quic' ? { trust: { fingerprints: [backend.certificateFingerprint] } } : {}),
      };
    }
    const a = backends.get('a')!;
    const b = backends.get('b')!;

    const config = await rp.loadProxyConfig({
      env: {},
      overrides: {
        proxy: { generations: [generation] },
        listen: { address: '127.0.0.1:0' },
        admin: { address: '127.0.0.1:0' },
        backends: configBackends,
        tickets: { keys: proxyKeys },
        clientAuth: {
          mode: 'session-service',
          url: service.url,
          audience: proxyCredentials.audience,
          serverSessionTokenFile: sessionTokenFile,
          serverIdentityTokenFile: identityTokenFile,
        },
        log: { level: 'warn' },
      },
    });
    const logger = rp.createProxyLogger({
      level: 'warn',
      destination: {
        write: (line: string) => {
          proxyWarnings.push(warningOf(line));
        },
      },
    });
    const recorder = {
      record(entry: DemoTraceRecord): void {
        if (entry.direction === 'ToServer' && entry.name === MOVEMENT && entry.backend !== undefined && (entry.action === 'forwarded' || entry.action === 'replayed')) {
          movementDelivered.set(entry.backend, (movementDelivered.get(entry.backend) ?? 0) + 1);
        }
        const track = tracking;
        const toClient = entry.direction === 'ToClient' && entry.link !== 'backend' && entry.action !== 'suppressed' && entry.action !== 'dropped';
        if (track && track.firstTargetFrame === undefined && toClient && entry.backend === track.target && track.phases.some((p) => p.phase === 'Freeze')) {
          track.firstTargetFrame = now();
        }
        options.trace?.record(entry);
      },
    };
    const proxy: ReferenceProxy = await rp.startProxy(config, { logger, env: {}, trace: recorder });
    cleanups.push(() => proxy.close());
    step({
      kind: 'start',
      at: 0,
      ms: now(),
      text:
        `session service ${service.url}; backend a over QUIC at 127.0.0.1:${a.address.port}, backend b over TCP at 127.0.0.1:${b.address.port} ` +
        `(both require the proxy's tickets); the reference proxy at ${proxy.address.host}:${proxy.address.port}, admin API ${proxy.adminUrl}`,
    });

    // ---------------------------------------------------------------- the player joins
    const joinStarted = now();
    const credentials = await service.createPlayer({ clientUuid: randomUUID(), username: 'Demo' });
    client = await connectStrictClient({
      address: proxy.address,
      generation,
      auth: { sessionService: service.url, credentials },
      waitTimeoutMs: WAIT_MS,
    });
    const player = client;
    cleanups.push(() => player.close());
    await player.inWorld();
    const session = await until(() => proxy.session(player.clientUuid), 'the player\'s session in the proxy');
    await a.waitForEvent((e) => e.type === 'ready-for-gameplay' && e.clientUuid === player.clientUuid, { timeoutMs: WAIT_MS });
    step({ kind: 'join', at: joinStarted, ms: now() - joinStarted, text: `player ${player.username} (${player.clientUuid}) authenticated against the session service and entered a's world` });

    session.on('migration:phase', ({ migrationId, phase }) => {
      const track = tracking;
      if (!track) return;
      if (track.migrationId === undefined) track.migrationId = migrationId;
      if (track.migrationId === migrationId) track.phases.push({ phase, at: now() });
    });

    const perSecond = options.movementPerSecond ?? 50;
    player.startMovement({ intervalMs: Math.max(1, Math.round(1000 / perSecond)) });
    step({ kind: 'play', text: `the client keeps playing: ${perSecond} movement packets per second, Pongs for every Ping` });
    /** Lets the player play on: `n` more movement packets. */
    const play = (n: number) => player.movementSent(player.counters.movementSent + n);

    // ---------------------------------------------------------------- the migrations
    const migrate = async (trigger: DemoTrigger, from: SimulatedBackend, to: SimulatedBackend, start: (track: Track) => Promise<unknown>): Promise<void> => {
      const track: Track = { index: migrations.length + 1, trigger, source: from.id, target: to.id, phases: [], migrationId: undefined, firstTargetFrame: undefined };
      tracking = track;
      const worlds = player.counters.worlds;
      const since = to.eventCount;
      const began = now();
      const result = trigger === 'failover' ? failoverResult(session) : nextResult(session);
      let outcome = 'none';
      let succeeded = false;
      try {
        await start(track);
        const settled = await withTimeout(result, WAIT_MS, `the ${trigger} migration ${from.id} → ${to.id}`);
        outcome = settled?.kind ?? 'none';
        if (settled?.kind === 'migrated') {
          await player.worldsEntered(worlds + 1);
          await to.waitForEvent((e) => e.type === 'ready-for-gameplay' && e.clientUuid === player.clientUuid, { since, timeoutMs: WAIT_MS });
          succeeded = player.counters.connections === 1 && player.world?.worldUuid === to.worldUuid;
        }
      } finally {
        tracking = undefined;
      }
      const phases = track.phases.map((p, i) => ({ phase: p.phase, ms: round((track.phases[i + 1]?.at ?? p.at) - p.at) })).filter((p) => p.phase !== 'Idle');
      const first = track.phases[0]?.at ?? began;
      const freeze = track.phases.find((p) => p.phase === 'Freeze')?.at;
      const done: DemoMigration = {
        index: track.index,
        trigger,
        source: from.id,
        target: to.id,
        outcome,
        succeeded,
        phases,
        totalMs: round((track.phases.at(-1)?.at ?? now()) - first),
        stallMs: freeze !== undefined && track.firstTargetFrame !== undefined ? round(track.firstTargetFrame - freeze) : undefined,
        ...(track.crashedAt === undefined ? {} : { detectMs: round(first - track.crashedAt) }),
      };
      migrations.push(done);
      step({ kind: 'migration', at: began, ms: now() - began, text: describeMigration(done), migration: done });
    };

    const byApi = (to: SimulatedBackend) => async () => {
      const response = await fetch(`${proxy.adminUrl}/sessions/${player.clientUuid}/migrate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: to.id }),
      });
      await response.text();
      if (response.status !== 202) throw new Error(`POST /sessions/{uuid}/migrate answered ${response.status}`);
    };
    const byReferral = (from: SimulatedBackend, to: SimulatedBackend) => async () => {
      // what a backend plugin does: a ticket signed with the backend's own key, in the referral's data
      const issuer = tickets.createTicketIssuer({ keyRing: signers.get(from.id)!, issuer: types.parseBackendId(from.id), ttlSeconds: 30 });
      const ticket = await issuer.issue({ clientUuid: types.parseClientUuid(player.clientUuid), target: types.parseBackendId(to.id) });
      await from.referToServer(player.clientUuid, { host: to.address.host, port: to.address.port, data: new TextEncoder().encode(ticket) });
    };

    let failure: string | undefined;
    try {
      await play(10);
      await migrate('api', a, b, byApi(b));
      await play(10);
      await migrate('referral', b, a, byReferral(b, a));
      await play(10);
      await migrate('referral', a, b, byReferral(a, b));
      await play(10);
      await migrate('failover', b, a, async (track) => {
        track.crashedAt = now();
        await b.crash();
      });
      await play(10);
    } catch (error) {
      // the summary still comes: what failed, and what the client judged up to there
      failure = error instanceof Error ? error.message : String(error);
      step({ kind: 'migration', text: `the demo stopped: ${failure}` });
    }
    player.stopMovement();

    // ---------------------------------------------------------------- the player leaves; every packet is accounted for
    const leaveStarted = now();
    try {
      await player.leave();
      for (const backend of backends.values()) await playerGone(backend, player.clientUuid);
    } catch (error) {
      failure ??= error instanceof Error ? error.message : String(error);
    }
    const stats = session.stats();
    step({ kind: 'leave', at: leaveStarted, ms: now() - leaveStarted, text: 'the client left; both backends saw the player go' });

    let sourceBound = 0;
    let clientReadyForSource = 0;
    let leftWorldPongs = 0;
    const { droppedByRule } = await import('@handoff/testkit');
    player.account([a, b], {
      mayDrop: (packet) => {
        if (droppedByRule(packet)) {
          leftWorldPongs += 1;
          return true;
        }
        // sent in a world the client then left, before its ClientReady in the next: the drain's `source-bound` rule
        const worlds = player.worlds.filter((w) => w.connection === packet.connection);
        if (packet.name === 'ClientMovement' && worlds.length > 0 && packet.world < worlds.at(-1)!.index) {
          sourceBound += 1;
          return true;
        }
        // a ClientReady of a world the client then left that did not reach its backend: `client-ready-for-source`
        if (packet.name === 'ClientReady' && worlds.length > 0 && packet.world < worlds.at(-1)!.index) {
          clientReadyForSource += 1;
          return true;
        }
        return false;
      },
    });
    const violations = [...player.violations];
    // movement the proxy wrote to the crashed backend that it never read: sent in the world the player
    // then left, so the drain's source-bound rule would have dropped it had the proxy still held it
    const logged = b.packetLog(player.clientUuid).filter((p) => p.name === MOVEMENT).length;
    const inFlightAtCrash = Math.max(0, (movementDelivered.get(b.id) ?? 0) - logged);
    // a drop the client's rule allowed that neither the proxy counted nor the crash explains: a loss
    const counted = stats.droppedToServer['source-bound'] ?? 0;
    const readiesCounted = stats.droppedToServer['client-ready-for-source'] ?? 0;
    const unexplained = Math.max(0, sourceBound - counted - inFlightAtCrash) + Math.max(0, clientReadyForSource - readiesCounted);
    const count = (kind: string) => violations.filter((v) => v.kind === kind).length;
    const packetsLost = count('lost-packet') + count('unanswered-ping') + unexplained;
    const packetsReordered = count('reordered-packet');
    const packetsDuplicated = count('duplicated-packet');
    const clientReconnects = player.counters.reconnects;
    const succeeded = migrations.filter((m) => m.succeeded).length;
    const stalls = migrations.map((m) => m.stallMs).filter((s): s is number => s !== undefined);
    step({
      kind: 'account',
      text: `accounting: ${player.counters.packetsSent} packets sent, ${player.counters.movementSent} of them movement; ${violations.length} violations`,
    });
    const summary: DemoSummary = {
      generation,
      backends: backendKinds,
      migrationsAttempted: PLANNED.length,
      migrationsSucceeded: succeeded,
      clientReconnects,
      violations,
      packetsLost,
      packetsReordered,
      packetsDuplicated,
      packetsDroppedByRule: {
        'pong-for-left-world': leftWorldPongs,
        'source-bound': counted,
        ...(readiesCounted > 0 ? { 'client-ready-for-source': readiesCounted } : {}),
      },
      packetsUnreadByCrashedBackend: inFlightAtCrash,
      movementSent: player.counters.movementSent,
      maxStallMs: stalls.length === 0 ? 0 : Math.max(...stalls),
      migrations,
      proxyWarnings,
      durationMs: 0,
      ...(failure === undefined ? {} : { failure }),
      seamless:
        failure === undefined && succeeded === PLANNED.length && clientReconnects === 0 && violations.length === 0 && packetsLost === 0 && packetsReordered === 0 && packetsDuplicated === 0,
    };
    await closeAll();
    return { ...summary, durationMs: round(now()) };
  } finally {
    client?.stopMovement();
    await closeAll();
  }
}

/** The session's next migration result. */
function nextResult(session: ProxySession): Promise<ProxyMigrationResult> {
  return new Promise((resolve) => {
    const off = session.on('migration:result', ({ result }) => {
      off();
      resolve(result);
    });
  });
}

/** The result of the session's next failover (undefined: no failover target). */
function failoverResult(session: ProxySession): Promise<ProxyMigrationResult | undefined> {
  return new Promise((resolve) => {
    const off = session.on('failover', ({ result }) => {
      off();
      resolve(result);
    });
  });
}

/** Resolves once every connection `clientUuid` made to `backend` has ended. */
async function playerGone(backend: SimulatedBackend, clientUuid: string): Promise<void> {
  for (;;) {
    const connects = backend.events.filter((e) => e.type === 'connect' && e.clientUuid === clientUuid).length;
    const gone = backend.events.filter((e) => e.type === 'disconnected' && e.clientUuid === clientUuid).length;
    if (gone >= connects) return;
    await backend.waitForEvent((e) => e.type === 'disconnected' && e.clientUuid === clientUuid, { since: backend.eventCount, timeoutMs: WAIT_MS });
  }
}

/** Polls `get` on every turn of the event loop until it gives a value; bounded by {@link WAIT_MS}. */
async function until<T>(get: () => T | undefined, what: string): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

const TRIGGER_TEXT: Readonly<Record<DemoTrigger, string>> = {
  api: 'by the admin API (POST /sessions/{uuid}/migrate)',
  referral: 'by a ticketed referral (the backend signs a ticket with its own key and sends ClientReferral)',
  failover: 'by crash failover (the backend died; same client connection)',
};

function describeMigration(m: DemoMigration): string {
  const verdict = m.succeeded ? 'migrated' : `FAILED (${m.outcome})`;
  return `migration ${m.index}: ${m.source} → ${m.target} ${TRIGGER_TEXT[m.trigger]}: ${verdict}`;
}
