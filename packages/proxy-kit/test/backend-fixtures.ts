/**
 * Fixtures of the backend-side tests: key directories, session records as a first join leaves them,
 * simulated backends (testkit) over QUIC and TCP, and their BackendConfigs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getGeneration, readFrame, type Generation, type WireFrame } from '@handoff/protocol';
import { SessionRecord, createCaptureTap } from '@handoff/session';
import { createBackend, type BackendAsset, type BackendInit, type SimulatedBackend } from '@handoff/testkit';
import { createMemoryReplayStore, loadKeys, writeKeyDirectory, type KeyRing } from '@handoff/tickets';
import { memory, type Address, type Connection, type DialInit } from '@handoff/transport';
import { createSelfSignedCertificate, quic, type CertificateInit } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendId, parseBackendRef, type ClientUuid } from '@handoff/types';
import {
  connectBackend,
  createSetupDriver,
  createTicketPolicy,
  frameSink,
  frameSource,
  type BackendConfig,
  type BackendLink,
  type ConnectedBackend,
  type FrameSource,
} from '@handoff/proxy-kit';

export const PLAYER = '3f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f' as ClientUuid;
export const USERNAME = 'Steve';
/** What the client's Connect carried as its identity token (a stand-in: the backends run insecure). */
export const IDENTITY_TOKEN = 'eyJhbGciOiJFZERTQSJ9.identity-token-of-the-player.c2lnbmF0dXJl';
export const PROXY_ID = 'proxy-1';
/** The proxy's address as its Connects name it (`referralSource`); backends map it to {@link PROXY_ID}. */
export const PROXY_ADDRESS: Address = { host: '127.0.0.1', port: 25_520 };
export const SOURCES = { [`${PROXY_ADDRESS.host}:${PROXY_ADDRESS.port}`]: PROXY_ID };

export type Kind = 'quic' | 'tcp';

/** Things to close after each test, last opened first. */
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

/** Key directories of one network: the proxy's and each backend's (`handoff keys generate`). */
export interface Network {
  readonly dir: string;
  /** The proxy's ring: signs its tickets. */
  readonly proxyKeys: KeyRing;
  /** What a backend trusts: the proxy's public keys. */
  readonly proxyPublic: KeyRing;
  /** A backend's key directory (its own signing key for referral tickets), made on first use. */
  backendKeys(id: string): Promise<{ readonly signing: KeyRing; readonly public: KeyRing }>;
}

export async function network(closers: Closers): Promise<Network> {
  const dir = closers.add(await mkdtemp(join(tmpdir(), 'handoff-proxy-kit-')), (d) => rm(d, { recursive: true, force: true }));
  await writeKeyDirectory(join(dir, PROXY_ID));
  const made = new Map<string, { signing: KeyRing; public: KeyRing }>();
  return {
    dir,
    proxyKeys: await loadKeys(join(dir, PROXY_ID)),
    proxyPublic: await loadKeys(join(dir, PROXY_ID), { publicOnly: true }),
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

let certificate: Promise<CertificateInit> | undefined;
/** The proxy's client certificate towards QUIC backends (one per test file). */
export function proxyCertificate(): Promise<CertificateInit> {
  certificate ??= createSelfSignedCertificate({ commonName: 'handoff-proxy' });
  return certificate;
}

/** A simulated backend that checks the proxy's tickets, logging every frame it receives. */
export async function simulatedBackend(
  closers: Closers,
  net: Network,
  init: Partial<BackendInit> & { readonly id: string; readonly transport: Kind },
): Promise<SimulatedBackend> {
  const backend = await createBackend({
    generation: 'G3',
    packetLog: 'frames',
    tickets: { keyRing: net.proxyPublic, sources: SOURCES },
    requireTicket: true,
    ...init,
  });
  return closers.add(backend, (b) => b.close());
}

/** The proxy's config of a simulated backend. */
export async function configOf(backend: SimulatedBackend, pool?: string): Promise<BackendConfig<DialInit>> {
  const ref = parseBackendRef(pool === undefined ? { id: backend.id } : { id: backend.id, pool });
  if (backend.transport === 'tcp') return { ref, address: backend.address, transport: tcp() };
  return {
    ref,
    address: backend.address,
    transport: quic(),
    dial: { certificate: await proxyCertificate(), serverTrust: { fingerprints: [backend.certificateFingerprint!] }, idleTimeout: 30_000 },
  } as BackendConfig<DialInit>;
}

export interface RecordInit {
  readonly generation?: string;
  /** The assets the client holds (it answered a WorldSettings listing them with an empty RequestAssets). */
  readonly holds?: readonly BackendAsset[];
  /** Client ViewRadius, in blocks (default 192; null: never sent). */
  readonly viewRadius?: number | null;
  /** Capture a PlayerOptions (default true). */
  readonly playerOptions?: boolean;
  readonly language?: string;
}

/**
 * A session record as a first join leaves it: the client's Connect (with its identity token), the
 * assets it holds, its PlayerOptions and ViewRadius, all captured by the tap from real frames.
 */
export function recordFor(init: RecordInit = {}): SessionRecord {
  const g = getGeneration(init.generation ?? 'G3');
  const record = new SessionRecord({ backend: parseBackendRef({ id: 'lobby' }) });
  const tap = createCaptureTap(record, { generation: g });
  const common = {
    clientType: 'Game',
    uuid: PLAYER,
    username: USERNAME,
    identityToken: IDENTITY_TOKEN,
    referralData: null,
    referralSource: null,
  };
  const connect =
    g.identify.protocolHash !== undefined
      ? { ...common, protocolHash: g.identify.protocolHash, language: init.language ?? 'de-DE' }
      : {
          ...common,
          protocolCrc: g.identify.protocolCrc!,
          protocolBuildNumber: g.identify.protocolBuildNumber!,
          clientVersion: 'client-2026.02.17',
          language: init.language ?? 'de-DE',
        };
  expectCaptured(tap.clientToServer(frame(g, g.packet('Connect').encodeFrame(connect as never))));
  const holds = init.holds ?? [];
  expectCaptured(
    tap.serverToClient(frame(g, g.packet('WorldSettings').encodeFrame({ worldHeight: 320, requiredAssets: holds.map((a) => ({ hash: a.hash, name: a.name })) })), parseBackendId('lobby')),
  );
  expectCaptured(tap.clientToServer(frame(g, g.packet('RequestAssets').encodeFrame({ assets: [] }))));
  if (init.viewRadius !== null) expectCaptured(tap.clientToServer(frame(g, g.packet('ViewRadius').encodeFrame({ value: init.viewRadius ?? 192 }))));
  if (init.playerOptions !== false) expectCaptured(tap.clientToServer(frame(g, g.packet('PlayerOptions').encodeFrame({ skin: null }))));
  return record;
}

function expectCaptured(result: ReturnType<ReturnType<typeof createCaptureTap>['clientToServer']>): void {
  if (result?.kind === 'error') throw result.error;
}

function frame(g: Generation, bytes: Uint8Array): WireFrame {
  return readFrame(g.registry, bytes);
}

/** Reads frames of `source` until one named `name` (returning it); the others are returned too, in order. */
export async function readUntil(source: FrameSource, name: string, signal?: AbortSignal): Promise<{ frame: WireFrame; before: WireFrame[] }> {
  const before: WireFrame[] = [];
  for (;;) {
    const frame = await source.next({ signal });
    if (frame === null) throw new Error(`the stream ended before ${name} (after ${before.map((f) => f.descriptor.name).join(', ')})`);
    if (frame.descriptor.name === name) return { frame, before };
    before.push(frame);
  }
}

/** The frames a backend logged from the player, decoded by name. */
export function logged(backend: SimulatedBackend, g: Generation = getGeneration(backend.generation)) {
  return backend.packetLog(PLAYER).map((p) => ({ name: p.name, frame: p.frame!, g }));
}

/** Sends ClientReady(readyForChunks) through the link, as the client does after the cutover. */
export async function clientReady(link: BackendLink): Promise<void> {
  await link.sink.write(link.generation.packet('ClientReady').encodeFrame({ readyForChunks: true, readyForGameplay: false }));
}

export const G3 = getGeneration('G3');

/** The two ends of a scripted backend's stream: frames from the proxy, bytes to it. */
export interface ScriptIo {
  readonly generation: Generation;
  readonly connection: Connection;
  /** The Connect the proxy sent. */
  readonly connect: WireFrame;
  read(): Promise<WireFrame | null>;
  write(bytes: Uint8Array): Promise<void>;
}

/**
 * A backend that runs `script` on the first connection (over the in-memory transport): for what no
 * simulated backend sends (asset definitions, bytes that are not frames, packets out of order).
 */
export async function scriptedBackend(
  closers: Closers,
  generationId: string,
  script: (io: ScriptIo) => Promise<void>,
  id = 'scripted',
): Promise<{ readonly config: BackendConfig; readonly done: Promise<void> }> {
  const g = getGeneration(generationId);
  const transport = memory();
  const listener = closers.add(await transport.listen({ address: { host: id, port: 5520 }, alpn: [...g.alpn] }), (l) => l.close());
  const done = (async () => {
    const connection = closers.add(await listener.accept(), (c) => c.close());
    const stream = await connection.acceptStream();
    if (stream.kind !== 'bidi') throw new Error('expected the bidi stream');
    const source = frameSource(stream.readable, g.registry, { direction: 'ToServer' });
    const sink = frameSink(stream.writable);
    const connect = await source.next();
    if (connect === null) throw new Error('no Connect');
    await script({ generation: g, connection, connect, read: () => source.next(), write: (bytes) => sink.write(bytes) });
  })();
  done.catch(() => {});
  return { config: { ref: parseBackendRef({ id }), address: listener.address, transport }, done };
}

/**
 * The player joined to `b` through the proxy and in B's world: a proxy ticket, the link, auth, sync,
 * then the client's ClientReady (as after a cutover), so B streams its world.
 */
export async function inWorld(
  closers: Closers,
  net: Network,
  b: SimulatedBackend,
  options: { readonly channelHighWaterMark?: number } = {},
): Promise<{ readonly link: ConnectedBackend; readonly record: SessionRecord }> {
  const config = await configOf(b);
  const record = recordFor({ generation: b.generation, holds: b.assets });
  const ticket = await createTicketPolicy({ proxyId: PROXY_ID, keyRing: net.proxyKeys, replayStore: createMemoryReplayStore(), backends: [config], backendKeys: {} }).issue({
    clientUuid: PLAYER,
    target: config.ref,
  });
  const link = closers.add(await connectBackend(config, { record, ticket, proxyAddress: PROXY_ADDRESS, ...options }), (l) => l.close());
  const driver = createSetupDriver({ link, record });
  await driver.auth();
  await driver.sync();
  await clientReady(link);
  return { link, record };
}
