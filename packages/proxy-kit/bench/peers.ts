/**
 * Benchmark peers: a minimal Hytale backend and client (G3) that do just enough of the server's and
 * the client's sequence for a proxy session to join, forward and migrate them, plus what the
 * measurements need: an echo (round trips), a download (throughput), and a steady stream of tagged
 * frames from each backend (the client-visible stall of a migration). Payloads of `ChatMessage` and
 * `ServerMessage` are opaque bytes here: the proxy forwards both without decoding them.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { FrameSplitter, getGeneration, writeFrameHeader, zstdReady, type WireFrame } from '@handoff/protocol';
import type { Address, BidiStream, Connection, Listener } from '@handoff/transport';
import { SHARED_ADDRESS_LIMITS, createSelfSignedCertificate, quic, type CertificateWithKey } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';

export const G3 = getGeneration('G3');
const CHAT = G3.registry.byName('ChatMessage')!.id; // ToServer, opaque here
const MESSAGE = G3.registry.byName('ServerMessage')!.id; // ToClient, opaque here

/** Kinds of the opaque payloads (first byte). */
const STREAM = 1;
const ECHO = 2;
const DOWNLOAD = 3;
const DOWNLOAD_DONE = 4;

function opaque(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  writeFrameHeader(out, 0, id, payload.length);
  out.set(payload, 8);
  return out;
}

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

function put32(bytes: Uint8Array, at: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, value, true);
}

async function* frames(readable: ReadableStream<Uint8Array>, direction: 'ToServer' | 'ToClient', channel?: string): AsyncGenerator<WireFrame> {
  const splitter = new FrameSplitter(G3.registry, { direction, ...(channel ? { channel } : {}) });
  const reader = readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const f of splitter.push(value)) yield f;
    }
  } catch {
    // the stream ended under us
  } finally {
    reader.releaseLock();
  }
}

let certificate: Promise<CertificateWithKey> | undefined;
export function benchCertificate(): Promise<CertificateWithKey> {
  certificate ??= createSelfSignedCertificate({ commonName: 'localhost' });
  return certificate;
}

export interface BenchBackendInit {
  readonly index: number;
  /** Stream a tagged ServerMessage to every player in the world, every `streamEveryMs` (default: no stream). */
  readonly streamEveryMs?: number;
}

export interface BenchBackend {
  readonly index: number;
  readonly worldUuid: string;
  readonly quicAddress: Address;
  readonly tcpAddress: Address;
  /** While set, PlayerOptions is not answered: migrations to this backend wait in Sync. */
  holdJoins: boolean;
  /** PlayerOptions held now. */
  readonly heldCount: number;
  releaseJoins(): void;
  close(): Promise<void>;
}

/** A backend on QUIC and TCP at once (same behaviour on both). */
export async function benchBackend(init: BenchBackendInit): Promise<BenchBackend> {
  await zstdReady;
  const cert = await benchCertificate();
  const worldUuid = randomUUID();
  const quicListener = await quic().listen({
    address: { host: '127.0.0.1', port: 0 },
    alpn: ['hytale/2', 'hytale/1'],
    certificate: cert,
    clientCertificate: 'required-any',
    maxStreams: { bidi: 1, uni: 0 },
    idleTimeout: 60_000,
    limits: SHARED_ADDRESS_LIMITS, // behind the proxy (and the direct runs): one address for every player
  });
  const tcpListener = await tcp().listen({ address: { host: '127.0.0.1', port: 0 }, idleTimeout: 60_000 });
  const connections = new Set<Connection>();
  const held: Array<() => void> = [];
  let nextId = 1000 * (init.index + 1);
  const backend: BenchBackend = {
    index: init.index,
    worldUuid,
    quicAddress: quicListener.address,
    tcpAddress: tcpListener.address,
    holdJoins: false,
    get heldCount() {
      return held.length;
    },
    releaseJoins() {
      backend.holdJoins = false;
      for (const go of held.splice(0)) go();
    },
    async close() {
      await Promise.all([quicListener.close(), tcpListener.close()]);
      await Promise.all([...connections].map((c) => c.close().catch(() => {})));
    },
  };
  const serve = async (connection: Connection, singleStream: boolean): Promise<void> => {
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    let stream: BidiStream;
    try {
      stream = (await connection.acceptStream()) as BidiStream;
    } catch {
      return;
    }
    const writer = stream.writable.getWriter();
    const send = (bytes: Uint8Array): void => void writer.write(bytes).catch(() => {});
    let streamTimer: ReturnType<typeof setInterval> | undefined;
    let seq = 0;
    for await (const frame of frames(stream.readable, 'ToServer')) {
      switch (frame.descriptor.name) {
        case 'Connect':
          send(G3.packet('ConnectAccept').encodeFrame({ passwordChallenge: null }));
          send(G3.packet('WorldSettings').encodeFrame({ worldHeight: 320, requiredAssets: [] }));
          send(G3.packet('ServerInfo').encodeFrame({ serverName: `bench-${init.index}`, motd: null, maxPlayers: 1000 }));
          break;
        case 'RequestAssets':
          send(G3.packet('WorldLoadFinished').encodeFrame({}));
          break;
        case 'PlayerOptions': {
          if (backend.holdJoins) await new Promise<void>((resolve) => held.push(resolve));
          if (!singleStream) {
            for (const channel of G3.serverUniStreams) await connection.openStream({ kind: 'uni', channel }).catch(() => undefined);
          }
          send(G3.packet('JoinWorld').encodeFrame({ clearWorld: false, fadeInOut: false, worldUuid }));
          break;
        }
        case 'ClientReady': {
          const value = G3.packet('ClientReady').decodeFrame(frame);
          if (!value.readyForChunks) break;
          send(G3.packet('SetClientId').encodeFrame({ clientId: nextId++ }));
          if (init.streamEveryMs !== undefined && streamTimer === undefined) {
            streamTimer = setInterval(() => {
              if ((writer.desiredSize ?? 1) <= 0) return; // a player that does not read gets no more
              const payload = new Uint8Array(64);
              payload[0] = STREAM;
              put32(payload, 1, seq++);
              payload[5] = init.index;
              send(opaque(MESSAGE, payload));
            }, init.streamEveryMs);
          }
          break;
        }
        case 'ChatMessage': {
          const p = frame.payload;
          if (p[0] === ECHO) {
            const answer = new Uint8Array(p.length);
            answer.set(p);
            send(opaque(MESSAGE, answer));
          } else if (p[0] === DOWNLOAD) {
            let left = u32(p, 1);
            const chunk = new Uint8Array(16 * 1024);
            chunk[0] = DOWNLOAD;
            while (left > 0) {
              await writer.ready;
              await writer.write(opaque(MESSAGE, chunk)).catch(() => {});
              left -= chunk.length;
            }
            send(opaque(MESSAGE, Uint8Array.of(DOWNLOAD_DONE)));
          }
          break;
        }
        case 'Disconnect':
          clearInterval(streamTimer);
          await connection.close({ code: 0 }).catch(() => {});
          return;
        default:
          break;
      }
    }
    clearInterval(streamTimer);
  };
  const accept = async (listener: Listener, singleStream: boolean): Promise<void> => {
    for (;;) {
      let connection: Connection;
      try {
        connection = await listener.accept();
      } catch {
        return;
      }
      void serve(connection, singleStream);
    }
  };
  void accept(quicListener, false);
  void accept(tcpListener, true);
  return backend;
}

/** What the client saw, with `performance.now()` times. */
export interface ClientLog {
  /** Per JoinWorld: its world and when it arrived. */
  readonly joins: Array<{ readonly worldUuid: string; readonly at: number }>;
  /** The last stream frame of each backend (by index) so far, and when. */
  readonly lastStream: Map<number, number>;
}

export interface BenchClient {
  readonly clientUuid: string;
  readonly log: ClientLog;
  /** Resolves once `count` worlds were entered (SetClientId after JoinWorld). */
  worlds(count: number): Promise<void>;
  /** One echo through whatever is in between; resolves with the round trip in ms. */
  echo(size?: number): Promise<number>;
  /** Asks for `bytes` of ServerMessages; resolves with the ms until all arrived. */
  download(bytes: number): Promise<number>;
  /** Called on every stream frame (backend index, time). */
  onStream: ((backend: number, at: number) => void) | undefined;
  /** Called on every JoinWorld (world UUID, time). */
  onJoin: ((worldUuid: string, at: number) => void) | undefined;
  close(): Promise<void>;
}

/** A G3 client over QUIC that plays a development join and what the measurements need. */
export async function benchClient(address: Address): Promise<BenchClient> {
  const clientUuid = randomUUID();
  const connection = await quic().dial({
    address,
    alpn: ['hytale/2'],
    certificate: await benchCertificate(),
    serverTrust: 'insecure-any',
    idleTimeout: 60_000,
    maxStreams: { bidi: 1, uni: 4 },
  });
  const stream = await connection.openStream({ kind: 'bidi', channel: 'Default' });
  const writer = stream.writable.getWriter();
  const send = (bytes: Uint8Array): void => void writer.write(bytes).catch(() => {});
  const log: ClientLog = { joins: [], lastStream: new Map() };
  let worlds = 0;
  const worldWaiters: Array<{ count: number; resolve: () => void }> = [];
  const echoes = new Map<number, (at: number) => void>();
  let downloadDone: ((at: number) => void) | undefined;
  let echoSeq = 0;
  const client: BenchClient = {
    clientUuid,
    log,
    onStream: undefined,
    onJoin: undefined,
    worlds(count) {
      if (worlds >= count) return Promise.resolve();
      return new Promise((resolve) => worldWaiters.push({ count, resolve }));
    },
    echo(size = 64) {
      const seq = ++echoSeq;
      const payload = new Uint8Array(Math.max(5, size));
      payload[0] = ECHO;
      put32(payload, 1, seq);
      const started = performance.now();
      return new Promise((resolve) => {
        echoes.set(seq, (at) => resolve(at - started));
        send(opaque(CHAT, payload));
      });
    },
    download(bytes) {
      const payload = new Uint8Array(5);
      payload[0] = DOWNLOAD;
      put32(payload, 1, bytes);
      const started = performance.now();
      return new Promise((resolve) => {
        downloadDone = (at) => resolve(at - started);
        send(opaque(CHAT, payload));
      });
    },
    async close() {
      send(G3.packet('Disconnect').encodeFrame({ reason: 'bye', type: 'Disconnect' }));
      await writer.close().catch(() => {});
      await connection.close({ code: 0 }).catch(() => {});
    },
  };
  const onFrame = (frame: WireFrame): void => {
    const at = performance.now();
    switch (frame.descriptor.name) {
      case 'WorldSettings':
        send(G3.packet('RequestAssets').encodeFrame({ assets: [] }));
        break;
      case 'WorldLoadFinished':
        send(G3.packet('ViewRadius').encodeFrame({ value: 192 }));
        send(G3.packet('PlayerOptions').encodeFrame({ skin: null }));
        break;
      case 'JoinWorld': {
        const { worldUuid } = G3.packet('JoinWorld').decodeFrame(frame);
        log.joins.push({ worldUuid, at });
        client.onJoin?.(worldUuid, at);
        send(G3.packet('ClientReady').encodeFrame({ readyForChunks: true, readyForGameplay: false }));
        break;
      }
      case 'SetClientId':
        send(G3.packet('ClientReady').encodeFrame({ readyForChunks: false, readyForGameplay: true }));
        worlds++;
        for (const w of [...worldWaiters]) {
          if (worlds >= w.count) {
            worldWaiters.splice(worldWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
        break;
      case 'Ping': {
        const ping = G3.packet('Ping').decodeFrame(frame);
        for (const type of ['Raw', 'Direct', 'Tick'] as const) send(G3.packet('Pong').encodeFrame({ id: ping.id, time: ping.time, type, packetQueueSize: 0 }));
        break;
      }
      case 'ServerMessage': {
        const p = frame.payload;
        if (p[0] === STREAM) {
          log.lastStream.set(p[5]!, at);
          client.onStream?.(p[5]!, at);
        } else if (p[0] === ECHO) {
          const seq = u32(p, 1);
          echoes.get(seq)?.(at);
          echoes.delete(seq);
        } else if (p[0] === DOWNLOAD_DONE) {
          downloadDone?.(at);
        }
        break;
      }
      default:
        break;
    }
  };
  void (async () => {
    for await (const f of frames(stream.readable, 'ToClient')) onFrame(f);
  })();
  void (async () => {
    for (;;) {
      let uni;
      try {
        uni = await connection.acceptStream();
      } catch {
        return;
      }
      if (uni.readable) void (async () => {
        for await (const f of frames(uni.readable, 'ToClient', uni.channel)) onFrame(f);
      })();
    }
  })();
  const connect = G3.packet('Connect').encodeFrame({
    clientType: 'Game',
    uuid: clientUuid,
    username: `bench${clientUuid.slice(0, 6)}`,
    identityToken: null,
    language: 'en',
    referralData: null,
    referralSource: null,
    protocolCrc: G3.identify.protocolCrc!,
    protocolBuildNumber: G3.identify.protocolBuildNumber!,
    clientVersion: 'handoff-bench',
  } as never);
  send(connect);
  return client;
}
