/**
 * End-to-end harness: a proxy built from `@handoff/proxy-kit`'s public calls (listen, acceptClient,
 * joinBackend, createProxySession) on a real QUIC listener on loopback, in front of simulated
 * backends (`@handoff/testkit`) over QUIC or TCP that insist on the proxy's tickets, and the key
 * directories of the network. Every port is ephemeral; everything a test opens is closed after it.
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
  type AcceptedClient,
  type BackendConfig,
  type ProxySession,
  type ProxySessionEvents,
  type ProxySessionInit,
  type TicketPolicy,
} from '@handoff/proxy-kit';
import { createBackend, droppedByRule, type BackendInit, type SimulatedBackend, type StrictClient } from '@handoff/testkit';
import { TicketError, createMemoryReplayStore, loadKeys, writeKeyDirectory, type KeyRing, type ReplayStore } from '@handoff/tickets';
import type { Address, DialInit, Listener } from '@handoff/transport';
import { SHARED_ADDRESS_LIMITS, createSelfSignedCertificate, quic, type CertificateInit } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendRef, type Logger } from '@handoff/types';

/** The proxy's ticket issuer id; its Connects name `PROXY_ADDRESS`, whose host is that id (backends map it so). */
export const PROXY_ID = 'proxy-1';
export const PROXY_ADDRESS: Address = { host: PROXY_ID, port: 5520 };

/** Things to close after a test, last opened first. */
export class Closers {
  #closers: Array<() => Promise<unknown> | unknown> = [];
  add<T>(value: T, close: (value: T) => Promise<unknown> | unknown): T {
    this.#closers.push(() => close(value));
    return value;
  }
  async closeAll(): Promise<void> {
    const closers = this.#closers.reverse();
    this.#closers = [];
    for (const close of closers) await Promise.resolve().then(close).catch(() => {});
  }
}

/** The keys of one network: the proxy's and each backend's (for referral tickets). */
export interface Network {
  readonly closers: Closers;
  readonly proxyKeys: KeyRing;
  readonly proxyPublic: KeyRing;
  /** Shared by the backends and the proxy (a network's one replay store). */
  readonly replayStore: ReplayStore;
  backendKeys(id: string): Promise<{ readonly signing: KeyRing; readonly public: KeyRing }>;
}

export async function network(closers: Closers, replayStore: ReplayStore = createMemoryReplayStore()): Promise<Network> {
  const dir = closers.add(await mkdtemp(join(tmpdir(), 'handoff-e2e-')), (d) => rm(d, { recursive: true, force: true }));
  await writeKeyDirectory(join(dir, PROXY_ID));
  const made = new Map<string, { signing: KeyRing; public: KeyRing }>();
  return {
    closers,
    proxyKeys: await loadKeys(join(dir, PROXY_ID)),
    proxyPublic: await loadKeys(join(dir, PROXY_ID), { publicOnly: true }),
    replayStore,
    async backendKeys(id) {
      let keys = made.get(id);
      if (keys === undefined) {
        await writeKeyDirectory(join(dir, id));
        keys = { signing: await loadKeys(join(dir, id)), public: await loadKeys(join(dir, id), { publicOnly: true }) };
        made.set(id, keys);
      }
      return keys;
    },
  };
}

let proxyCertificate: Promise<CertificateInit> | undefined;
/** The proxy's certificate: its client certificate towards QUIC backends and its server certificate to clients. */
function certificate(): Promise<CertificateInit> {
  proxyCertificate ??= createSelfSignedCertificate({ commonName: 'localhost' });
  return proxyCertificate;
}

export type Kind = 'quic' | 'tcp';

/** A simulated backend that requires the proxy's tickets. */
export async function backend(net: Network, init: Partial<BackendInit> & { readonly id: string; readonly transport: Kind }): Promise<SimulatedBackend> {
  const b = await createBackend({
    generation: 'G3',
    tickets: { keyRing: net.proxyPublic, replayStore: net.replayStore },
    requireTicket: true,
    ...init,
  });
  return net.closers.add(b, (x) => x.close());
}

/** The proxy's config of a simulated backend. */
export async function configOf(b: SimulatedBackend, pool?: string): Promise<BackendConfig> {
  const ref = parseBackendRef(pool === undefined ? { id: b.id } : { id: b.id, pool });
  if (b.transport === 'tcp') return { ref, address: b.address, transport: tcp() };
  return {
    ref,
    address: b.address,
    transport: quic(),
    dial: { certificate: await certificate(), serverTrust: { fingerprints: [b.certificateFingerprint!] }, idleTimeout: 30_000 },
  } as BackendConfig<DialInit>;
}

export interface ProxyInit {
  readonly generation?: string;
  readonly backends: readonly BackendConfig[];
  /** The backend a new client joins (default: the first listed). */
  readonly first?: (client: AcceptedClient) => BackendConfig;
  /** Keys of backends whose referral tickets the proxy trusts. */
  readonly backendKeys?: Readonly<Record<string, KeyRing>>;
  /** Anything else of the session's init. */
  readonly session?: Partial<Omit<ProxySessionInit, 'client' | 'backend' | 'backends'>> | ((client: AcceptedClient) => Partial<Omit<ProxySessionInit, 'client' | 'backend' | 'backends'>>);
  /** Tickets: default a policy over the network's keys and replay store; `false` for none. */
  readonly tickets?: TicketPolicy | false;
  readonly logger?: Logger;
}

/** A running proxy of the harness. */
export interface TestProxy {
  readonly address: Address;
  readonly tickets: TicketPolicy | undefined;
  /** Every session started, in order. */
  readonly sessions: readonly ProxySession[];
  /** Resolves with the `index`-th session (0-based, default the first) of `clientUuid`. */
  session(clientUuid: string, index?: number): Promise<ProxySession>;
  /** Client handshakes or first joins that failed (their errors). */
  readonly failures: readonly unknown[];
  /** Resolves with the `index`-th failure (0-based). */
  failure(index?: number): Promise<unknown>;
}

/** Starts a proxy: QUIC listener on loopback, an accept loop that joins each client to its first backend. */
export async function proxy(net: Network, init: ProxyInit): Promise<TestProxy> {
  const generation = init.generation ?? 'G3';
  const listener: Listener = await quic().listen({
    address: { host: '127.0.0.1', port: 0 },
    alpn: generation === 'G1' ? ['hytale/1'] : ['hytale/2', 'hytale/1'],
    certificate: await certificate(),
    clientCertificate: 'required-any',
    maxStreams: { bidi: 1, uni: 0 },
    idleTimeout: 30_000,
    limits: SHARED_ADDRESS_LIMITS, // every simulated player connects from 127.0.0.1
  });
  const sessions: ProxySession[] = [];
  const failures: unknown[] = [];
  const waiters: Array<() => void> = [];
  const tickets =
    init.tickets === false
      ? undefined
      : (init.tickets ??
        createTicketPolicy({
          proxyId: PROXY_ID,
          keyRing: net.proxyKeys,
          replayStore: net.replayStore,
          backends: init.backends,
          backendKeys: init.backendKeys ?? {},
        }));
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const serve = async (connection: Awaited<ReturnType<Listener['accept']>>): Promise<void> => {
    let client: AcceptedClient;
    try {
      client = await acceptClient(connection, { auth: noClientAuth(), generations: [generation], ...(init.logger ? { logger: init.logger } : {}) });
    } catch (error) {
      failures.push(error);
      notify();
      return;
    }
    const first = init.first?.(client) ?? init.backends[0]!;
    const extra = typeof init.session === 'function' ? init.session(client) : (init.session ?? {});
    try {
      const link = await joinBackend(first, { client, proxyAddress: PROXY_ADDRESS, tickets });
      const session = await createProxySession({
        client,
        backend: link,
        backends: init.backends,
        proxyAddress: PROXY_ADDRESS,
        tickets,
        referral: { address: listener.address },
        ...(init.logger ? { logger: init.logger } : {}),
        ...extra,
        // deadlines move only when a test says so: a slow, shared machine never fails a migration by wall time
        migration: { clock: new ManualDeadlines(), ...extra.migration },
      });
      sessions.push(session);
      net.closers.add(session, (s) => s.close());
    } catch (error) {
      failures.push(error);
      await client.disconnect('Could not join a server').catch(() => {});
    }
    notify();
  };
  void (async () => {
    for (;;) {
      let connection;
      try {
        connection = await listener.accept();
      } catch {
        return;
      }
      void serve(connection);
    }
  })();
  net.closers.add(listener, (l) => l.close());
  return {
    address: listener.address,
    tickets,
    sessions,
    failures,
    async failure(index = 0) {
      while (failures.length <= index) await new Promise<void>((resolve) => waiters.push(resolve));
      return failures[index];
    },
    async session(clientUuid, index = 0) {
      for (;;) {
        const found = sessions.filter((s) => s.clientUuid === clientUuid.toLowerCase())[index];
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

/** Resolves once every connection `clientUuid` made to `b` has ended (its `disconnected` events). */
export async function playerGone(b: SimulatedBackend, clientUuid: string): Promise<void> {
  const uuid = clientUuid.toLowerCase();
  for (;;) {
    const connects = b.events.filter((e) => e.type === 'connect' && e.clientUuid === uuid).length;
    const gone = b.events.filter((e) => e.type === 'disconnected' && e.clientUuid === uuid).length;
    if (gone >= connects) return;
    await b.waitForEvent((e) => e.type === 'disconnected' && e.clientUuid === uuid, { since: b.eventCount });
  }
}

/** The client leaves; then every backend has seen it go, so their logs are complete for `account`. */
export async function leaveAndSettle(client: StrictClient, backends: readonly SimulatedBackend[]): Promise<void> {
  await client.leave();
  for (const b of backends) await playerGone(b, client.clientUuid);
}

/**
 * `client.account(backends)` with the proxy's documented drop rules: a Pong for a left world's Ping
 * (the testkit's default), a packet the drain policy dropped as `source-bound` (sent in a world the
 * client then left, before its ClientReady in the next one: it names A's world), and a ClientReady
 * sent in a world the client then left that did not reach that world's backend
 * (`client-ready-for-source`). Returns how many packets the last two rules let go missing, so a test
 * can check those numbers against the sessions' counters: no loss goes unexplained.
 */
export function account(client: StrictClient, backends: readonly SimulatedBackend[]): { readonly sourceBound: number; readonly clientReadyForSource: number } {
  let sourceBound = 0;
  let clientReadyForSource = 0;
  client.account(backends, {
    mayDrop: (packet) => {
      if (droppedByRule(packet)) return true;
      const worlds = client.worlds.filter((w) => w.connection === packet.connection);
      const left = worlds.length > 0 && packet.world < worlds.at(-1)!.index;
      if (left && packet.name === 'ClientMovement') {
        sourceBound += 1;
        return true;
      }
      if (left && packet.name === 'ClientReady') {
        clientReadyForSource += 1;
        return true;
      }
      return false;
    },
  });
  return { sourceBound, clientReadyForSource };
}

/** Client frames the sessions dropped by `rule`. */
export function droppedBy(sessions: readonly { stats(): { readonly droppedToServer: Readonly<Record<string, number>> } }[], rule: string): number {
  return sessions.reduce((n, s) => n + (s.stats().droppedToServer[rule] ?? 0), 0);
}

/**
 * A clock for the migration deadlines that moves only when told (`advance`): a deadline fires exactly
 * when a test says its time has come, never by wall time.
 */
export class ManualDeadlines {
  #now = 0;
  #next = 0;
  readonly #timers = new Map<number, { readonly at: number; readonly fn: () => void }>();
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.#now + timeout, fn: () => fn() });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }
  /** Moves time on by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= until).sort((x, y) => x[1].at - y[1].at || x[0] - y[0])[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = until;
  }
}

/** A replay store that can be taken down: every call then fails as a store that cannot answer. */
export function downable(store: ReplayStore): ReplayStore & { down: boolean } {
  const unavailable = () => new TicketError('ERR_TICKET_REPLAY_STORE_UNAVAILABLE', 'replay store unavailable (down): ticket refused', { reason: 'down' });
  const wrapped = {
    kind: 'downable',
    down: false,
    consume: (nonce: string, options: Parameters<ReplayStore['consume']>[1]) => (wrapped.down ? Promise.reject(unavailable()) : store.consume(nonce, options)),
    probe: (options?: Parameters<ReplayStore['probe']>[0]) => (wrapped.down ? Promise.reject(unavailable()) : store.probe(options)),
    close: () => store.close(),
  };
  return wrapped;
}

/** Resolves with the first event of `type` that `match` accepts. */
export function once<K extends keyof ProxySessionEvents>(session: ProxySession, type: K, match: (event: ProxySessionEvents[K]) => boolean = () => true): Promise<ProxySessionEvents[K]> {
  return new Promise((resolve) => {
    const off = session.on(type, (event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}
