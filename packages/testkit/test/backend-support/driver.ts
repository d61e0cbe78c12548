/**
 * A scriptable client for the backend tests: it sends exactly what a test tells it to and records
 * every frame the backend sends, per stream. It judges nothing (the strict client does that).
 */
import { createHash } from 'node:crypto';
import {
  FrameSplitter,
  decodeFrame,
  getGeneration,
  type DecodedFrame,
  type Generation,
  type PacketInputs,
  type PacketName,
  type WireFrame,
} from '@handoff/protocol';
import type { CloseInfo, Connection, Transport } from '@handoff/transport';
import type { SimulatedBackend } from '@handoff/testkit';

export const PLAYER_UUID = '00112233-4455-6677-8899-aabbccddeeff';

/** A frame the driver received, decoded, with the stream it came on. */
export interface Received {
  readonly streamId: number;
  readonly channel: string;
  readonly name: string;
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly decoded: DecodedFrame;
}

export interface DriverInit {
  readonly generation?: string;
  readonly alpn?: readonly string[];
  /** Extra dial options (QUIC certificate, serverTrust…). */
  readonly dial?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Driver {
  readonly generation: Generation;
  readonly connection: Connection;
  readonly received: Received[] = [];
  /** Frames the driver wrote, in order (whole frames). */
  readonly sent: Uint8Array[] = [];
  readonly streamOrder: { id: number; channel: string | undefined }[] = [];
  readonly closed: Promise<CloseInfo>;
  #writer!: WritableStreamDefaultWriter<Uint8Array>;
  #cursor = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #streamEnded = false;

  private constructor(generation: Generation, connection: Connection) {
    this.generation = generation;
    this.connection = connection;
    this.closed = connection.closed.then((info) => {
      this.#ended = true;
      this.#wake?.();
      return info;
    });
  }

  static async connect(transport: Transport, backend: SimulatedBackend, init: DriverInit = {}): Promise<Driver> {
    const generation = getGeneration(init.generation ?? backend.generation);
    const connection = await transport.dial({
      address: backend.address,
      alpn: init.alpn ?? generation.alpn,
      maxStreams: { bidi: 0, uni: 4 },
      ...(init.dial ?? {}),
    } as never);
    const driver = new Driver(generation, connection);
    const stream = await connection.openStream({ kind: 'bidi' });
    driver.#writer = stream.writable.getWriter();
    driver.#writer.closed.catch(() => {});
    driver.streamOrder.push({ id: stream.id, channel: 'Default' });
    void driver.#pump(stream.readable, stream.id, 'Default');
    void (async () => {
      for (;;) {
        let incoming;
        try {
          incoming = await connection.acceptStream();
        } catch {
          return;
        }
        driver.streamOrder.push({ id: incoming.id, channel: incoming.channel });
        if (incoming.readable) void driver.#pump(incoming.readable, incoming.id, incoming.channel ?? 'unknown');
      }
    })();
    return driver;
  }

  async #pump(readable: ReadableStream<Uint8Array>, streamId: number, channel: string): Promise<void> {
    const splitter = new FrameSplitter(this.generation.registry, { direction: 'ToClient' });
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of splitter.push(value) as WireFrame[]) {
          const bytes = frame.bytes.slice();
          this.received.push({ streamId, channel, name: frame.name, id: frame.id, bytes, decoded: decodeFrame(this.generation, bytes) });
        }
        this.#wake?.();
      }
    } catch {
      // the connection ended
    } finally {
      if (channel === 'Default') {
        this.#streamEnded = true;
        // the server ended the connection (on TCP, its FIN): a client closes too
        void this.connection.close().catch(() => {});
      }
      this.#wake?.();
    }
  }

  /** Encodes and sends a modelled packet. */
  async send<N extends PacketName>(name: N, value: PacketInputs[N]): Promise<Uint8Array> {
    const bytes = this.generation.packet(name).encodeFrame(value);
    await this.sendRaw(bytes);
    return bytes;
  }

  /** Sends bytes as they are (several frames, part of one, garbage). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    this.sent.push(bytes);
    await this.#writer.write(bytes).catch(() => {});
  }

  /** Everything received so far that was not yet taken by {@link next}. */
  pending(): Received[] {
    return this.received.slice(this.#cursor);
  }

  /** Names of the frames received so far (all of them), in order of arrival. */
  names(channel?: string): string[] {
    return this.received.filter((r) => channel === undefined || r.channel === channel).map((r) => r.name);
  }

  /**
   * The next received frame (in arrival order across streams), optionally the next one named `name`
   * (skipping others). Rejects after `timeoutMs` of real time or when the connection ended first.
   */
  async next(name?: string, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.received.length) {
        const r = this.received[this.#cursor++]!;
        if (name === undefined || r.name === name) return r;
      }
      if (this.#ended || this.#streamEnded) throw new Error(`connection ended before ${name ?? 'a frame'} arrived (got ${this.names().join(', ')})`);
      if (Date.now() > deadline) throw new Error(`no ${name ?? 'frame'} within ${timeoutMs} ms (got ${this.names().join(', ')})`);
      await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), sleep(20)]);
    }
  }

  /** Frames named `name` received so far. */
  all(name: string): Received[] {
    return this.received.filter((r) => r.name === name);
  }

  /** Waits until `count` frames named `name` have arrived. */
  async waitFor(name: string, count = 1, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.all(name).length < count) {
      if (Date.now() > deadline) throw new Error(`waited for ${count} × ${name} (got ${this.names().join(', ')})`);
      if (this.#ended) throw new Error(`connection ended waiting for ${name}`);
      await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), sleep(20)]);
    }
    return this.all(name);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

export function value<T = Record<string, unknown>>(r: Received): T {
  if (!r.decoded.modelled) throw new Error(`${r.name} is not modelled`);
  return r.decoded.value as T;
}

/** A Connect for `generation` with the given overrides. */
export function connectPacket(generation: Generation, overrides: Record<string, unknown> = {}): PacketInputs['Connect'] {
  const base =
    generation.identify.protocolHash !== undefined
      ? {
          protocolHash: generation.identify.protocolHash,
          clientType: 'Game',
          uuid: PLAYER_UUID,
          language: 'en',
          identityToken: null,
          username: 'Bob',
          referralData: null,
          referralSource: null,
        }
      : {
          protocolCrc: generation.identify.protocolCrc,
          protocolBuildNumber: generation.identify.protocolBuildNumber,
          clientVersion: '1.0',
          clientType: 'Game',
          uuid: PLAYER_UUID,
          username: 'Bob',
          identityToken: null,
          language: 'en',
          referralData: null,
          referralSource: null,
        };
  return { ...base, ...overrides } as PacketInputs['Connect'];
}

export interface JoinOptions {
  readonly connect?: Record<string, unknown>;
  readonly password?: string;
  /** Stop after this step. */
  readonly until?: 'connect-accept' | 'world-settings' | 'assets' | 'join-world' | 'ready';
}

/** SHA-256(challenge ‖ UTF-8 password): the PasswordResponse hash. */
export function passwordHash(challenge: Uint8Array, password: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(challenge).update(password, 'utf8').digest());
}

/** Plays the client's side of the handshake, step by step, as far as `until` (default: in the world). */
export async function join(driver: Driver, options: JoinOptions = {}): Promise<void> {
  await driver.send('Connect', connectPacket(driver.generation, options.connect));
  const accept = value<{ passwordChallenge: Uint8Array | null }>(await driver.next('ConnectAccept'));
  if (options.until === 'connect-accept') return;
  if (accept.passwordChallenge !== null) {
    await driver.send('PasswordResponse', { hash: passwordHash(accept.passwordChallenge, options.password ?? '') });
    await driver.next('PasswordAccepted');
  }
  const settings = value<{ requiredAssets: { hash: string; name: string }[] | null }>(await driver.next('WorldSettings'));
  await driver.next('ServerInfo');
  if (options.until === 'world-settings') return;
  await driver.send('RequestAssets', { assets: settings.requiredAssets ?? [] });
  await driver.next('WorldLoadFinished');
  if (options.until === 'assets') return;
  await driver.send('ViewRadius', { value: 192 });
  await driver.send('PlayerOptions', { skin: null });
  await driver.next('JoinWorld');
  if (options.until === 'join-world') return;
  await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
  await driver.next('SetClientId');
}

/** Answers `ping` with one Pong per type, in order. */
export async function answerPing(driver: Driver, ping: Received, types: readonly ('Raw' | 'Direct' | 'Tick')[] = ['Raw', 'Direct', 'Tick']): Promise<void> {
  const { id } = value<{ id: number }>(ping);
  for (const type of types) await driver.send('Pong', { id, time: null, type, packetQueueSize: 0 });
}
