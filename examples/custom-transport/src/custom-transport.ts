/**
 * Recipe: wiring a custom transport. The proxy reaches its backends through `metered(tcp())`, a
 * wrapper that counts what crosses it, instead of `tcp()`: a `BackendConfig` takes any adapter of the
 * transport contract. Before it carries a player, the wrapper is certified with the compliance suite
 * every adapter of the project passes (`meteredCompliance()` is its setup; the suite runs under
 * vitest). Then a moving player goes lobby → game-1 → lobby through it, judged by the strict client,
 * and the meter tells what each backend link carried.
 */
import {
  acceptClient,
  createProxySession,
  joinBackend,
  noClientAuth,
  refuseClient,
  type BackendConfig,
  type ProxyMigrationResult,
  type ProxySession,
} from '@handoff/proxy-kit';
import { connectStrictClient, createBackend, droppedByRule, type Violation } from '@handoff/testkit';
import type { ComplianceSetup } from '@handoff/transport/compliance';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendRef } from '@handoff/types';
import { metered, type PeerMeter } from './metered.js';

/**
 * The compliance suite's setup for `metered(tcp())`: the capabilities are TCP's (one stream per
 * connection, no TLS, ALPN, close codes or keep-alive), and a peer vanishes behind the suite's TCP
 * relay. Certify it with `transportCompliance('metered tcp', meteredCompliance())` in a vitest spec.
 */
export function meteredCompliance(): ComplianceSetup {
  const transport = metered(tcp({ lingerTimeout: 1_000 }));
  return {
    capabilities: {
      bidiStreams: 1,
      listenerOpensBidi: false,
      uniStreams: false,
      streamLimits: false,
      alpn: false,
      certificates: false,
      closeCodes: false,
      streamReset: false,
      keepAlive: false,
      connectRefused: true,
    },
    listen: (init) => transport.listen(init),
    dial: (init) => transport.dial(init),
    vanish: 'tcp-relay',
  };
}

/** What the recipe observed. */
export interface CustomTransportReport {
  readonly moves: readonly ProxyMigrationResult[];
  /** What each backend link carried, through the metered transport, by backend id. */
  readonly links: Readonly<Record<string, Readonly<PeerMeter>>>;
  /** The strict client's findings, live and from its accounting: empty when every move was seamless. */
  readonly violations: readonly Violation[];
  readonly reconnects: number;
}

export async function customTransport(log: (line: string) => void): Promise<CustomTransportReport> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    // Two backends started with --transport TCP (simulated), development joins (no tickets here).
    const lobby = await createBackend({ id: 'lobby', transport: 'tcp' });
    cleanup.push(() => lobby.close());
    const game = await createBackend({ id: 'game-1', transport: 'tcp' });
    cleanup.push(() => game.close());

    // One metered transport for every backend link: a BackendConfig takes any adapter.
    const toBackends = metered(tcp());
    const backends: BackendConfig[] = [lobby, game].map((b) => ({ ref: parseBackendRef({ id: b.id }), address: b.address, transport: toBackends }));

    const listener = await quic().listen({
      address: { host: '127.0.0.1', port: 0 },
      alpn: ['hytale/2', 'hytale/1'],
      maxStreams: { bidi: 1, uni: 0 },
      certificate: await createSelfSignedCertificate({ commonName: 'localhost' }),
      clientCertificate: 'required-any',
    });
    cleanup.push(() => listener.close());
    const proxyAddress = { host: 'proxy-1', port: 5520 };
    const sessions = new Map<string, ProxySession>();
    const joined: Array<() => void> = [];
    void (async () => {
      for (let connection; (connection = await listener.accept().catch(() => undefined)); ) {
        void acceptClient(connection, { auth: noClientAuth() }).then(async (client) => {
          try {
            const link = await joinBackend(backends[0]!, { client, proxyAddress });
            const session = await createProxySession({ client, backend: link, backends, proxyAddress });
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
    client.startMovement({ intervalMs: 20 });

    const moves: ProxyMigrationResult[] = [];
    for (const target of ['game-1', 'lobby']) {
      await client.movementSent(client.counters.movementSent + 10);
      const result = await session.migrate(target);
      moves.push(result);
      await client.worldsEntered(moves.length + 1);
      log(`migrate to ${target}: ${result.kind}, the backend links over metered(tcp())`);
    }
    await client.movementSent(client.counters.movementSent + 10);
    await client.leave();
    await Promise.all([lobby, game].flatMap((b) => b.allPlayers.filter((p) => p.clientUuid === client.clientUuid).map((p) => p.closed)));
    const movedOutOfWorld = (p: { readonly name: string; readonly world: number }) => p.name === 'ClientMovement' && p.world < client.worlds.length;
    client.account([lobby, game], { mayDrop: (p) => droppedByRule(p) || movedOutOfWorld(p) }); // the kit's `source-bound` rule

    await toBackends.meter.settled(); // the session ended with the client: every link's end is counted
    const links: Record<string, PeerMeter> = {};
    for (const b of [lobby, game]) {
      const counted = toBackends.meter.peers.get(`${b.address.host}:${b.address.port}`);
      if (!counted) continue;
      links[b.id] = counted;
      log(`${b.id}: ${counted.connections} connections (${JSON.stringify(counted.closes)}), ${counted.bytesSent} bytes sent, ${counted.bytesReceived} bytes received`);
    }
    log(`client: ${client.violations.length} violations, ${client.counters.reconnects} reconnects`);
    return { moves, links, violations: client.violations, reconnects: client.counters.reconnects };
  } finally {
    for (const close of cleanup.reverse()) await close().catch(() => {});
  }
}
