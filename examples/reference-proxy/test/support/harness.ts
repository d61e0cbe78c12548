/**
 * The reference proxy in front of simulated backends (`@handoff/testkit`), all on loopback with
 * ephemeral ports, with its log lines kept and a small client for the admin API. Waits are on events
 * (the kit's session events, the testkit's); their timeouts only bound a failing test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyMigrationResult, ProxySession } from '@handoff/proxy-kit';
import { connectStrictClient, createBackend, type BackendInit, type StrictClient, type StrictClientInit, type SimulatedBackend } from '@handoff/testkit';
import { loadKeys, writeKeyDirectory } from '@handoff/tickets';
import type { ClientClock } from '@handoff/proxy-kit';
import { createProxyLogger, loadProxyConfig, mergeConfig, startProxy, type RawConfig, type ReferenceProxy } from '@handoff/reference-proxy';

export interface BackendSpec {
  readonly id: string;
  readonly transport: 'quic' | 'tcp';
  readonly pool?: string;
  /** Extra options of the simulated backend (e.g. `onSetupConnect`). */
  readonly init?: Partial<BackendInit>;
}

export interface HarnessInit {
  readonly backends?: readonly BackendSpec[];
  /** More config, merged over the harness's own (listen, admin, backends, tickets, clientAuth). */
  readonly config?: RawConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: ClientClock;
  /** Every backend's public keys in its `jwks` (its ticketed referrals verify). */
  readonly backendKeys?: boolean;
}

export interface ApiReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly text: string;
}

export class Harness {
  readonly lines: string[] = [];
  readonly clients: StrictClient[] = [];

  private constructor(
    readonly proxy: ReferenceProxy,
    readonly backends: ReadonlyMap<string, SimulatedBackend>,
    readonly keysDir: string,
    readonly backendKeyDirs: ReadonlyMap<string, string>,
    lines: string[],
  ) {
    this.lines = lines;
  }

  static async start(init: HarnessInit = {}): Promise<Harness> {
    const dir = mkdtempSync(join(tmpdir(), 'handoff-refproxy-'));
    const keysDir = join(dir, 'proxy-keys');
    await writeKeyDirectory(keysDir);
    const proxyKeys = await loadKeys(keysDir, { publicOnly: true });
    const specs = init.backends ?? [
      { id: 'a', transport: 'quic' },
      { id: 'b', transport: 'tcp' },
    ];
    const backends = new Map<string, SimulatedBackend>();
    const backendKeyDirs = new Map<string, string>();
    const configBackends: Record<string, unknown> = {};
    for (const spec of specs) {
      const backend = await createBackend({
        id: spec.id,
        transport: spec.transport,
        listen: { host: '127.0.0.1', port: 0 },
        // the proxy's tickets: signed with its key, its address (127.0.0.1) standing for "proxy"
        tickets: { keyRing: proxyKeys, sources: { '127.0.0.1': 'proxy' } },
        requireTicket: true,
        ...spec.init,
      });
      backends.set(spec.id, backend);
      const entry: Record<string, unknown> = { address: `${spec.transport}://127.0.0.1:${backend.address.port}`, ...(spec.pool ? { pool: spec.pool } : {}) };
      if (init.backendKeys) {
        const own = join(dir, `${spec.id}-keys`);
        await writeKeyDirectory(own);
        backendKeyDirs.set(spec.id, own);
        entry.jwks = own;
      }
      configBackends[spec.id] = entry;
    }
    const base: RawConfig = {
      listen: { address: '127.0.0.1:0' },
      admin: { address: '127.0.0.1:0' },
      backends: configBackends,
      tickets: { keys: keysDir },
      clientAuth: { mode: 'none' },
    };
    const lines: string[] = [];
    const config = await loadProxyConfig({ overrides: mergeConfig(base, init.config ?? {}), env: init.env ?? {} });
    const logger = createProxyLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const proxy = await startProxy(config, { logger, env: init.env ?? {}, ...(init.clock ? { clock: init.clock } : {}) });
    return new Harness(proxy, backends, keysDir, backendKeyDirs, lines);
  }

  backend(id: string): SimulatedBackend {
    return this.backends.get(id)!;
  }

  /** A strict client through the proxy, in its first world. */
  async client(init: Partial<StrictClientInit> = {}): Promise<StrictClient> {
    const client = await connectStrictClient({ address: this.proxy.address, ...init });
    this.clients.push(client);
    await client.inWorld();
    await this.until(() => this.proxy.session(client.clientUuid) !== undefined, 'the session in the proxy');
    return client;
  }

  session(client: StrictClient): ProxySession {
    const session = this.proxy.session(client.clientUuid);
    if (!session) throw new Error(`no session for ${client.clientUuid}`);
    return session;
  }

  /** The session's next migration result (subscribe before triggering it). */
  nextResult(session: ProxySession): Promise<ProxyMigrationResult> {
    return new Promise((resolve) => {
      const off = session.on('migration:result', ({ result }) => {
        off();
        resolve(result);
      });
    });
  }

  async api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiReply> {
    const response = await fetch(`${this.proxy.adminUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  /** Re-checks `check` on every proxy log line and session event; bounded by `timeoutMs` of real time. */
  async until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      // a turn of the event loop: the proxy's I/O runs, then the check again
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients) await client.close().catch(() => {});
    await this.proxy.close();
    for (const backend of this.backends.values()) await backend.close();
  }
}
