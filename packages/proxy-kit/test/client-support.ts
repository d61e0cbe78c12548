/**
 * Support for the client-side tests: a QUIC listener on loopback whose every connection goes through
 * `acceptClient` (a real proxy's accept loop, with a tiny world after the handshake so a strict client
 * can reach play), and a scripted raw client that sends exactly what a test says and records what it
 * gets. Waits are event-driven; their timeouts only bound a failing test.
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
import type { Address, CloseInfo, Connection, Listener } from '@handoff/transport';
import { createSelfSignedCertificate, quic, type CertificateWithKey } from '@handoff/transport-quic';
import {
  acceptClient,
  createClientCounters,
  CLIENT_CLOSE_REASONS,
  type AcceptClientInit,
  type AcceptedClient,
  type ClientCloseReason,
  type ClientCounters,
  type ProxyError,
} from '@handoff/proxy-kit';
import { createSessionStore, type SessionStore } from '@handoff/session';
import { afterEach, expect } from 'vitest';
import { sessionServiceClient, type PlayerCredentials, type SessionService } from '@handoff/testkit';

export const PLAYER_UUID = '00112233-4455-6677-8899-aabbccddeeff';

/** Registers an `afterEach` that closes what the test opened (newest first); returns `track(thing)`. */
export function closeAfterEach(): <T extends { close(): Promise<unknown> }>(thing: T) => T {
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}

/** Only `reason` was counted, once; and `accepted` clients completed their handshake, when given. */
export function expectCounted(h: ProxyHarness, reason: ClientCloseReason, accepted?: number): void {
  expect(CLIENT_CLOSE_REASONS.filter((r) => r !== reason && h.counters.closed[r] !== 0)).toEqual([]);
  expect(h.counters.closed[reason]).toBe(1);
  if (accepted !== undefined) expect(h.counters.accepted).toBe(accepted);
}

/** Nobody was closed (yet). */
export function nothingCounted(h: ProxyHarness): void {
  expect(CLIENT_CLOSE_REASONS.filter((r) => h.counters.closed[r] !== 0)).toEqual([]);
}

/** Resolves once `check()` holds; `wake()` re-checks. Bounded by `timeoutMs` of real time (a failing test, never a sync). */
export class Signal {
  readonly #waiters = new Set<() => void>();

  wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }
}

/** A listener certificate, as a server makes one (its fingerprint is what the proxy's access token is bound to). */
export function serverCertificate(): Promise<CertificateWithKey> {
  return createSelfSignedCertificate({ commonName: 'localhost', usage: 'server' });
}

/** What became of one connection the proxy accepted. */
export interface Outcome {
  readonly index: number;
  readonly connection: Connection;
  client?: AcceptedClient;
  error?: ProxyError;
  /** After the handshake: frames the world read from the client, by name. */
  readonly frames: string[];
  /** After the handshake: the error that ended the client's frames (a closed client), if any. */
  framesError?: unknown;
  framesEnded: boolean;
}

export interface ProxyHarnessInit {
  readonly accept: Omit<AcceptClientInit, 'counters' | 'store'> & { readonly counters?: ClientCounters; readonly store?: SessionStore };
  /** ALPN of the listener (default `['hytale/2', 'hytale/1']`, as a G2+ server offers). */
  readonly alpn?: readonly string[];
  /** Play a tiny world to each accepted client (setup, JoinWorld, SetClientId), then read its frames (default true). */
  readonly world?: boolean;
  /** The listener's certificate (default a new self-signed one). */
  readonly certificate?: CertificateWithKey;
}

/** A proxy's accept loop on a QUIC listener: every connection goes through `acceptClient`. */
export class ProxyHarness {
  readonly listener: Listener;
  readonly certificate: CertificateWithKey;
  readonly counters: ClientCounters;
  readonly store: SessionStore;
  readonly outcomes: Outcome[] = [];
  readonly signal = new Signal();
  readonly #init: ProxyHarnessInit;
  #closed = false;

  private constructor(listener: Listener, certificate: CertificateWithKey, init: ProxyHarnessInit) {
    this.listener = listener;
    this.certificate = certificate;
    this.#init = init;
    this.counters = init.accept.counters ?? createClientCounters();
    this.store = init.accept.store ?? createSessionStore();
  }

  static async start(init: ProxyHarnessInit): Promise<ProxyHarness> {
    const transport = quic();
    const certificate = init.certificate ?? (await serverCertificate());
    const listener = await transport.listen({
      address: { host: '127.0.0.1', port: 0 },
      alpn: [...(init.alpn ?? ['hytale/2', 'hytale/1'])],
      certificate,
      clientCertificate: 'required-any',
      maxStreams: { bidi: 1, uni: 0 },
      idleTimeout: 30_000,
    });
    const harness = new ProxyHarness(listener, certificate, init);
    void harness.#loop();
    return harness;
  }

  get address(): Address {
    return this.listener.address;
  }

  /** The outcome of the `index`-th connection (0-based), once it has one. */
  async outcome(index: number): Promise<Outcome> {
    await this.signal.until(() => this.outcomes[index]?.client !== undefined || this.outcomes[index]?.error !== undefined, `the outcome of connection ${index}`);
    return this.outcomes[index]!;
  }

  /** Resolves once `count` connections reached `acceptClient`. */
  async started(count: number): Promise<void> {
    await this.signal.until(() => this.outcomes.length >= count, `${count} connection(s) accepted by the listener`);
  }

  async #loop(): Promise<void> {
    for (;;) {
      let connection: Connection;
      try {
        connection = await this.listener.accept();
      } catch {
        return;
      }
      const outcome: Outcome = { index: this.outcomes.length, connection, frames: [], framesEnded: false };
      this.outcomes.push(outcome);
      acceptClient(connection, { ...this.#init.accept, counters: this.counters, store: this.store }).then(
        (client) => {
          outcome.client = client;
          this.signal.wake();
          if (this.#init.world !== false) void this.#world(outcome, client);
        },
        (error: ProxyError) => {
          outcome.error = error;
          this.signal.wake();
        },
      );
      this.signal.wake();
    }
  }

  /** The first backend's part, in miniature: setup, world entry, then every frame the client sends is read. */
  async #world(outcome: Outcome, client: AcceptedClient): Promise<void> {
    const g = client.generation;
    const send = <N extends PacketName>(name: N, value: PacketInputs[N]) => client.sink.write(g.packet(name).encodeFrame(value));
    try {
      await send('WorldSettings', { worldHeight: 320, requiredAssets: [] });
      await send('ServerInfo', { serverName: 'proxy-test', motd: null, maxPlayers: 10 });
      for (;;) {
        const frame = await client.frames.next();
        if (frame === null) break;
        outcome.frames.push(frame.descriptor.name);
        this.signal.wake();
        switch (frame.descriptor.name) {
          case 'RequestAssets':
            await send('WorldLoadFinished', {});
            break;
          case 'PlayerOptions':
            await send('JoinWorld', { clearWorld: false, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' });
            break;
          case 'ClientReady': {
            const ready = g.packet('ClientReady').decodeFrame(frame);
            if (ready.readyForChunks && !ready.readyForGameplay) await send('SetClientId', { clientId: 7 });
            break;
          }
          default:
        }
      }
    } catch (error) {
      outcome.framesError = error;
    }
    outcome.framesEnded = true;
    this.signal.wake();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.listener.close().catch(() => {});
    for (const outcome of this.outcomes) await outcome.connection.close().catch(() => {});
  }
}

/** A frame the raw client received. */
export interface Received {
  readonly name: string;
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly decoded: DecodedFrame;
}

export interface RawClientInit {
  readonly address: Address;
  /** The generation whose Connect layout and registry the client uses (default G3). */
  readonly generation?: string;
  /** ALPN offered (default the generation's first). */
  readonly alpn?: readonly string[];
  readonly certificate?: CertificateWithKey;
}

/**
 * A scripted client: sends exactly what the test says (whole packets, raw bytes, garbage) and records
 * every frame it receives and how its connection ended. It judges nothing.
 */
export class RawClient {
  readonly generation: Generation;
  readonly connection: Connection;
  readonly certificate: CertificateWithKey;
  readonly received: Received[] = [];
  readonly closed: Promise<CloseInfo>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #signal = new Signal();
  #cursor = 0;
  #ended = false;

  private constructor(generation: Generation, connection: Connection, writer: WritableStreamDefaultWriter<Uint8Array>, certificate: CertificateWithKey) {
    this.generation = generation;
    this.connection = connection;
    this.#writer = writer;
    this.certificate = certificate;
    this.closed = connection.closed.then((info) => {
      this.#ended = true;
      this.#signal.wake();
      return info;
    });
  }

  static async connect(init: RawClientInit): Promise<RawClient> {
    const generation = getGeneration(init.generation ?? 'G3');
    const certificate = init.certificate ?? (await createSelfSignedCertificate({ commonName: 'hytale-client', usage: 'client' }));
    const connection = await quic().dial({
      address: init.address,
      alpn: [...(init.alpn ?? [generation.alpn[0]!])],
      certificate,
      serverTrust: 'insecure-any',
      idleTimeout: 30_000,
      maxStreams: { bidi: 0, uni: 4 },
    });
    const stream = await connection.openStream({ kind: 'bidi' });
    const writer = stream.writable.getWriter();
    writer.closed.catch(() => {});
    const client = new RawClient(generation, connection, writer, certificate);
    void client.#pump(stream.readable);
    return client;
  }

  async #pump(readable: ReadableStream<Uint8Array>): Promise<void> {
    const splitter = new FrameSplitter(this.generation.registry, { direction: 'ToClient' });
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of splitter.push(value) as WireFrame[]) {
          const bytes = frame.bytes.slice();
          this.received.push({ name: frame.descriptor.name, id: frame.id, bytes, decoded: decodeFrame(this.generation, bytes) });
        }
        this.#signal.wake();
      }
    } catch {
      // the connection ended
    }
    this.#ended = true;
    this.#signal.wake();
  }

  async send<N extends PacketName>(name: N, value: PacketInputs[N]): Promise<Uint8Array> {
    const bytes = this.generation.packet(name).encodeFrame(value);
    await this.sendRaw(bytes);
    return bytes;
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    await this.#writer.write(bytes).catch(() => {});
  }

  /** Ends the client's stream (FIN), keeping the connection. */
  async endStream(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }

  /** The next frame received (optionally the next named `name`, skipping others). */
  async next(name?: string): Promise<Received> {
    let found: Received | undefined;
    const scan = (): boolean => {
      while (this.#cursor < this.received.length) {
        const r = this.received[this.#cursor++]!;
        if (name === undefined || r.name === name) {
          found = r;
          return true;
        }
      }
      return this.#ended;
    };
    await this.#signal.until(scan, name ?? 'a frame');
    if (found === undefined) throw new Error(`the connection ended before ${name ?? 'a frame'} (got ${this.names().join(', ') || 'nothing'})`);
    return found;
  }

  names(): string[] {
    return this.received.map((r) => r.name);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

/** The decoded value of a modelled frame. */
export function value<T = Record<string, unknown>>(r: Received): T {
  if (!r.decoded.modelled) throw new Error(`${r.name} is not modelled`);
  return r.decoded.value as T;
}

/** A Connect for `generation` with the given overrides (a development join by default). */
export function connectPacket(generation: Generation, overrides: Record<string, unknown> = {}): PacketInputs['Connect'] {
  const base =
    generation.identify.protocolHash !== undefined
      ? { protocolHash: generation.identify.protocolHash, clientType: 'Game', uuid: PLAYER_UUID, language: 'en', identityToken: null, username: 'Bob', referralData: null, referralSource: null }
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

/** SHA-256(challenge ‖ UTF-8 password): the PasswordResponse hash. */
export function passwordHash(challenge: Uint8Array, password: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(challenge).update(password, 'utf8').digest());
}

/** A logger that keeps every line (fields and message), to look for secrets in. */
export function recordingLogger(): { lines: unknown[][]; logger: Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', (...args: unknown[]) => void> } {
  const lines: unknown[][] = [];
  const log = (...args: unknown[]) => void lines.push(args);
  return { lines, logger: { trace: log, debug: log, info: log, warn: log, error: log, fatal: log } };
}

/** What the raw authenticated flow handled: every secret of the handshake, to look for afterwards. */
export interface RawAuthSecrets {
  readonly identityToken: string;
  readonly sessionToken: string;
  authorizationGrant?: string;
  serverIdentityToken?: string;
  accessToken?: string;
  serverAuthorizationGrant?: string;
  serverAccessToken?: string;
}

export interface RawAuthInit {
  readonly service: SessionService;
  readonly credentials: PlayerCredentials;
  /** Connect overrides (username, uuid…). */
  readonly connect?: Record<string, unknown>;
  /** Stop after this step. */
  readonly until?: 'auth-grant' | 'auth-token-sent';
  /** Change the AuthToken before it is sent. */
  readonly authToken?: (token: { accessToken: string | null; serverAuthorizationGrant: string | null }) => { accessToken: string | null; serverAuthorizationGrant: string | null };
  /** Called after the client's own exchange, before the AuthToken is sent (e.g. to fail the proxy's exchange). */
  readonly beforeAuthToken?: () => void;
  /** Answer the proxy's password challenge (with ServerAuthToken) with this password. */
  readonly password?: string;
}

/**
 * The client's side of the authenticated handshake, step by step, as a Hytale client does it (the
 * strict client's way): Connect with the identity token; on AuthGrant, the grant exchanged for an
 * access token bound to this client's certificate, and a grant asked for the server's identity; then
 * AuthToken. Returns every secret it handled.
 */
export async function authenticateRaw(client: RawClient, init: RawAuthInit): Promise<RawAuthSecrets> {
  const { credentials } = init;
  const secrets: RawAuthSecrets = { identityToken: credentials.identityToken, sessionToken: credentials.sessionToken };
  await client.send('Connect', connectPacket(client.generation, { uuid: credentials.clientUuid, username: credentials.username, identityToken: credentials.identityToken, ...init.connect }));
  const grant = value<{ authorizationGrant: string; serverIdentityToken: string }>(await client.next('AuthGrant'));
  secrets.authorizationGrant = grant.authorizationGrant;
  secrets.serverIdentityToken = grant.serverIdentityToken;
  if (init.until === 'auth-grant') return secrets;
  const sessions = sessionServiceClient({ url: init.service.url });
  const accessToken = await sessions.exchangeAuthGrant({ authorizationGrant: grant.authorizationGrant, certificateFingerprint: client.certificate.fingerprint, sessionToken: credentials.sessionToken });
  const serverAuthorizationGrant = await sessions.requestAuthGrant({ identityToken: grant.serverIdentityToken, audience: credentials.clientUuid, sessionToken: credentials.sessionToken });
  secrets.accessToken = accessToken;
  secrets.serverAuthorizationGrant = serverAuthorizationGrant;
  init.beforeAuthToken?.();
  const token = (init.authToken ?? ((t) => t))({ accessToken, serverAuthorizationGrant });
  await client.send('AuthToken', token);
  if (init.until === 'auth-token-sent') return secrets;
  const server = value<{ serverAccessToken: string; passwordChallenge: Uint8Array | null }>(await client.next('ServerAuthToken'));
  secrets.serverAccessToken = server.serverAccessToken;
  if (server.passwordChallenge !== null && init.password !== undefined) {
    await client.send('PasswordResponse', { hash: passwordHash(server.passwordChallenge, init.password) });
    await client.next('PasswordAccepted');
  }
  return secrets;
}

/**
 * A function whose first call never settles until its signal aborts (`called` resolves with that
 * signal); later calls go to `rest`, when given.
 */
export function stalled<A extends unknown[], T>(
  rest?: (...args: A) => Promise<T>,
): { fn: (...args: A) => Promise<T>; called: Promise<AbortSignal> } {
  let resolveCalled!: (signal: AbortSignal) => void;
  const called = new Promise<AbortSignal>((resolve) => (resolveCalled = resolve));
  let calls = 0;
  return {
    called,
    fn: (...args: A) => {
      if (calls++ > 0 && rest !== undefined) return rest(...args);
      const options = args.findLast((a): a is { signal?: AbortSignal } => typeof a === 'object' && a !== null && 'signal' in a);
      const signal = options?.signal ?? new AbortController().signal;
      resolveCalled(signal);
      return new Promise<T>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    },
  };
}
