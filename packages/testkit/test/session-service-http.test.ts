import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SESSION_SERVICE_PATHS,
  SessionServiceHttpError,
  createSessionService,
  isTestkitError,
  sessionServiceClient,
  type PlayerCredentials,
  type ServerCredentials,
  type SessionService,
} from '@handoff/testkit';

const fingerprint = createHash('sha256').update('client certificate').digest('base64url');
let now = Date.parse('2026-03-01T12:00:00Z');
let service: SessionService;
let player: PlayerCredentials;
let server: ServerCredentials;

beforeAll(async () => {
  service = await createSessionService({ now: () => now, grantTtlSeconds: 30, maxBodyBytes: 1024 });
  player = await service.createPlayer({ clientUuid: randomUUID(), username: 'Alice' });
  server = await service.createServer({ audience: 'proxy-audience' });
});

afterAll(async () => {
  await service.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(new URL(path, service.url), init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function post(path: string, body: unknown, bearer: string | undefined, contentType = 'application/json'): Promise<Answer> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const grantFor = (p: PlayerCredentials) =>
  post(SESSION_SERVICE_PATHS.authGrant, { identityToken: p.identityToken, aud: server.audience }, server.sessionToken);

describe('the JWKS endpoint', () => {
  it('serves the public Ed25519 key set, cacheable, without private parts', async () => {
    const answer = await call(SESSION_SERVICE_PATHS.jwks);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('cache-control')).toMatch(/max-age/);
    expect(answer.body).toEqual(service.jwks());
    const [key] = service.jwks().keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(key).not.toHaveProperty('d');
  });

  it('answers 405 with Allow to a POST, 404 to an unknown path', async () => {
    const wrongMethod = await post(SESSION_SERVICE_PATHS.jwks, {}, undefined);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    const unknown = await call('/game-session/everything');
    expect(unknown).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });
});

describe('POST /server-join/auth-grant', () => {
  it('issues an opaque grant for a valid identity token to a known session', async () => {
    const answer = await grantFor(player);
    expect(answer.status).toBe(200);
    expect(answer.body['authorizationGrant']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a missing or unknown bearer with 401 and WWW-Authenticate', async () => {
    const missing = await post(SESSION_SERVICE_PATHS.authGrant, { identityToken: player.identityToken, aud: 'x' }, undefined);
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const unknown = await post(SESSION_SERVICE_PATHS.authGrant, { identityToken: player.identityToken, aud: 'x' }, 'not-a-session');
    expect(unknown).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('refuses a body that is not JSON (400), not declared JSON (415), incomplete (400) or too large (413)', async () => {
    expect(await post(SESSION_SERVICE_PATHS.authGrant, '{not json', server.sessionToken)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await post(SESSION_SERVICE_PATHS.authGrant, '[]', server.sessionToken)).toMatchObject({ status: 400 });
    expect(await post(SESSION_SERVICE_PATHS.authGrant, 'identityToken=x', server.sessionToken, 'application/x-www-form-urlencoded')).toMatchObject({
      status: 415,
    });
    expect(await post(SESSION_SERVICE_PATHS.authGrant, { aud: 'x' }, server.sessionToken)).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: 'identityToken is required' },
    });
    const tooLarge = await post(SESSION_SERVICE_PATHS.authGrant, { identityToken: 'x'.repeat(4096), aud: 'x' }, server.sessionToken);
    expect(tooLarge).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
  });

  it('refuses an expired, badly signed or foreign identity token with 403', async () => {
    for (const identityFault of ['expired', 'badly-signed', 'wrong-issuer'] as const) {
      const bad = await service.createPlayer({ clientUuid: randomUUID(), username: 'Bob', identityFault });
      const answer = await grantFor(bad);
      expect(answer).toMatchObject({ status: 403, body: { error: 'invalid_identity_token' } });
    }
  });
});

describe('POST /server-join/auth-token', () => {
  async function grant(): Promise<string> {
    return (await grantFor(player)).body['authorizationGrant'] as string;
  }
  const redeem = (authorizationGrant: unknown, bearer = player.sessionToken, x509Fingerprint: unknown = fingerprint) =>
    post(SESSION_SERVICE_PATHS.authToken, { authorizationGrant, x509Fingerprint }, bearer);

  it('exchanges a grant once for an access token; a second exchange is invalid_grant', async () => {
    const g = await grant();
    const first = await redeem(g);
    expect(first.status).toBe(200);
    expect(typeof first.body['accessToken']).toBe('string');
    expect(await redeem(g)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refuses an unknown grant, a malformed fingerprint, and a grant redeemed by another subject', async () => {
    expect(await redeem('no-such-grant')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await redeem(await grant(), player.sessionToken, 'AB:CD')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await redeem(await grant(), server.sessionToken)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
  });

  it('refuses a grant older than its lifetime', async () => {
    const g = await grant();
    now += 31_000;
    expect(await redeem(g)).toMatchObject({ status: 400, body: { error: 'invalid_grant', message: 'the authorization grant expired' } });
  });

  it('fails a request on purpose when told to (one shot), before any check', async () => {
    service.failNext('authToken', 503);
    expect(await redeem('anything')).toMatchObject({ status: 503, body: { error: 'service_unavailable' } });
    expect(await redeem('anything')).toMatchObject({ status: 400 });
  });
});

describe('the exchange client', () => {
  it('turns an HTTP refusal into SessionServiceHttpError with the status and error name only', async () => {
    const sessions = sessionServiceClient({ url: service.url });
    const error = await sessions
      .exchangeAuthGrant({ authorizationGrant: 'unknown-grant-value', certificateFingerprint: fingerprint, sessionToken: player.sessionToken })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionServiceHttpError);
    expect(error).toMatchObject({ code: 'ERR_TESTKIT_SESSION_SERVICE_HTTP', status: 400, error: 'invalid_grant' });
    expect(String((error as Error).message)).not.toContain('unknown-grant-value');
    expect(String((error as Error).message)).not.toContain(player.sessionToken);
  });

  it('reports an unreachable service as no answer', async () => {
    const gone = await createSessionService();
    const url = gone.url;
    await gone.close();
    const error = await sessionServiceClient({ url })
      .requestAuthGrant({ identityToken: player.identityToken, audience: 'x', sessionToken: server.sessionToken })
      .catch((e: unknown) => e);
    expect(isTestkitError(error, 'ERR_TESTKIT_SESSION_SERVICE_HTTP')).toBe(true);
    expect((error as SessionServiceHttpError).status).toBeUndefined();
  });
});

describe('the service itself', () => {
  it('listens on loopback only and says why not otherwise', async () => {
    await expect(createSessionService({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    const first = await createSessionService();
    try {
      const port = Number(new URL(first.url).port);
      await expect(createSessionService({ port })).rejects.toMatchObject({ code: 'ERR_TESTKIT_SESSION_SERVICE_LISTEN' });
    } finally {
      await first.close();
    }
  });

  it('logs and records method, route and status of each request, never a header or body', async () => {
    const lines: object[] = [];
    const logged = await createSessionService({ logger: { debug: (obj) => lines.push(obj) } });
    try {
      const p = await logged.createPlayer({ clientUuid: randomUUID(), username: 'Carol' });
      const s = await logged.createServer();
      const sessions = sessionServiceClient({ url: logged.url });
      const g = await sessions.requestAuthGrant({ identityToken: p.identityToken, audience: s.audience, sessionToken: s.sessionToken });
      await sessions.exchangeAuthGrant({ authorizationGrant: g, certificateFingerprint: fingerprint, sessionToken: p.sessionToken });
      await sessions.exchangeAuthGrant({ authorizationGrant: g, certificateFingerprint: fingerprint, sessionToken: p.sessionToken }).catch(() => {});
      expect(logged.requests).toEqual([
        { method: 'POST', path: '/server-join/auth-grant', status: 200 },
        { method: 'POST', path: '/server-join/auth-token', status: 200 },
        { method: 'POST', path: '/server-join/auth-token', status: 400, error: 'invalid_grant' },
      ]);
      expect(lines).toEqual([
        { method: 'POST', route: 'authGrant', status: 200 },
        { method: 'POST', route: 'authToken', status: 200 },
        { method: 'POST', route: 'authToken', status: 400, error: 'invalid_grant' },
      ]);
      expect(logged.counters).toMatchObject({ requests: 3, refused: 1, grantsIssued: 1, accessTokensIssued: 1, identityTokensIssued: 2 });
    } finally {
      await logged.close();
    }
  });

  it('closes idempotently, ending kept-alive connections', async () => {
    const s = await createSessionService();
    await new Promise<void>((resolve, reject) => {
      request(new URL(SESSION_SERVICE_PATHS.jwks, s.url), { agent: undefined }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await Promise.all([s.close(), s.close()]);
    await expect(fetch(s.jwksUrl)).rejects.toThrow();
  });
});
