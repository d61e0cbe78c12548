/**
 * A small scripted Hytale server over real loopback QUIC, for the strict client's tests: the test
 * drives it step by step (expect a packet, send a packet), and it can be told to commit the faults a
 * broken proxy commits, so each of the client's checks is proven able to fail.
 *
 * What it "delivers" is its own log of what the client sent, split into named backends by a delivery
 * policy: the default delivers each frame once to the current backend; a broken policy loses a frame,
 * delivers it twice, or to two backends.
 */
import {
  FrameSplitter,
  getGeneration,
  type Generation,
  type PacketInputs,
  type PacketName,
  type PacketValues,
  type WireFrame,
} from '@handoff/protocol';
import type { BidiStream, Connection, Listener, SendStream } from '@handoff/transport';
import { createSelfSignedCertificate, quic, type CertificateWithKey } from '@handoff/transport-quic';
import { parseBackendId } from '@handoff/types';
import {
  frameDigest,
  sessionServiceClient,
  verifyAccessToken,
  verifyIdentityToken,
  type DeliveryLog,
  type ServerCredentials,
  type SessionService,
} from '@handoff/testkit';

/** How the scripted server plays the server side of authentication. */
export interface ScriptedAuth {
  readonly service: SessionService;
  readonly server: ServerCredentials;
  /** The fingerprint its own access token is bound to (default: its real certificate's). */
  readonly serverCertificateFingerprint?: string;
}

/** Where a received frame is delivered: the backends whose logs get it (once per entry; `[]` loses it). */
export type DeliveryPolicy = (frame: ReceivedFrame, current: string) => readonly string[];

export interface ReceivedFrame {
  /** 0, 1, 2… in arrival order. */
  readonly index: number;
  readonly name: string;
  readonly id: number;
  readonly bytes: Uint8Array;
}

let certificate: Promise<CertificateWithKey> | undefined;

function serverCertificate(): Promise<CertificateWithKey> {
  certificate ??= createSelfSignedCertificate({ commonName: 'localhost', usage: 'server' });
  return certificate;
}

/** One connection of the scripted server, driven by the test. */
export class ScriptedPeer {
  readonly connection: Connection;
  readonly generation: Generation;
  readonly received: ReceivedFrame[] = [];
  /** Every token and grant this peer handled in an authenticated join (for the secrets test). */
  readonly secrets: string[] = [];
  /** Resolves once the client ended its stream (after which the peer closes the connection). */
  readonly ended: Promise<void>;
  #stream!: BidiStream;
  #writer!: WritableStreamDefaultWriter<Uint8Array>;
  readonly #uni = new Map<string, WritableStreamDefaultWriter<Uint8Array>>();
  #cursor = 0;
  #waiters: (() => void)[] = [];
  #current = 'A';
  readonly #logs = new Map<string, { worldUuid?: string; packets: { id: number; digest: string }[] }>();
  #policy: DeliveryPolicy = (_frame, current) => [current];
  #endedResolve!: () => void;

  constructor(connection: Connection, generation: Generation) {
    this.connection = connection;
    this.generation = generation;
    this.ended = new Promise((resolve) => {
      this.#endedResolve = resolve;
    });
  }

  /** @internal */
  async start(): Promise<void> {
    const stream = await this.connection.acceptStream();
    if (stream.kind !== 'bidi') throw new Error('the client opened a uni stream');
    this.#stream = stream;
    this.#writer = stream.writable.getWriter();
    void this.#read();
  }

  async #read(): Promise<void> {
    const splitter = new FrameSplitter(this.generation.registry, { direction: 'ToServer' });
    const reader = this.#stream.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of splitter.push(value)) this.#onFrame(frame);
      }
    } catch {
      // the connection ended
    }
    this.#endedResolve();
    this.#wake();
    // a server closes the connection once the client's stream has ended
    await this.connection.close({ code: 0, reason: 'Client left' }).catch(() => {});
  }

  #onFrame(frame: WireFrame): void {
    const received: ReceivedFrame = { index: this.received.length, name: frame.descriptor.name, id: frame.id, bytes: frame.bytes.slice() };
    this.received.push(received);
    for (const backend of this.#policy(received, this.#current)) this.#log(backend).packets.push({ id: received.id, digest: frameDigest(received.bytes) });
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  #log(backend: string): { worldUuid?: string; packets: { id: number; digest: string }[] } {
    let log = this.#logs.get(backend);
    if (!log) {
      log = { packets: [] };
      this.#logs.set(backend, log);
    }
    return log;
  }

  /** The frames go to `backend` from now on (a migration's cut-over); `worldUuid` is its world. */
  deliverTo(backend: string, worldUuid?: string): void {
    this.#current = backend;
    if (worldUuid !== undefined) this.#log(backend).worldUuid = worldUuid;
  }

  /** A broken forwarding policy from now on. */
  setPolicy(policy: DeliveryPolicy): void {
    this.#policy = policy;
  }

  /** The logs, as the client's accounting takes them. */
  logs(): DeliveryLog[] {
    return [...this.#logs].map(([backend, log]) => ({ backend: parseBackendId(backend), worldUuid: log.worldUuid, packets: [...log.packets] }));
  }

  /** Resolves once `check` holds (checked at every frame and at the end of the client's stream). */
  async until(check: () => boolean): Promise<void> {
    let ended = false;
    void this.ended.then(() => {
      ended = true;
    });
    while (!check()) {
      if (ended) throw new Error('the client ended its stream first');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The next frame named `name` after the previous expectation (earlier other frames are skipped). */
  async expect<N extends PacketName>(name: N): Promise<PacketValues[N]> {
    let found: ReceivedFrame | undefined;
    await this.until(() => {
      found = this.received.slice(this.#cursor).find((f) => f.name === name);
      return found !== undefined;
    });
    this.#cursor = found!.index + 1;
    return this.generation.packet(name).decodeFrame(found!.bytes);
  }

  /** Waits until `count` frames named `name` arrived in all. */
  async receivedCount(name: string, count: number): Promise<void> {
    await this.until(() => this.received.filter((f) => f.name === name).length >= count);
  }

  /** Sends a modelled packet on the Default stream (or on a uni channel with `channel`). */
  send<N extends PacketName>(name: N, value: PacketInputs[N], channel?: string): void {
    this.sendFrame(this.generation.packet(name).encodeFrame(value), channel);
  }

  sendFrame(frame: Uint8Array, channel?: string): void {
    const writer = channel === undefined || channel === 'Default' ? this.#writer : this.#uni.get(channel);
    if (!writer) throw new Error(`no ${channel} stream open`);
    void writer.write(frame).catch(() => {});
  }

  /** G3: opens the server uni streams (Chunks, then WorldMap). */
  async openUniStreams(): Promise<void> {
    for (const channel of this.generation.serverUniStreams) {
      const stream: SendStream = await this.connection.openStream({ kind: 'uni', channel });
      this.#uni.set(channel, stream.writable.getWriter());
    }
  }

  /**
   * The standard development join, as the server runs it: Connect → ConnectAccept → WorldSettings +
   * ServerInfo → RequestAssets → WorldLoadFinished → ViewRadius + PlayerOptions → (G3 uni streams) →
   * JoinWorld(clearWorld=false) → ClientReady → SetClientId.
   */
  async playJoin(worldUuid: string, clientId = 1): Promise<PacketValues['Connect']> {
    const connect = await this.expect('Connect');
    this.send('ConnectAccept', { passwordChallenge: null });
    await this.setup(worldUuid, clientId, false);
    return connect;
  }

  /**
   * The authenticated join, as the server runs it (identity token checked at Connect, AuthGrant,
   * access token and its certificate binding checked at AuthToken, the server's own token fetched,
   * ServerAuthToken), then setup. A refused token ends in Disconnect, and the error is returned.
   */
  async playAuthenticatedJoin(auth: ScriptedAuth, worldUuid: string, certificateFingerprint: string): Promise<unknown> {
    const { service, server } = auth;
    const sessions = sessionServiceClient({ url: service.url });
    const connect = await this.expect('Connect');
    try {
      await verifyIdentityToken(connect.identityToken, { jwks: service.jwksUrl, clientUuid: connect.uuid });
      const authorizationGrant = await sessions.requestAuthGrant({
        identityToken: connect.identityToken!,
        audience: server.audience,
        sessionToken: server.sessionToken,
      });
      this.send('AuthGrant', { authorizationGrant, serverIdentityToken: server.identityToken });
      const token = await this.expect('AuthToken');
      this.secrets.push(connect.identityToken!, authorizationGrant, server.identityToken);
      for (const secret of [token.accessToken, token.serverAuthorizationGrant]) if (secret) this.secrets.push(secret);
      await verifyAccessToken(token.accessToken, {
        jwks: service.jwksUrl,
        audience: server.audience,
        certificateFingerprint: this.connection.peerCertificateFingerprint!,
        clientUuid: connect.uuid,
        username: connect.username,
      });
      const serverAccessToken = await sessions.exchangeAuthGrant({
        authorizationGrant: token.serverAuthorizationGrant!,
        certificateFingerprint: auth.serverCertificateFingerprint ?? certificateFingerprint,
        sessionToken: server.sessionToken,
      });
      this.secrets.push(serverAccessToken);
      this.send('ServerAuthToken', { serverAccessToken, passwordChallenge: null });
    } catch (error) {
      this.send('Disconnect', { reason: 'Failed to authenticate', type: 'Disconnect' });
      return error;
    }
    await this.setup(worldUuid, 1, false);
    return undefined;
  }

  /** Setup and world entry, from WorldSettings on. */
  async setup(
    worldUuid: string,
    clientId: number,
    clearWorld: boolean,
    requiredAssets: readonly { hash: string; name: string }[] = [],
  ): Promise<PacketValues['RequestAssets']> {
    this.send('WorldSettings', { worldHeight: 320, requiredAssets: [...requiredAssets] });
    this.send('ServerInfo', { serverName: 'scripted', motd: 'a scripted server', maxPlayers: 10 });
    const request = await this.expect('RequestAssets');
    this.send('WorldLoadFinished', {});
    await this.expect('PlayerOptions');
    if (this.generation.serverUniStreams.length > 0) await this.openUniStreams();
    await this.enterWorld(worldUuid, clientId, clearWorld);
    return request;
  }

  /** JoinWorld → (ClientReady) → SetClientId. */
  async enterWorld(worldUuid: string, clientId: number, clearWorld: boolean): Promise<void> {
    this.send('JoinWorld', { clearWorld, fadeInOut: clearWorld, worldUuid });
    await this.expect('ClientReady');
    this.send('SetClientId', { clientId });
  }

  /** A Ping (id) as the server sends it every second in play. */
  ping(id: number): void {
    this.send('Ping', { id, time: { seconds: 1_767_225_600n + BigInt(id), nanos: 0 }, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 });
  }

  async close(): Promise<void> {
    await this.connection.close({ code: 0, reason: 'bye' }).catch(() => {});
  }
}

/** A scripted server: a QUIC listener whose connections the test drives. */
export interface ScriptedServer {
  readonly address: { host: string; port: number };
  readonly certificateFingerprint: string;
  /** The next connection, started. */
  accept(): Promise<ScriptedPeer>;
  close(): Promise<void>;
}

export async function scriptedServer(options: { readonly generation?: string } = {}): Promise<ScriptedServer> {
  const generation = getGeneration(options.generation ?? 'G3');
  const cert = await serverCertificate();
  const listener: Listener = await quic().listen({
    address: { host: '127.0.0.1', port: 0 },
    alpn: [...generation.alpn],
    certificate: cert,
    clientCertificate: 'required-any',
    idleTimeout: 10_000,
    maxStreams: { bidi: 1, uni: 0 },
  });
  const peers: ScriptedPeer[] = [];
  return {
    address: listener.address,
    certificateFingerprint: cert.fingerprint,
    async accept() {
      const peer = new ScriptedPeer(await listener.accept(), generation);
      peers.push(peer);
      await peer.start();
      return peer;
    },
    async close() {
      await Promise.all(peers.map((p) => p.close()));
      await listener.close();
    },
  };
}
