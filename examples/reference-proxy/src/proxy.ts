/**
 * The reference proxy: a Hytale full proxy composed only of the public API of the `@handoff/*`
 * packages. It listens for clients over QUIC, accepts each one as a Hytale server would
 * (`acceptClient`), joins it to a backend of the initial pool with a proxy-signed ticket
 * (`joinBackend`), hands both to a proxy session (`createProxySession`) and keeps the sessions in a
 * map that the admin API reads and acts on: migrations, drains, failover to a fallback pool, metrics,
 * logs, and a graceful shutdown. docs/operations.md is its manual.
 */
import { createMemoryDirectory, createRedisDirectory, type SessionDirectory } from '@handoff/session';
import {
  createClientCounters,
  createProxySession,
  createTicketPolicy,
  joinBackend,
  noClientAuth,
  refuseClient,
  sessionServiceAuth,
  httpSessionService,
  systemClientClock,
  type AcceptedClient,
  type BackendConfig,
  type ClientAuth,
  type ClientClock,
  type FailoverPolicy,
  type ProxyMigrationResult,
  type ProxySession,
  type TicketPolicy,
  type TraceRecorder,
  acceptClient,
  deny,
  redirect,
  allow,
} from '@handoff/proxy-kit';
import { getGeneration, type Generation } from '@handoff/protocol';
import {
  createMemoryReplayStore,
  createPoolPolicy,
  createRedisReplayStore,
  loadKeys,
  type PoolPolicy,
  type ReplayStore,
} from '@handoff/tickets';
import type { Address, Connection, Listener } from '@handoff/transport';
import { createSelfSignedCertificate, quic, type CertificateInit, type QuicDialInit, type QuicListenerLimits, type ServerTrust } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { isClientUuid, parseBackendId, parseBackendRef, parseClientUuid, redactUrl, type BackendId, type BackendRef, type ClientUuid, type PoolId } from '@handoff/types';
import { AdminError, startAdminServer, type AdminOperations, type AdminServer } from './admin.js';
import { BackendRegistry, type BackendEntry } from './backends.js';
import { readConfigFiles, type ConfigFiles } from './config/files.js';
import { DEFAULT_ADMIN_ADDRESS, DEFAULT_POOL, isLoopback, parseAddress, parseBackendUrl } from './config/load.js';
import type { PoolEntry, ProxyConfig } from './config/schema.js';
import { startDrain, type Drain, type DrainStatus } from './drain.js';
import { ReferenceProxyError } from './errors.js';
import { createProxyLogger, type ProxyLogger } from './logger.js';
import { ProxyMetrics, TrackedBudget, resultLabels } from './metrics.js';

/** What the players are told when the proxy stops (the server's own words). */
export const DEFAULT_SHUTDOWN_MESSAGE = 'Server is shutting down!';
/** What a player is told when no backend of the initial pool takes it. */
export const NO_BACKEND_MESSAGE = 'No server is available right now. Try again in a moment.';
/** Default bound of the shutdown. */
export const DEFAULT_SHUTDOWN_MS = 10_000;
/** Bound of a first join (dial, Connect, the backend's handshake). */
const JOIN_TIMEOUT_MS = 15_000;
/** How long a Redis replay store may take to answer its first probe at start. */
const REDIS_START_PROBE_MS = 3_000;
/** Migration results kept per player for `GET /sessions/{uuid}`. */
const RESULTS_KEPT = 20;

/** Options of {@link startProxy}. */
export interface StartProxyOptions {
  /** The logger (default: JSON lines on standard output at `log.level`). */
  readonly logger?: ProxyLogger | undefined;
  /** The time source of drains (default: the real clock). Tests pass a manual clock. */
  readonly clock?: ClientClock | undefined;
  /** The environment (default `process.env`): `HANDOFF_ADMIN_TOKEN`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Also receives every frame record of every session (names and sizes only: `handoff trace`). */
  readonly trace?: TraceRecorder | undefined;
  /** The files of the config, already read (default: read now). */
  readonly files?: ConfigFiles | undefined;
}

/** One player, as the admin API shows it. */
export interface SessionView {
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly sessionId: string;
  readonly backend: BackendId;
  readonly pool: string;
  readonly phase: string;
  /** ISO 8601. */
  readonly connectedSince: string;
  readonly generation: string;
  readonly authenticated: boolean;
}

/** One backend, as the admin API shows it. */
export interface BackendView {
  readonly id: BackendId;
  readonly pool: PoolId;
  readonly transport: 'quic' | 'tcp';
  readonly address: string;
  readonly state: BackendEntry['state'];
  readonly lastError: string | null;
  readonly players: number;
  readonly draining: boolean;
  readonly drain: DrainStatus | null;
}

/** A running reference proxy. */
export interface ReferenceProxy {
  readonly id: BackendId;
  /** Where clients connect (the real port when 0 was configured). */
  readonly address: Address;
  /** The address backends know the proxy by (`referralSource`). */
  readonly proxyAddress: Address;
  /** The admin API's address. */
  readonly adminAddress: Address;
  /** `http://host:port` of the admin API. */
  readonly adminUrl: string;
  /** SHA-256 of the listener certificate (base64url): what clients pin, and the tokens' `cnf.x5t#S256`. */
  readonly certificateFingerprint: string;
  readonly metrics: ProxyMetrics;
  readonly logger: ProxyLogger;
  /** Every live session. */
  sessions(): ProxySession[];
  session(clientUuid: string): ProxySession | undefined;
  backends(): BackendView[];
  /** Starts draining `backend` (the admin API's `POST /backends/{id}/drain`). */
  drain(backend: string, init: { readonly to: string; readonly rate: number }): Drain;
  /** Re-reads the key files (`tickets.keys`, each backend's `jwks`): SIGHUP. */
  reloadKeys(): Promise<void>;
  /**
   * The graceful shutdown: stops accepting, tells every player why (`Disconnect(message)`), closes
   * the backends, the admin API and the stores; bounded by `timeouts.shutdownMs`.
   */
  close(options?: { readonly message?: string | undefined }): Promise<void>;
  /** Resolves once closed. */
  readonly closed: Promise<void>;
}

interface PlayerEntry {
  readonly session: ProxySession;
  readonly client: AcceptedClient;
  readonly connectedAt: number;
  readonly results: ProxyMigrationResult[];
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
}

function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The ALPN list a listener of these generations offers: `hytale/2` first, and `hytale/1` so outdated clients get the server's message. */
/** `listen.limits` as the QUIC listener takes them. */
function listenerLimits(limits: NonNullable<ProxyConfig['listen']['limits']>): QuicListenerLimits {
  const { handshakeTimeoutMs, ...rest } = limits;
  return { ...rest, ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeout: handshakeTimeoutMs }) };
}

function listenerAlpn(generations: readonly Generation[]): string[] {
  const all = new Set(generations.flatMap((g) => g.alpn));
  return ['hytale/2', 'hytale/1'].filter((p) => all.has(p) || (p === 'hytale/1' && all.has('hytale/2')));
}

/**
 * Starts the reference proxy from a checked configuration (`loadProxyConfig`).
 *
 * @throws {ReferenceProxyError} `ERR_REFERENCE_PROXY_FILE` (a file the config names),
 * `ERR_REFERENCE_PROXY_START` (a port in use, Redis unreachable); nothing is left running.
 */
export async function startProxy(config: ProxyConfig, options: StartProxyOptions = {}): Promise<ReferenceProxy> {
  const env = options.env ?? process.env;
  const files = options.files ?? (await readConfigFiles(config, env));
  const logger = options.logger ?? createProxyLogger({ level: config.log?.level });
  const clock = options.clock ?? systemClientClock;
  const proxyId = parseBackendId(config.proxy?.id ?? 'proxy');
  const generations = (config.proxy?.generations ?? ['G3']).map((g) => getGeneration(g));
  const cleanups: (() => Promise<unknown>)[] = [];
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  const startFailed = async (what: string, error: unknown): Promise<never> => {
    await undo();
    throw new ReferenceProxyError('ERR_REFERENCE_PROXY_START', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  };

  // ---------------------------------------------------------------- certificates and transports
  const quicTransport = quic();
  const tcpTransport = tcp();
  const listenCertificate: CertificateInit & { fingerprint?: string } =
    files.listenCertificate ?? (await createSelfSignedCertificate({ commonName: 'localhost', usage: 'server', ipAddresses: ['127.0.0.1', '::1'] }));
  // the proxy's client certificate towards QUIC backends (a Hytale server requires one; any will do)
  const backendClientCertificate = await createSelfSignedCertificate({ commonName: proxyId, usage: 'client' });

  // ---------------------------------------------------------------- backends
  const entries = Object.entries(config.backends).map(([id, backend]) => {
    const url = parseBackendUrl(backend.address)!;
    const pool = backend.pool ?? DEFAULT_POOL;
    const ref = parseBackendRef({ id, pool });
    let dial: Partial<QuicDialInit> | undefined;
    if (url.transport === 'quic') {
      const trust: ServerTrust =
        backend.trust?.fingerprints !== undefined
          ? { fingerprints: backend.trust.fingerprints }
          : backend.trust?.ca !== undefined
            ? { ca: files.backendCa.get(id)!, ...(backend.trust.serverName === undefined ? {} : { serverName: backend.trust.serverName }) }
            : 'insecure-any';
      dial = { serverTrust: trust, certificate: backendClientCertificate, idleTimeout: 30_000 };
    }
    const backendConfig: BackendConfig = {
      ref,
      address: { host: url.host, port: url.port },
      transport: (url.transport === 'quic' ? quicTransport : tcpTransport) as BackendConfig['transport'],
      ...(dial === undefined ? {} : { dial }),
      ...(files.backendPasswords.has(id) ? { password: files.backendPasswords.get(id) } : {}),
      ...(backend.forwardIdentityToken === undefined ? {} : { forwardIdentityToken: backend.forwardIdentityToken }),
    };
    if (url.transport === 'quic' && backend.trust === undefined) {
      logger.warn({ backend: id }, "the backend's certificate is not checked (a loopback QUIC backend without backends.<id>.trust)");
    }
    return { id: ref.id, pool: ref.pool ?? (DEFAULT_POOL as PoolId), transport: url.transport, address: `${url.host}:${url.port}`, config: backendConfig };
  });
  const registry = new BackendRegistry(entries);
  const poolConfig = (pool: string | undefined): PoolEntry => config.pools?.[pool ?? DEFAULT_POOL] ?? {};
  const initialPool = config.initialPool ?? entries[0]!.pool;

  // ---------------------------------------------------------------- stores and tickets
  let replayStore: ReplayStore;
  let directory: SessionDirectory;
  const redisUrl = config.redis?.url;
  if (redisUrl !== undefined) {
    try {
      replayStore = createRedisReplayStore({ url: redisUrl, logger });
      cleanups.push(() => replayStore.close());
      await replayStore.probe({ signal: AbortSignal.timeout(REDIS_START_PROBE_MS) });
      directory = createRedisDirectory({ url: redisUrl, proxyId, logger, ...(config.redis?.keyPrefix === undefined ? {} : { keyPrefix: config.redis.keyPrefix }) });
      cleanups.push(() => directory.close());
    } catch (error) {
      return startFailed(`Redis at ${redactUrl(redisUrl)} does not answer`, new Error(codeOf(error)));
    }
  } else {
    replayStore = createMemoryReplayStore();
    directory = createMemoryDirectory({ proxyId });
    cleanups.push(() => directory.close());
  }

  const budget = new TrackedBudget(config.buffers?.global ?? {});
  const clientCounters = createClientCounters();
  const players = new Map<ClientUuid, PlayerEntry>();
  const playersOn = (backend: string): number => {
    let n = 0;
    for (const entry of players.values()) if (!entry.session.isClosed && entry.session.backend.id === backend) n += 1;
    return n;
  };

  let poolPolicy: PoolPolicy | undefined;
  let tickets: TicketPolicy | undefined;
  let baseTickets: TicketPolicy | undefined;
  const metrics = new ProxyMetrics({
    sessions: () => [...players.values()].map((p) => p.session),
    backends: registry,
    players: playersOn,
    clientCounters,
    budget,
    get poolPolicy() {
      return poolPolicy;
    },
    ticketsIssued: () => baseTickets?.counters().issued ?? 0,
  });
  if (files.signingKeys !== undefined) {
    const ttlSeconds = config.tickets?.ttlSeconds;
    poolPolicy = createPoolPolicy({
      keyRing: files.signingKeys,
      replayStore,
      pools: registry.pools(),
      requireSigningKey: true,
      ...(ttlSeconds === undefined ? {} : { signingTtlSeconds: ttlSeconds }),
      logger,
    });
    await poolPolicy.probe({ signal: AbortSignal.timeout(REDIS_START_PROBE_MS) });
    poolPolicy.start();
    const pools = poolPolicy;
    cleanups.push(async () => pools.stop());
    baseTickets = createTicketPolicy({
      proxyId,
      keyRing: files.signingKeys,
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      replayStore,
      backends: () => registry.configs(),
      backendKeys: files.backendKeys,
      pools,
      logger,
    });
    const base = baseTickets;
    tickets = {
      ...base,
      interceptReferral: async (frame, context) => {
        const decision = await base.interceptReferral(frame, context);
        if (decision.action === 'forward' && (decision.reason === 'ticket-invalid' || decision.reason === 'replay-store-unavailable')) {
          metrics.ticketFailure(decision.code ?? 'unknown');
        }
        return decision;
      },
    };
  }

  // ---------------------------------------------------------------- client auth
  let clientAuth: ClientAuth;
  if (config.clientAuth.mode === 'session-service') {
    const identity = files.serverIdentityToken;
    clientAuth = sessionServiceAuth({
      sessionService: httpSessionService({
        serverSessionToken: files.serverSessionToken!,
        ...(config.clientAuth.url === undefined ? {} : { url: config.clientAuth.url }),
        logger,
      }),
      audience: config.clientAuth.audience!,
      serverIdentityToken: identity,
      serverCertificateFingerprint: listenCertificate.fingerprint ?? (await fingerprintOf(listenCertificate)),
      ...(config.clientAuth.issuer === undefined ? {} : { issuer: config.clientAuth.issuer }),
      logger,
    });
  } else {
    clientAuth = noClientAuth();
  }

  // ---------------------------------------------------------------- the listener
  const listenAt = parseAddress(config.listen.address)!;
  let listener: Listener;
  try {
    listener = await quicTransport.listen({
      address: listenAt,
      alpn: listenerAlpn(generations),
      certificate: { certPem: listenCertificate.certPem, keyPem: listenCertificate.keyPem },
      // a Hytale client presents a certificate that only binds its tokens: any is accepted
      clientCertificate: 'required-any',
      maxStreams: { bidi: 1, uni: 0 },
      idleTimeout: config.listen.idleTimeoutMs ?? 30_000,
      ...(config.listen.limits === undefined ? {} : { limits: listenerLimits(config.listen.limits) }),
    });
  } catch (error) {
    return startFailed(`cannot listen on ${config.listen.address}`, error);
  }
  cleanups.push(() => listener.close());
  const address = listener.address;
  const proxyAddress = config.proxy?.address !== undefined ? parseAddress(config.proxy.address)! : address;
  const publicAddress = config.proxy?.publicAddress !== undefined ? parseAddress(config.proxy.publicAddress)! : proxyAddress;
  const certificateFingerprint = listenCertificate.fingerprint ?? (await fingerprintOf(listenCertificate));

  // ---------------------------------------------------------------- shutdown state
  const shutdown = new AbortController();
  const shutdownMessage = config.shutdown?.message ?? DEFAULT_SHUTDOWN_MESSAGE;
  let closing = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const connections = new Set<Connection>();
  const handshakes = new Set<Promise<void>>();
  const drains = new Map<string, Drain>();

  // ---------------------------------------------------------------- sessions
  const chooseTarget = (poolOrBackend: string, exclude: Iterable<string>): BackendRef | undefined =>
    registry.choose(poolOrBackend, (id) => playersOn(id), new Set(exclude))?.config.ref;

  const failoverFor = (current: () => BackendRef): FailoverPolicy => ({
    target: ({ from, loss }) => {
      if (loss.kind === 'lost') registry.observe(from, 'down', 'connection-lost');
      const pool = poolConfig(from.pool);
      const fallback = pool.fallback === undefined ? (from.pool ?? DEFAULT_POOL) : pool.fallback;
      if (fallback === null || closing) return undefined;
      return chooseTarget(fallback, [from.id]);
    },
    isFinalKick: (reason, from) => (poolConfig(from.pool).finalKicks ?? []).some((pattern) => new RegExp(pattern, 'i').test(reason)),
    get otherwise() {
      return poolConfig(current().pool).otherwise ?? 'disconnect';
    },
  });

  const hooks = {
    /** A migration into a draining backend goes to another backend of its pool instead (or is refused). */
    beforeMigrate: ({ migration, trigger }: { migration: { target: BackendRef; source: BackendRef }; trigger?: string }) => {
      const target = registry.get(migration.target.id);
      if (!target?.draining) return allow();
      const other = chooseTarget(target.pool, [target.id, migration.source.id]);
      if (other === undefined) return deny(`backend ${target.id} is draining and its pool has no other backend`);
      logger.info({ target: target.id, redirect: other.id, trigger }, 'migration into a draining backend redirected');
      return redirect(other);
    },
  };

  const joinFirst = async (client: AcceptedClient) => {
    const tried = new Set<string>();
    let refusal: string | undefined;
    for (;;) {
      const entry = registry.choose(initialPool, playersOn, tried);
      if (!entry) break;
      tried.add(entry.id);
      try {
        const link = await joinBackend(entry.config, {
          client,
          proxyAddress,
          tickets,
          signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(JOIN_TIMEOUT_MS)]),
          logger,
        });
        registry.observe(entry.id, 'up');
        return link;
      } catch (error) {
        const code = codeOf(error);
        metrics.joinFailures.inc({ backend: entry.id, code });
        if (code === 'ERR_PROXY_BACKEND_CONNECT_FAILED') registry.observe(entry.id, 'down', code);
        const reason = (error as { backendReason?: unknown }).backendReason;
        if (typeof reason === 'string' && reason.length > 0) refusal = reason;
        logger.warn({ clientUuid: client.clientUuid, backend: entry.id, code }, 'first join failed');
        if (closing) break;
      }
    }
    await refuseClient(client, closing ? shutdownMessage : (refusal ?? NO_BACKEND_MESSAGE));
    return undefined;
  };

  const startSession = async (client: AcceptedClient): Promise<void> => {
    const link = await joinFirst(client);
    if (!link) return;
    if (closing) {
      await link.close('Proxy shutting down').catch(() => {});
      await refuseClient(client, shutdownMessage);
      return;
    }
    const tracker = metrics.tracker();
    const extra = options.trace;
    const recorder: TraceRecorder = extra ? { record: (entry) => (tracker.recorder.record(entry), extra.record(entry)) } : tracker.recorder;
    let session: ProxySession;
    try {
      let current: ProxySession | undefined;
      session = await createProxySession({
        client,
        backend: link,
        backends: (ref) => registry.get(ref.id)?.config,
        proxyAddress,
        assetPolicy: (target) => poolConfig(target.ref.pool).assets ?? 'require-identical',
        tickets,
        directory,
        hooks,
        failover: failoverFor(() => current?.backend ?? link.backend),
        referral: { address: publicAddress },
        migration: {
          budget,
          ...(config.buffers?.migration === undefined ? {} : { limits: config.buffers.migration }),
          ...(config.timeouts?.migration === undefined ? {} : { deadlines: config.timeouts.migration }),
        },
        ...(config.timeouts?.referralGraceMs === undefined ? {} : { referralGraceMs: config.timeouts.referralGraceMs }),
        trace: recorder,
        logger: logger.child({ clientUuid: client.clientUuid }),
      });
      current = session;
    } catch (error) {
      await link.close('Session failed').catch(() => {});
      logger.warn({ clientUuid: client.clientUuid, code: codeOf(error) }, 'the session could not start');
      if (codeOf(error) !== 'ERR_PROXY_DUPLICATE_SESSION') await refuseClient(client, 'Internal server error!');
      return;
    }
    tracker.attach(session);
    const entry: PlayerEntry = { session, client, connectedAt: Date.now(), results: [] };
    players.set(session.clientUuid, entry);
    logger.info({ clientUuid: session.clientUuid, username: session.username, backend: session.backend.id, generation: client.generation.id }, 'player joined');
    session.on('migration:result', ({ result }) => {
      entry.results.push(result);
      if (entry.results.length > RESULTS_KEPT) entry.results.shift();
      if (result.kind === 'migrated') registry.observe(result.target, 'up');
      else if (result.kind !== 'refused' && result.reason.cause === 'ERR_PROXY_BACKEND_CONNECT_FAILED') registry.observe(result.target, 'down', result.reason.cause);
      const level = result.kind === 'migrated' || result.kind === 'refused' ? 'info' : 'warn';
      logger[level](
        {
          clientUuid: session.clientUuid,
          migrationId: result.migrationId,
          target: result.target.id,
          ...(result.kind === 'refused' ? {} : { source: result.source.id }),
          ...resultLabels(result),
          ...(result.kind === 'migrated' || result.kind === 'refused' ? {} : { phase: result.phase, cause: result.reason.cause }),
        },
        'migration',
      );
    });
    session.on('backend:lost', ({ backend, loss, role }) => {
      if (loss.kind === 'lost') registry.observe(backend, 'down', 'connection-lost');
      logger.warn({ clientUuid: session.clientUuid, backend: backend.id, loss: loss.kind, role }, 'backend lost');
    });
    session.on('closed', ({ reason }) => {
      if (players.get(session.clientUuid)?.session === session) players.delete(session.clientUuid);
      logger.info({ clientUuid: session.clientUuid, reason }, 'player left');
    });
    if (session.isClosed && players.get(session.clientUuid)?.session === session) players.delete(session.clientUuid);
  };

  const handle = async (connection: Connection): Promise<void> => {
    let client: AcceptedClient;
    try {
      client = await acceptClient(connection, {
        auth: clientAuth,
        generations,
        ...(files.proxyPassword === undefined ? {} : { password: files.proxyPassword }),
        counters: clientCounters,
        ...(config.timeouts?.handshake === undefined ? {} : { timeouts: config.timeouts.handshake }),
        ...(config.listen.rateLimit === undefined ? {} : { rateLimit: config.listen.rateLimit }),
        logger,
        signal: shutdown.signal,
      });
    } catch {
      return; // the kit closed the client as the server would, and counted why
    }
    await startSession(client);
  };

  const acceptLoop = async (): Promise<void> => {
    for (;;) {
      let connection: Connection;
      try {
        connection = await listener.accept();
      } catch {
        return; // the listener is closed
      }
      connections.add(connection);
      void connection.closed.then(() => connections.delete(connection));
      const running = handle(connection).catch((error: unknown) => logger.error({ err: error }, 'client handling failed'));
      handshakes.add(running);
      void running.finally(() => handshakes.delete(running));
    }
  };

  // ---------------------------------------------------------------- views and operations
  const sessionView = (entry: PlayerEntry): SessionView => ({
    clientUuid: entry.session.clientUuid,
    username: entry.session.username,
    sessionId: entry.session.id,
    backend: entry.session.backend.id,
    pool: entry.session.backend.pool ?? DEFAULT_POOL,
    phase: entry.session.phase,
    connectedSince: new Date(entry.connectedAt).toISOString(),
    generation: entry.client.generation.id,
    authenticated: entry.client.authenticated,
  });

  const backendView = (entry: BackendEntry): BackendView => ({
    id: entry.id,
    pool: entry.pool,
    transport: entry.transport,
    address: entry.address,
    state: entry.state,
    lastError: entry.lastError ?? null,
    players: playersOn(entry.id),
    draining: entry.draining,
    drain: drains.get(entry.id)?.status() ?? null,
  });

  const liveEntry = (text: string): PlayerEntry => {
    if (!isClientUuid(text.toLowerCase())) throw new AdminError(400, 'bad-request', `${JSON.stringify(text.slice(0, 64))} is not a UUID in the dashed form`);
    const entry = players.get(parseClientUuid(text));
    if (!entry || entry.session.isClosed) throw new AdminError(404, 'unknown-session', `no player ${text.toLowerCase()} is connected`);
    return entry;
  };

  const objectBody = (body: unknown, keys: readonly string[]): Record<string, unknown> => {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AdminError(400, 'bad-request', 'the body must be a JSON object');
    const extra = Object.keys(body).filter((k) => !keys.includes(k));
    if (extra.length > 0) throw new AdminError(400, 'bad-request', `unknown field ${JSON.stringify(extra[0])} (expected: ${keys.join(', ')})`);
    return body as Record<string, unknown>;
  };

  const notClosing = () => {
    if (closing) throw new AdminError(503, 'shutting-down', 'the proxy is shutting down');
  };

  const startDrainOf = (backendId: string, to: string, rate: number): Drain => {
    const entry = registry.get(backendId)!;
    entry.draining = true;
    const drain = startDrain({
      backend: entry.id,
      to,
      rate,
      clock,
      players: () => [...players.values()].map((p) => p.session),
      chooseTarget: (name) => chooseTarget(name, [entry.id]),
      onResult: (result) =>
        metrics.drainMigrations.inc({ backend: entry.id, result: result.kind === 'no-target' ? 'no-target' : resultLabels(result as ProxyMigrationResult).outcome }),
      logger,
    });
    drains.set(entry.id, drain);
    return drain;
  };

  const operations: AdminOperations = {
    health: () =>
      closing
        ? { status: 503, body: { status: 'shutting-down' } }
        : { status: 200, body: { status: 'ok', sessions: players.size, backends: Object.fromEntries(registry.all().map((e) => [e.id, e.state])) } },
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    sessions: () => ({ status: 200, body: { sessions: [...players.values()].filter((e) => !e.session.isClosed).map(sessionView) } }),
    session: (uuid) => {
      const entry = liveEntry(uuid);
      return {
        status: 200,
        body: {
          ...sessionView(entry),
          migrations: entry.session.record.migrations,
          lastResults: entry.results.map((r) => ({ ...resultLabels(r), target: r.target.id, migrationId: r.migrationId })),
          stats: entry.session.stats(),
        },
      };
    },
    migrate: async (uuid, body) => {
      notClosing();
      const entry = liveEntry(uuid);
      const { target } = objectBody(body, ['target']);
      if (typeof target !== 'string' || target.length === 0) throw new AdminError(400, 'bad-request', 'target must be a backend id (a string)');
      const backend = registry.get(target);
      if (!backend) throw new AdminError(400, 'unknown-backend', `no backend ${JSON.stringify(target.slice(0, 64))} (backends: ${registry.all().map((e) => e.id).join(', ')})`);
      const session = entry.session;
      if (session.phase !== 'Idle') throw new AdminError(409, 'already-migrating', `player ${session.clientUuid} is migrating (phase ${session.phase})`);
      if (session.backend.id === backend.id) throw new AdminError(409, 'already-on-backend', `player ${session.clientUuid} is on ${backend.id} already`);
      if (backend.draining) throw new AdminError(409, 'backend-draining', `backend ${backend.id} is draining`);
      const source = session.backend.id;
      let off = () => {};
      const started = new Promise<{ kind: 'started'; migrationId: string }>((resolve) => {
        off = session.on('migration:phase', ({ migrationId, phase }) => {
          if (phase !== 'Idle') resolve({ kind: 'started', migrationId });
        });
      });
      const finished = session.migrate(backend.config.ref, { trigger: 'api' }).then(
        (result) => ({ kind: 'result' as const, result }),
        (error: unknown) => ({ kind: 'error' as const, error }),
      );
      const first = await Promise.race([started, finished]);
      off();
      if (first.kind === 'started') {
        return { status: 202, body: { status: 'started', clientUuid: session.clientUuid, migrationId: first.migrationId, source, target: backend.id } };
      }
      if (first.kind === 'error') {
        if (codeOf(first.error) === 'ERR_PROXY_UNKNOWN_BACKEND') throw new AdminError(400, 'unknown-backend', `no backend ${backend.id} for this session`);
        throw first.error;
      }
      const result = first.result;
      if (result.kind === 'refused') {
        if (result.refusal === 'session-closed') throw new AdminError(404, 'unknown-session', `player ${session.clientUuid} has left`);
        throw new AdminError(409, result.refusal, `the migration was refused (${result.refusal}${result.reason ? `: ${result.reason}` : ''})`);
      }
      return { status: 202, body: { status: 'started', clientUuid: session.clientUuid, migrationId: result.migrationId, source, target: backend.id } };
    },
    drain: (backendId, body) => {
      notClosing();
      const entry = registry.get(backendId);
      if (!entry) throw new AdminError(404, 'unknown-backend', `no backend ${JSON.stringify(backendId.slice(0, 64))}`);
      const { to, rate } = objectBody(body, ['to', 'rate']);
      if (typeof to !== 'string' || to.length === 0) throw new AdminError(400, 'bad-request', 'to must be a pool or backend id (a string)');
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1000) {
        throw new AdminError(400, 'bad-request', 'rate must be a number of players per second, above 0 and at most 1000');
      }
      const kind = registry.resolves(to);
      if (kind === undefined) throw new AdminError(400, 'unknown-target', `${JSON.stringify(to.slice(0, 64))} is neither a pool nor a backend`);
      if (to === entry.id) throw new AdminError(400, 'bad-request', 'a backend cannot be drained into itself');
      if (kind === 'pool' && registry.inPool(to).every((e) => e.id === entry.id)) {
        throw new AdminError(400, 'unknown-target', `pool ${to} has no backend but ${entry.id}`);
      }
      if (entry.draining) throw new AdminError(409, 'already-draining', `backend ${entry.id} is draining already (DELETE /backends/${entry.id}/drain ends it)`);
      const drain = startDrainOf(entry.id, to, rate);
      return { status: 202, body: { drain: drain.status() } };
    },
    undrain: (backendId) => {
      const entry = registry.get(backendId);
      if (!entry) throw new AdminError(404, 'unknown-backend', `no backend ${JSON.stringify(backendId.slice(0, 64))}`);
      if (!entry.draining) throw new AdminError(409, 'not-draining', `backend ${entry.id} is not draining`);
      drains.get(entry.id)?.stop();
      drains.delete(entry.id);
      entry.draining = false;
      logger.info({ backend: entry.id }, 'backend back in service');
      return { status: 200, body: { backend: backendView(entry) } };
    },
    backends: () => ({
      status: 200,
      body: {
        backends: registry.all().map(backendView),
        pools: registry.pools().map((pool) => {
          const status = poolPolicy?.status(pool);
          const fallback = poolConfig(pool).fallback;
          return { id: pool, seamless: status === undefined ? true : status.seamless, reason: status?.reason ?? null, fallback: fallback === undefined ? pool : fallback };
        }),
      },
    }),
  };

  // ---------------------------------------------------------------- the admin API
  const adminAt = parseAddress(config.admin?.address ?? DEFAULT_ADMIN_ADDRESS)!;
  let admin: AdminServer;
  try {
    admin = await startAdminServer({ host: adminAt.host, port: adminAt.port, token: files.adminToken, operations, logger });
  } catch (error) {
    return startFailed(`cannot serve the admin API on ${formatAddress(adminAt)}`, error);
  }
  if (!isLoopback(admin.address.host) && files.adminToken === undefined) {
    // the config check makes this unreachable; never serve an open admin API off loopback
    await admin.close();
    return startFailed('the admin API', new Error('a token is required off loopback'));
  }

  void acceptLoop();
  logger.info(
    {
      proxyId,
      listen: formatAddress(address),
      proxyAddress: formatAddress(proxyAddress),
      admin: formatAddress(admin.address),
      certificateFingerprint,
      developmentCertificate: files.listenCertificate === undefined,
      generations: generations.map((g) => g.id),
      clientAuth: config.clientAuth.mode,
      tickets: tickets !== undefined,
      stores: redisUrl === undefined ? 'memory' : 'redis',
      backends: registry.all().map((e) => ({ id: e.id, pool: e.pool, address: `${e.transport}://${e.address}` })),
    },
    'proxy started',
  );

  const close = async (closeOptions: { readonly message?: string | undefined } = {}): Promise<void> => {
    if (closing) return closed;
    closing = true;
    const message = closeOptions.message ?? shutdownMessage;
    const bound = config.timeouts?.shutdownMs ?? DEFAULT_SHUTDOWN_MS;
    logger.info({ sessions: players.size, boundMs: bound }, 'shutting down');
    for (const drain of drains.values()) drain.stop();
    shutdown.abort(new ReferenceProxyError('ERR_REFERENCE_PROXY_CLOSED', 'the proxy is shutting down'));
    await listener.close().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), bound);
    });
    const told = Promise.all([...players.values()].map((entry) => entry.session.close(message).catch(() => {})));
    const outcome = await Promise.race([Promise.all([told, Promise.all([...handshakes])]).then(() => 'done' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      logger.warn({ left: connections.size }, 'shutdown bound reached: closing the remaining connections');
      await Promise.all([...connections].map((c) => c.close({ code: 0, reason: message.slice(0, 100) }).catch(() => {})));
    }
    await admin.close().catch(() => {});
    await undo();
    logger.info({}, 'proxy stopped');
    resolveClosed();
  };

  return {
    id: proxyId,
    address,
    proxyAddress,
    adminAddress: admin.address,
    adminUrl: `http://${formatAddress(admin.address)}`,
    certificateFingerprint,
    metrics,
    logger,
    sessions: () => [...players.values()].map((p) => p.session).filter((s) => !s.isClosed),
    session: (uuid) => (isClientUuid(uuid.toLowerCase()) ? players.get(parseClientUuid(uuid))?.session : undefined),
    backends: () => registry.all().map(backendView),
    drain: (backend, init) => {
      const reply = operations.drain(backend, init);
      void reply;
      return drains.get(backend)!;
    },
    reloadKeys: async () => {
      if (config.tickets !== undefined && files.signingKeys !== undefined) await loadKeys(config.tickets.keys, { keyRing: files.signingKeys, replace: true });
      for (const [id, ring] of files.backendKeys) {
        const path = config.backends[id]?.jwks;
        if (path !== undefined) await loadKeys(path, { keyRing: ring, publicOnly: true, replace: true });
      }
      poolPolicy?.refresh();
      logger.info({}, 'keys reloaded');
    },
    close,
    closed,
  };
}

async function fingerprintOf(certificate: CertificateInit): Promise<string> {
  const { certificatesFromPem, certificateFingerprint } = await import('@handoff/transport-quic');
  return certificateFingerprint(certificatesFromPem(certificate.certPem)[0]!);
}

