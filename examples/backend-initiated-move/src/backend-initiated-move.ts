/**
 * Recipe: a backend-initiated move. The game server decides that a player must go elsewhere (it
 * stepped into a portal, a match starts) and does what a Hytale server plugin does: it calls
 * `referToServer(host, port, data)` with a migration ticket signed by **its own** key in `data`. The
 * proxy intercepts that `ClientReferral`, verifies the ticket against that backend's public keys
 * (consuming its nonce), issues a fresh proxy ticket for the target, and moves the player without the
 * client ever seeing the referral. Lobby → game-1 → lobby, the client moving throughout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptClient,
  createProxySession,
  createTicketPolicy,
  joinBackend,
  noClientAuth,
  refuseClient,
  type BackendConfig,
  type ProxyMigrationResult,
  type ProxySession,
} from '@handoff/proxy-kit';
import { connectStrictClient, createBackend, droppedByRule, type SimulatedBackend, type Violation } from '@handoff/testkit';
import { createMemoryReplayStore, createTicketIssuer, loadKeys, writeKeyDirectory, type KeyRing } from '@handoff/tickets';
import type { QuicDialInit } from '@handoff/transport-quic';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendId, parseBackendRef, parseClientUuid } from '@handoff/types';

/** What the recipe observed. */
export interface BackendInitiatedMoveReport {
  /** Each move's result, as the proxy session reported it. */
  readonly moves: readonly ProxyMigrationResult[];
  /** The strict client's findings, live and from its accounting: empty when every move was seamless. */
  readonly violations: readonly Violation[];
  /** ClientReferrals that reached the client (0: the proxy kept each one and migrated instead). */
  readonly referralsSeenByClient: number;
  readonly reconnects: number;
  /** The ticket policy's counters: referral tickets verified and turned into migrations. */
  readonly referralsMigrated: number;
  readonly referralsForwarded: number;
}

/** A game server's plugin: moves `clientUuid` from `from` to `to` with a ticket signed by `from`'s key. */
async function referWithTicket(from: SimulatedBackend, signingKeys: KeyRing, to: SimulatedBackend, clientUuid: string): Promise<void> {
  const issuer = createTicketIssuer({ keyRing: signingKeys, issuer: parseBackendId(from.id), ttlSeconds: 30 });
  const ticket = await issuer.issue({ clientUuid: parseClientUuid(clientUuid), target: parseBackendId(to.id) });
  await from.referToServer(clientUuid, { host: to.address.host, port: to.address.port, data: new TextEncoder().encode(ticket) });
}

/** The next migration result of `session` (a referral starts the migration inside the session). */
function nextResult(session: ProxySession): Promise<ProxyMigrationResult> {
  return new Promise((resolve) => {
    const off = session.on('migration:result', ({ result }) => {
      off();
      resolve(result);
    });
  });
}

export async function backendInitiatedMove(log: (line: string) => void): Promise<BackendInitiatedMoveReport> {
  // Three key directories (`handoff keys generate --out <dir>`): the proxy's, and one per backend
  // that may ask for a move. The proxy trusts each backend's public keys for that backend only.
  const dir = await mkdtemp(join(tmpdir(), 'handoff-backend-move-'));
  const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    for (const name of ['proxy-1', 'lobby', 'game-1']) await writeKeyDirectory(join(dir, name));
    const backendsReplay = createMemoryReplayStore(); // the backends' nonce store (Redis when they are many)
    const trustProxy = { keyRing: await loadKeys(join(dir, 'proxy-1'), { publicOnly: true }), replayStore: backendsReplay };

    // The game servers: the lobby over QUIC, the game over TCP; both refuse a join without the proxy's ticket.
    const lobby = await createBackend({ id: 'lobby', transport: 'quic', tickets: trustProxy, requireTicket: true });
    cleanup.push(() => lobby.close());
    const game = await createBackend({ id: 'game-1', transport: 'tcp', tickets: trustProxy, requireTicket: true });
    cleanup.push(() => game.close());

    // The proxy.
    const certificate = await createSelfSignedCertificate({ commonName: 'localhost' });
    const lobbyConfig: BackendConfig<QuicDialInit> = {
      ref: parseBackendRef({ id: 'lobby' }),
      address: lobby.address,
      transport: quic(),
      dial: { certificate, serverTrust: { fingerprints: [lobby.certificateFingerprint!] } },
    };
    const gameConfig: BackendConfig = { ref: parseBackendRef({ id: 'game-1' }), address: game.address, transport: tcp() };
    const backends = [lobbyConfig as BackendConfig, gameConfig];
    const proxyAddress = { host: 'proxy-1', port: 5520 }; // the Connects' referralSource: backends map it to the issuer 'proxy-1'
    const tickets = createTicketPolicy({
      proxyId: 'proxy-1',
      keyRing: await loadKeys(join(dir, 'proxy-1')),
      replayStore: createMemoryReplayStore(), // where the backends' referral tickets are consumed
      backends, // a referral's host and port are looked up among these addresses
      backendKeys: {
        lobby: await loadKeys(join(dir, 'lobby'), { publicOnly: true }),
        'game-1': await loadKeys(join(dir, 'game-1'), { publicOnly: true }),
      },
    });
    const listener = await quic().listen({
      address: { host: '127.0.0.1', port: 0 },
      alpn: ['hytale/2', 'hytale/1'],
      maxStreams: { bidi: 1, uni: 0 },
      certificate,
      clientCertificate: 'required-any',
    });
    cleanup.push(() => listener.close());
    const sessions = new Map<string, ProxySession>();
    const joined: Array<() => void> = [];
    void (async () => {
      for (let connection; (connection = await listener.accept().catch(() => undefined)); ) {
        void acceptClient(connection, { auth: noClientAuth() }).then(async (client) => {
          try {
            const link = await joinBackend(lobbyConfig, { client, proxyAddress, tickets });
            const session = await createProxySession({ client, backend: link, backends, proxyAddress, tickets });
            sessions.set(client.clientUuid, session);
            cleanup.push(() => session.close());
            for (const notify of joined.splice(0)) notify();
          } catch {
            await refuseClient(client, 'The lobby is not available');
          }
        }, () => {});
      }
    })();

    // A player joins the lobby and keeps moving.
    const client = await connectStrictClient({ address: listener.address });
    cleanup.push(() => client.close());
    await client.inWorld();
    while (!sessions.has(client.clientUuid)) await new Promise<void>((resolve) => joined.push(resolve));
    const session = sessions.get(client.clientUuid)!;
    session.on('referral', (e) => log(`proxy: ${e.from.id} sent a ClientReferral: ${e.action}${e.target ? ` to ${e.target.id}` : ''}${e.reason ? ` (${e.reason})` : ''}`));
    client.startMovement({ intervalMs: 20 });
    log(`${client.username} is in the lobby's world, moving`);

    // Each game server moves the player on its own initiative.
    const signing = { lobby: await loadKeys(join(dir, 'lobby')), 'game-1': await loadKeys(join(dir, 'game-1')) };
    const moves: ProxyMigrationResult[] = [];
    for (const [from, to] of [
      [lobby, game],
      [game, lobby],
    ] as const) {
      await client.movementSent(client.counters.movementSent + 10);
      const result = nextResult(session);
      await referWithTicket(from, signing[from.id as keyof typeof signing], to, client.clientUuid);
      moves.push(await result);
      await client.worldsEntered(moves.length + 1);
      log(`${from.id} → ${to.id}: ${moves.at(-1)!.kind} (trigger ${moves.at(-1)!.trigger}); the client is in ${to.id}'s world on its one connection`);
    }

    // The player leaves; once both servers saw it go, the client checks every packet it sent.
    await client.movementSent(client.counters.movementSent + 10);
    await client.leave();
    await Promise.all([lobby, game].flatMap((b) => b.allPlayers.filter((p) => p.clientUuid === client.clientUuid).map((p) => p.closed)));
    const movedOutOfWorld = (p: { readonly name: string; readonly world: number }) => p.name === 'ClientMovement' && p.world < client.worlds.length;
    client.account([lobby, game], { mayDrop: (p) => droppedByRule(p) || movedOutOfWorld(p) }); // the kit's `source-bound` rule
    const counters = tickets.counters();
    const report: BackendInitiatedMoveReport = {
      moves,
      violations: client.violations,
      referralsSeenByClient: client.counters.referrals,
      reconnects: client.counters.reconnects,
      referralsMigrated: counters.referralsMigrated,
      referralsForwarded: counters.referralsForwarded,
    };
    log(`client: ${report.violations.length} violations, ${report.referralsSeenByClient} referrals seen, ${report.reconnects} reconnects`);
    return report;
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => {});
  }
}
