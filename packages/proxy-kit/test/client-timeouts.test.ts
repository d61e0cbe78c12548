/**
 * The handshake's timeouts on a manual clock, over real loopback QUIC: the server's stage timers
 * (initial, auth:grant, auth:token, auth:server-exchange: "Either you took too long…", code 0; before a
 * Connect, the silent close) and its inactivity check (auth, password: "Read timeout", code 4; G1: 0),
 * each firing at its duration and not a millisecond before. A client that finished its handshake has
 * no handshake timer left: it plays on while the clock moves.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock, connectStrictClient, createSessionService, type PlayerCredentials, type SessionService, type StrictClient } from '@handoff/testkit';
import {
  httpSessionService,
  isProxyError,
  noClientAuth,
  sessionServiceAuth,
  type AuthenticatedClientAuth,
  type SessionServiceClient,
} from '@handoff/proxy-kit';
import { authenticateRaw, closeAfterEach, connectPacket, expectCounted, nothingCounted, ProxyHarness, RawClient, serverCertificate, stalled, value } from './client-support.js';

const track = closeAfterEach();

const STAGE_TIMEOUT = 'Either you took too long to login or we took too long to process your request! Retry again in a moment.';

async function raw(h: ProxyHarness, generation?: string): Promise<RawClient> {
  const client = await RawClient.connect({ address: h.address, ...(generation ? { generation } : {}) });
  track(client);
  return client;
}

/** A client that completes its handshake before the clock moves, and must play on afterwards. */
async function bystander(h: ProxyHarness, init: Partial<Parameters<typeof connectStrictClient>[0]> = {}): Promise<StrictClient> {
  const client = await connectStrictClient({ address: h.address, waitTimeoutMs: 10_000, ...init });
  track(client);
  await client.inWorld();
  return client;
}

async function authenticatedBystander(h: ProxyHarness, service: SessionService, credentials: PlayerCredentials): Promise<StrictClient> {
  return bystander(h, { auth: { sessionService: service.url, credentials } });
}

async function expectStillPlaying(h: ProxyHarness, client: StrictClient): Promise<void> {
  const index = h.outcomes.findIndex((o) => o.client?.clientUuid === client.clientUuid);
  client.sendMovement(2);
  await h.signal.until(() => h.outcomes[index]!.frames.filter((n) => n === 'ClientMovement').length === 2, 'the bystander moving');
  expect(client.violations).toEqual([]);
}

describe('development mode', () => {
  it('initial: no Connect within 15 s closes silently (the protocol-violation close), at 15 s and not before', async () => {
    const clock = new ManualClock();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), clock } });
    track(h);
    const other = await bystander(h);
    const client = await raw(h); // its stream carries nothing yet
    await h.started(2);
    await clock.advance(14_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 10, reason: 'PROTOCOL_VIOLATION' });
    expect(client.received).toEqual([]);
    const { error } = await h.outcome(1);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_TIMEOUT')).toBe(true);
    expect(error!.reason).toBe('initial');
    expectCounted(h, 'stage-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it('password: 45 s without an answer is "Read timeout", code 4 (no stage timer, as the server)', async () => {
    const clock = new ManualClock();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), clock, password: 'pw' } });
    track(h);
    const other = await bystander(h, { password: 'pw' });
    const client = await raw(h);
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    await clock.advance(44_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 4 });
    expect((await h.outcome(1)).error!.reason).toBe('password');
    expectCounted(h, 'read-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it('a packet restarts the inactivity clock: a wrong answer at 40 s gives the client another 45 s', async () => {
    const clock = new ManualClock();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), clock, password: 'pw' } });
    track(h);
    const client = await raw(h);
    await client.send('Connect', connectPacket(client.generation));
    const challenge = value<{ passwordChallenge: Uint8Array }>(await client.next('ConnectAccept')).passwordChallenge;
    await clock.advance(40_000);
    await client.send('PasswordResponse', { hash: Uint8Array.from(challenge).fill(1) });
    await client.next('PasswordRejected');
    await clock.advance(44_000);
    nothingCounted(h);
    await clock.advance(1_000);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expectCounted(h, 'read-timeout', 0);
  });

  it('G1: the password stage is 30 s, and its read timeout closes with 0 (G1 has no code 4)', async () => {
    const clock = new ManualClock();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), clock, password: 'pw', generations: ['G1'] }, alpn: ['hytale/1'] });
    track(h);
    const other = await bystander(h, { generation: 'G1', password: 'pw' });
    const client = await raw(h, 'G1');
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    await clock.advance(29_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expectCounted(h, 'read-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it('configured durations replace the server\'s (timeouts.initial)', async () => {
    const clock = new ManualClock();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), clock, timeouts: { initial: 2_000 } } });
    track(h);
    const other = await bystander(h);
    const client = await raw(h);
    await h.started(2);
    await clock.advance(1_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(await client.closed).toMatchObject({ code: 10 });
    expectCounted(h, 'stage-timeout', 1);
    await expectStillPlaying(h, other);
  });
});

describe('authenticated path', () => {
  async function setup(wrap: (s: SessionServiceClient, auth: () => AuthenticatedClientAuth) => { sessions?: SessionServiceClient; auth?: AuthenticatedClientAuth } = () => ({})) {
    const clock = new ManualClock();
    const service = await createSessionService();
    track(service);
    const certificate = await serverCertificate();
    const server = await service.createServer();
    const http = httpSessionService({ url: service.url, serverSessionToken: server.sessionToken });
    const make = (sessions: SessionServiceClient) =>
      sessionServiceAuth({ sessionService: sessions, audience: server.audience, serverIdentityToken: server.identityToken, serverCertificateFingerprint: certificate.fingerprint });
    const custom = wrap(http, () => make(http));
    const auth = custom.auth ?? make(custom.sessions ?? http);
    const h = await ProxyHarness.start({ certificate, accept: { auth, clock } });
    track(h);
    const player = (name: string) => service.createPlayer({ clientUuid: randomUUID(), username: name });
    return { clock, service, h, player };
  }

  it('auth:grant: the session service does not answer within 30 s; the request is cancelled, the client told it took too long (code 0)', async () => {
    let grant!: ReturnType<typeof stalled<Parameters<SessionServiceClient['requestAuthGrant']>, string>>;
    const { clock, service, h, player } = await setup((s) => {
      grant = stalled((request, options) => s.requestAuthGrant(request, options));
      return { sessions: { ...s, requestAuthGrant: grant.fn } };
    });
    const client = await raw(h);
    const alice = await player('Alice');
    await client.send('Connect', connectPacket(client.generation, { uuid: alice.clientUuid, username: alice.username, identityToken: alice.identityToken }));
    const signal = await grant.called;
    const other = await authenticatedBystander(h, service, await player('Carol'));
    await clock.advance(29_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: STAGE_TIMEOUT, type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expect(signal.aborted).toBe(true);
    expect((await h.outcome(0)).error).toMatchObject({ code: 'ERR_PROXY_CLIENT_TIMEOUT', reason: 'auth:grant' });
    expectCounted(h, 'stage-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it('auth:token: no AuthToken within 30 s of the AuthGrant: the stage timeout, code 0; a bystander plays on', async () => {
    const { clock, service, h, player } = await setup();
    const other = await connectStrictClient({ address: h.address, auth: { sessionService: service.url, credentials: await player('Carol') }, waitTimeoutMs: 10_000 });
    track(other);
    await other.inWorld();
    const client = await raw(h);
    await authenticateRaw(client, { service, credentials: await player('Alice'), until: 'auth-grant' });
    await clock.advance(29_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: STAGE_TIMEOUT, type: 'Disconnect' });
    expect((await h.outcome(1)).error).toMatchObject({ code: 'ERR_PROXY_CLIENT_TIMEOUT', reason: 'auth:token' });
    expectCounted(h, 'stage-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it("auth:server-exchange: the proxy's exchange does not come back within 15 s: the stage timeout, code 0", async () => {
    let exchange!: ReturnType<typeof stalled<Parameters<SessionServiceClient['exchangeAuthGrant']>, string>>;
    const { clock, service, h, player } = await setup((s) => {
      exchange = stalled((request, options) => s.exchangeAuthGrant(request, options));
      return { sessions: { ...s, exchangeAuthGrant: exchange.fn } };
    });
    const client = await raw(h);
    await authenticateRaw(client, { service, credentials: await player('Alice'), until: 'auth-token-sent' });
    const signal = await exchange.called;
    const other = await authenticatedBystander(h, service, await player('Carol'));
    await clock.advance(14_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: STAGE_TIMEOUT, type: 'Disconnect' });
    expect(signal.aborted).toBe(true);
    expect((await h.outcome(0)).error).toMatchObject({ reason: 'auth:server-exchange' });
    expectCounted(h, 'stage-timeout', 1);
    await expectStillPlaying(h, other);
  });

  it('auth: the identity check hangs; 30 s without a packet is "Read timeout", code 4', async () => {
    let verify!: ReturnType<typeof stalled<Parameters<AuthenticatedClientAuth['verifyIdentityToken']>, void>>;
    const { clock, service, h, player } = await setup((_s, make) => {
      const real = make();
      verify = stalled((...args) => real.verifyIdentityToken(...args));
      return { auth: { ...real, verifyIdentityToken: verify.fn } };
    });
    const client = await raw(h);
    const alice = await player('Alice');
    await client.send('Connect', connectPacket(client.generation, { uuid: alice.clientUuid, username: alice.username, identityToken: alice.identityToken }));
    await verify.called;
    const other = await authenticatedBystander(h, service, await player('Carol'));
    await clock.advance(29_999);
    nothingCounted(h);
    await clock.advance(1);
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 4 });
    expect((await h.outcome(0)).error).toMatchObject({ code: 'ERR_PROXY_CLIENT_TIMEOUT', reason: 'auth' });
    expectCounted(h, 'read-timeout', 1);
    await expectStillPlaying(h, other);
  });
});

describe('the signal', () => {
  it('aborting it mid-handshake tells the client "Server is shutting down!" (code 0), counted as aborted', async () => {
    const controller = new AbortController();
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), password: 'pw', signal: controller.signal } });
    track(h);
    const client = await raw(h);
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    controller.abort(new Error('proxy stopping'));
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Server is shutting down!', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_ABORTED')).toBe(true);
    expectCounted(h, 'aborted', 0);
  });
});
