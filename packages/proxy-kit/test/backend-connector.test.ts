/**
 * The backend connector against simulated backends (testkit) over real QUIC and TCP: the Connect as
 * the backend received it, the channels per generation and transport, and how a link ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getGeneration, portFromWire } from '@handoff/protocol';
import { SessionRecord } from '@handoff/session';
import { chunkOwner } from '@handoff/testkit';
import { createMemoryReplayStore } from '@handoff/tickets';
import { createDevCa, createSelfSignedCertificate, quic, type QuicDialInit } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { parseBackendRef } from '@handoff/types';
import { connectBackend, createSetupDriver, createTicketPolicy, isProxyError, type BackendConfig, type TicketPolicy } from '@handoff/proxy-kit';
import {
  Closers,
  IDENTITY_TOKEN,
  PLAYER,
  PROXY_ADDRESS,
  PROXY_ID,
  USERNAME,
  inWorld,
  configOf,
  logged,
  network,
  readUntil,
  recordFor,
  simulatedBackend,
  type Kind,
  type Network,
} from './backend-fixtures.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

function policy(net: Network, backends: BackendConfig[]): TicketPolicy {
  return createTicketPolicy({ proxyId: PROXY_ID, keyRing: net.proxyKeys, replayStore: createMemoryReplayStore(), backends, backendKeys: {} });
}

const cases: Array<{ kind: Kind; generation: string; alpn: string | undefined }> = [
  { kind: 'quic', generation: 'G3', alpn: 'hytale/2' },
  { kind: 'tcp', generation: 'G3', alpn: undefined },
  { kind: 'quic', generation: 'G2', alpn: 'hytale/2' },
  { kind: 'quic', generation: 'G1', alpn: 'hytale/1' },
];

describe('connectBackend: the Connect', () => {
  for (const { kind, generation, alpn } of cases) {
    it(`${generation} over ${kind}: the backend receives the player's Connect with the proxy's ticket, and accepts the ticket`, async () => {
      const net = await network(closers);
      const b = await simulatedBackend(closers, net, { id: 'game', transport: kind, generation });
      const config = await configOf(b);
      const record = recordFor({ generation, holds: b.assets });
      const ticket = await policy(net, [config]).issue({ clientUuid: PLAYER, target: config.ref });
      const link = closers.add(await connectBackend(config, { record, ticket, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
      expect(link.generation.id).toBe(generation);
      await createSetupDriver({ link, record }).auth();

      const g = getGeneration(generation);
      const [first] = logged(b);
      expect(first!.name).toBe('Connect');
      const connect = g.packet('Connect').decodeFrame(first!.frame);
      expect(connect).toMatchObject({ clientType: 'Game', uuid: PLAYER, username: USERNAME, language: 'de-DE', identityToken: IDENTITY_TOKEN });
      expect(new TextDecoder().decode(connect.referralData!)).toBe(ticket);
      expect({ host: connect.referralSource!.host, port: portFromWire(connect.referralSource!.port) }).toEqual(PROXY_ADDRESS);
      if ('protocolCrc' in connect) {
        expect(connect).toMatchObject({ protocolCrc: g.identify.protocolCrc, protocolBuildNumber: g.identify.protocolBuildNumber });
        expect(connect.clientVersion.replace(/\0+$/, '')).toBe('client-2026.02.17');
      } else {
        expect(connect.protocolHash).toBe(g.identify.protocolHash);
      }
      const player = b.player(PLAYER)!;
      expect(player.alpn).toBe(alpn);
      expect(player.username).toBe(USERNAME);
      expect(player.language).toBe('de-DE');
      expect(player.ticket).toMatchObject({ source: PROXY_ID });
      expect(b.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'accepted', source: PROXY_ID });
    });
  }

  it('leaves the identity token out when the config says so, and sends the record language (the last UpdateLanguage)', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp' });
    const config = { ...(await configOf(b)), forwardIdentityToken: false };
    const record = recordFor({ holds: b.assets });
    record.setLanguage('fr-FR');
    const ticket = await policy(net, [config]).issue({ clientUuid: PLAYER, target: config.ref });
    const link = closers.add(await connectBackend(config, { record, ticket, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
    await createSetupDriver({ link, record }).auth();
    const connect = getGeneration('G3').packet('Connect').decodeFrame(logged(b)[0]!.frame);
    expect(connect.identityToken).toBeNull();
    expect(connect.language).toBe('fr-FR');
  });

  it('refuses a record without a Connect, of another generation, or a proxy address the server would refuse, before dialling', async () => {
    const config: BackendConfig = { ref: parseBackendRef({ id: 'game' }), address: { host: '127.0.0.1', port: 1 }, transport: tcp() };
    await expect(connectBackend(config, { record: new SessionRecord(), proxyAddress: PROXY_ADDRESS })).rejects.toSatisfy((e) =>
      isProxyError(e, 'ERR_PROXY_SETUP_INCOMPLETE_RECORD'),
    );
    const g2 = recordFor({ generation: 'G2' });
    await expect(connectBackend(config, { record: g2, generation: getGeneration('G3'), proxyAddress: PROXY_ADDRESS })).rejects.toMatchObject({
      code: 'ERR_PROXY_SETUP_INCOMPLETE_RECORD',
      reason: 'generation',
    });
    await expect(connectBackend(config, { record: recordFor(), proxyAddress: { host: '', port: 5520 } })).rejects.toMatchObject({
      code: 'ERR_PROXY_INVALID_ARGUMENT',
      reason: 'proxy-address',
    });
    const huge = 'x'.repeat(5000);
    const error = await connectBackend(config, { record: recordFor(), ticket: huge, proxyAddress: PROXY_ADDRESS }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROXY_INVALID_ARGUMENT', reason: 'connect' });
    expect(String((error as Error).message)).not.toContain(huge.slice(0, 64));
  });

  it("mTLS: a backend that only takes the proxy CA's certificates takes the proxy's, and no other", async () => {
    const net = await network(closers);
    const ca = await createDevCa({ commonName: 'proxy CA' });
    const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server', ipAddresses: ['127.0.0.1'] });
    const b = await simulatedBackend(closers, net, {
      id: 'game',
      transport: 'quic',
      quic: { certificate: serverCert, clientCertificate: { policy: 'required-and-verified', ca: ca.certPem } },
    });
    const proxyCert = await ca.issue({ commonName: 'proxy-1', usage: 'client' });
    const config: BackendConfig<QuicDialInit> = {
      ref: parseBackendRef({ id: 'game' }),
      address: b.address,
      transport: quic(),
      dial: { certificate: proxyCert, serverTrust: { ca: ca.certPem }, idleTimeout: 10_000 },
    };
    const record = recordFor({ holds: b.assets });
    const tickets = policy(net, [config]);
    const link = closers.add(await connectBackend(config, { record, ticket: await tickets.issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS }), (l) =>
      l.close(),
    );
    await expect(createSetupDriver({ link, record }).auth()).resolves.toEqual({ password: 'none' });
    expect(b.player(PLAYER)!.certificateFingerprint).toBe(proxyCert.fingerprint);

    // TLS 1.3: the dial may complete before the backend refuses the certificate; either way no join
    const stranger = { ...config, dial: { ...config.dial, certificate: await createSelfSignedCertificate({ commonName: 'stranger' }) } };
    const refused = await connectBackend(stranger, { record, ticket: await tickets.issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS }).then(
      async (other) => {
        closers.add(other, (l) => l.close());
        return ((await createSetupDriver({ link: other, record }).auth().catch((e: unknown) => e)) as { code?: string }).code;
      },
      (e: { code?: string }) => e.code,
    );
    expect(['ERR_PROXY_BACKEND_CONNECT_FAILED', 'ERR_PROXY_BACKEND_CLOSED']).toContain(refused);
    expect(b.counters.connects).toBe(1);
  });

  it('a backend that is not there, or an aborted dial, is ERR_PROXY_BACKEND_CONNECT_FAILED with the cause', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp' });
    const config = await configOf(b);
    await b.close();
    const error = await connectBackend(config, { record: recordFor(), proxyAddress: PROXY_ADDRESS }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROXY_BACKEND_CONNECT_FAILED', reason: 'dial' });
    expect((error as Error).cause).toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_REFUSED' });

    const controller = new AbortController();
    controller.abort(new Error('phase deadline'));
    await expect(connectBackend(config, { record: recordFor(), proxyAddress: PROXY_ADDRESS, signal: controller.signal })).rejects.toMatchObject({
      code: 'ERR_PROXY_BACKEND_CONNECT_FAILED',
      reason: 'aborted',
    });
  });
});

describe('connectBackend: channels', () => {
  it('G3 over QUIC: Default from the bidi stream, Chunks and WorldMap from the backend\'s uni streams by order', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'quic', chunkRadius: 1 });
    const { link } = await inWorld(closers, net, b);

    const chunks = await link.channel('Chunks');
    const columns: string[] = [];
    for (let i = 0; i < 9; i++) {
      const frame = (await chunks.next())!;
      expect(frame.descriptor.name).toBe('SetChunk');
      const owner = chunkOwner(getGeneration('G3').packet('SetChunk').decodeFrame(frame).data);
      expect(owner).toMatchObject({ backendId: 'game', worldUuid: b.worldUuid });
      columns.push(`${owner!.x},${owner!.z}`);
    }
    expect(new Set(columns).size).toBe(9);
    const worldMap = await link.channel('WorldMap');
    expect((await worldMap.next())!.descriptor.name).toBe('ClearWorldMap');
    const { frame } = await readUntil(await link.channel('Default'), 'SetClientId');
    expect(getGeneration('G3').packet('SetClientId').decodeFrame(frame).clientId).toBe(b.player(PLAYER)!.clientId);
    expect(link.stats()).toEqual({ mode: 'streams', demux: undefined, channels: ['Default', 'Chunks', 'WorldMap'] });
  });

  it('G3 over TCP: the one stream demultiplexed by packet id onto the same three channels', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'tcp', chunkRadius: 1 });
    const { link } = await inWorld(closers, net, b);
    // read WorldMap first: what came before it on the stream waits on its channels
    expect((await (await link.channel('WorldMap')).next())!.descriptor.name).toBe('ClearWorldMap');
    expect(link.stats().demux!.queuedBytes['Default']).toBeGreaterThan(0);
    const chunks = await link.channel('Chunks');
    for (let i = 0; i < 9; i++) expect((await chunks.next())!.descriptor.name).toBe('SetChunk');
    const defaults = await readUntil(await link.channel('Default'), 'SetTimeDilation');
    expect(defaults.before.map((f) => f.descriptor.name)).toEqual(['ViewRadius', 'SetEntitySeed', 'SetClientId']);
    expect(link.stats().mode).toBe('demux');
  });

  it('older generations have no Chunks or WorldMap channel', async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'quic', generation: 'G2' });
    const config = await configOf(b);
    const record = recordFor({ generation: 'G2', holds: b.assets });
    const link = closers.add(
      await connectBackend(config, { record, ticket: await policy(net, [config]).issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS }),
      (l) => l.close(),
    );
    await expect(link.channel('Chunks')).rejects.toSatisfy((e) => isProxyError(e, 'ERR_PROXY_BACKEND_NO_CHANNEL'));
    await expect(link.channel('Default')).resolves.toBeDefined();
  });
});

describe('connectBackend: how a link ends', () => {
  it("the proxy's close is 'proxy', and the backend sees the player leave with a Disconnect", async () => {
    const net = await network(closers);
    const b = await simulatedBackend(closers, net, { id: 'game', transport: 'quic' });
    const config = await configOf(b);
    const record = recordFor({ holds: b.assets });
    const link = await connectBackend(config, { record, ticket: await policy(net, [config]).issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS });
    await createSetupDriver({ link, record }).auth();
    await link.close('moved on');
    expect(await link.ended).toMatchObject({ initiator: 'proxy' });
    expect(await b.player(PLAYER)?.closed).toBeUndefined(); // gone from the connected players
    const left = b.allPlayers.find((p) => p.clientUuid === PLAYER)!;
    expect(await left.closed).toMatchObject({ kind: 'client-disconnect', reason: 'moved on' });
  });

  // A crash sends no Disconnect. Over TCP the connection is reset ('transport'); the simulated QUIC
  // backend tears its connection down with a close frame, so only the missing Disconnect tells it from a kick.
  for (const [kind, crash] of [['quic', 'backend'], ['tcp', 'transport']] as const) {
    it(`${kind}: a kick is 'backend' with the backend's Disconnect; a crash is '${crash}' without one`, async () => {
      const net = await network(closers);
      const a = await simulatedBackend(closers, net, { id: 'game', transport: kind });
      const config = await configOf(a);
      const tickets = policy(net, [config]);
      const record = recordFor({ holds: a.assets });
      const kicked = closers.add(
        await connectBackend(config, { record, ticket: await tickets.issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS }),
        (l) => l.close(),
      );
      await createSetupDriver({ link: kicked, record }).auth();
      const reading = readUntil(await kicked.channel('Default'), 'Disconnect');
      await a.kick(PLAYER, 'You were banned');
      await reading;
      // the reader goes on to the end of the stream, as a forwarder does (QUIC: the close fails the read)
      const last = await (await kicked.channel('Default')).next().catch((e: { code?: string }) => e.code);
      expect(last).toBe(kind === 'tcp' ? null : 'ERR_TRANSPORT_PEER_CLOSED');
      expect(await kicked.ended).toMatchObject({ initiator: 'backend', disconnect: { reason: 'You were banned', type: 'Disconnect' } });

      const crashed = closers.add(
        await connectBackend(config, { record, ticket: await tickets.issue({ clientUuid: PLAYER, target: config.ref }), proxyAddress: PROXY_ADDRESS }),
        (l) => l.close(),
      );
      await createSetupDriver({ link: crashed, record }).auth();
      await a.crash();
      const end = await crashed.ended;
      expect(end.initiator).toBe(crash);
      expect(end.disconnect).toBeUndefined();
    });
  }
});
