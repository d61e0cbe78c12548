/**
 * Recipe: embedding the migration into an existing forwarding loop. The proxy accepts clients with
 * the kit's client side (`acceptClient`), joins each to the lobby (`joinBackend`, with a proxy ticket),
 * and hands both to its **own** per-player loop (`PlayerLoop`, in `player-loop.ts`) instead of a kit
 * proxy session. A moving player goes lobby → game-1 → lobby; the strict client then checks that both
 * moves were seamless and that every packet it sent reached exactly one backend, in order, but those
 * the loop dropped by a named rule.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationResult } from '@handoff/migration';
import { acceptClient, createTicketPolicy, joinBackend, noClientAuth, refuseClient, type BackendConfig } from '@handoff/proxy-kit';
import { connectStrictClient, createBackend, droppedByRule, type Violation } from '@handoff/testkit';
import { createMemoryReplayStore, loadKeys, writeKeyDirectory } from '@handoff/tickets';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendRef } from '@handoff/types';
import { PlayerLoop } from './player-loop.js';

/** What the recipe observed. */
export interface EmbedMigrationReport {
  readonly results: readonly MigrationResult[];
  /** Client frames the loop dropped, by rule. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Movement the client's accounting found missing because it was sent in a world the client then left. */
  readonly movementLostWithOldWorld: number;
  /** The strict client's findings, live and from its accounting: empty when both moves were seamless. */
  readonly violations: readonly Violation[];
  readonly reconnects: number;
}

export async function embedMigration(log: (line: string) => void): Promise<EmbedMigrationReport> {
  const dir = await mkdtemp(join(tmpdir(), 'handoff-embed-'));
  const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    // The proxy's ticket key; both backends insist on its tickets.
    await writeKeyDirectory(join(dir, 'proxy-1'));
    const replayStore = createMemoryReplayStore();
    const trust = { keyRing: await loadKeys(join(dir, 'proxy-1'), { publicOnly: true }), replayStore };
    const lobby = await createBackend({ id: 'lobby', transport: 'tcp', tickets: trust, requireTicket: true });
    cleanup.push(() => lobby.close());
    const game = await createBackend({ id: 'game-1', transport: 'tcp', tickets: trust, requireTicket: true });
    cleanup.push(() => game.close());
    const backends: BackendConfig[] = [lobby, game].map((b) => ({ ref: parseBackendRef({ id: b.id }), address: b.address, transport: tcp() }));
    const proxyAddress = { host: 'proxy-1', port: 5520 };
    const tickets = createTicketPolicy({ proxyId: 'proxy-1', keyRing: await loadKeys(join(dir, 'proxy-1')), replayStore, backends, backendKeys: {} });

    // The proxy's accept loop: the kit's client side and first join, then the author's own loop.
    const listener = await quic().listen({
      address: { host: '127.0.0.1', port: 0 },
      alpn: ['hytale/2', 'hytale/1'],
      maxStreams: { bidi: 1, uni: 0 },
      certificate: await createSelfSignedCertificate({ commonName: 'localhost' }),
      clientCertificate: 'required-any',
    });
    cleanup.push(() => listener.close());
    const players = new Map<string, PlayerLoop>();
    const joined: Array<() => void> = [];
    void (async () => {
      for (let connection; (connection = await listener.accept().catch(() => undefined)); ) {
        void acceptClient(connection, { auth: noClientAuth() }).then(async (client) => {
          try {
            const link = await joinBackend(backends[0]!, { client, proxyAddress, tickets });
            const loop = new PlayerLoop(client, link, { backends, tickets, proxyAddress });
            players.set(client.clientUuid, loop);
            cleanup.push(() => loop.done);
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
    while (!players.has(client.clientUuid)) await new Promise<void>((resolve) => joined.push(resolve));
    const player = players.get(client.clientUuid)!;
    client.startMovement({ intervalMs: 10 });
    log(`${client.username} is in the lobby's world through the proxy's own loop, moving`);

    const results: MigrationResult[] = [];
    for (const target of ['game-1', 'lobby']) {
      await client.movementSent(client.counters.movementSent + 10);
      const result = await player.migrate(target);
      results.push(result);
      await client.worldsEntered(results.length + 1);
      log(`migrate to ${target}: ${result.kind}; the client entered ${target}'s world on its one connection`);
    }
    await client.movementSent(client.counters.movementSent + 10);
    await client.leave();
    await player.done;
    await Promise.all([lobby, game].flatMap((b) => b.allPlayers.filter((p) => p.clientUuid === client.clientUuid).map((p) => p.closed)));
    // the loop's one loss by design: movement sent in a world the client then left (`source-bound`, counted by the loop)
    let movementLostWithOldWorld = 0;
    client.account([lobby, game], {
      mayDrop: (p) => droppedByRule(p) || (p.name === 'ClientMovement' && p.world < client.worlds.length && ++movementLostWithOldWorld > 0),
    });
    log(`the loop dropped ${JSON.stringify(player.dropped)}; the client found ${movementLostWithOldWorld} movement packets missing, sent in a world it left`);
    log(`client: ${client.violations.length} violations, ${client.counters.reconnects} reconnects`);
    return { results, dropped: player.dropped, movementLostWithOldWorld, violations: client.violations, reconnects: client.counters.reconnects };
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => {});
  }
}
