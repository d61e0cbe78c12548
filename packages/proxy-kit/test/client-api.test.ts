/**
 * The client side's API edges: bad options, a failing session store (the kit's own failure, told to the
 * client as the server tells an internal error), and the HTTP session-service client's errors, which
 * name the route and the status but never a token or a body.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createSessionService } from '@handoff/testkit';
import { createSessionStore } from '@handoff/session';
import { acceptClient, createClientCounters, httpSessionService, isProxyError, noClientAuth, sessionServiceAuth, type SessionServiceClient } from '@handoff/proxy-kit';
import { closeAfterEach, connectPacket, ProxyHarness, RawClient, value } from './client-support.js';

const track = closeAfterEach();

describe('acceptClient options', () => {
  it('bad options reject with ERR_PROXY_INVALID_ARGUMENT, and the connection is closed (nothing leaks)', async () => {
    const bad: [string, unknown][] = [
      ['no auth', {}],
      ['an unknown generation', { auth: noClientAuth(), generations: ['G9'] }],
      ['no generation', { auth: noClientAuth(), generations: [] }],
      ['a zero timeout', { auth: noClientAuth(), timeouts: { initial: 0 } }],
      ['a rate limit without a burst', { auth: noClientAuth(), rateLimit: { burst: 0, perSecond: 10 } }],
      ['an authenticated auth missing a step', { auth: { mode: 'authenticated' } }],
    ];
    for (const [what, init] of bad) {
      let closedWith: unknown;
      const connection = { close: async (options: unknown) => void (closedWith = options) } as never;
      const error = await acceptClient(connection, init as never).catch((e: unknown) => e);
      expect(isProxyError(error, 'ERR_PROXY_INVALID_ARGUMENT'), what).toBe(true);
      expect(closedWith, what).toEqual({ code: 0 });
    }
  });

  it('sessionServiceAuth and httpSessionService check their options', () => {
    const sessionService = httpSessionService({ url: 'http://127.0.0.1:1', serverSessionToken: 'the-session-token-value' });
    const fingerprint = 'A'.repeat(43);
    expect(() => sessionServiceAuth({ sessionService, audience: '', serverCertificateFingerprint: fingerprint })).toThrow(/audience/);
    expect(() => sessionServiceAuth({ sessionService, audience: 'a', serverCertificateFingerprint: 'nope' })).toThrow(/serverCertificateFingerprint/);
    expect(() => sessionServiceAuth({ sessionService: {} as SessionServiceClient, audience: 'a', serverCertificateFingerprint: fingerprint })).toThrow(/sessionService/);
    expect(() => httpSessionService({ serverSessionToken: '' })).toThrow(/serverSessionToken/);
    expect(() => httpSessionService({ url: 'not a url', serverSessionToken: 't' })).toThrow(/url/);
    expect(() => httpSessionService({ url: 'ftp://x', serverSessionToken: 't' })).toThrow(/http/);
    // neither object shows its secrets
    const auth = sessionServiceAuth({ sessionService, audience: 'a', serverIdentityToken: 'server-identity-secret', serverCertificateFingerprint: fingerprint });
    for (const text of [JSON.stringify(auth), inspect(auth, { depth: 10 }), JSON.stringify(sessionService), inspect(sessionService, { depth: 10 })]) {
      expect(text).not.toContain('server-identity-secret');
      expect(text).not.toContain('the-session-token-value');
    }
  });
});

describe('a failure of the kit itself', () => {
  it('a session store that refuses the record: "Internal server error!", code 4, ERR_PROXY_CLIENT_INTERNAL; the next client is fine', async () => {
    const store = createSessionStore();
    let fail = true;
    const failing = Object.create(store) as typeof store;
    failing.create = (init) => {
      if (fail) {
        fail = false;
        throw new Error('store down');
      }
      return store.create(init);
    };
    const h = await ProxyHarness.start({ accept: { auth: noClientAuth(), store: failing } });
    track(h);
    const client = await RawClient.connect({ address: h.address });
    track(client);
    await client.send('Connect', connectPacket(client.generation));
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Internal server error!', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 4 });
    const { error } = await h.outcome(0);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_INTERNAL')).toBe(true);
    expect((error!.cause as Error).message).toBe('store down');
    expect(h.counters.closed['internal-error']).toBe(1);
    const next = await RawClient.connect({ address: h.address });
    track(next);
    await next.send('Connect', connectPacket(next.generation));
    await next.next('ConnectAccept');
    expect(h.counters.accepted).toBe(1);
  });

  it('counters start at zero for every reason and serialise as plain numbers', () => {
    const counters = createClientCounters();
    expect(counters.accepted).toBe(0);
    expect(Object.values(counters.closed).every((n) => n === 0)).toBe(true);
    expect(JSON.parse(JSON.stringify(counters))).toEqual(counters);
  });
});

describe('httpSessionService', () => {
  it('the three routes against the fake service; a refusal names the route, status and error, never a secret', async () => {
    const service = await createSessionService();
    track(service);
    const server = await service.createServer();
    const player = await service.createPlayer({ clientUuid: '00112233-4455-6677-8899-aabbccddeeff', username: 'Alice' });
    const sessions = httpSessionService({ url: service.url, serverSessionToken: server.sessionToken });
    expect((await sessions.fetchJwks()).keys).toHaveLength(1);
    const grant = await sessions.requestAuthGrant({ identityToken: player.identityToken, audience: server.audience });
    expect(grant.length).toBeGreaterThan(16);
    // a grant is single-use: the second exchange is refused
    await sessions.exchangeAuthGrant({ authorizationGrant: grant, certificateFingerprint: 'A'.repeat(43) }).catch(() => {});
    const error = await sessions.exchangeAuthGrant({ authorizationGrant: grant, certificateFingerprint: 'A'.repeat(43) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROXY_CLIENT_SESSION_SERVICE', reason: 'http-400' });
    expect((error as Error).message).toBe('/server-join/auth-token: HTTP 400 invalid_grant');
    const unknownBearer = httpSessionService({ url: service.url, serverSessionToken: 'not-a-session' });
    const refused = await unknownBearer.requestAuthGrant({ identityToken: player.identityToken, audience: 'x' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ reason: 'http-401' });
    for (const e of [error, refused]) {
      const text = inspect(e, { depth: 10 }) + JSON.stringify(e);
      for (const secret of [grant, player.identityToken, server.sessionToken, 'not-a-session']) expect(text).not.toContain(secret);
    }
  });

  it('answers it cannot use: not JSON, no field, too large, no answer in time, no server', async () => {
    const answer = (body: string, init: ResponseInit = {}) => async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' }, ...init });
    const cases: [string, typeof fetch, string][] = [
      ['not JSON', answer('<html>') as unknown as typeof fetch, 'invalid-response'],
      ['no field', answer('{"other":1}') as unknown as typeof fetch, 'invalid-response'],
      ['too large', answer(JSON.stringify({ authorizationGrant: 'x'.repeat(2048) })) as unknown as typeof fetch, 'invalid-response'],
      [
        'no answer in time',
        ((_url: unknown, init: RequestInit) =>
          new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch,
        'timeout',
      ],
    ];
    for (const [what, fetch, reason] of cases) {
      const sessions = httpSessionService({ url: 'http://127.0.0.1:9', serverSessionToken: 'secret-session-token', fetch, maxResponseBytes: 1024, timeoutMs: 50 });
      const error = await sessions.requestAuthGrant({ identityToken: 'id-token', audience: 'a' }).catch((e: unknown) => e);
      expect(error, what).toMatchObject({ code: 'ERR_PROXY_CLIENT_SESSION_SERVICE', reason });
    }
    const closed = httpSessionService({ url: 'http://127.0.0.1:9', serverSessionToken: 'secret-session-token' });
    expect(await closed.fetchJwks().catch((e: unknown) => e)).toMatchObject({ reason: 'network' });
  });

  it("a caller's abort rejects with the abort's reason", async () => {
    const fetch = ((_url: unknown, init: RequestInit) => new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof globalThis.fetch;
    const sessions = httpSessionService({ serverSessionToken: 't', fetch });
    const controller = new AbortController();
    const pending = sessions.fetchJwks({ signal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
