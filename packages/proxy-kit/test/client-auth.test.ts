/**
 * Client auth against the testkit's fake session service, over real loopback QUIC: the authenticated
 * path end to end (the strict client checks the proxy's own access token against the proxy's
 * certificate), every token fault refused with the server's reason, the session service failing, the
 * JWKS cached and refreshed as the server does, and no secret anywhere it could leak.
 */
import { inspect } from 'node:util';
import { SignJWT, exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { parseClientUuid } from '@handoff/types';
import { connectStrictClient, createSessionService, type PlayerCredentials, type SessionService, type StrictClient, type TokenFault } from '@handoff/testkit';
import {
  httpSessionService,
  isProxyError,
  sessionServiceAuth,
  type ProxyError,
  type SessionServiceAuthInit,
  type SessionServiceClient,
} from '@handoff/proxy-kit';
import { authenticateRaw, closeAfterEach, connectPacket, expectCounted, ProxyHarness, type RawAuthSecrets, RawClient, recordingLogger, serverCertificate, value } from './client-support.js';

const track = closeAfterEach();

interface Setup {
  readonly service: SessionService;
  readonly h: ProxyHarness;
  readonly serverSessionToken: string;
  readonly serverIdentityToken: string;
  readonly log: ReturnType<typeof recordingLogger>;
  player(name?: string, fault?: TokenFault): Promise<PlayerCredentials>;
}

async function setup(options: { password?: string; auth?: Partial<SessionServiceAuthInit>; wrap?: (s: SessionServiceClient) => SessionServiceClient } = {}): Promise<Setup> {
  const service = await createSessionService();
  track(service);
  const certificate = await serverCertificate();
  const server = await service.createServer();
  const log = recordingLogger();
  const http = httpSessionService({ url: service.url, serverSessionToken: server.sessionToken, logger: log.logger });
  const auth = sessionServiceAuth({
    sessionService: options.wrap ? options.wrap(http) : http,
    audience: server.audience,
    serverIdentityToken: server.identityToken,
    serverCertificateFingerprint: certificate.fingerprint,
    logger: log.logger,
    ...options.auth,
  });
  const h = await ProxyHarness.start({ certificate, accept: { auth, logger: log.logger, ...(options.password ? { password: options.password } : {}) } });
  track(h);
  return {
    service,
    h,
    log,
    serverSessionToken: server.sessionToken,
    serverIdentityToken: server.identityToken,
    player: (name = 'Alice', fault) => service.createPlayer({ clientUuid: randomUUID(), username: name, ...(fault ? { identityFault: fault } : {}) }),
  };
}

async function strict(s: Setup, credentials: PlayerCredentials, extra: Partial<Parameters<typeof connectStrictClient>[0]> = {}): Promise<StrictClient> {
  const client = await connectStrictClient({ address: s.h.address, auth: { sessionService: s.service.url, credentials }, waitTimeoutMs: 10_000, ...extra });
  track(client);
  return client;
}

async function raw(s: Setup): Promise<RawClient> {
  const client = await RawClient.connect({ address: s.h.address });
  track(client);
  return client;
}

/** The strict client was disconnected with `reason` (code 0) and nothing else went wrong for it. */
async function expectDisconnected(client: StrictClient, reason: string): Promise<void> {
  const report = await client.ended;
  expect(report.violations.map((v) => v.kind)).toEqual(['disconnected', 'connection-closed'].slice(0, report.violations.length));
  expect(report.violations[0]).toMatchObject({ kind: 'disconnected', reason });
  expect(report.connections[0]!.close).toMatchObject({ initiator: 'remote', code: 0 });
}

async function expectOthersUnaffected(s: Setup, password?: string): Promise<void> {
  const other = await strict(s, await s.player('Carol'), password ? { password } : {});
  await other.inWorld();
  expect(other.violations).toEqual([]);
}

describe('the authenticated path', () => {
  it('a client joins: identity checked, AuthGrant, AuthToken checked, the grant exchanged, ServerAuthToken bound to the proxy certificate', async () => {
    const s = await setup();
    const alice = await s.player('Alice');
    const client = await strict(s, alice);
    await client.inWorld();
    expect(client.violations).toEqual([]); // includes the client's check of the proxy's access token
    const { client: accepted } = await s.h.outcome(0);
    expect(accepted!.authenticated).toBe(true);
    expect(accepted!.clientUuid).toBe(alice.clientUuid);
    expect(accepted!.record.secretNames().sort()).toEqual(
      ['accessToken', 'authorizationGrant', 'identityToken', 'serverAccessToken', 'serverAuthorizationGrant', 'serverIdentityToken'].sort(),
    );
    expect(accepted!.record.secret('identityToken')).toBe(alice.identityToken);
    expect(s.h.counters.accepted).toBe(1);
  });

  it('then the proxy\'s password, on ServerAuthToken', async () => {
    const s = await setup({ password: 'pw' });
    const client = await strict(s, await s.player(), { password: 'pw' });
    await client.inWorld();
    expect(client.violations).toEqual([]);
    expect(client.counters.passwordAttempts).toBe(1);
  });
});

describe('the identity token (at Connect)', () => {
  const faults: [TokenFault, string][] = [
    ['expired', 'Invalid or expired identity token'],
    ['badly-signed', 'Invalid or expired identity token'],
    ['wrong-issuer', 'Invalid or expired identity token'],
    ['not-yet-valid', 'Invalid or expired identity token'],
    ['no-expiry', 'Invalid or expired identity token'],
    ['wrong-subject', 'Invalid identity token: UUID mismatch'],
    ['wrong-scope', 'Invalid identity token: missing hytale:client scope'],
  ];
  for (const [fault, reason] of faults) {
    it(`${fault}: "${reason}", code 0; counted identity-refused`, async () => {
      const s = await setup();
      const client = await strict(s, await s.player('Alice', fault));
      await expectDisconnected(client, reason);
      const { error } = await s.h.outcome(0);
      expect(isProxyError(error, 'ERR_PROXY_CLIENT_AUTH_REFUSED')).toBe(true);
      expect(error!.reason).toBe(fault === 'wrong-subject' ? 'identity-subject' : fault === 'wrong-scope' ? 'identity-scope' : 'identity-invalid');
      expectCounted(s.h, 'identity-refused', 0);
      expect(s.service.counters.grantsIssued).toBe(0);
      expect(s.h.store.size).toBe(0);
      await expectOthersUnaffected(s);
    });
  }
});

describe('the access token (at AuthToken)', () => {
  const faults: [TokenFault, string, string][] = [
    ['expired', 'Invalid access token', 'access-invalid'],
    ['badly-signed', 'Invalid access token', 'access-invalid'],
    ['wrong-issuer', 'Invalid access token', 'access-invalid'],
    ['no-expiry', 'Invalid access token', 'access-invalid'],
    ['wrong-audience', 'Invalid access token', 'access-invalid'],
    ['wrongly-bound', 'Invalid access token', 'access-invalid'],
    ['unbound', 'Invalid access token', 'access-invalid'],
    ['wrong-subject', 'Invalid token claims: UUID mismatch', 'access-subject'],
  ];
  for (const [fault, reason, check] of faults) {
    it(`${fault}: "${reason}", code 0; counted access-refused`, async () => {
      const s = await setup();
      const alice = await s.player('Alice');
      s.service.tamperNext(fault); // the client's own exchange mints the faulty token
      const client = await strict(s, alice);
      await expectDisconnected(client, reason);
      const { error } = await s.h.outcome(0);
      expect(isProxyError(error, 'ERR_PROXY_CLIENT_AUTH_REFUSED')).toBe(true);
      expect(error!.reason).toBe(check);
      expectCounted(s.h, 'access-refused', 0);
      await expectOthersUnaffected(s);
    });
  }

  it('a username other than the one in the token: "Invalid token claims: username mismatch"', async () => {
    const s = await setup();
    const client = await strict(s, await s.player('Alice'), { username: 'Mallory' });
    await expectDisconnected(client, 'Invalid token claims: username mismatch');
    expect((await s.h.outcome(0)).error!.reason).toBe('access-username');
    expectCounted(s.h, 'access-refused', 0);
    await expectOthersUnaffected(s);
  });

  it('an empty access token: "Invalid access token"', async () => {
    const s = await setup();
    const client = await raw(s);
    await authenticateRaw(client, { service: s.service, credentials: await s.player(), until: 'auth-token-sent', authToken: (t) => ({ ...t, accessToken: '' }) });
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Invalid access token', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expectCounted(s.h, 'access-refused', 0);
  });

  it('no server authorization grant: "Mutual authentication required - please update your client"', async () => {
    const s = await setup();
    const client = await raw(s);
    await authenticateRaw(client, { service: s.service, credentials: await s.player(), until: 'auth-token-sent', authToken: (t) => ({ ...t, serverAuthorizationGrant: null }) });
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Mutual authentication required - please update your client', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expect(isProxyError((await s.h.outcome(0)).error, 'ERR_PROXY_CLIENT_AUTH_REFUSED')).toBe(true);
    expectCounted(s.h, 'mutual-auth-required', 0);
    await expectOthersUnaffected(s);
  });

  it('an AuthToken before the AuthGrant: "Protocol error: unexpected AuthToken packet"', async () => {
    const s = await setup();
    const client = await raw(s);
    const alice = await s.player();
    const g = client.generation;
    await client.sendRaw(
      Buffer.concat([
        g.packet('Connect').encodeFrame(connectPacket(g, { uuid: alice.clientUuid, username: alice.username, identityToken: alice.identityToken })),
        g.packet('AuthToken').encodeFrame({ accessToken: 'a.b.c', serverAuthorizationGrant: 'g' }),
      ]),
    );
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Protocol error: unexpected AuthToken packet', type: 'Disconnect' });
    expect(client.names()).toEqual(['Disconnect']);
    expectCounted(s.h, 'unexpected-packet', 0);
  });
});

describe('the session service', () => {
  it('no grant for the client: "Failed to obtain authorization grant from session service"', async () => {
    const s = await setup();
    const alice = await s.player();
    s.service.failNext('authGrant', 503);
    const client = await strict(s, alice);
    await expectDisconnected(client, 'Failed to obtain authorization grant from session service');
    const { error } = await s.h.outcome(0);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_SESSION_SERVICE')).toBe(true);
    expect(error!.reason).toBe('grant-failed');
    expect(((error!.cause as ProxyError).cause as ProxyError).reason).toBe('http-503');
    expectCounted(s.h, 'session-service', 0);
    await expectOthersUnaffected(s);
  });

  it("the proxy's exchange refused: \"Server authentication failed - please try again later\"", async () => {
    const s = await setup();
    const client = await raw(s);
    await authenticateRaw(client, { service: s.service, credentials: await s.player(), until: 'auth-token-sent', beforeAuthToken: () => s.service.failNext('authToken', 500) });
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Server authentication failed - please try again later', type: 'Disconnect' });
    expect((await s.h.outcome(0)).error!.reason).toBe('exchange-failed');
    expectCounted(s.h, 'session-service', 0);
    await expectOthersUnaffected(s);
  });

  it('its keys unreachable: the client is told its token is invalid (as the server), counted session-service; the next client gets through', async () => {
    const s = await setup();
    const alice = await s.player();
    s.service.failNext('jwks', 503);
    const client = await strict(s, alice);
    await expectDisconnected(client, 'Invalid or expired identity token');
    const { error } = await s.h.outcome(0);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_SESSION_SERVICE')).toBe(true);
    expect(error!.reason).toBe('keys-unavailable');
    expectCounted(s.h, 'session-service', 0);
    await expectOthersUnaffected(s);
  });

  it('a proxy without its own identity token: "Server authentication unavailable - please try again later"', async () => {
    const s = await setup({ auth: { serverIdentityToken: () => undefined } });
    const client = await strict(s, await s.player());
    await expectDisconnected(client, 'Server authentication unavailable - please try again later');
    expect((await s.h.outcome(0)).error!.reason).toBe('server-identity-unavailable');
    expectCounted(s.h, 'session-service', 0);
  });
});

describe('the keys (JWKS)', () => {
  function counting(service: SessionServiceClient): SessionServiceClient & { fetches: number } {
    const wrapped = {
      fetches: 0,
      fetchJwks: (options?: { signal?: AbortSignal }) => {
        wrapped.fetches++;
        return service.fetchJwks(options);
      },
      requestAuthGrant: service.requestAuthGrant.bind(service),
      exchangeAuthGrant: service.exchangeAuthGrant.bind(service),
    };
    return wrapped;
  }

  it('fetched once and kept; after a verification failure fetched again, at most once per 5 minutes', async () => {
    const service = await createSessionService();
    track(service);
    const server = await service.createServer();
    let now = Date.now();
    const sessions = counting(httpSessionService({ url: service.url, serverSessionToken: server.sessionToken }));
    const auth = sessionServiceAuth({ sessionService: sessions, audience: server.audience, serverIdentityToken: server.identityToken, serverCertificateFingerprint: 'A'.repeat(43), now: () => now });
    const signal = new AbortController().signal;
    const check = async (fault?: TokenFault) => {
      const clientUuid = parseClientUuid(randomUUID());
      const token = await service.mintIdentityToken({ clientUuid, username: 'Alice', ...(fault ? { identityFault: fault } : {}) });
      return auth.verifyIdentityToken(token, { clientUuid, clientType: 'Game' }, { signal });
    };
    await check();
    await check();
    expect(sessions.fetches).toBe(1);
    await expect(check('badly-signed')).rejects.toMatchObject({ code: 'ERR_PROXY_CLIENT_AUTH_REFUSED', reason: 'identity-invalid' });
    expect(sessions.fetches).toBe(2);
    await expect(check('badly-signed')).rejects.toMatchObject({ reason: 'identity-invalid' });
    expect(sessions.fetches).toBe(2);
    now += 5 * 60_000 - 1;
    await expect(check('badly-signed')).rejects.toMatchObject({ reason: 'identity-invalid' });
    expect(sessions.fetches).toBe(2);
    now += 1;
    await expect(check('badly-signed')).rejects.toMatchObject({ reason: 'identity-invalid' });
    expect(sessions.fetches).toBe(3);
    await check();
    expect(sessions.fetches).toBe(3);
  });

  it('a token signed by a key the cache does not hold yet (a rotation) verifies after the refresh', async () => {
    const issuer = 'https://sessions.hytale.com';
    const key = async (kid: string) => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA' } };
    };
    const [oldKey, newKey] = [await key('old'), await key('new')];
    let jwks: JSONWebKeySet = { keys: [oldKey.jwk] };
    let fetches = 0;
    const sessions: SessionServiceClient = {
      fetchJwks: async () => (fetches++, jwks),
      requestAuthGrant: () => Promise.reject(new Error('unused')),
      exchangeAuthGrant: () => Promise.reject(new Error('unused')),
    };
    const auth = sessionServiceAuth({ sessionService: sessions, audience: 'a', serverCertificateFingerprint: 'A'.repeat(43) });
    const clientUuid = parseClientUuid(randomUUID());
    const sign = (k: typeof oldKey) =>
      new SignJWT({ scope: 'hytale:client' })
        .setProtectedHeader({ alg: 'EdDSA', kid: k.kid })
        .setIssuer(issuer)
        .setSubject(clientUuid)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(k.privateKey);
    const signal = new AbortController().signal;
    await auth.verifyIdentityToken(await sign(oldKey), { clientUuid, clientType: 'Game' }, { signal });
    jwks = { keys: [oldKey.jwk, newKey.jwk] };
    await auth.verifyIdentityToken(await sign(newKey), { clientUuid, clientType: 'Game' }, { signal });
    expect(fetches).toBe(2);
    // not EdDSA: refused before any key is looked at
    const hs = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(clientUuid).setExpirationTime('1h').sign(new Uint8Array(32));
    await expect(auth.verifyIdentityToken(hs, { clientUuid, clientType: 'Game' }, { signal })).rejects.toMatchObject({ reason: 'identity-invalid' });
  });
});

describe('secrets', () => {
  it('no token, grant or session token in any log line, error, counter or serialised record', async () => {
    const s = await setup({ password: 'correct-horse-battery' });
    const secrets: string[] = [s.serverSessionToken, s.serverIdentityToken, 'correct-horse-battery'];
    const remember = (found: RawAuthSecrets) => {
      for (const value of Object.values(found)) if (typeof value === 'string') secrets.push(value);
    };
    // a full join (up to the password), then refusals at each step
    const ok = await raw(s);
    remember(await authenticateRaw(ok, { service: s.service, credentials: await s.player('Alice'), password: 'correct-horse-battery' }));
    const { client: accepted } = await s.h.outcome(0);
    const refusals: [(c: RawClient) => Promise<RawAuthSecrets>][] = [
      [async (c) => authenticateRaw(c, { service: s.service, credentials: await s.player('Bob', 'expired'), until: 'auth-grant' }).catch(() => ({ identityToken: '', sessionToken: '' }))],
      [async (c) => authenticateRaw(c, { service: s.service, credentials: await s.player('Carol'), until: 'auth-token-sent', authToken: (t) => ({ ...t, serverAuthorizationGrant: null }) })],
      [async (c) => authenticateRaw(c, { service: s.service, credentials: await s.player('Dave'), until: 'auth-token-sent', beforeAuthToken: () => s.service.failNext('authToken', 500) })],
    ];
    for (const [run] of refusals) {
      const client = await raw(s);
      remember(await run(client));
      await client.closed;
    }
    const bob = await s.player('Eve', 'badly-signed');
    secrets.push(bob.identityToken, bob.sessionToken);
    const refused = await strict(s, bob);
    await refused.ended;
    await s.h.signal.until(() => s.h.outcomes.length === 5 && s.h.outcomes.every((o) => o.client !== undefined || o.error !== undefined), 'every outcome');
    const errors = s.h.outcomes.map((o) => o.error).filter((e): e is ProxyError => e !== undefined);
    expect(errors.map((e) => e.code)).toEqual([
      'ERR_PROXY_CLIENT_AUTH_REFUSED',
      'ERR_PROXY_CLIENT_AUTH_REFUSED',
      'ERR_PROXY_CLIENT_SESSION_SERVICE',
      'ERR_PROXY_CLIENT_AUTH_REFUSED',
    ]);
    const texts = [
      ...s.log.lines.map((line) => JSON.stringify(line) + inspect(line, { depth: 20 })),
      ...errors.map((e) => inspect(e, { depth: 20 }) + JSON.stringify(e) + String(e.stack)),
      JSON.stringify(s.h.counters),
      JSON.stringify(accepted!.record),
      inspect(accepted!.record, { depth: 20 }),
      inspect(accepted!.tap, { depth: 4 }),
    ];
    expect(secrets.filter((x) => x.length >= 8).length).toBeGreaterThanOrEqual(12);
    for (const secret of secrets.filter((x) => x.length >= 8)) {
      for (const text of texts) expect(text.includes(secret), `a secret (${secret.length} characters) leaked`).toBe(false);
    }
    expect(s.log.lines.length).toBeGreaterThan(5);
  });
});
