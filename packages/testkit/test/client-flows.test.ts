/**
 * What the strict client plays: the Connect of each generation, the authenticated join against the
 * fake session service (and what a wrongly bound token does to it), the password challenge, assets it
 * already holds, a referral, and a steady movement stream through a migration.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { portToWire } from '@handoff/protocol';
import {
  connectStrictClient,
  createSessionService,
  isTokenError,
  type PlayerCredentials,
  type ServerCredentials,
  type SessionService,
  type StrictClient,
  type StrictClientInit,
} from '@handoff/testkit';
import { scriptedServer, type ScriptedPeer, type ScriptedServer } from './support/client-scripted-server.js';

const WORLD_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const WORLD_B = '0b0b0b0b-0000-4000-8000-00000000000b';
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function start(
  generation: string,
  init: Partial<StrictClientInit> = {},
): Promise<{ server: ScriptedServer; peer: ScriptedPeer; client: StrictClient }> {
  const server = await scriptedServer({ generation });
  cleanup.push(() => server.close());
  const [client, peer] = await Promise.all([connectStrictClient({ address: server.address, generation, ...init }), server.accept()]);
  cleanup.push(() => client.close());
  return { server, peer, client };
}

describe.each([
  ['G1', 'hytale/1', { protocolHash: '6708f121966c1c443f4b0eb525b2f81d0a8dc61f5003a692a8fa157e5e02cea9' }],
  ['G2', 'hytale/2', { protocolCrc: 1789265863, protocolBuildNumber: 2 }],
  ['G3', 'hytale/2', { protocolCrc: -1356075132, protocolBuildNumber: 20 }],
])('the %s Connect', (generation, alpn, identity) => {
  it('offers the generation ALPN, a client certificate, and a development Connect of that layout', async () => {
    const clientUuid = randomUUID();
    const { peer, client } = await start(generation, { clientUuid, username: 'Alice', language: 'fr' });
    const connect = await peer.playJoin(WORLD_A);
    expect(peer.connection.alpn).toBe(alpn);
    expect(peer.connection.peerCertificateFingerprint).toBe(client.certificateFingerprint);
    expect(connect).toMatchObject({ ...identity, clientType: 'Game', uuid: clientUuid, username: 'Alice', language: 'fr', identityToken: null, referralData: null });
    await client.inWorld();
    expect(client.violations).toEqual([]);
  });
});

describe('an authenticated join against the fake session service', () => {
  let service: SessionService;
  let server: ServerCredentials;

  beforeAll(async () => {
    service = await createSessionService();
    server = await service.createServer();
    return () => service.close();
  });

  async function player(): Promise<PlayerCredentials> {
    return service.createPlayer({ clientUuid: randomUUID(), username: 'Alice' });
  }

  it('sends its identity token, exchanges the grant for an access token bound to its certificate, checks the server token', async () => {
    const credentials = await player();
    const { server: scripted, peer, client } = await start('G3', { auth: { sessionService: service.url, credentials } });
    const before = service.requests.length;
    expect(await peer.playAuthenticatedJoin({ service, server }, WORLD_A, scripted.certificateFingerprint)).toBeUndefined();
    await client.inWorld();
    expect(client.violations).toEqual([]);
    expect(client.report()).toMatchObject({ mode: 'authenticated', clientUuid: credentials.clientUuid, username: 'Alice' });
    // the server asked a grant for the client, the client redeemed it and asked one for the server, the server redeemed that
    const exchanges = service.requests.slice(before).filter((r) => r.path.startsWith('/server-join/')); // verifiers also fetch the JWKS
    expect(exchanges.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/server-join/auth-grant 200',
      '/server-join/auth-token 200',
      '/server-join/auth-grant 200',
      '/server-join/auth-token 200',
    ]);
  });

  it('a wrongly bound access token is refused by the server check, which disconnects the client', async () => {
    const credentials = await player();
    const { server: scripted, peer, client } = await start('G3', { auth: { sessionService: service.url, credentials } });
    service.tamperNext('wrongly-bound');
    const refused = await peer.playAuthenticatedJoin({ service, server }, WORLD_A, scripted.certificateFingerprint);
    expect(isTokenError(refused, 'ERR_TESTKIT_TOKEN_BINDING')).toBe(true);
    await client.until(() => client.violations.length > 0);
    expect(client.violations).toMatchObject([{ kind: 'disconnected', reason: 'Failed to authenticate' }]);
  });

  it("refuses a server access token bound to another certificate than the server's", async () => {
    const credentials = await player();
    const { peer, client } = await start('G3', { auth: { sessionService: service.url, credentials } });
    const stray = createHash('sha256').update('not the server certificate').digest('base64url');
    void peer.playAuthenticatedJoin({ service, server, serverCertificateFingerprint: stray }, WORLD_A, stray).catch(() => undefined); // the client leaves mid-setup
    const report = await client.ended;
    expect(report.violations).toMatchObject([{ kind: 'server-token-refused', code: 'ERR_TESTKIT_TOKEN_BINDING' }]);
  });

  it('reports a session service that fails the exchange', async () => {
    const credentials = await player();
    const { server: scripted, peer, client } = await start('G3', { auth: { sessionService: service.url, credentials } });
    service.failNext('authToken', 503);
    void peer.playAuthenticatedJoin({ service, server }, WORLD_A, scripted.certificateFingerprint);
    const report = await client.ended;
    expect(report.violations).toMatchObject([{ kind: 'auth-failed', code: 'ERR_TESTKIT_SESSION_SERVICE_HTTP', status: 503 }]);
  });

  it('an AuthGrant to a development client is unexpected', async () => {
    const { peer, client } = await start('G3');
    await peer.expect('Connect');
    peer.send('AuthGrant', { authorizationGrant: 'grant', serverIdentityToken: null });
    await client.until(() => client.violations.length > 0);
    expect(client.violations).toMatchObject([{ kind: 'unexpected-packet', packet: 'AuthGrant', state: 'connecting' }]);
  });
});

describe('password, assets, referral, movement', () => {
  it('answers a password challenge with SHA-256(challenge ‖ password), and stops at a rejection', async () => {
    const { peer, client } = await start('G2', { password: 'hunter2' });
    await peer.expect('Connect');
    const challenge = Uint8Array.from({ length: 32 }, (_, i) => i);
    peer.send('ConnectAccept', { passwordChallenge: challenge });
    const response = await peer.expect('PasswordResponse');
    const expected = createHash('sha256').update(challenge).update('hunter2').digest();
    expect(Buffer.from(response.hash!)).toEqual(expected);
    peer.send('PasswordRejected', { attemptsRemaining: 2, newChallenge: challenge });
    await client.until(() => client.counters.passwordRejected === 1);
    expect(client.state).toBe('password');
    expect(client.counters.passwordAttempts).toBe(1);
    expect(client.violations).toEqual([]);
  });

  it('requests only the assets it does not hold', async () => {
    const held = 'a'.repeat(64);
    const missing = 'b'.repeat(64);
    const { peer, client } = await start('G3', { knownAssets: [held] });
    await peer.expect('Connect');
    peer.send('ConnectAccept', { passwordChallenge: null });
    const setup = peer.setup(
      WORLD_A,
      1,
      false,
      [
        { hash: held, name: 'Common/held.bin' },
        { hash: missing, name: 'Common/missing.bin' },
      ],
    );
    const request = await setup;
    expect(request.assets).toEqual([{ hash: missing, name: 'Common/missing.bin' }]);
    await client.inWorld();
  });

  it('follows a referral: a new connection whose Connect carries the referral data and the referring server', async () => {
    const first = await start('G3');
    await first.peer.playJoin(WORLD_A);
    await first.client.inWorld();
    const second = await scriptedServer({ generation: 'G3' });
    cleanup.push(() => second.close());
    const data = new TextEncoder().encode('ticket-for-b');
    first.peer.send('ClientReferral', { hostTo: { host: second.address.host, port: portToWire(second.address.port) }, data });
    const peer2 = await second.accept();
    const connect = await peer2.playJoin(WORLD_B, 5);
    expect(Buffer.from(connect.referralData!).toString()).toBe('ticket-for-b');
    expect(connect.referralSource).toEqual({ host: first.server.address.host, port: portToWire(first.server.address.port) });
    const world = await first.client.worldChange();
    expect(world).toMatchObject({ index: 2, connection: 2, worldUuid: WORLD_B, clientId: 5 });
    expect(first.client.violations.map((v) => v.kind)).toEqual(['reconnect']);
    expect(first.client.counters).toMatchObject({ connections: 2, reconnects: 1, referrals: 1 });
  });

  it('keeps moving through a migration, and every movement packet is accounted for on one side or the other', async () => {
    const { peer, client } = await start('G3');
    peer.deliverTo('A', WORLD_A);
    await peer.playJoin(WORLD_A);
    await client.inWorld();
    client.startMovement({ intervalMs: 2 });
    await peer.receivedCount('ClientMovement', 10);
    peer.deliverTo('B', WORLD_B); // the cut-over: from now on the frames go to B
    await peer.enterWorld(WORLD_B, 2, true);
    await client.worldChange();
    const afterChange = client.counters.movementSent;
    await client.movementSent(afterChange + 10);
    await client.leave();
    await peer.ended;
    expect(client.account(peer.logs())).toEqual([]);
    expect(client.violations).toEqual([]);
    const logs = peer.logs();
    const movements = (backend: string) => logs.find((l) => l.backend === backend)!.packets.filter((p) => p.id === 108).length;
    expect(movements('A')).toBeGreaterThanOrEqual(10);
    expect(movements('B')).toBeGreaterThanOrEqual(10);
    expect(movements('A') + movements('B')).toBe(client.counters.movementSent);
  });
});

describe('bad options and unreachable servers', () => {
  it('refuses bad options with ERR_TESTKIT_INVALID_ARGUMENT before dialling', async () => {
    const address = { host: '127.0.0.1', port: 1 };
    await expect(connectStrictClient({ address, generation: 'G9' })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    await expect(connectStrictClient({ address, clientUuid: 'not-a-uuid' })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    await expect(connectStrictClient({ address, username: 'a name far too long for Hytale' })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    await expect(connectStrictClient({ address, certificate: { certPem: 'nope', keyPem: 'nope' } })).rejects.toMatchObject({
      code: 'ERR_TESTKIT_INVALID_ARGUMENT',
    });
    await expect(connectStrictClient({ address: { host: '127.0.0.1' } as never })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
  });

  it('says so when nothing answers', async () => {
    const gone = await scriptedServer({ generation: 'G3' });
    const address = gone.address;
    await gone.close();
    await expect(connectStrictClient({ address, idleTimeout: 1_000 })).rejects.toMatchObject({ code: 'ERR_TESTKIT_CLIENT_CLOSED' });
  });

  it('refuses to move before entering a world', async () => {
    const { client } = await start('G3');
    expect(() => client.sendMovement(1)).toThrow(expect.objectContaining({ code: 'ERR_TESTKIT_CLIENT_STATE' }));
  });
});
