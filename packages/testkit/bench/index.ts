/**
 * `pnpm bench testkit`: how many simulated players one backend process holds at a steady gameplay
 * packet rate, over QUIC and TCP, and the backend's memory per player.
 *
 * The backend runs alone in a child process (`backend-process.ts`); this process is the load: N
 * players join (G3), then each sends 20 movement-like packets a second (ClientMovement, 153 bytes) and
 * answers every Ping with three Pongs, while the backend pings each of them every second and logs
 * every packet (digest mode, as in tests). N grows step by step; a step holds when, after a 5 s window
 * at that rate, the load pauses and the backend has received everything sent within 1 s (no backlog)
 * and no player was dropped. The machine
 * has 2 cores: the load and the backend share them, so the load's own CPU is printed beside the
 * backend's, and a step where the load could not send its rate is marked "load-bound".
 *
 * Memory: the backend's heap + array buffers after a full GC, idle with 0 players and with N players
 * in the world, per player; then the growth per logged packet.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { FrameSplitter, getGeneration, writeFrameHeader, zstdReady, type PacketInputs, type PacketName } from '@handoff/protocol';
import type { Connection, Transport } from '@handoff/transport';
import { tcp } from '@handoff/transport-tcp';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { emit, log } from '../../../scripts/bench-kit.js';

await zstdReady;
const here = dirname(fileURLToPath(import.meta.url));
const G3 = getGeneration('G3');
const encode = <N extends PacketName>(name: N, value: PacketInputs[N]) => G3.packet(name).encodeFrame(value);
const RATE = 20; // movement packets per player per second
const WINDOW_MS = 5000;

// ------------------------------------------------------------------ the backend process

interface Stats {
  at: number;
  cpuMs: number;
  heapUsed: number;
  arrayBuffers: number;
  rss: number;
  players: number;
  inWorld: number;
  counters: { packetsIn: number; disconnects: number; pongsAccepted: number };
}

interface BackendProcess {
  readonly address: { host: string; port: number };
  readonly fingerprint: string | undefined;
  stats(): Promise<Stats>;
  /** Packets received so far, without a GC. */
  received(): Promise<number>;
  quit(): Promise<void>;
}

async function startBackend(transport: 'quic' | 'tcp', packetLog: 'digest' | 'count'): Promise<BackendProcess> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--conditions=source', '--import', 'tsx', join(here, 'backend-process.ts'), transport, packetLog],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const queue: ((line: string) => void)[] = [];
  lines.on('line', (line) => queue.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => queue.push(resolve));
  const first = JSON.parse(await nextLine()) as { address: { host: string; port: number }; fingerprint?: string };
  return {
    address: first.address,
    fingerprint: first.fingerprint,
    async stats() {
      const reply = nextLine();
      child.stdin.write('stats\n');
      return JSON.parse(await reply) as Stats;
    },
    async received() {
      const reply = nextLine();
      child.stdin.write('count\n');
      return (JSON.parse(await reply) as { packetsIn: number }).packetsIn;
    },
    async quit() {
      child.stdin.write('quit\n');
      await new Promise((resolve) => child.on('exit', resolve));
    },
  };
}

// ------------------------------------------------------------------ a lean player

const uuidOf = (i: number) => `${(0x10000000 + i).toString(16)}-0000-4000-8000-${(0x100000000000 + i).toString(16)}`;
const movement = (() => {
  const d = G3.registry.byName('ClientMovement')!;
  const frame = new Uint8Array(8 + d.maxSize);
  writeFrameHeader(frame, 0, d.id, d.maxSize);
  return frame;
})();

class Player {
  sent = 0;
  dropped = false;
  inWorld = false;
  #writer!: WritableStreamDefaultWriter<Uint8Array>;
  #connection!: Connection;
  #joined!: () => void;
  readonly joined = new Promise<void>((resolve) => (this.#joined = resolve));

  async start(transport: Transport, init: Record<string, unknown>, index: number): Promise<void> {
    this.#connection = await transport.dial(init as never);
    void this.#connection.closed.then(() => (this.dropped = true));
    const stream = await this.#connection.openStream();
    this.#writer = stream.writable.getWriter();
    this.#writer.closed.catch(() => {});
    for (const s of [stream]) void this.#read(s.readable);
    void this.#acceptUni();
    const connect = encode('Connect', {
      protocolCrc: G3.identify.protocolCrc!,
      protocolBuildNumber: G3.identify.protocolBuildNumber!,
      clientVersion: 'bench',
      clientType: 'Game',
      uuid: uuidOf(index),
      username: `p${index}`,
      identityToken: null,
      language: 'en',
      referralData: null,
      referralSource: null,
    });
    this.#write(connect);
  }

  async #acceptUni(): Promise<void> {
    for (;;) {
      try {
        const s = await this.#connection.acceptStream();
        if (s.readable) void this.#read(s.readable);
      } catch {
        return;
      }
    }
  }

  #write(bytes: Uint8Array): void {
    this.sent++;
    void this.#writer.write(bytes).catch(() => {});
  }

  async #read(readable: ReadableStream<Uint8Array>): Promise<void> {
    const splitter = new FrameSplitter(G3.registry, { direction: 'ToClient' });
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const frame of splitter.push(value)) {
          switch (frame.name) {
            case 'ServerInfo':
              this.#write(encode('RequestAssets', { assets: [] }));
              this.#write(encode('ViewRadius', { value: 192 }));
              this.#write(encode('PlayerOptions', { skin: null }));
              break;
            case 'JoinWorld':
              this.#write(encode('ClientReady', { readyForChunks: true, readyForGameplay: false }));
              break;
            case 'SetClientId':
              this.inWorld = true;
              this.#joined();
              break;
            case 'Ping': {
              const id = new DataView(frame.bytes.buffer, frame.bytes.byteOffset + 8 + 1).getInt32(0, true);
              for (const type of ['Raw', 'Direct', 'Tick'] as const) {
                this.#write(encode('Pong', { id, time: null, type, packetQueueSize: 0 }));
              }
              break;
            }
          }
        }
      }
    } catch {
      // closed
    }
  }

  move(): void {
    if (!this.inWorld) return;
    this.#write(movement);
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => {});
  }
}

// ------------------------------------------------------------------ one transport

interface Step {
  players: number;
  sentPerSecond: number;
  receivedPerSecond: number;
  deliveredRatio: number;
  backendCpuPercent: number;
  loadCpuPercent: number;
  dropped: number;
  /** After the window, how long until the backend had received everything sent (ms). */
  lagMs: number;
  verdict: 'holds' | 'falls behind' | 'load-bound';
}

async function capacity(kind: 'quic' | 'tcp', steps: readonly number[]): Promise<{ steps: Step[]; holds: number; joinMsPerPlayer: number }> {
  const backend = await startBackend(kind, 'digest');
  const transport: Transport = kind === 'quic' ? quic() : tcp();
  const certificate = kind === 'quic' ? await createSelfSignedCertificate({ commonName: 'bench-player' }) : undefined;
  const dialInit = {
    address: backend.address,
    alpn: G3.alpn,
    maxStreams: { bidi: 0, uni: 4 },
    ...(kind === 'quic' ? { certificate, serverTrust: { fingerprints: [backend.fingerprint!] }, idleTimeout: 120_000 } : { idleTimeout: 120_000 }),
  };
  const players: Player[] = [];
  const results: Step[] = [];
  let holds = 0;
  let joinMs = 0;
  let ticker: NodeJS.Timeout | undefined;
  try {
    for (const target of steps) {
      const joinStart = performance.now();
      const batch: Promise<void>[] = [];
      while (players.length < target) {
        const player = new Player();
        players.push(player);
        batch.push(player.start(transport, dialInit, players.length).then(() => player.joined));
        if (batch.length >= 20) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      joinMs = (performance.now() - joinStart) / Math.max(1, target - (results.at(-1)?.players ?? 0));
      // steady load: RATE movement packets per player per second, sent on a 50 ms tick that catches
      // up on its own lateness (timers drift), so the offered rate is exact unless the load is CPU-bound
      clearInterval(ticker);
      const loadStart = performance.now();
      let due = 0;
      ticker = setInterval(() => {
        const target = Math.floor(((performance.now() - loadStart) * RATE) / 1000);
        for (; due < target; due++) for (const p of players) p.move();
      }, 50);
      await new Promise((resolve) => setTimeout(resolve, 2000)); // let the joins settle
      const sent0 = players.reduce((n, p) => n + p.sent, 0);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const s0 = await backend.stats();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const sent1 = players.reduce((n, p) => n + p.sent, 0);
      const s1 = await backend.stats();
      const wall = performance.now() - t0;
      const cpu1 = process.cpuUsage(cpu0);
      const sent = sent1 - sent0;
      const received = s1.counters.packetsIn - s0.counters.packetsIn;
      const offered = (target * (RATE + 3) * wall) / 1000;
      const dropped = players.filter((p) => p.dropped).length;
      const ratio = received / Math.max(1, sent);
      // lag: pause the load and time how long the backend takes to have received everything sent
      clearInterval(ticker);
      const pausedAt = performance.now();
      const allSent = players.reduce((n, p) => n + p.sent, 0);
      let lagMs = Number.POSITIVE_INFINITY;
      for (;;) {
        if ((await backend.received()) >= allSent) {
          lagMs = Math.round(performance.now() - pausedAt);
          break;
        }
        if (performance.now() - pausedAt > 5000) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const verdict: Step['verdict'] = sent < 0.9 * offered ? 'load-bound' : lagMs <= 1000 && dropped === 0 ? 'holds' : 'falls behind';
      const step: Step = {
        players: target,
        sentPerSecond: Math.round((sent / wall) * 1000),
        receivedPerSecond: Math.round((received / wall) * 1000),
        deliveredRatio: Math.round(ratio * 1000) / 1000,
        backendCpuPercent: Math.round(((s1.cpuMs - s0.cpuMs) / (s1.at - s0.at)) * 100),
        loadCpuPercent: Math.round(((cpu1.user + cpu1.system) / 1000 / wall) * 100),
        dropped,
        lagMs,
        verdict,
      };
      results.push(step);
      log(`  ${kind} ${String(target).padStart(5)} players: sent ${step.sentPerSecond}/s, backend received ${step.receivedPerSecond}/s (${step.deliveredRatio}), backend CPU ${step.backendCpuPercent} %, load CPU ${step.loadCpuPercent} %, dropped ${dropped}, caught up ${Number.isFinite(lagMs) ? `in ${lagMs} ms` : 'never (5 s)'}: ${verdict}`);
      if (verdict === 'holds') holds = target;
      else break;
    }
  } finally {
    clearInterval(ticker);
    await Promise.all(players.map((p) => p.close()));
    await backend.quit();
  }
  return { steps: results, holds, joinMsPerPlayer: Math.round(joinMs * 100) / 100 };
}

// ------------------------------------------------------------------ memory per player

async function memory(count: number): Promise<{ players: number; bytesPerPlayer: number; bytesPerLoggedPacket: number; bytesPerPlayerCountMode: number }> {
  const measure = async (packetLog: 'digest' | 'count') => {
    const backend = await startBackend('tcp', packetLog);
    const transport = tcp();
    const players: Player[] = [];
    try {
      const idle = await backend.stats();
      for (let i = 0; i < count; i += 50) {
        const batch: Promise<void>[] = [];
        for (let j = i; j < Math.min(count, i + 50); j++) {
          const p = new Player();
          players.push(p);
          batch.push(p.start(transport, { address: backend.address, idleTimeout: 120_000 }, j + 1).then(() => p.joined));
        }
        await Promise.all(batch);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const joined = await backend.stats();
      // 100 more packets per player, logged
      for (let k = 0; k < 100; k++) for (const p of players) p.move();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const logged = await backend.stats();
      const heap = (s: Stats) => s.heapUsed + s.arrayBuffers;
      const extra = logged.counters.packetsIn - joined.counters.packetsIn;
      return { perPlayer: (heap(joined) - heap(idle)) / count, perPacket: (heap(logged) - heap(joined)) / Math.max(1, extra) };
    } finally {
      await Promise.all(players.map((p) => p.close()));
      await backend.quit();
    }
  };
  const digest = await measure('digest');
  const counted = await measure('count');
  return {
    players: count,
    bytesPerPlayer: Math.round(digest.perPlayer),
    bytesPerLoggedPacket: Math.round(digest.perPacket),
    bytesPerPlayerCountMode: Math.round(counted.perPlayer),
  };
}

log('# simulated backend: players held at 20 movement packets/s each (+3 Pongs per 1 s Ping), G3');
const tcpResult = await capacity('tcp', [100, 200, 400, 800, 1600, 3200]);
const quicResult = await capacity('quic', [25, 50, 100, 200, 400, 800]);
log('# memory per player (TCP, G3, in the world, after a full GC)');
const mem = await memory(500);
log(`  ${mem.players} players: ${mem.bytesPerPlayer} bytes per player (digest log), ${mem.bytesPerPlayerCountMode} bytes ('count' log), + ${mem.bytesPerLoggedPacket} bytes per logged packet`);
log(`  holds: TCP ${tcpResult.holds} players, QUIC ${quicResult.holds} players (join: TCP ${tcpResult.joinMsPerPlayer} ms, QUIC ${quicResult.joinMsPerPlayer} ms per player, wall)`);
emit({ tcp: tcpResult, quic: quicResult, memory: mem, ratePerPlayer: RATE, windowMs: WINDOW_MS });
process.exit(0);
