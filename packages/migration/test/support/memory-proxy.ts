/**
 * Test support: a thin proxy built on the migrator, over the in-memory transport, between a
 * simulated client and two simulated backends that exchange real G3 frames (opaque payloads,
 * tagged with a sequence number and an origin so the test can follow every packet).
 *
 * Not a reference proxy (that is proxy-kit's): just enough I/O to drive every phase and to
 * inject faults in it.
 */
import { FrameSplitter, getGeneration, writeFrameHeader, type Frame } from '@handoff/protocol';
import { parseBackendRef, parseClientUuid, parseSessionId } from '@handoff/types';
import { faultsOf, memory, type BidiStream, type Connection, type MemoryTransport, type ReceiveStream } from '@handoff/transport';
import { SimulatedClock } from 'xstate';
import {
  BufferBudget,
  createMigrator,
  forwardThroughGate,
  type MigrationSteps,
  type Migrator,
  type MigratorOptions,
  type StepContext,
} from '../../src/index.js';
import { StepError } from './controllable.js';

/** Backends A and B as the proxy routes them. */
export const A = parseBackendRef({ id: 'A' });
export const B = parseBackendRef({ id: 'B' });
/** Each simulated proxy's session gets its own id (one live migrator per session id). */
let sessions = 0;

const registry = getGeneration('G3').registry;
const ORIGIN = { A: 0x41, B: 0x42, proxy: 0x50, client: 0x43 } as const;
type Origin = keyof typeof ORIGIN;

/** A whole frame of packet `name`, payload `size` bytes: [seq u16][origin][0…]. */
export function frameBytes(name: string, seq: number, origin: Origin, size?: number): Uint8Array {
  const d = registry.byName(name);
  if (!d) throw new Error(`unknown packet ${name}`);
  const len = Math.min(d.maxSize, size ?? Math.max(8, d.fixedBlockSize));
  const out = new Uint8Array(8 + len);
  writeFrameHeader(out, 0, d.id, len);
  out[8] = seq & 0xff;
  if (len > 1) out[9] = (seq >> 8) & 0xff;
  if (len > 2) out[10] = ORIGIN[origin];
  return out;
}
export const seqOf = (f: Frame) => f.payload[0]! | ((f.payload[1] ?? 0) << 8);
const originOf = (f: Frame): Origin | '?' =>
  (Object.entries(ORIGIN).find(([, v]) => v === f.payload[2])?.[0] as Origin | undefined) ?? '?';

/** Frames of a byte stream; consumable in turns with `.next()`. */
async function* framesOf(readable: ReadableStream<Uint8Array>, direction: 'ToServer' | 'ToClient'): AsyncGenerator<Frame> {
  const splitter = new FrameSplitter(registry, { direction });
  const reader = readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const f of splitter.push(value)) yield f;
    }
  } finally {
    reader.releaseLock();
  }
}

async function nextFrame(frames: AsyncGenerator<Frame>, signal: AbortSignal): Promise<Frame> {
  signal.throwIfAborted();
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  aborted.catch(() => {});
  const r = await Promise.race([frames.next(), aborted]);
  if (r.done) throw new StepError('ERR_TEST_STREAM_ENDED', 'backend stream ended');
  return r.value;
}

/** Sequence number of the proxy's own frames to a backend (Connect, PlayerOptions, ClientDisconnect). */
export const PROXY_SEQ = 0xffff;

const swallow = (p: Promise<unknown>) => void p.catch(() => {});

export interface BackendInit {
  /** The listener never answers a dial. */
  readonly unresponsive?: boolean;
  /** Target behaviour on Connect: answer, or drop the connection. */
  readonly onConnect?: 'accept' | 'drop';
  /** Target behaviour on PlayerOptions: send JoinWorld, or never answer. */
  readonly joinWorld?: boolean;
}

/** A backend: records what it receives; as A it streams frames, as B it plays a server's handshake. */
export class SimBackend {
  /** Frames received from the proxy: client packets (origin 'client', or '?' when too short to tag) and the proxy's own. */
  readonly received: Array<{ name: string; seq: number; origin: Origin | '?' }> = [];
  readonly connections: Connection[] = [];
  #seq = 0;
  #out: { default: WritableStreamDefaultWriter<Uint8Array>; chunks: WritableStreamDefaultWriter<Uint8Array> } | null = null;

  constructor(
    readonly name: 'A' | 'B',
    readonly init: BackendInit = {},
  ) {}

  async listen(transport: MemoryTransport): Promise<void> {
    const listener = await transport.listen({ address: { host: `backend-${this.name}`, port: 5520 }, unresponsive: this.init.unresponsive ?? false });
    void (async () => {
      for (;;) {
        let conn: Connection;
        try {
          conn = await listener.accept();
        } catch {
          return;
        }
        this.connections.push(conn);
        swallow(this.#serve(conn));
      }
    })();
    this.close = () => listener.close();
  }

  close: () => Promise<void> = async () => {};

  /** As A: send `n` frames on each stream (Default: ServerMessage, Chunks: `chunkPacket`). */
  async burst(n: number, chunkPacket = 'UnloadChunk', chunkSize?: number): Promise<void> {
    const out = this.#out!;
    for (let i = 0; i < n; i++) {
      swallow(out.default.write(frameBytes('ServerMessage', this.#seq++, this.name)));
      swallow(out.chunks.write(frameBytes(chunkPacket, this.#seq++, this.name, chunkSize)));
    }
  }

  async #serve(conn: Connection): Promise<void> {
    const stream = (await conn.acceptStream()) as BidiStream;
    const writer = stream.writable.getWriter();
    if (this.name === 'A') {
      const chunks = (await conn.openStream({ kind: 'uni', channel: 'Chunks' })).writable.getWriter();
      this.#out = { default: writer, chunks };
    }
    let chunks: WritableStreamDefaultWriter<Uint8Array> | null = null;
    for await (const f of framesOf(stream.readable, 'ToServer')) {
      this.received.push({ name: f.descriptor.name, seq: seqOf(f), origin: originOf(f) });
      if (this.name === 'A' && f.descriptor.name === 'Disconnect') {
        swallow(conn.close({ code: 0, reason: 'player left' }));
        continue;
      }
      if (this.name === 'A') {
        // A answers client traffic, so A→client streams are busy whenever the client is.
        swallow(writer.write(frameBytes('ServerMessage', this.#seq++, 'A')));
        swallow(this.#out!.chunks.write(frameBytes('UnloadChunk', this.#seq++, 'A')));
        continue;
      }
      switch (f.descriptor.name) {
        case 'Connect':
          if ((this.init.onConnect ?? 'accept') === 'drop') faultsOf(conn).drop();
          else await writer.write(frameBytes('ConnectAccept', this.#seq++, 'B'));
          break;
        case 'PlayerOptions':
          if (this.init.joinWorld === false) break;
          chunks = (await conn.openStream({ kind: 'uni', channel: 'Chunks' })).writable.getWriter();
          await writer.write(frameBytes('JoinWorld', this.#seq++, 'B'));
          break;
        case 'ClientReady':
          await writer.write(frameBytes('SetClientId', this.#seq++, 'B'));
          await chunks?.write(frameBytes('UnloadChunk', this.#seq++, 'B'));
          break;
      }
    }
  }
}

export interface ClientFrameLog {
  readonly stream: 'Default' | 'Chunks';
  readonly name: string;
  readonly origin: Origin | '?';
}

/** The client: sends tagged packets, answers JoinWorld with ClientReady, records what it receives. */
export class SimClient {
  readonly sent: Array<{ name: string; seq: number }> = [];
  readonly received: ClientFrameLog[] = [];
  /** Called on every frame the client receives (benchmarks timestamp B's first frame with it). */
  onReceive: ((entry: ClientFrameLog) => void) | null = null;
  #seq = 0;
  #writer!: WritableStreamDefaultWriter<Uint8Array>;
  conn!: Connection;

  async connect(transport: MemoryTransport): Promise<void> {
    this.conn = await transport.dial({ address: { host: 'proxy', port: 5520 } });
    const stream = await this.conn.openStream();
    this.#writer = stream.writable.getWriter();
    swallow(this.#read(stream.readable, 'Default'));
    swallow(
      this.conn.acceptStream().then((s) => {
        if (s.readable) return this.#read(s.readable, 'Chunks');
      }),
    );
  }

  send(name: string): void {
    const seq = this.#seq++;
    this.sent.push({ name, seq });
    swallow(this.#writer.write(frameBytes(name, seq, 'client')));
  }

  async #read(readable: ReadableStream<Uint8Array>, stream: 'Default' | 'Chunks'): Promise<void> {
    for await (const f of framesOf(readable, 'ToClient')) {
      const entry = { stream, name: f.descriptor.name, origin: originOf(f) };
      this.received.push(entry);
      this.onReceive?.(entry);
      if (f.descriptor.name === 'JoinWorld') this.send('ClientReady');
    }
  }
}

export type Fate = { readonly to: 'A' | 'B'; readonly how: 'forward' | 'drain' } | { readonly to: 'dropped'; readonly how: string };

interface Upstream {
  conn: Connection;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  frames: AsyncGenerator<Frame>;
  chunks?: ReceiveStream;
}

/** The proxy: one session, its migrator, the forwarding loops, and the steps on the memory transport. */
export class SimProxy {
  readonly clock = new SimulatedClock();
  /** Where every client packet ended, by seq, as the proxy saw it. */
  readonly fates = new Map<number, Fate[]>();
  readonly transport: MemoryTransport;
  migrator!: Migrator<Frame>;
  clientConn!: Connection;
  a!: Upstream;
  b: Upstream | null = null;
  #client!: { default: WritableStreamDefaultWriter<Uint8Array>; chunks: WritableStreamDefaultWriter<Uint8Array> };
  #leavingA = false;

  constructor(transport: MemoryTransport) {
    this.transport = transport;
  }

  #fate(seq: number, fate: Fate): void {
    this.fates.set(seq, [...(this.fates.get(seq) ?? []), fate]);
  }

  async start(client: SimClient, init: Partial<MigratorOptions<Frame>> = {}, stepOverrides: Partial<MigrationSteps<Frame>> = {}): Promise<void> {
    const listener = await this.transport.listen({ address: { host: 'proxy', port: 5520 } });
    const [conn] = await Promise.all([listener.accept(), client.connect(this.transport)]);
    this.clientConn = conn;
    const clientDefault = (await conn.acceptStream()) as BidiStream;
    const clientChunks = await conn.openStream({ kind: 'uni', channel: 'Chunks' });
    this.clientChunks = clientChunks;
    this.clientDefaultStream = clientDefault;
    this.#client = { default: clientDefault.writable.getWriter(), chunks: clientChunks.writable.getWriter() };

    const aConn = await this.transport.dial({ address: { host: 'backend-A', port: 5520 } });
    const aStream = await aConn.openStream();
    const aChunks = (await aConn.acceptStream()) as ReceiveStream;
    this.a = { conn: aConn, writer: aStream.writable.getWriter(), frames: framesOf(aStream.readable, 'ToClient'), chunks: aChunks };
    void aConn.closed.then(() => {
      if (!this.#leavingA) this.migrator.sourceLost('A closed the connection');
    });

    this.migrator = createMigrator<Frame>({
      session: { id: parseSessionId(`session-${++sessions}`), clientUuid: parseClientUuid('00000000-0000-0000-0000-000000000001') },
      backend: A,
      budget: new BufferBudget(),
      clock: this.clock,
      steps: { ...this.#steps(), ...stepOverrides },
      onBufferSettled: (e) => {
        if (e.fate === 'dropped') this.#fate(seqOf(e.frame), { to: 'dropped', how: e.rule! });
      },
      ...init,
    });

    // A→client, one forwarder per stream, each through a gate.
    swallow(forwardThroughGate(this.a.frames, this.migrator.gate('Default'), (f) => this.#client.default.write(f.bytes)));
    swallow(forwardThroughGate(framesOf(aChunks.readable, 'ToClient'), this.migrator.gate('Chunks'), (f) => this.#client.chunks.write(f.bytes)));
    // client→backend.
    swallow(this.#clientLoop(clientDefault.readable));
  }

  async #clientLoop(readable: ReadableStream<Uint8Array>): Promise<void> {
    for await (const f of framesOf(readable, 'ToServer')) {
      let route = this.migrator.clientFrame(f);
      while (route.action === 'hold') {
        await route.until;
        route = this.migrator.clientFrame(f);
      }
      if (route.action === 'drop') this.#fate(seqOf(f), { to: 'dropped', how: `offer:${route.rule}` });
      else if (route.action === 'forward') {
        const to = route.backend.id === 'A' ? 'A' : 'B';
        try {
          await (to === 'A' ? this.a : this.b!).writer.write(f.bytes);
          this.#fate(seqOf(f), { to, how: 'forward' });
        } catch {
          this.#fate(seqOf(f), { to: 'dropped', how: `write-failed:${to}` });
        }
      }
    }
  }

  #steps(): MigrationSteps<Frame> {
    return {
      freeze: async (ctx) => {
        // Deterministic scenarios: hold Freeze until the client packets the test sends have arrived.
        while (ctx.buffer.ledger().accepted < this.freezeUntilBuffered) {
          ctx.signal.throwIfAborted();
          await new Promise<void>((r) => setImmediate(r));
        }
      },
      prepare: async (ctx) => {
        const conn = await this.transport.dial({ address: { host: `backend-${ctx.migration.target.id}`, port: 5520 }, signal: ctx.signal });
        const stream = await conn.openStream();
        this.b = { conn, writer: stream.writable.getWriter(), frames: framesOf(stream.readable, 'ToClient') };
        void conn.closed.then(() => (this.targetLost = true));
        await this.b.writer.write(frameBytes('Connect', PROXY_SEQ, 'proxy', 46));
      },
      auth: async (ctx) => {
        const f = await nextFrame(this.b!.frames, ctx.signal);
        if (f.descriptor.name !== 'ConnectAccept') throw new Error(`expected ConnectAccept, got ${f.descriptor.name}`);
      },
      sync: async (ctx) => {
        const b = this.b!;
        await b.writer.write(frameBytes('PlayerOptions', PROXY_SEQ, 'proxy'));
        const chunks = b.conn.acceptStream({ signal: ctx.signal });
        chunks.catch(() => {});
        const join = await nextFrame(b.frames, ctx.signal);
        if (join.descriptor.name !== 'JoinWorld') throw new Error(`expected JoinWorld, got ${join.descriptor.name}`);
        b.chunks = (await chunks) as ReceiveStream;
        this.joinWorld = join.bytes.slice();
      },
      cutover: async (ctx) => {
        const b = this.b!;
        if (this.targetLost) throw new StepError('ERR_TRANSPORT_CONNECTION_LOST', 'B is gone');
        await this.#client.chunks.write(frameBytes('UnloadChunk', 0, 'proxy')); // cleanup of A's chunks
        await this.#client.default.write(this.joinWorld!); // (a real proxy rewrites it to clearWorld=true)
        await ctx.barrier.whenCut();
        swallow(forwardThroughGate(b.frames, this.migrator.gate('Default'), (f) => this.#client.default.write(f.bytes)));
        swallow(forwardThroughGate(framesOf(b.chunks!.readable, 'ToClient'), this.migrator.gate('Chunks'), (f) => this.#client.chunks.write(f.bytes)));
      },
      cleanup: async (ctx) => {
        // Player leave: A closes the connection when it sees ClientDisconnect. On abort (the
        // cleanup deadline), close A at once.
        this.#leavingA = true;
        await this.a.writer.write(frameBytes('Disconnect', PROXY_SEQ, 'proxy'));
        const aborted = new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            swallow(this.a.conn.close({ code: 0, reason: 'moved to another server' }));
            reject(ctx.signal.reason);
          }),
        );
        aborted.catch(() => {});
        await Promise.race([this.a.conn.closed, aborted]);
      },
      sendToSource: async (f, ctx) => this.#send('A', f, ctx),
      sendToTarget: async (f, ctx) => this.#send('B', f, ctx),
      closeTarget: async () => {
        await this.b?.conn.close({ code: 0, reason: 'migration rolled back' });
        this.b = null;
      },
      sendReferral: async () => {
        await this.#client.default.write(frameBytes('ClientReferral', 0, 'proxy'));
      },
      sendDisconnect: async (ctx) => {
        await this.#client.default.write(frameBytes('Disconnect', 0, 'proxy', Math.max(8, (ctx.message ?? '').length)));
      },
    };
  }

  joinWorld: Uint8Array | null = null;
  targetLost = false;
  /** The freeze step waits until this many client packets are buffered. */
  freezeUntilBuffered = 0;
  clientChunks!: { readonly id: number };
  clientDefaultStream!: { readonly id: number };

  async #send(to: 'A' | 'B', f: Frame, _ctx: StepContext<Frame>): Promise<void> {
    const up = to === 'A' ? this.a : this.b;
    if (!up) throw new Error(`no connection to ${to}`);
    await up.writer.write(f.bytes);
    this.#fate(seqOf(f), { to, how: 'drain' });
  }

  async close(): Promise<void> {
    this.migrator.stop();
    for (const c of [this.clientConn, this.a?.conn, this.b?.conn]) await c?.close().catch(() => {});
  }
}

export interface World {
  readonly transport: MemoryTransport;
  readonly a: SimBackend;
  readonly b: SimBackend;
  readonly client: SimClient;
  readonly proxy: SimProxy;
  close(): Promise<void>;
}

export async function world(
  b: BackendInit = {},
  init: Partial<MigratorOptions<Frame>> = {},
  steps: Partial<MigrationSteps<Frame>> = {},
): Promise<World> {
  const transport = memory({ idleTimeout: 2_000 });
  const a = new SimBackend('A');
  const bb = new SimBackend('B', b);
  await a.listen(transport);
  await bb.listen(transport);
  const client = new SimClient();
  const proxy = new SimProxy(transport);
  await proxy.start(client, init, steps);
  return {
    transport,
    a,
    b: bb,
    client,
    proxy,
    async close() {
      await proxy.close();
      await client.conn.close().catch(() => {});
      await a.close();
      await bb.close();
    },
  };
}
