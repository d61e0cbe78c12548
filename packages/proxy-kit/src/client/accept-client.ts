/**
 * The proxy as a Hytale server to the client: `acceptClient` takes a connection from a listener and
 * plays the server's handler chain up to setup — the first bidi stream, the Connect (its generation,
 * its fields), client auth (development or authenticated), the proxy's own password — with the
 * server's stage timeouts, inactivity check and packet rate limit. What the client is told at every
 * refusal, and how its connection is closed, is what the server does (docs/proxy-kit.md, "Client side").
 *
 * Bad input never escapes as anything but a typed error: the offending client is closed the way the
 * server would close it, the reason is counted, and nothing is shared with any other client but the
 * counters object, the session store and the client auth's key cache.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ReadableStreamReadResult } from 'node:stream/web';
import {
  FRAME_HEADER_SIZE,
  MAX_PACKET_SIZE,
  Registry,
  detectGeneration,
  generations as knownGenerations,
  getGeneration,
  isProtocolError,
  readFrame,
  type Generation,
  type PacketInputs,
  type PacketName,
  type PacketValues,
  type WireFrame,
} from '@handoff/protocol';
import { createCaptureTap, createSessionStore, type CaptureTap, type SessionRecord, type SessionStore } from '@handoff/session';
import { CloseCode, type BidiStream, type CloseInfo, type Connection } from '@handoff/transport';
import { parseClientUuid, type ClientUuid, type Logger } from '@handoff/types';
import type { AcceptedClient } from '../contracts.js';
import { ProxyError, isProxyError, type ProxyErrorCode } from '../errors.js';
import { frameSink, frameSource, type FrameSink, type FrameSource } from '../frames.js';
import { CLIENT_AUTH_CHECKS, CLIENT_SCOPES, type AuthenticatedClientAuth, type ClientAuth, type ClientAuthCheck } from './client-auth.js';
import { systemClientClock, type ClientClock, type ClientClockTimer } from './clock.js';
import { createClientCounters, type ClientCloseReason, type ClientCounters } from './counters.js';

/**
 * A protocol violation closes a Hytale client with the QUIC **transport** error PROTOCOL_VIOLATION
 * (0x0a). The transport contract has application closes only, so the kit closes with application
 * code 10 and this reason instead, the convention of the testkit's simulated backend.
 */
export const PROTOCOL_VIOLATION_CLOSE = Object.freeze({ code: 0x0a, reason: 'PROTOCOL_VIOLATION' });

/**
 * Stage durations of the handshake, in ms. Each is the stage's inactivity timeout (that long without
 * a packet from the client: "Read timeout"), and, for `initial` and the three `auth*` stages that wait
 * on something, its stage timeout as well.
 */
export interface ClientTimeouts {
  /** From the connection to the Connect (default 15 000; G1 10 000). */
  readonly initial: number;
  /** Inactivity while the identity token is checked (default 30 000). */
  readonly auth: number;
  /** Until the AuthGrant is sent: the session service's grant (default 30 000). */
  readonly authGrant: number;
  /** Until the client's AuthToken (default 30 000). */
  readonly authToken: number;
  /** Until the ServerAuthToken is sent: the session service's exchange (default 15 000). */
  readonly authServerExchange: number;
  /** Inactivity while the password challenge is open (default 45 000; G1 30 000). No stage timer, as the server. */
  readonly password: number;
  /** Between the "update your client" Disconnect and the close with code 5 (default 100). */
  readonly outdatedClose: number;
}

/** The server's multiplayer defaults (G2 and G3). */
export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = Object.freeze({
  initial: 15_000,
  auth: 30_000,
  authGrant: 30_000,
  authToken: 30_000,
  authServerExchange: 15_000,
  password: 45_000,
  outdatedClose: 100,
});

/** Where G1 servers differed from {@link DEFAULT_CLIENT_TIMEOUTS}. */
export const G1_CLIENT_TIMEOUTS: Partial<ClientTimeouts> = Object.freeze({ initial: 10_000, password: 30_000 });

/** The packet rate limiter: a token bucket of `burst` packets, refilled at `perSecond`. */
export interface ClientRateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

/** The server's default rate limit. */
export const DEFAULT_CLIENT_RATE_LIMIT: ClientRateLimit = Object.freeze({ burst: 500, perSecond: 2000 });

/** `acceptClient()` options. */
export interface AcceptClientInit {
  /** `noClientAuth()` (development mode) or `sessionServiceAuth({...})`. */
  readonly auth: ClientAuth;
  /**
   * The protocol generations the proxy accepts (`'G3'`, a `Generation`…); default the newest only.
   * Other generations are refused as a server of the newest accepted generation refuses them.
   */
  readonly generations?: readonly (Generation | string)[] | undefined;
  /** The proxy's own server password: every client must answer its challenge. */
  readonly password?: string | undefined;
  /** Where the session record goes (default: a new in-memory store for this client). */
  readonly store?: SessionStore | undefined;
  /** The counters to increment; pass one object to every call (default: a new one, lost with the call). */
  readonly counters?: ClientCounters | undefined;
  /** Stage durations (default the server's, {@link DEFAULT_CLIENT_TIMEOUTS}). */
  readonly timeouts?: Partial<ClientTimeouts> | undefined;
  /** The packet rate limit, or `false` for none (default burst 500, 2000 packets/s). */
  readonly rateLimit?: ClientRateLimit | false | undefined;
  /** The version named in a wrong-generation close (G2+); default the generation's newest build. */
  readonly serverVersion?: string | undefined;
  /** The clock of every timer (tests pass a manual one); default the real clock. */
  readonly clock?: ClientClock | undefined;
  /** One line per accepted or closed client (reason, stage, UUID), debug lines per step. Never a token. */
  readonly logger?: Logger | undefined;
  /** Aborting it ends the handshake: the client is told "Server is shutting down!". */
  readonly signal?: AbortSignal | undefined;
}

type Stage = 'initial' | 'auth' | 'auth:grant' | 'auth:token' | 'auth:server-exchange' | 'password';

const STAGE_TIMEOUT_MESSAGE = 'Either you took too long to login or we took too long to process your request! Retry again in a moment.';
const OUTDATED_MESSAGE = 'Your game client needs to be updated.';
const PASSWORD_ATTEMPTS = 3;
const CHALLENGE_BYTES = 32;
const MAX_REFERRAL_DATA = 4096;
/** A Disconnect that the client does not read cannot hold its close back longer than this (real time). */
const CLOSE_WRITE_LIMIT_MS = 1000;

/** What a read of the client's stream gave: a frame (`null` at its end) or the error. */
type ReadOutcome = { readonly frame: WireFrame | null } | { readonly error: unknown };

/** How the kit closes a client. */
type Close =
  | { readonly kind: 'violation' }
  | { readonly kind: 'app'; readonly code: number; readonly reason?: string }
  | { readonly kind: 'disconnect'; readonly message: string; readonly code: number; readonly delayMs?: number }
  | { readonly kind: 'gone' };

interface Resolved {
  readonly auth: ClientAuth;
  readonly accepted: readonly Generation[];
  readonly listener: Generation;
  readonly refuseOutdatedAlpn: boolean;
  readonly password: string | undefined;
  readonly store: SessionStore;
  readonly counters: ClientCounters;
  readonly timeouts: Partial<ClientTimeouts>;
  readonly rateLimit: ClientRateLimit | undefined;
  readonly serverVersion: string;
  readonly clock: ClientClock;
  readonly logger: Logger | undefined;
  readonly signal: AbortSignal | undefined;
}

function invalid(message: string): ProxyError {
  return new ProxyError('ERR_PROXY_INVALID_ARGUMENT', message);
}

function level(generation: Generation): number {
  return generation.identify.protocolHash !== undefined ? 1 : generation.serverUniStreams.length > 0 ? 3 : 2;
}

function resolve(init: AcceptClientInit): Resolved {
  if (typeof init !== 'object' || init === null) throw invalid('acceptClient needs options ({ auth, … })');
  const auth = init.auth;
  if (typeof auth !== 'object' || auth === null || (auth.mode !== 'development' && auth.mode !== 'authenticated')) {
    throw invalid('auth must be noClientAuth() or sessionServiceAuth({...})');
  }
  if (auth.mode === 'authenticated') {
    for (const step of ['verifyIdentityToken', 'requestAuthGrant', 'verifyAccessToken', 'exchangeServerGrant'] as const) {
      if (typeof (auth as AuthenticatedClientAuth)[step] !== 'function') throw invalid(`an authenticated ClientAuth needs a ${step} function`);
    }
  }
  let accepted: Generation[];
  try {
    accepted = (init.generations ?? [knownGenerations.at(-1)!]).map((g) => (typeof g === 'string' ? getGeneration(g) : g));
  } catch (error) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'generations names an unknown generation', { cause: error });
  }
  if (accepted.length === 0) throw invalid('generations must name at least one generation');
  for (const g of accepted) {
    if (typeof g !== 'object' || g === null || !g.isModelled?.('Connect')) throw invalid('generations must be generations the codec models (G1, G2, G3)');
  }
  accepted = [...new Set(accepted)];
  const order = (g: Generation) => {
    const index = knownGenerations.indexOf(g);
    return index < 0 ? level(g) : index;
  };
  const listener = accepted.reduce((a, b) => (order(b) > order(a) ? b : a));
  const password = init.password;
  if (password !== undefined && typeof password !== 'string') throw invalid('password must be a string');
  const timeouts = init.timeouts ?? {};
  for (const [name, value] of Object.entries(timeouts)) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw invalid(`timeouts.${name} must be a positive number of milliseconds`);
  }
  let rateLimit: ClientRateLimit | undefined;
  if (init.rateLimit !== false) {
    rateLimit = init.rateLimit ?? DEFAULT_CLIENT_RATE_LIMIT;
    if (!Number.isFinite(rateLimit.burst) || rateLimit.burst < 1 || !Number.isFinite(rateLimit.perSecond) || rateLimit.perSecond <= 0) {
      throw invalid('rateLimit needs burst >= 1 and perSecond > 0 (or false for none)');
    }
  }
  const clock = init.clock ?? systemClientClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') throw invalid('clock must have now() and setTimeout()');
  if (init.store !== undefined && typeof init.store?.create !== 'function') throw invalid('store must be a SessionStore (createSessionStore())');
  return {
    auth,
    accepted,
    listener,
    // a listener of G2 or later refuses hytale/1; one that also accepts G1 cannot (G1 clients offer only hytale/1)
    refuseOutdatedAlpn: accepted.every((g) => g.identify.protocolHash === undefined),
    password: password === undefined || password.length === 0 ? undefined : password,
    store: init.store ?? createSessionStore(),
    counters: init.counters ?? createClientCounters(),
    timeouts,
    rateLimit,
    serverVersion: init.serverVersion ?? listener.builds.at(-1) ?? 'unknown',
    clock,
    logger: init.logger,
    signal: init.signal,
  };
}

/**
 * Accepts one client on a connection from a listener, as a Hytale server would, up to the point where
 * the client waits for setup (`WorldSettings`, which the first backend provides through the session).
 *
 * Listen with ALPN `['hytale/2', 'hytale/1']` (so that an outdated client can be told so), a required
 * client certificate (any: it only binds tokens; `clientCertificate: 'required-any'` with
 * `@handoff/transport-quic`) and `maxStreams: { bidi: 1, uni: 0 }`, as the server does.
 *
 * @example
 * ```ts
 * const counters = createClientCounters();
 * for (;;) {
 *   const connection = await listener.accept();
 *   acceptClient(connection, { auth: noClientAuth(), counters, store }).then(
 *     (client) => startSession(client),                    // client.frames, client.sink, client.record
 *     (error) => logger.info({ code: error.code }, 'client refused'), // already closed and counted
 *   );
 * }
 * ```
 * @throws {ProxyError} `ERR_PROXY_CLIENT_*` once the client is closed (the code says why, and the
 * counter of that reason was incremented), `ERR_PROXY_INVALID_ARGUMENT` for bad options (the
 * connection is closed too).
 */
export async function acceptClient(connection: Connection, init: AcceptClientInit): Promise<AcceptedClient> {
  let options: Resolved;
  try {
    options = resolve(init);
  } catch (error) {
    await connection.close({ code: CloseCode.NO_ERROR }).catch(() => {});
    throw error;
  }
  return new ClientHandshake(connection, options).run();
}

/** The bytes of the client's stream after the first frame, followed by the rest of the stream, read on demand. */
function prefixedReadable(leftover: Uint8Array | undefined, reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let first = leftover !== undefined && leftover.length > 0 ? leftover : undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (first !== undefined) {
          controller.enqueue(first);
          first = undefined;
          return;
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function remoteOf(connection: Connection): string {
  const { host, port } = connection.remoteAddress;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Keeps only the name and message of an error a custom `ClientAuth` threw (its cause may hold anything). */
function sanitised(error: unknown): Error {
  if (isProxyError(error)) return error;
  const safe = new Error(error instanceof Error ? error.message : 'client auth failed');
  safe.name = error instanceof Error ? error.name : 'Error';
  return safe;
}

/** One client's handshake, then the guard of its frames. */
class ClientHandshake {
  readonly #conn: Connection;
  readonly #o: Resolved;
  readonly #ops = new AbortController();
  readonly #ended: Promise<never>;
  #rejectEnded!: (error: ProxyError) => void;

  #generation: Generation;
  #stage: Stage = 'initial';
  #stageTimer: ClientClockTimer | undefined;
  #tickTimer: ClientClockTimer | undefined;
  #packetTimeout: number;
  #lastPacketAt: number;
  #tokens: number;
  #tokensAt: number;

  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #sink: FrameSink | undefined;
  #source: FrameSource | undefined;
  #receivedConnect = false;
  #clientUuid: ClientUuid | undefined;
  #record: SessionRecord | undefined;
  #tap: CaptureTap | undefined;
  #accepted = false;
  #failure: ProxyError | undefined;
  #closing: Promise<void> | undefined;
  #forgetAbort: (() => void) | undefined;
  #pendingRead: Promise<ReadOutcome> | undefined;

  constructor(connection: Connection, options: Resolved) {
    this.#conn = connection;
    this.#o = options;
    this.#generation = options.listener;
    this.#ended = new Promise<never>((_, reject) => {
      this.#rejectEnded = reject;
    });
    this.#ended.catch(() => {});
    const now = options.clock.now();
    this.#lastPacketAt = now;
    this.#tokens = options.rateLimit?.burst ?? 0;
    this.#tokensAt = now;
    this.#packetTimeout = this.#timeout('initial');
  }

  // ------------------------------------------------------------------ the handshake

  async run(): Promise<AcceptedClient> {
    const o = this.#o;
    try {
      // InitialPacketHandler.registered0: stage 'initial', until a Connect is handled; the inactivity check runs from the start
      this.#setStageTimer('initial', this.#timeout('initial'));
      this.#armTick();
      void this.#conn.closed.then((info) => this.#onConnectionClosed(info));
      if (o.signal !== undefined) {
        if (o.signal.aborted) this.#onAbort();
        else {
          const onAbort = () => this.#onAbort();
          o.signal.addEventListener('abort', onAbort, { once: true });
          this.#forgetAbort = () => o.signal!.removeEventListener('abort', onAbort);
        }
      }
      const stream = await this.#wait(this.#acceptStream());
      this.#sink = frameSink(stream.writable);
      this.#reader = stream.readable.getReader();
      if (this.#isOutdatedAlpn()) return await this.#refuseOutdated();
      const first = await this.#wait(this.#readFirstFrame());
      const connect = this.#readConnect(first.frame);
      this.#startSource(first.leftover);
      await this.#checkConnect(connect.value, connect.frame);
      const challenge =
        o.auth.mode === 'development'
          ? await this.#acceptDevelopment()
          : await this.#authenticate(o.auth, connect.value as PacketValues['Connect'] & { identityToken: string });
      if (challenge !== null) await this.#password(challenge);
      return this.#accept();
    } catch (error) {
      if (this.#failure === undefined) {
        // a fault of the kit (or a hook), not of the client: the server's ExceptionHandler
        o.logger?.warn?.({ connection: this.#conn.id, err: error instanceof Error ? error.name : 'unknown' }, 'client handshake failed unexpectedly');
        this.#end('internal-error', this.#error('ERR_PROXY_CLIENT_INTERNAL', 'the handshake failed unexpectedly; the client was told "Internal server error!"', 'internal-error', sanitised(error)), {
          kind: 'disconnect',
          message: 'Internal server error!',
          code: level(this.#generation) >= 2 ? CloseCode.TIMEOUT : CloseCode.NO_ERROR,
        });
      }
      await this.#closing;
      if (this.#record !== undefined) o.store.delete(this.#record.id);
      throw this.#failure;
    }
  }

  async #acceptStream(): Promise<BidiStream> {
    let stream;
    try {
      stream = await this.#conn.acceptStream({ signal: this.#ops.signal });
    } catch (error) {
      throw this.#left('the connection ended before the client opened its stream', error);
    }
    if (stream.kind !== 'bidi') {
      // a server allows a client no uni stream; a listener that does gets the violation close
      stream.abort({ code: 0 });
      this.#end('malformed-frame', this.#error('ERR_PROXY_CLIENT_MALFORMED', 'the client opened a unidirectional stream', 'malformed-frame'), { kind: 'violation' });
      throw this.#failure;
    }
    return stream;
  }

  #isOutdatedAlpn(): boolean {
    if (!this.#o.refuseOutdatedAlpn || this.#conn.alpn === undefined) return false;
    const match = /^hytale\/(\d+)$/.exec(this.#conn.alpn);
    return match !== null && Number(match[1]) < 2;
  }

  /** A G2+ server and ALPN `hytale/1`: "Your game client needs to be updated." on the first stream, code 5 a moment later. */
  async #refuseOutdated(): Promise<never> {
    this.#end(
      'outdated-client',
      this.#error('ERR_PROXY_CLIENT_OUTDATED', `the client negotiated ${this.#conn.alpn}: told to update, closed with code 5`, 'outdated-client'),
      { kind: 'disconnect', message: OUTDATED_MESSAGE, code: CloseCode.CLIENT_OUTDATED, delayMs: this.#timeout('outdatedClose') },
    );
    throw this.#failure;
  }

  /**
   * The first frame, read with the listener's registry: it must be a Connect (or a Disconnect). Only
   * its bytes are taken; what follows it is handed on to the generation's frame source.
   */
  async #readFirstFrame(): Promise<{ frame: Uint8Array; leftover: Uint8Array | undefined }> {
    const reader = this.#reader!;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const fill = async (n: number): Promise<boolean> => {
      while (size < n) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          throw this.#left('the connection ended before the Connect', error);
        }
        if (result.done) return false;
        chunks.push(result.value);
        size += result.value.byteLength;
      }
      return true;
    };
    if (!(await fill(FRAME_HEADER_SIZE))) throw this.#streamEnded('before the Connect');
    let bytes = Buffer.concat(chunks, size);
    const length = bytes.readInt32LE(0);
    const id = bytes.readInt32LE(4);
    const listener = this.#o.listener.registry;
    const connectId = listener.byName('Connect')!.id;
    const disconnectId = listener.byName('Disconnect')!.id;
    if (length < 0) throw this.#violation('malformed-frame', `the first frame declares a negative length (${length})`);
    if (length > MAX_PACKET_SIZE) throw this.#violation('oversized-frame', `the first frame declares ${length} bytes`);
    if (id === connectId) {
      const max = Math.max(...this.#o.accepted.map((g) => g.registry.byName('Connect')!.maxSize), listener.byName('Connect')!.maxSize);
      if (length > max) throw this.#violation('oversized-frame', `a Connect of ${length} bytes, over its maximum ${max}`);
    } else {
      const descriptor = listener.byId(id);
      if (descriptor === undefined || !Registry.allows(descriptor, 'ToServer')) throw this.#violation('malformed-frame', `an unknown packet id ${id}`);
      if (length > descriptor.maxSize) throw this.#violation('oversized-frame', `a ${descriptor.name} of ${length} bytes, over its maximum ${descriptor.maxSize}`);
      if (id !== disconnectId) {
        // InitialPacketHandler: any other packet before a Connect closes the connection silently
        this.#end('unexpected-packet', this.#error('ERR_PROXY_CLIENT_UNEXPECTED_PACKET', `the client sent ${descriptor.name} (${id}) before its Connect`, 'unexpected-packet'), {
          kind: 'violation',
        });
        throw this.#failure;
      }
    }
    const total = FRAME_HEADER_SIZE + length;
    if (!(await fill(total))) throw this.#streamEnded('inside its first frame');
    bytes = Buffer.concat(chunks, size);
    this.#admitRate();
    if (id === disconnectId) {
      try {
        this.#o.listener.packet('Disconnect').decodeFrame(readFrame(listener, bytes.subarray(0, total), { direction: 'ToServer' }));
      } catch (error) {
        throw this.#violation('malformed-frame', 'a Disconnect that does not decode', error);
      }
      this.#onClientDisconnect();
      throw this.#failure;
    }
    return { frame: bytes.subarray(0, total), leftover: size > total ? bytes.subarray(total) : undefined };
  }

  /** The generation, the frame and the decoded Connect; a refusal (as the server refuses) for another generation. */
  #readConnect(bytes: Uint8Array): { generation: Generation; frame: WireFrame; value: PacketValues['Connect'] } {
    this.#receivedConnect = true;
    this.#cancelStageTimer(); // InitialPacketHandler.handle(Connect): clearTimeout
    let generation: Generation | undefined;
    try {
      generation = detectGeneration(bytes, { candidates: this.#o.accepted });
    } catch (error) {
      if (!isProtocolError(error, 'ERR_PROTOCOL_UNKNOWN_GENERATION')) throw this.#violation('malformed-frame', 'a Connect too short to name a generation', error);
    }
    // the server decodes the Connect with its own layout before it compares the version
    const codec = generation ?? this.#o.listener;
    let frame: WireFrame;
    let value: PacketValues['Connect'];
    try {
      frame = readFrame(codec.registry, bytes, { direction: 'ToServer' });
    } catch (error) {
      throw this.#violation(isProtocolError(error, 'ERR_PROTOCOL_FRAME_TOO_LARGE') ? 'oversized-frame' : 'malformed-frame', 'an unreadable Connect frame', error);
    }
    try {
      value = codec.packet('Connect').decodeFrame(frame);
    } catch (error) {
      throw this.#violation('malformed-frame', `a Connect that does not decode as ${codec.id}'s`, error);
    }
    if (generation === undefined) throw this.#refuseGeneration(value);
    this.#generation = generation;
    return { generation, frame, value };
  }

  /** G1: the "Incompatible protocol!" Disconnect, then code 0. G2+: no Disconnect; code 5 (older client build) or 6, with the server version. */
  #refuseGeneration(value: PacketValues['Connect']): ProxyError {
    const listener = this.#o.listener;
    const hash = listener.identify.protocolHash;
    if (hash !== undefined) {
      const client = 'protocolHash' in value ? value.protocolHash : '';
      this.#end('wrong-generation', this.#error('ERR_PROXY_CLIENT_WRONG_GENERATION', 'the client sent another protocol hash than the accepted generation', 'wrong-generation'), {
        kind: 'disconnect',
        message: `Incompatible protocol!\nServer: ${hash}\nClient: ${client}`,
        code: CloseCode.NO_ERROR,
      });
    } else {
      const clientBuild = 'protocolBuildNumber' in value ? value.protocolBuildNumber : 0;
      const code = clientBuild < (listener.identify.protocolBuildNumber ?? 0) ? CloseCode.CLIENT_OUTDATED : CloseCode.SERVER_OUTDATED;
      this.#end(
        'wrong-generation',
        this.#error('ERR_PROXY_CLIENT_WRONG_GENERATION', `the client's protocol CRC is not an accepted generation's: closed with code ${code}`, 'wrong-generation'),
        { kind: 'app', code, reason: this.#o.serverVersion },
      );
    }
    return this.#failure!;
  }

  /** From here on the client's frames come from a splitter of its generation (what followed the Connect first). */
  #startSource(leftover: Uint8Array | undefined): void {
    this.#source = frameSource(prefixedReadable(leftover, this.#reader!), this.#generation.registry, { direction: 'ToServer', channel: 'Default' });
  }

  /** InitialPacketHandler.handle(Connect), after the version: the fields, then the auth mode's branch; the record. */
  async #checkConnect(value: PacketValues['Connect'], frame: WireFrame): Promise<void> {
    if (value.username.length === 0) throw this.#refuseConnect('Missing username');
    const referral = value.referralData;
    if (referral !== null && referral.length > MAX_REFERRAL_DATA) throw this.#refuseConnect(`Referral data exceeds maximum size of ${MAX_REFERRAL_DATA} bytes`);
    if (referral !== null && level(this.#generation) >= 2) {
      if (value.referralSource === null) throw this.#refuseConnect('Referral connections must include source server address');
      if (value.referralSource.host.length === 0) throw this.#refuseConnect('Referral source address is invalid');
    }
    const clientUuid = parseClientUuid(value.uuid);
    this.#clientUuid = clientUuid;
    if (this.#o.auth.mode === 'authenticated') {
      const token = value.identityToken;
      if (token === null || token.length === 0) {
        throw this.#disconnect('This server requires authentication!', 'auth-required', this.#error('ERR_PROXY_CLIENT_AUTH_REFUSED', 'the Connect has no identity token and client auth is on', 'auth-required'));
      }
      if (this.#conn.peerCertificates.length === 0) {
        throw this.#disconnect(
          'TCP connections only support insecure authentication. Use QUIC for authenticated connections.',
          'auth-required',
          this.#error('ERR_PROXY_CLIENT_AUTH_REFUSED', 'an authenticated Connect on a transport without a client certificate', 'auth-required'),
        );
      }
      if (value.clientType === 'Editor') throw this.#refuseConnect("Editor isn't supported on this server!");
    }
    // the player's session record: the capture tap takes the Connect (its identity token and referral data as secrets)
    const record = this.#o.store.create();
    this.#record = record;
    const tap = createCaptureTap(record, { generation: this.#generation, ...(this.#o.logger ? { logger: this.#o.logger } : {}) });
    this.#tap = tap;
    const tapped = tap.clientToServer(frame);
    if (tapped?.kind === 'error') throw tapped.error;
    this.#debug('connect', { generation: this.#generation.id, clientType: value.clientType, referral: referral !== null });
  }

  /** The insecure path: ConnectAccept (with the password challenge, if any). */
  async #acceptDevelopment(): Promise<Uint8Array | null> {
    const challenge = this.#challenge();
    await this.#send('ConnectAccept', { passwordChallenge: challenge });
    return challenge;
  }

  /** AuthenticationPacketHandler / HandshakeHandler: identity, AuthGrant, AuthToken, exchange, ServerAuthToken. */
  async #authenticate(auth: AuthenticatedClientAuth, connect: PacketValues['Connect'] & { identityToken: string }): Promise<Uint8Array | null> {
    const clientUuid = this.#clientUuid!;
    const signal = this.#ops.signal;
    this.#enterStage('auth', this.#timeout('auth'));
    try {
      await this.#during(auth.verifyIdentityToken(connect.identityToken, { clientUuid, clientType: connect.clientType }, { signal }), 'requesting');
    } catch (error) {
      throw this.#authFailed(error, 'identity', connect.clientType);
    }
    this.#enterStage('auth:grant', this.#timeout('authGrant'), true);
    let grant: { readonly authorizationGrant: string; readonly serverIdentityToken: string };
    try {
      grant = await this.#during(auth.requestAuthGrant({ identityToken: connect.identityToken, clientUuid }, { signal }), 'requesting');
    } catch (error) {
      throw this.#authFailed(error, 'grant', connect.clientType);
    }
    this.#cancelStageTimer();
    await this.#send('AuthGrant', { authorizationGrant: grant.authorizationGrant, serverIdentityToken: grant.serverIdentityToken });
    this.#enterStage('auth:token', this.#timeout('authToken'), true);
    const frame = await this.#nextFrame();
    if (frame.descriptor.name !== 'AuthToken') throw this.#strayFrame(frame, 'awaiting');
    this.#cancelStageTimer();
    const token = this.#decode('AuthToken', frame);
    const accessToken = token.accessToken;
    if (accessToken === null || accessToken.length === 0) {
      throw this.#disconnect('Invalid access token', 'access-refused', this.#error('ERR_PROXY_CLIENT_AUTH_REFUSED', 'the AuthToken carried no access token', 'access-invalid'));
    }
    try {
      await this.#during(
        auth.verifyAccessToken(accessToken, { clientUuid, username: connect.username, certificateFingerprint: this.#conn.peerCertificateFingerprint ?? '' }, { signal }),
        'processing',
      );
    } catch (error) {
      throw this.#authFailed(error, 'access', connect.clientType);
    }
    const serverGrant = token.serverAuthorizationGrant;
    if (serverGrant === null || serverGrant.length === 0) {
      throw this.#disconnect(
        'Mutual authentication required - please update your client',
        'mutual-auth-required',
        this.#error('ERR_PROXY_CLIENT_AUTH_REFUSED', 'the AuthToken carried no server authorization grant', 'mutual-auth-required'),
      );
    }
    this.#enterStage('auth:server-exchange', this.#timeout('authServerExchange'), true);
    let serverAccessToken: string;
    try {
      serverAccessToken = await this.#during(auth.exchangeServerGrant(serverGrant, { signal }), 'processing');
    } catch (error) {
      throw this.#authFailed(error, 'exchange', connect.clientType);
    }
    const challenge = this.#challenge();
    await this.#send('ServerAuthToken', { serverAccessToken, passwordChallenge: challenge });
    this.#cancelStageTimer();
    this.#debug('authenticated', {});
    return challenge;
  }

  /** PasswordPacketHandler: three attempts; no stage timer (the server arms none here), only the inactivity check. */
  async #password(first: Uint8Array): Promise<void> {
    const password = this.#o.password!;
    let challenge = first;
    let attemptsRemaining = PASSWORD_ATTEMPTS;
    this.#enterStage('password', this.#timeout('password'));
    for (;;) {
      const frame = await this.#nextFrame();
      if (frame.descriptor.name !== 'PasswordResponse') throw this.#strayFrame(frame, 'password');
      const hash = this.#decode('PasswordResponse', frame).hash;
      if (hash === null || hash.length === 0) {
        throw this.#disconnect('Invalid password response', 'password-rejected', this.#error('ERR_PROXY_CLIENT_PASSWORD_REJECTED', 'an empty password response', 'password-rejected'));
      }
      const expected = createHash('sha256').update(challenge).update(password, 'utf8').digest();
      if (hash.length === expected.length && timingSafeEqual(hash, expected)) {
        await this.#send('PasswordAccepted', {});
        return;
      }
      attemptsRemaining--;
      this.#debug('password rejected', { attemptsRemaining });
      if (attemptsRemaining <= 0) {
        throw this.#disconnect('Too many failed password attempts', 'password-rejected', this.#error('ERR_PROXY_CLIENT_PASSWORD_REJECTED', 'three wrong password answers', 'password-rejected'));
      }
      challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES));
      await this.#send('PasswordRejected', { newChallenge: challenge, attemptsRemaining });
    }
  }

  #challenge(): Uint8Array | null {
    return this.#o.password === undefined ? null : new Uint8Array(randomBytes(CHALLENGE_BYTES));
  }

  #accept(): AcceptedClient {
    this.#clearTimers();
    this.#accepted = true;
    this.#o.counters.accepted++;
    this.#o.logger?.info?.({ connection: this.#conn.id, remote: remoteOf(this.#conn), clientUuid: this.#clientUuid, generation: this.#generation.id }, 'client accepted');
    const inner = this.#source!;
    const frames: FrameSource = {
      get atBoundary() {
        return inner.atBoundary;
      },
      next: (options) => this.#nextForSession(inner, options),
      cancel: (reason) => inner.cancel(reason),
    };
    const record = this.#record!;
    const connection = this.#conn;
    return Object.freeze({
      connection,
      generation: this.#generation,
      clientUuid: this.#clientUuid!,
      username: record.connect!.username,
      authenticated: this.#o.auth.mode === 'authenticated',
      record,
      tap: this.#tap!,
      certificateFingerprint: connection.peerCertificateFingerprint,
      frames,
      sink: this.#sink!,
      disconnect: (reason: string) => this.#kick(reason),
    });
  }

  // ------------------------------------------------------------------ frames

  /**
   * A read of the client's next frame: the one left outstanding by {@link #during} if there is one
   * (so a frame that arrived as a step finished is not lost), else a new one. Never rejects.
   */
  #read(): Promise<ReadOutcome> {
    const pending = this.#pendingRead;
    this.#pendingRead = undefined;
    return (
      pending ??
      this.#source!.next({ signal: this.#ops.signal }).then(
        (frame): ReadOutcome => ({ frame }),
        (error: unknown): ReadOutcome => ({ error }),
      )
    );
  }

  /** The next client frame of the handshake (rate-limited, tapped); bad input ends the handshake. */
  async #nextFrame(): Promise<WireFrame> {
    const read = await this.#wait(this.#read());
    if ('error' in read) throw this.#readFailed(read.error);
    if (read.frame === null) throw this.#streamEnded(`in stage ${this.#stage}`);
    this.#admit(read.frame);
    return read.frame;
  }

  /** Waits for `operation` while frames keep arriving: a frame meanwhile is handled as the stage's handler would (it ends the handshake). */
  async #during<T>(operation: Promise<T>, state: 'requesting' | 'processing'): Promise<T> {
    operation.catch(() => {});
    const read = this.#read();
    const result = await this.#wait(Promise.race([operation.then((value) => ({ value })), read]));
    if ('value' in result) {
      // the read stays outstanding for whoever reads next: whatever it brings is not lost
      this.#pendingRead = read;
      return result.value;
    }
    if ('error' in result) throw this.#readFailed(result.error);
    if (result.frame === null) throw this.#streamEnded(`in stage ${this.#stage}`);
    this.#admit(result.frame);
    throw this.#strayFrame(result.frame, state);
  }

  /** The frames after the handshake: the same rate limit, and bad bytes close the client as a protocol violation. */
  async #nextForSession(inner: FrameSource, options?: { readonly signal?: AbortSignal | undefined }): Promise<WireFrame | null> {
    if (this.#failure !== undefined) {
      await this.#closing;
      throw this.#failure;
    }
    let frame: WireFrame | null;
    const pending = this.#pendingRead;
    if (pending !== undefined) {
      // the handshake's outstanding read comes first; an aborted wait leaves it in place
      const signal = options?.signal;
      signal?.throwIfAborted();
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => {});
      let read: ReadOutcome;
      try {
        read = await Promise.race([pending, aborted]);
      } finally {
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      }
      this.#pendingRead = undefined;
      if ('error' in read) return this.#sessionReadFailed(read.error, options);
      frame = read.frame;
    } else {
      try {
        frame = await inner.next(options);
      } catch (error) {
        return this.#sessionReadFailed(error, options);
      }
    }
    if (frame !== null && this.#rateLimited()) {
      this.#endRateLimited();
      await this.#closing;
      throw this.#failure;
    }
    return frame;
  }

  async #sessionReadFailed(error: unknown, options?: { readonly signal?: AbortSignal | undefined }): Promise<never> {
    if (options?.signal?.aborted && error === options.signal.reason) throw error;
    if (this.#failure !== undefined || isProtocolError(error)) {
      if (this.#failure === undefined) this.#readFailed(error, true);
      await this.#closing;
      throw this.#failure;
    }
    throw error; // the transport's: the connection ended (not bad input)
  }

  /** A client frame arrived: the rate limit, the inactivity clock, the tap. */
  #admit(frame: WireFrame): void {
    this.#admitRate();
    const tapped = this.#tap?.clientToServer(frame);
    if (tapped?.kind === 'error') this.#o.logger?.debug?.({ connection: this.#conn.id, code: tapped.error.code }, 'capture tap could not read a handshake frame');
  }

  #admitRate(): void {
    this.#lastPacketAt = this.#o.clock.now();
    if (this.#rateLimited()) {
      this.#endRateLimited();
      throw this.#failure;
    }
  }

  /** RateLimitHandler: a token bucket; out of tokens → close with code 1. */
  #rateLimited(): boolean {
    const limit = this.#o.rateLimit;
    if (limit === undefined) return false;
    const now = this.#o.clock.now();
    this.#tokens = Math.min(limit.burst, this.#tokens + ((now - this.#tokensAt) * limit.perSecond) / 1000);
    this.#tokensAt = now;
    if (this.#tokens < 1) return true;
    this.#tokens -= 1;
    return false;
  }

  #endRateLimited(): void {
    const limit = this.#o.rateLimit!;
    this.#end(
      'rate-limited',
      this.#error('ERR_PROXY_CLIENT_RATE_LIMITED', `the client sent more than ${limit.burst} packets at once or ${limit.perSecond} per second: closed with code 1`, 'rate-limited'),
      { kind: 'app', code: CloseCode.RATE_LIMITED },
    );
  }

  /** A read of the client's stream failed: bad bytes, the stream ended inside a frame, or the connection ended. */
  #readFailed(error: unknown, afterHandshake = false): ProxyError {
    if (this.#failure !== undefined) return this.#failure;
    if (isProtocolError(error)) {
      if (error.code === 'ERR_PROTOCOL_TRUNCATED' && !afterHandshake) return this.#streamEnded('inside a frame');
      return this.#violation(error.code === 'ERR_PROTOCOL_FRAME_TOO_LARGE' ? 'oversized-frame' : 'malformed-frame', 'a frame the codec refuses', error);
    }
    return this.#left('the connection ended', error);
  }

  /** A packet the stage does not take (the handler's `accept`): Disconnect from the client, or "Protocol error: …". */
  #strayFrame(frame: WireFrame, state: 'requesting' | 'awaiting' | 'processing' | 'password'): ProxyError {
    const name = frame.descriptor.name;
    if (name === 'Disconnect') {
      this.#decode('Disconnect', frame);
      this.#onClientDisconnect();
      return this.#failure!;
    }
    const message = name === 'AuthToken' && state !== 'awaiting' && state !== 'password' ? 'Protocol error: unexpected AuthToken packet' : `Protocol error: unexpected packet ${frame.id}`;
    return this.#disconnect(message, 'unexpected-packet', this.#error('ERR_PROXY_CLIENT_UNEXPECTED_PACKET', `the client sent ${name} (${frame.id}) in stage ${this.#stage}`, 'unexpected-packet'));
  }

  #decode<N extends PacketName>(name: N, frame: WireFrame): PacketValues[N] {
    try {
      return this.#generation.packet(name).decodeFrame(frame);
    } catch (error) {
      throw this.#violation('malformed-frame', `a ${name} that does not decode`, error);
    }
  }

  /** Encodes, taps and writes a packet to the client. */
  async #send<N extends PacketName>(name: N, value: PacketInputs[N]): Promise<void> {
    const bytes = this.#generation.packet(name).encodeFrame(value);
    this.#tap?.serverToClient(readFrame(this.#generation.registry, bytes));
    try {
      await this.#wait(this.#sink!.write(bytes));
    } catch (error) {
      throw this.#failure ?? this.#left('the stream ended under a write', error);
    }
  }

  // ------------------------------------------------------------------ stages and timers

  #timeout(name: keyof ClientTimeouts): number {
    const given = this.#o.timeouts[name];
    if (given !== undefined) return given;
    return (level(this.#generation) === 1 ? G1_CLIENT_TIMEOUTS[name] : undefined) ?? DEFAULT_CLIENT_TIMEOUTS[name];
  }

  /** `enterStage`/`continueStage`: the stage's inactivity timeout, and its stage timer when the server arms one. */
  #enterStage(stage: Stage, ms: number, withStageTimer = false): void {
    this.#stage = stage;
    this.#packetTimeout = ms;
    if (withStageTimer) this.#setStageTimer(stage, ms);
    else this.#cancelStageTimer();
    this.#debug('stage', { stage });
  }

  #setStageTimer(stage: Stage, ms: number): void {
    this.#cancelStageTimer();
    this.#stageTimer = this.#o.clock.setTimeout(() => {
      this.#stageTimer = undefined;
      if (this.#failure !== undefined || this.#accepted) return;
      this.#disconnect(STAGE_TIMEOUT_MESSAGE, 'stage-timeout', this.#error('ERR_PROXY_CLIENT_TIMEOUT', `stage ${stage} did not finish within ${ms} ms`, stage));
    }, ms);
  }

  #cancelStageTimer(): void {
    this.#stageTimer?.cancel();
    this.#stageTimer = undefined;
  }

  /** PacketDecoder's check, every second: the stage's duration without a packet from the client → "Read timeout". */
  #armTick(): void {
    this.#tickTimer = this.#o.clock.setTimeout(() => {
      this.#tickTimer = undefined;
      if (this.#failure !== undefined || this.#accepted) return;
      if (this.#o.clock.now() - this.#lastPacketAt >= this.#packetTimeout) {
        this.#end(
          'read-timeout',
          this.#error('ERR_PROXY_CLIENT_TIMEOUT', `the client sent nothing for ${this.#packetTimeout} ms in stage ${this.#stage}`, this.#stage),
          { kind: 'disconnect', message: 'Read timeout', code: level(this.#generation) >= 2 ? CloseCode.TIMEOUT : CloseCode.NO_ERROR },
        );
        return;
      }
      this.#armTick();
    }, 1000);
  }

  #clearTimers(): void {
    this.#forgetAbort?.();
    this.#forgetAbort = undefined;
    this.#cancelStageTimer();
    this.#tickTimer?.cancel();
    this.#tickTimer = undefined;
  }

  // ------------------------------------------------------------------ endings

  #error(code: ProxyErrorCode, detail: string, reason: string, cause?: unknown): ProxyError {
    return new ProxyError(code, `client ${remoteOf(this.#conn)}: ${detail}`, { reason, ...(cause === undefined ? {} : { cause }) });
  }

  /** `PacketHandler.disconnect`: Disconnect(message) then code 0; before any Connect, the silent close. */
  #disconnect(message: string, reason: ClientCloseReason, error: ProxyError): ProxyError {
    this.#end(reason, error, this.#receivedConnect ? { kind: 'disconnect', message, code: CloseCode.NO_ERROR } : { kind: 'violation' });
    return this.#failure!;
  }

  #refuseConnect(message: string): ProxyError {
    return this.#disconnect(message, 'invalid-connect', this.#error('ERR_PROXY_CLIENT_INVALID_CONNECT', `the Connect was refused: ${message}`, 'invalid-connect'));
  }

  /** The server's closeConnection: nothing sent, the protocol-violation close. */
  #violation(reason: 'malformed-frame' | 'oversized-frame', detail: string, cause?: unknown): ProxyError {
    const code = reason === 'oversized-frame' ? 'ERR_PROXY_CLIENT_OVERSIZED' : 'ERR_PROXY_CLIENT_MALFORMED';
    this.#end(reason, this.#error(code, `${detail}: closed as a protocol violation`, reason, cause), { kind: 'violation' });
    return this.#failure!;
  }

  /** The client's Disconnect: the server closes with code 0. */
  #onClientDisconnect(): void {
    this.#end('client-left', this.#error('ERR_PROXY_CLIENT_LEFT', `the client sent Disconnect in stage ${this.#stage}`, 'disconnect'), { kind: 'app', code: CloseCode.NO_ERROR });
  }

  /** The client finished its stream: the server's channel goes inactive and the connection closes. */
  #streamEnded(where: string): ProxyError {
    this.#end('client-left', this.#error('ERR_PROXY_CLIENT_LEFT', `the client ended its stream ${where}`, 'stream-ended'), { kind: 'app', code: CloseCode.NO_ERROR });
    return this.#failure!;
  }

  #left(detail: string, cause: unknown): ProxyError {
    if (this.#failure !== undefined) return this.#failure;
    this.#end('client-left', this.#error('ERR_PROXY_CLIENT_LEFT', detail, 'connection-ended', cause instanceof Error ? sanitised(cause) : undefined), { kind: 'gone' });
    return this.#failure!;
  }

  #onConnectionClosed(info: CloseInfo): void {
    if (this.#accepted || this.#failure !== undefined) return;
    const how = info.error !== undefined ? info.error.code : `closed by the ${info.initiator === 'remote' ? 'client' : 'transport'}${info.code === undefined ? '' : ` with code ${info.code}`}`;
    this.#end('client-left', this.#error('ERR_PROXY_CLIENT_LEFT', `the connection ended during stage ${this.#stage} (${how})`, 'connection-ended'), { kind: 'gone' });
  }

  #onAbort(): void {
    if (this.#accepted || this.#failure !== undefined) return;
    this.#disconnect('Server is shutting down!', 'aborted', this.#error('ERR_PROXY_CLIENT_ABORTED', `the proxy aborted the handshake in stage ${this.#stage}`, 'aborted', this.#o.signal?.reason));
  }

  /** A client-auth step failed: the server's reason for that check, the counter of its kind. */
  #authFailed(error: unknown, step: 'identity' | 'grant' | 'access' | 'exchange', clientType: 'Game' | 'Editor'): ProxyError {
    if (this.#failure !== undefined) return this.#failure;
    const fallback: Record<typeof step, ClientAuthCheck> = { identity: 'identity-invalid', grant: 'grant-failed', access: 'access-invalid', exchange: 'exchange-failed' };
    const given = isProxyError(error) ? (error.reason as ClientAuthCheck | undefined) : undefined;
    const check = given !== undefined && CLIENT_AUTH_CHECKS.includes(given) ? given : fallback[step];
    const table: Record<ClientAuthCheck, readonly [message: string, reason: ClientCloseReason]> = {
      'identity-invalid': ['Invalid or expired identity token', 'identity-refused'],
      'identity-subject': ['Invalid identity token: UUID mismatch', 'identity-refused'],
      'identity-scope': [`Invalid identity token: missing ${CLIENT_SCOPES[clientType]} scope`, 'identity-refused'],
      'access-invalid': ['Invalid access token', 'access-refused'],
      'access-subject': ['Invalid token claims: UUID mismatch', 'access-refused'],
      'access-username-missing': ['Invalid token claims: missing username', 'access-refused'],
      'access-username': ['Invalid token claims: username mismatch', 'access-refused'],
      // the server's validator cannot tell missing keys from a bad token: the client is told the token is invalid
      'keys-unavailable': [step === 'identity' ? 'Invalid or expired identity token' : 'Invalid access token', 'session-service'],
      'grant-failed': ['Failed to obtain authorization grant from session service', 'session-service'],
      'exchange-failed': ['Server authentication failed - please try again later', 'session-service'],
      'server-identity-unavailable': ['Server authentication unavailable - please try again later', 'session-service'],
    };
    const [message, reason] = table[check];
    const code: ProxyErrorCode = reason === 'session-service' ? 'ERR_PROXY_CLIENT_SESSION_SERVICE' : 'ERR_PROXY_CLIENT_AUTH_REFUSED';
    const detail = isProxyError(error) ? error.message : `client auth failed (${step})`;
    return this.#disconnect(message, reason, this.#error(code, `${detail}; the client was told "${message}"`, check, sanitised(error)));
  }

  /**
   * Ends the client once: counts the reason, stops the timers and every pending step, rejects the
   * waits, and closes the connection as `close` says.
   */
  #end(reason: ClientCloseReason, error: ProxyError, close: Close): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#o.counters.closed[reason]++;
    this.#clearTimers();
    this.#ops.abort(error);
    this.#rejectEnded(error);
    this.#o.logger?.info?.(
      { connection: this.#conn.id, remote: remoteOf(this.#conn), reason, code: error.code, stage: this.#stage, ...(this.#clientUuid ? { clientUuid: this.#clientUuid } : {}) },
      this.#accepted ? 'client closed' : 'client refused',
    );
    this.#closing = this.#close(close);
  }

  async #close(close: Close): Promise<void> {
    try {
      if (close.kind === 'disconnect' && this.#sink !== undefined) {
        const bytes = this.#generation.packet('Disconnect').encodeFrame({ reason: close.message, type: 'Disconnect' });
        let limit: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#sink.write(bytes).catch(() => {}),
          new Promise<void>((resolve) => {
            limit = setTimeout(resolve, CLOSE_WRITE_LIMIT_MS);
            limit.unref?.();
          }),
        ]);
        clearTimeout(limit);
        const delay = close.delayMs;
        if (delay !== undefined) await new Promise<void>((resolve) => this.#o.clock.setTimeout(resolve, delay));
      }
      const options =
        close.kind === 'violation'
          ? PROTOCOL_VIOLATION_CLOSE
          : close.kind === 'gone'
            ? { code: CloseCode.NO_ERROR }
            : { code: close.code, ...(close.kind === 'app' && close.reason !== undefined ? { reason: close.reason } : {}) };
      await this.#conn.close(options);
    } catch {
      // already closed
    } finally {
      if (this.#source !== undefined) await this.#source.cancel().catch(() => {});
      else await this.#reader?.cancel().catch(() => {});
    }
  }

  /** The proxy disconnects an accepted client (the server's kick): Disconnect(reason), then code 0. Counts nothing. */
  async #kick(reason: string): Promise<void> {
    if (this.#closing === undefined) {
      this.#failure ??= new ProxyError('ERR_PROXY_CLOSED', `client ${remoteOf(this.#conn)}: the proxy disconnected it`, { reason: 'disconnected' });
      this.#clearTimers();
      this.#ops.abort(this.#failure);
      this.#closing = this.#close({ kind: 'disconnect', message: reason, code: CloseCode.NO_ERROR });
    }
    await this.#closing;
  }

  async #wait<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => {});
    return Promise.race([promise, this.#ended]);
  }

  #debug(message: string, fields: Record<string, unknown>): void {
    this.#o.logger?.debug?.({ connection: this.#conn.id, ...(this.#clientUuid ? { clientUuid: this.#clientUuid } : {}), ...fields }, message);
  }
}
