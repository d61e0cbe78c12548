/**
 * The simulated Hytale backend: a listener (QUIC, TCP or any transport of the contract) that runs
 * the server's handler chain for every connection, in insecure auth mode, for one protocol generation.
 */
import { ProtocolError, getGeneration, zstdReady, type Generation } from '@handoff/protocol';
import { isTransportError, type Address, type Connection, type Listener, type Transport } from '@handoff/transport';
import { isBackendId, isClientUuid, type BackendId, type ClientUuid } from '@handoff/types';
import { TestkitError } from '../errors.js';
import { systemClock } from './clock.js';
import { PlayerConnection, type BackendContext } from './player.js';
import { createTicketCheck } from './ticket-seam.js';
import type {
  BackendCounters,
  BackendEvent,
  BackendInit,
  BackendPlayer,
  BackendTimeouts,
  SimulatedBackend,
} from './types.js';
import { defaultAssets, numberFromSeed, toAsset, uuidFromSeed, type BackendAsset } from './world.js';

/** The server's multiplayer timeouts (G2/G3 `TimeoutProfile`), in ms. */
export const DEFAULT_BACKEND_TIMEOUTS: BackendTimeouts = Object.freeze({
  initial: 15_000,
  password: 45_000,
  setupWorldSettings: 15_000,
  setupAssetsRequest: 120_000,
  setupSendAssets: 120_000,
  setupAddToUniverse: 60_000,
  play: 60_000,
  clientReady: 30_000,
  outdatedClose: 100,
});

/** G1's fixed stage durations where they differ (A15 handlers). */
const G1_TIMEOUTS: Partial<BackendTimeouts> = { initial: 10_000, password: 30_000, setupWorldSettings: 10_000 };

/** Packets a game handler takes besides 1, 3, 23, 32, 105: every client-to-server packet but the handshake's. */
const HANDSHAKE_ONLY = new Set(['Connect', 'AuthToken', 'PasswordResponse', 'PlayerOptions']);

function invalid(message: string): TestkitError {
  return new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', message);
}

function positive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(`${what} must be a positive number`);
  return value;
}

/**
 * The ids the game handler takes. G3's registry names a direction; older registries do not, so a
 * packet's direction is looked up by name in the newest directional registry (names are stable).
 */
function playIdsOf(generation: Generation): Set<number> {
  const directional = generation.registry.packets.some((p) => p.direction !== undefined) ? generation : getGeneration('G3');
  const ids = new Set<number>();
  for (const packet of generation.registry.packets) {
    if (HANDSHAKE_ONLY.has(packet.name)) continue;
    const known = directional.registry.byName(packet.name);
    if (known !== undefined && (known.direction === 'ToServer' || known.direction === 'Both')) ids.add(packet.id);
  }
  return ids;
}

interface Waiter {
  readonly match: (event: BackendEvent) => boolean;
  readonly resolve: (event: BackendEvent) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Starts a simulated backend and resolves once it listens.
 *
 * @example
 * ```ts
 * import { createBackend } from '@handoff/testkit';
 *
 * const lobby = await createBackend({ id: 'lobby', transport: 'quic', generation: 'G3' });
 * console.log(lobby.address, lobby.certificateFingerprint); // dial it with serverTrust: { fingerprints: [...] }
 * const joined = await lobby.waitForEvent((e) => e.type === 'ready');
 * await lobby.referToServer(joined.clientUuid!, { host: 'game.example', port: 5520, data: ticketBytes });
 * await lobby.close();
 * ```
 */
export async function createBackend(init: BackendInit): Promise<SimulatedBackend> {
  if (typeof init !== 'object' || init === null) throw invalid('createBackend needs options');
  if (!isBackendId(init.id)) throw invalid('id must be a backend id: 1–64 characters of A–Z a–z 0–9 . _ : -');
  const id = init.id as BackendId;
  let generation: Generation;
  try {
    generation = getGeneration(init.generation ?? 'G3');
  } catch (error) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', error instanceof ProtocolError ? error.message : 'unknown generation', { cause: error });
  }
  const level = Number(generation.id.slice(1)) || 3;
  const timeouts: BackendTimeouts = { ...DEFAULT_BACKEND_TIMEOUTS, ...(level === 1 ? G1_TIMEOUTS : {}), ...(init.timeouts ?? {}) };
  for (const [name, value] of Object.entries(timeouts)) positive(value, `timeouts.${name}`);
  if (init.requireTicket === true && init.tickets === undefined) throw invalid('requireTicket needs tickets (a key ring to verify them with)');
  if (init.password !== undefined && typeof init.password !== 'string') throw invalid('password must be a string');
  const assets: BackendAsset[] = (init.assets ?? defaultAssets()).map((a) => ('hash' in a ? a : toAsset(a)));
  const assetPartSize = positive(init.assetPartSize ?? 0x280000, 'assetPartSize');
  const chunkRadius = init.chunkRadius ?? 1;
  if (!Number.isInteger(chunkRadius) || chunkRadius < 0 || chunkRadius > 16) throw invalid('chunkRadius must be an integer from 0 to 16');
  const chunkBytes = positive(init.chunkBytes ?? 1024, 'chunkBytes');
  const worldUuid = init.worldUuid ?? uuidFromSeed(`handoff-testkit-world:${id}`);
  if (!isClientUuid(worldUuid)) throw invalid('worldUuid must be a lowercase UUID');
  const rateLimit = init.rateLimit === false ? undefined : (init.rateLimit ?? { burst: 500, perSecond: 2000 });
  if (rateLimit !== undefined) {
    positive(rateLimit.burst, 'rateLimit.burst');
    positive(rateLimit.perSecond, 'rateLimit.perSecond');
  }
  const packetLog = init.packetLog ?? 'digest';
  if (packetLog !== 'digest' && packetLog !== 'frames' && packetLog !== 'count') throw invalid("packetLog must be 'digest', 'frames' or 'count'");
  const packetLogLimit = positive(init.packetLogLimit ?? 100_000, 'packetLogLimit');
  const eventLogLimit = positive(init.eventLogLimit ?? 100_000, 'eventLogLimit');
  const retainPlayers = init.retainPlayers ?? 1000;
  if (!Number.isInteger(retainPlayers) || retainPlayers < 0) throw invalid('retainPlayers must be a non-negative integer');
  const clock = init.clock ?? systemClock;
  const listenAddress: Address = init.listen ?? { host: '127.0.0.1', port: 0 };
  await zstdReady;

  // -------------------------------------------------------------- the listener
  let listener: Listener;
  let transportName: string;
  let singleStream: boolean;
  let certificateFingerprint: string | undefined;
  let certificatePem: string | undefined;
  const maxStreams = { bidi: 1, uni: 0 };
  const onHandshakeError = (error: unknown, remote: Address) =>
    init.logger?.debug?.({ backend: id, remote: `${remote.host}:${remote.port}`, code: (error as { code?: string }).code }, 'handshake failed');
  if (init.transport === 'quic') {
    const quicModule = await import('@handoff/transport-quic');
    let certificate = init.quic?.certificate;
    if (certificate === undefined) {
      // like the server: a fresh self-signed certificate for "localhost" at every start
      const made = await quicModule.createSelfSignedCertificate({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], usage: 'server' });
      certificate = made;
      certificateFingerprint = made.fingerprint;
    } else {
      const leaf = quicModule.certificatesFromPem(certificate.certPem)[0];
      certificateFingerprint = leaf === undefined ? undefined : quicModule.certificateFingerprint(leaf);
    }
    certificatePem = certificate.certPem;
    listener = await quicModule.quic().listen({
      address: listenAddress,
      alpn: generation.alpn,
      certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
      clientCertificate: init.quic?.clientCertificate ?? 'required-any',
      maxStreams,
      idleTimeout: init.quic?.idleTimeout ?? 60_000,
      limits: init.quic?.limits ?? quicModule.SHARED_ADDRESS_LIMITS,
      onHandshakeError,
      ...(init.logger === undefined ? {} : { logger: init.logger }),
    });
    transportName = 'quic';
    singleStream = false;
  } else if (init.transport === 'tcp') {
    const { tcp } = await import('@handoff/transport-tcp');
    listener = await tcp().listen({ address: listenAddress, idleTimeout: 60_000, ...(init.logger === undefined ? {} : { logger: init.logger }) });
    transportName = 'tcp';
    singleStream = true;
  } else if (typeof init.transport === 'object' && init.transport !== null && typeof (init.transport as Transport).listen === 'function') {
    const transport = init.transport as Transport;
    listener = await transport.listen({ address: listenAddress, alpn: generation.alpn, maxStreams, onHandshakeError });
    transportName = transport.name;
    singleStream = transport.name === 'tcp';
  } else {
    throw invalid("transport must be 'quic', 'tcp' or a Transport");
  }

  // -------------------------------------------------------------- shared state
  const counters: BackendCounters = {
    connections: 0,
    connects: 0,
    joined: 0,
    ready: 0,
    ticketsAccepted: 0,
    ticketsRefused: 0,
    disconnects: 0,
    protocolViolations: 0,
    timeouts: 0,
    referrals: 0,
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    pingsSent: 0,
    pongsAccepted: 0,
  };
  const events: BackendEvent[] = [];
  let eventCount = 0;
  const waiters = new Set<Waiter>();
  const connected = new Set<PlayerConnection>();
  const gone: PlayerConnection[] = [];
  const everyone = new Map<string, PlayerConnection>();
  let playerSeq = 0;
  let nextClientId = 1000 * (1 + (numberFromSeed(id) % 1000));
  let state: 'open' | 'closing' | 'closed' = 'open';
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });

  const ticketCheck = init.tickets === undefined ? undefined : createTicketCheck(init.tickets, () => clock.now());

  const ctx: BackendContext = {
    id,
    generation,
    level,
    clock,
    timeouts,
    password: init.password,
    requireTicket: init.requireTicket === true,
    ticketCheck,
    onSetupConnect: init.onSetupConnect,
    assets,
    assetsByHash: new Map(assets.map((a) => [a.hash, a])),
    assetPartSize,
    worldUuid,
    chunkRadius,
    chunkBytes,
    entitySeed: numberFromSeed(`entity-seed:${id}`) | 0,
    serverName: init.server?.name ?? `Handoff test backend ${id}`,
    motd: init.server?.motd ?? `simulated ${generation.id} backend ${id}`,
    maxPlayers: init.server?.maxPlayers ?? 100,
    serverVersion: init.server?.version ?? generation.builds.at(-1) ?? 'unknown',
    serverBuild: generation.identify.protocolBuildNumber ?? 0,
    maxViewRadius: init.server?.maxViewRadius ?? 12,
    rateLimit,
    packetLog,
    packetLogLimit,
    playIds: playIdsOf(generation),
    counters,
    universe: new Map(),
    logger: init.logger,
    shuttingDown: false,
    nextClientId: () => nextClientId++,
    emit(player, partial) {
      const event = Object.freeze({
        seq: eventCount++,
        at: clock.now(),
        backend: id,
        player: player.key,
        ...(player.clientUuid === undefined ? {} : { clientUuid: player.clientUuid }),
        ...partial,
      }) as unknown as BackendEvent;
      events.push(event);
      if (events.length > eventLogLimit) events.splice(0, Math.max(1, Math.floor(eventLogLimit / 10)));
      if (init.onEvent !== undefined) {
        try {
          init.onEvent(event);
        } catch {
          // a listener's failure is its own
        }
      }
      for (const waiter of [...waiters]) {
        if (waiter.match(event)) {
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
      return event;
    },
    onClosed(player) {
      connected.delete(player);
      gone.push(player);
      while (gone.length > retainPlayers) {
        const dropped = gone.shift()!;
        everyone.delete(dropped.key);
      }
    },
  };

  const acceptLoop = (async () => {
    for (;;) {
      let connection: Connection;
      try {
        connection = await listener.accept();
      } catch (error) {
        if (state !== 'open' || (isTransportError(error) && error.code === 'ERR_TRANSPORT_CLOSED')) return;
        init.logger?.debug?.({ backend: id, err: (error as Error).message }, 'accept failed');
        continue;
      }
      if (state !== 'open') {
        await connection.close({ code: 0 }).catch(() => {});
        continue;
      }
      counters.connections++;
      const player = new PlayerConnection(ctx, connection, `p${++playerSeq}`, singleStream);
      connected.add(player);
      everyone.set(player.key, player);
      void player.run();
    }
  })();

  // -------------------------------------------------------------- the API
  const resolvePlayer = (who: BackendPlayer | ClientUuid | string): PlayerConnection => {
    if (who instanceof PlayerConnection) {
      if (everyone.get(who.key) === who) return who;
    } else if (typeof who === 'string') {
      const byKey = everyone.get(who);
      if (byKey !== undefined) return byKey;
      const byUuid = backend.player(who);
      if (byUuid !== undefined) return byUuid as PlayerConnection;
    }
    throw new TestkitError('ERR_TESTKIT_UNKNOWN_PLAYER', `no such player on backend ${id}`);
  };
  const live = (who: BackendPlayer | ClientUuid | string): PlayerConnection => {
    const player = resolvePlayer(who);
    if (player.isClosing) throw new TestkitError('ERR_TESTKIT_UNKNOWN_PLAYER', `player ${player.key} has left backend ${id}`);
    return player;
  };
  const rank = (p: PlayerConnection) => (p.inWorld ? 3 : p.inUniverse ? 2 : p.hasConnected ? 1 : 0);

  const shutdown = async (crash: boolean): Promise<void> => {
    if (state !== 'open') return closed;
    state = 'closing';
    ctx.shuttingDown = true;
    await listener.close().catch(() => {});
    const players = [...connected];
    await Promise.all(players.map((p) => (crash ? p.crash() : p.shutdown())));
    await acceptLoop;
    await ticketCheck?.close().catch(() => {});
    state = 'closed';
    for (const waiter of [...waiters]) waiter.reject(new TestkitError('ERR_TESTKIT_BACKEND_CLOSED', `backend ${id} closed before the awaited event`));
    resolveClosed();
  };

  const backend: SimulatedBackend = {
    id,
    generation: generation.id,
    address: listener.address,
    transport: transportName,
    worldUuid,
    assets,
    certificateFingerprint,
    certificatePem,
    get players() {
      return [...connected];
    },
    get allPlayers() {
      return [...everyone.values()];
    },
    player(clientUuid) {
      let best: PlayerConnection | undefined;
      for (const p of connected) {
        if (p.clientUuid === clientUuid && !p.isClosing && (best === undefined || rank(p) > rank(best))) best = p;
      }
      return best;
    },
    packetLog(clientUuid) {
      const out = [];
      for (const p of everyone.values()) if (p.clientUuid === clientUuid) out.push(...p.received);
      return out;
    },
    get events() {
      return events;
    },
    get eventCount() {
      return eventCount;
    },
    counters,
    waitForEvent(match, options = {}) {
      const since = options.since ?? 0;
      for (const event of events) {
        if (event.seq >= since && match(event)) return Promise.resolve(event as never);
      }
      const timeoutMs = options.timeoutMs ?? 10_000;
      return new Promise((resolve, reject) => {
        const cleanup = () => {
          waiters.delete(waiter);
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          match,
          resolve: (event) => {
            cleanup();
            resolve(event as never);
          },
          reject: (error) => {
            cleanup();
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new TestkitError('ERR_TESTKIT_TIMEOUT', `backend ${id}: the awaited event did not happen within ${timeoutMs} ms`));
        }, timeoutMs);
        const onAbort = () => {
          cleanup();
          reject(new TestkitError('ERR_TESTKIT_ABORTED', 'the wait was aborted', { cause: options.signal?.reason }));
        };
        if (options.signal?.aborted) return onAbort();
        if (state === 'closed') return waiter.reject(new TestkitError('ERR_TESTKIT_BACKEND_CLOSED', `backend ${id} is closed`));
        options.signal?.addEventListener('abort', onAbort, { once: true });
        waiters.add(waiter);
      });
    },
    async referToServer(who, target) {
      if (typeof target?.host !== 'string' || target.host.length === 0 || Buffer.byteLength(target.host) > 256) {
        throw invalid('referral host must be 1 to 256 bytes');
      }
      if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw invalid('referral port must be an integer from 1 to 65535');
      if (target.data !== undefined && (!(target.data instanceof Uint8Array) || target.data.length > 4096)) {
        throw invalid('referral data must be a Uint8Array of at most 4096 bytes');
      }
      const player = live(who);
      if (!player.hasConnected) throw new TestkitError('ERR_TESTKIT_PLAYER_STATE', `player ${player.key} has not sent Connect yet`);
      player.referToServer(target.host, target.port, target.data);
    },
    async kick(who, reason) {
      if (typeof reason !== 'string') throw invalid('a kick needs a reason');
      await live(who).kick(reason);
    },
    stall(who) {
      live(who).stall();
    },
    resume(who) {
      resolvePlayer(who).resume();
    },
    crash: () => shutdown(true),
    close: () => shutdown(false),
    closed,
  };
  return backend;
}
