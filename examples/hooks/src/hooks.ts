/**
 * Recipe: extending the proxy session with hooks. Three decisions a network makes that the kit does
 * not know about:
 *
 * 1. **Deny while in combat**: `beforeMigrate` returns `deny(reason)` while the player fought in the
 *    last 10 s; the player stays where it is and the caller gets a `refused`/`denied` result.
 * 2. **Redirect**: `beforeMigrate` returns `redirect(target)` when the asked-for server is full, to
 *    another server of the same pool with room; the migration goes there instead.
 * 3. **A custom drain policy**: the two game servers are shards of one world, so a position the
 *    client sent in A's world means the same on B. The session's drain policy is told that
 *    `ClientMovement` is not bound to the source: the movement the client sent during the move is
 *    delivered to B instead of being dropped as `source-bound`.
 *
 * A player joins the lobby and keeps moving; a move is denied during combat, then redirected from
 * the full game-1 to game-2, and every packet it sent reaches exactly one server, in order.
 */
import { DEFAULT_SOURCE_BOUND } from '@handoff/migration';
import {
  acceptClient,
  allow,
  createProxySession,
  deny,
  joinBackend,
  noClientAuth,
  redirect,
  refuseClient,
  type BackendConfig,
  type ProxyMigrationResult,
  type ProxySession,
  type ProxySessionHooks,
  type TraceRecorder,
} from '@handoff/proxy-kit';
import { connectStrictClient, createBackend, type Violation } from '@handoff/testkit';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendRef, type BackendId, type BackendRef, type ClientUuid } from '@handoff/types';

/**
 * Who fought recently. The game feeds it (its servers report hits: a plugin message, a message bus, or
 * a packet hook on the damage packets they send); the proxy reads it in `beforeMigrate`.
 */
export class CombatTracker {
  readonly #lastHit = new Map<ClientUuid, number>();
  constructor(
    readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  hit(clientUuid: ClientUuid): void {
    this.#lastHit.set(clientUuid, this.now());
  }

  /** Milliseconds of combat left for the player (0: not in combat). */
  remainingMs(clientUuid: ClientUuid): number {
    const at = this.#lastHit.get(clientUuid);
    return at === undefined ? 0 : Math.max(0, at + this.windowMs - this.now());
  }
}

/** How full each backend is, and the pools' members: where a redirect may go. */
export interface Capacity {
  players(backend: BackendId): number;
  readonly max: number;
  /** The backends of `ref`'s pool, in preference order. */
  poolOf(ref: BackendRef): readonly BackendRef[];
}

/** The session hooks of one player: combat denies, a full target redirects within its pool. */
export function networkHooks(clientUuid: ClientUuid, combat: CombatTracker, capacity: Capacity): ProxySessionHooks {
  return {
    beforeMigrate({ migration }) {
      const left = combat.remainingMs(clientUuid);
      if (left > 0) return deny(`in combat (${Math.ceil(left / 1000)} s left)`);
      const target = migration.target;
      if (capacity.players(target.id) < capacity.max) return allow();
      const other = capacity.poolOf(target).find((b) => b.id !== migration.source.id && capacity.players(b.id) < capacity.max);
      return other ? redirect(other) : deny(`${target.id} is full`);
    },
  };
}

/** What the recipe observed. */
export interface HooksReport {
  readonly results: readonly ProxyMigrationResult[];
  /** The backend the player ended on. */
  readonly backend: BackendId;
  /** Client packets the session dropped, by rule (the custom drain policy keeps the movement). */
  readonly droppedToServer: Readonly<Record<string, number>>;
  /** Movement packets the proxy delivered to the target during the move (Freeze to Resume: buffered, or sent before the client's ClientReady). */
  readonly movementKeptForTarget: number;
  /** The strict client's findings, live and from its accounting (every packet delivered once, in order). */
  readonly violations: readonly Violation[];
  readonly reconnects: number;
}

export async function hooksRecipe(log: (line: string) => void): Promise<HooksReport> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    // A lobby and two shards of one game world (development joins: no tickets in this recipe).
    const lobby = await createBackend({ id: 'lobby', transport: 'tcp' });
    cleanup.push(() => lobby.close());
    const shards = [await createBackend({ id: 'game-1', transport: 'tcp' }), await createBackend({ id: 'game-2', transport: 'tcp' })];
    for (const shard of shards) cleanup.push(() => shard.close());
    const backends: BackendConfig[] = [
      { ref: parseBackendRef({ id: 'lobby', pool: 'lobby' }), address: lobby.address, transport: tcp() },
      ...shards.map((s) => ({ ref: parseBackendRef({ id: s.id, pool: 'games' }), address: s.address, transport: tcp() })),
    ];

    // What the network knows: who fights (on a clock the recipe moves), and how full each server is.
    let now = 0;
    const combat = new CombatTracker(10_000, () => now);
    const playersOn = new Map<string, number>([['game-1', 100]]); // game-1 is full
    const capacity: Capacity = {
      max: 100,
      players: (id) => playersOn.get(id) ?? 0,
      poolOf: (ref) => backends.map((b) => b.ref).filter((b) => b.pool === ref.pool),
    };

    const certificate = await createSelfSignedCertificate({ commonName: 'localhost' });
    const listener = await quic().listen({
      address: { host: '127.0.0.1', port: 0 },
      alpn: ['hytale/2', 'hytale/1'],
      maxStreams: { bidi: 1, uni: 0 },
      certificate,
      clientCertificate: 'required-any',
    });
    cleanup.push(() => listener.close());
    const proxyAddress = { host: 'proxy-1', port: 5520 };
    // counts the movement sent during a move (Freeze to Resume) that reached its target (a trace has names and sizes only)
    let movementKeptForTarget = 0;
    const duringMove = new Set(['Freeze', 'Cutover', 'Resume']);
    const trace: TraceRecorder = {
      record(r) {
        const delivered = r.action === 'replayed' || r.action === 'forwarded';
        if (r.direction === 'ToServer' && r.name === 'ClientMovement' && delivered && r.backend !== 'lobby' && duringMove.has(r.phase)) movementKeptForTarget++;
      },
    };
    const sessions = new Map<string, ProxySession>();
    const joined: Array<() => void> = [];
    void (async () => {
      for (let connection; (connection = await listener.accept().catch(() => undefined)); ) {
        void acceptClient(connection, { auth: noClientAuth() }).then(async (client) => {
          try {
            const link = await joinBackend(backends[0]!, { client, proxyAddress });
            const session = await createProxySession({
              client,
              backend: link,
              backends,
              proxyAddress,
              hooks: networkHooks(client.clientUuid, combat, capacity),
              // the shards share one world: a position sent in A's world holds on B (the other defaults stay)
              migration: { drainPolicy: { sourceBound: DEFAULT_SOURCE_BOUND.filter((name) => name !== 'ClientMovement') } },
              trace,
            });
            sessions.set(client.clientUuid, session);
            cleanup.push(() => session.close());
            for (const notify of joined.splice(0)) notify();
          } catch {
            await refuseClient(client, 'The lobby is not available');
          }
        }, () => {});
      }
    })();

    const client = await connectStrictClient({ address: listener.address });
    cleanup.push(() => client.close());
    await client.inWorld();
    while (!sessions.has(client.clientUuid)) await new Promise<void>((resolve) => joined.push(resolve));
    const session = sessions.get(client.clientUuid)!;
    client.startMovement({ intervalMs: 10 });
    const results: ProxyMigrationResult[] = [];
    const move = async (target: string): Promise<ProxyMigrationResult> => {
      await client.movementSent(client.counters.movementSent + 10);
      const result = await session.migrate(target);
      results.push(result);
      const how = result.kind === 'refused' ? `refused (${result.refusal}: ${result.reason})` : `${result.kind} to ${result.target.id}`;
      log(`migrate to ${target}: ${how}; the player is on ${session.backend.id}`);
      return result;
    };

    // 1. The player was hit 4 s ago: the move is denied, the player stays in the lobby.
    combat.hit(client.clientUuid);
    now += 4_000;
    await move('game-1');
    // 2. Out of combat; game-1 is full: redirected to game-2, in the same pool.
    now += 10_000;
    await move('game-1');
    await client.worldsEntered(2);
    // 3. The movement sent during the move reached game-2 (no `source-bound` drop): checked below.
    await client.movementSent(client.counters.movementSent + 10);
    await client.leave();
    await Promise.all([lobby, ...shards].flatMap((b) => b.allPlayers.filter((p) => p.clientUuid === client.clientUuid).map((p) => p.closed)));
    client.account([lobby, ...shards]); // only the default rule: a Pong answering a Ping of a world the client left
    const report: HooksReport = {
      results,
      backend: session.backend.id,
      droppedToServer: session.stats().droppedToServer,
      movementKeptForTarget,
      violations: client.violations,
      reconnects: client.counters.reconnects,
    };
    const movement = client.counters.movementSent;
    log(`drain policy: ${movementKeptForTarget} movement packets sent during the move reached game-2, none dropped as source-bound`);
    log(`client: ${movement} movement packets sent, dropped by the proxy: ${JSON.stringify(report.droppedToServer)}; ${report.violations.length} violations`);
    return report;
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => {});
  }
}
