/**
 * The proxy of the benchmark, alone in its own process (so its memory and CPU are its own): a QUIC
 * listener for clients, every client joined to the first backend, sessions moved on command. Driven
 * by the benchmark over IPC (`process.send`).
 */
import { performance } from 'node:perf_hooks';
import {
  acceptClient,
  createProxySession,
  joinBackend,
  noClientAuth,
  refuseClient,
  type BackendConfig,
  type ProxySession,
  type TraceRecorder,
} from '@handoff/proxy-kit';
import { zstdReady } from '@handoff/protocol';
import { SHARED_ADDRESS_LIMITS, createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import type { BidiStream, Connection } from '@handoff/transport';
import { parseBackendRef } from '@handoff/types';

export interface BackendSpec {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly transport: 'quic' | 'tcp';
}

export type Command =
  /** `pipe`: no session, the client's stream piped byte for byte to the first backend (the transports alone) */
  | { readonly op: 'start'; readonly backends: readonly BackendSpec[]; readonly mode?: 'session' | 'pipe' }
  | { readonly op: 'stalls' }
  | { readonly op: 'migrate'; readonly clients: readonly string[]; readonly target: string }
  | { readonly op: 'memory' }
  | { readonly op: 'stop' };

export type Reply =
  | { readonly op: 'started'; readonly host: string; readonly port: number }
  | { readonly op: 'migrated'; readonly results: readonly { readonly kind: string; readonly ms: number }[]; readonly wallMs: number }
  | { readonly op: 'memory'; readonly sessions: number; readonly heapUsed: number; readonly arrayBuffers: number; readonly external: number; readonly rss: number }
  | { readonly op: 'stalls'; readonly stalls: readonly number[] }
  | { readonly op: 'error'; readonly message: string };

const sessions = new Map<string, ProxySession>();
/** Replies carry the id of their command: a slow command (a migration) does not hold up a quick one. */
const send = (id: number, message: Reply): void => void process.send!({ ...message, id });

/** `HANDOFF_BENCH_COALESCE=0`: the proxy's QUIC endpoints hand every write to the library at once. */
const tuning = process.env['HANDOFF_BENCH_COALESCE'] === '0' ? { coalesceWrites: false } : {};

/**
 * The proxy's side of each migration's stall: from the last frame of the source written to the client
 * to the target's JoinWorld written to the client (from the session's trace).
 */
const stalls: number[] = [];
function stallRecorder(): TraceRecorder {
  let lastSource: { backend: string | undefined; at: number } | undefined;
  return {
    record(r) {
      if (r.direction !== 'ToClient') return;
      const at = performance.now();
      if (r.name === 'JoinWorld' && r.action === 'rewritten') {
        if (lastSource) stalls.push(at - lastSource.at);
        lastSource = undefined;
      } else if (r.action === 'forwarded' && r.name === 'ServerMessage' && r.phase !== 'Cutover' && r.phase !== 'Resume') {
        lastSource = { backend: r.backend, at };
      }
    },
  };
}

async function pipe(connection: Connection, backend: BackendConfig): Promise<void> {
  const [client, upstream] = await Promise.all([connection.acceptStream(), backend.transport.dial({ address: backend.address })]);
  const stream = await upstream.openStream();
  void client.readable!.pipeTo(stream.writable).catch(() => {});
  void stream.readable.pipeTo((client as BidiStream).writable).catch(() => {});
  // the streams a session opens to a G3 client too (Chunks, WorldMap), so that only the kit differs
  for (const channel of ['Chunks', 'WorldMap']) await connection.openStream({ kind: 'uni', channel }).catch(() => undefined);
}

async function start(id: number, specs: readonly BackendSpec[], mode: 'session' | 'pipe'): Promise<void> {
  await zstdReady;
  const certificate = await createSelfSignedCertificate({ commonName: 'localhost' });
  const backends: BackendConfig[] = specs.map((b) =>
    b.transport === 'tcp'
      ? { ref: parseBackendRef({ id: b.id }), address: { host: b.host, port: b.port }, transport: tcp() }
      : ({
          ref: parseBackendRef({ id: b.id }),
          address: { host: b.host, port: b.port },
          transport: quic(),
          dial: { certificate, serverTrust: 'insecure-any', idleTimeout: 60_000, ...tuning },
        } as unknown as BackendConfig),
  );
  const proxyAddress = { host: 'bench-proxy', port: 5520 };
  const listener = await quic().listen({
    address: { host: '127.0.0.1', port: 0 },
    alpn: ['hytale/2', 'hytale/1'],
    certificate,
    clientCertificate: 'required-any',
    maxStreams: { bidi: 1, uni: 0 },
    idleTimeout: 60_000,
    backlog: 1024,
    limits: SHARED_ADDRESS_LIMITS, // every simulated player connects from 127.0.0.1
    ...tuning,
  });
  void (async () => {
    for (;;) {
      const connection = await listener.accept().catch(() => undefined);
      if (!connection) return;
      if (mode === 'pipe') {
        void pipe(connection, backends[0]!).catch(() => {});
        continue;
      }
      void acceptClient(connection, { auth: noClientAuth(), rateLimit: false }).then(async (client) => {
        try {
          const link = await joinBackend(backends[0]!, { client, proxyAddress });
          const session = await createProxySession({ client, backend: link, backends, proxyAddress, trace: stallRecorder() });
          sessions.set(client.clientUuid, session);
          void session.closed.then(() => sessions.delete(client.clientUuid));
        } catch {
          await refuseClient(client, 'no backend');
        }
      }, () => {});
    }
  })();
  send(id, { op: 'started', ...listener.address });
}

async function migrate(id: number, clients: readonly string[], target: string): Promise<void> {
  const started = performance.now();
  const results = await Promise.all(
    clients.map(async (uuid) => {
      const session = sessions.get(uuid);
      if (!session) return { kind: 'no-session', ms: 0 };
      const t = performance.now();
      const result = await session.migrate(target);
      return { kind: result.kind === 'refused' ? `refused:${result.refusal}` : result.kind, ms: performance.now() - t };
    }),
  );
  send(id, { op: 'migrated', results, wallMs: performance.now() - started });
}

function memory(id: number): void {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const m = process.memoryUsage();
  send(id, { op: 'memory', sessions: sessions.size, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss });
}

process.on('message', (command: Command & { readonly id: number }) => {
  const id = command.id;
  const run = async (): Promise<void> => {
    switch (command.op) {
      case 'start':
        return start(id, command.backends, command.mode ?? 'session');
      case 'stalls':
        return send(id, { op: 'stalls', stalls: stalls.splice(0) });
      case 'migrate':
        return migrate(id, command.clients, command.target);
      case 'memory':
        return memory(id);
      case 'stop':
        for (const s of sessions.values()) await s.close().catch(() => {});
        process.exit(0);
    }
  };
  run().catch((error: unknown) => send(id, { op: 'error', message: error instanceof Error ? error.message : String(error) }));
});
