import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientUuid } from '@handoff/types';
import {
  HYTALE_SESSION_ISSUER,
  TOKEN_FAULTS,
  createSessionService,
  isTestkitError,
  isTokenError,
  sessionServiceClient,
  verifyAccessToken,
  verifyClientTokens,
  verifyIdentityToken,
  verifyServerAccessToken,
  type PlayerCredentials,
  type ServerCredentials,
  type SessionService,
  type TokenErrorCode,
  type TokenFault,
} from '@handoff/testkit';

/** A certificate fingerprint as `certificateFingerprint()` prints it (SHA-256 of DER, base64url). */
function fingerprint(seed: string): string {
  return createHash('sha256').update(seed).digest('base64url');
}

const clientCert = fingerprint('the client certificate');
const otherCert = fingerprint('another certificate');
const clientUuid = parseClientUuid(randomUUID());

let service: SessionService;
let player: PlayerCredentials;
let server: ServerCredentials;

beforeAll(async () => {
  service = await createSessionService();
  player = await service.createPlayer({ clientUuid, username: 'Alice' });
  server = await service.createServer();
});

afterAll(async () => {
  await service.close();
});

/** The whole exchange over HTTP: the server asks for the player's grant, the player redeems it for its certificate. */
async function accessTokenOverHttp(certificateFingerprint = clientCert): Promise<string> {
  const sessions = sessionServiceClient({ url: service.url });
  const authorizationGrant = await sessions.requestAuthGrant({
    identityToken: player.identityToken,
    audience: server.audience,
    sessionToken: server.sessionToken,
  });
  return sessions.exchangeAuthGrant({ authorizationGrant, certificateFingerprint, sessionToken: player.sessionToken });
}

async function refusal(promise: Promise<unknown>): Promise<TokenErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTokenError(error)) throw new Error(`expected a TokenError, got ${String(error)}`);
  return error.code;
}

describe('tokens of the fake session service verify with jose against its JWKS', () => {
  it('an identity token: EdDSA under a JWKS kid, the real issuer, the player as subject, the client scope and profile', async () => {
    const header = decodeProtectedHeader(player.identityToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
    expect(service.jwks().keys.map((k) => k.kid)).toEqual([header.kid]);
    const { payload } = await jwtVerify(player.identityToken, createRemoteJWKSet(service.jwksUrl), { issuer: HYTALE_SESSION_ISSUER });
    expect(payload).toMatchObject({ sub: clientUuid, scope: 'hytale:client', profile: { username: 'Alice' } });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(player.identityToken.split('.')[2]).toHaveLength(86); // the 80–90 character signature servers require
  });

  it('an access token from the HTTP exchange: audience, subject, username and cnf.x5t#S256 of the certificate named in the exchange', async () => {
    const accessToken = await accessTokenOverHttp();
    const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(service.jwksUrl), {
      issuer: HYTALE_SESSION_ISSUER,
      audience: server.audience,
    });
    expect(payload).toMatchObject({ sub: clientUuid, username: 'Alice', aud: [server.audience], cnf: { 'x5t#S256': clientCert }, ip: '127.0.0.1' });
    const checked = await verifyClientTokens({
      identityToken: player.identityToken,
      accessToken,
      jwks: service.jwksUrl,
      audience: server.audience,
      certificateFingerprint: clientCert,
      clientUuid,
      username: 'Alice',
    });
    expect(checked.identity).toMatchObject({ clientUuid, username: 'Alice', scopes: ['hytale:client'] });
    expect(checked.access).toMatchObject({ clientUuid, username: 'Alice', audience: server.audience, certificateFingerprint: clientCert });
  });

  it('jose itself refuses a badly signed and an expired token', async () => {
    const jwks = createLocalJWKSet(service.jwks());
    const badlySigned = await service.mintAccessToken({ clientUuid, username: 'Alice', audience: server.audience, certificateFingerprint: clientCert, fault: 'badly-signed' });
    await expect(jwtVerify(badlySigned, jwks)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const expired = await service.mintIdentityToken({ clientUuid, username: 'Alice', identityFault: 'expired' });
    await expect(jwtVerify(expired, jwks)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });
});

describe('the server checks refuse a wrongly bound token', () => {
  it('a token the service bound to another certificate (tampered exchange) is refused with ERR_TESTKIT_TOKEN_BINDING', async () => {
    service.tamperNext('wrongly-bound');
    const accessToken = await accessTokenOverHttp();
    await expect(jwtVerify(accessToken, createLocalJWKSet(service.jwks()))).resolves.toBeDefined(); // well signed…
    const error = await verifyClientTokens({
      identityToken: player.identityToken,
      accessToken,
      jwks: service.jwks(),
      audience: server.audience,
      certificateFingerprint: clientCert,
      clientUuid,
      username: 'Alice',
    }).catch((e: unknown) => e);
    expect(isTokenError(error, 'ERR_TESTKIT_TOKEN_BINDING')).toBe(true); // …but not bound to this connection
    expect(error).toMatchObject({ token: 'access', name: 'TokenError' });
  });

  it("a genuine token replayed on a connection with another certificate (a proxy's own) is refused", async () => {
    const accessToken = await accessTokenOverHttp(clientCert);
    const expectations = { jwks: service.jwks(), audience: server.audience, clientUuid, username: 'Alice' };
    await expect(verifyAccessToken(accessToken, { ...expectations, certificateFingerprint: clientCert })).resolves.toMatchObject({ clientUuid });
    expect(await refusal(verifyAccessToken(accessToken, { ...expectations, certificateFingerprint: otherCert }))).toBe('ERR_TESTKIT_TOKEN_BINDING');
  });

  it('a token without cnf is refused', async () => {
    const unbound = await service.mintAccessToken({ clientUuid, username: 'Alice', audience: server.audience, certificateFingerprint: clientCert, fault: 'unbound' });
    const error = await verifyAccessToken(unbound, { jwks: service.jwks(), audience: server.audience, clientUuid, username: 'Alice', certificateFingerprint: clientCert }).catch(
      (e: unknown) => e,
    );
    expect(isTokenError(error, 'ERR_TESTKIT_TOKEN_BINDING')).toBe(true);
    expect((error as Error).message).toMatch(/no cnf/);
  });
});

describe('each deliberate fault is refused by the matching check', () => {
  const accessExpectations = (): Parameters<typeof verifyAccessToken>[1] => ({
    jwks: service.jwks(),
    audience: server.audience,
    clientUuid,
    username: 'Alice',
    certificateFingerprint: clientCert,
  });
  const expected: Record<TokenFault, TokenErrorCode> = {
    expired: 'ERR_TESTKIT_TOKEN_EXPIRED',
    'not-yet-valid': 'ERR_TESTKIT_TOKEN_NOT_YET_VALID',
    'no-expiry': 'ERR_TESTKIT_TOKEN_EXPIRED',
    'badly-signed': 'ERR_TESTKIT_TOKEN_SIGNATURE',
    'wrong-issuer': 'ERR_TESTKIT_TOKEN_ISSUER',
    'wrong-subject': 'ERR_TESTKIT_TOKEN_SUBJECT',
    'wrong-audience': 'ERR_TESTKIT_TOKEN_AUDIENCE',
    'wrongly-bound': 'ERR_TESTKIT_TOKEN_BINDING',
    unbound: 'ERR_TESTKIT_TOKEN_BINDING',
    'wrong-scope': 'ERR_TESTKIT_TOKEN_SCOPE',
  };

  it.each(TOKEN_FAULTS.filter((f) => f !== 'wrong-scope'))('access token %s', async (fault) => {
    const token = await service.mintAccessToken({ clientUuid, username: 'Alice', audience: server.audience, certificateFingerprint: clientCert, fault });
    expect(await refusal(verifyAccessToken(token, accessExpectations()))).toBe(expected[fault]);
  });

  it.each(TOKEN_FAULTS.filter((f) => !['wrong-audience', 'wrongly-bound', 'unbound'].includes(f)))('identity token %s', async (fault) => {
    const token = await service.mintIdentityToken({ clientUuid, username: 'Alice', identityFault: fault });
    expect(await refusal(verifyIdentityToken(token, { jwks: service.jwks(), clientUuid }))).toBe(expected[fault]);
  });

  it('an access token for another username is refused', async () => {
    const token = await service.mintAccessToken({ clientUuid, username: 'Mallory', audience: server.audience, certificateFingerprint: clientCert });
    expect(await refusal(verifyAccessToken(token, accessExpectations()))).toBe('ERR_TESTKIT_TOKEN_USERNAME');
  });

  it("a clean token passes every check, and the identity token's subject must be the Connect UUID", async () => {
    const token = await service.mintAccessToken({ clientUuid, username: 'Alice', audience: server.audience, certificateFingerprint: clientCert });
    await expect(verifyAccessToken(token, accessExpectations())).resolves.toMatchObject({ username: 'Alice' });
    expect(await refusal(verifyIdentityToken(player.identityToken, { jwks: service.jwks(), clientUuid: randomUUID() }))).toBe('ERR_TESTKIT_TOKEN_SUBJECT');
  });

  it('an editor identity carries hytale:editor, which a game client check refuses', async () => {
    const editor = await service.mintIdentityToken({ clientUuid, username: 'Alice', clientType: 'Editor' });
    await expect(verifyIdentityToken(editor, { jwks: service.jwks(), clientUuid, clientType: 'Editor' })).resolves.toMatchObject({ scopes: ['hytale:editor'] });
    expect(await refusal(verifyIdentityToken(editor, { jwks: service.jwks(), clientUuid }))).toBe('ERR_TESTKIT_TOKEN_SCOPE');
  });
});

describe('structure, algorithm, keys and clock tolerance', () => {
  it('refuses tokens that are not three parts or whose signature is not 80 to 90 characters', async () => {
    const jwks = service.jwks();
    expect(await refusal(verifyIdentityToken('a.b', { jwks, clientUuid }))).toBe('ERR_TESTKIT_TOKEN_MALFORMED');
    const [h, p, s] = player.identityToken.split('.');
    expect(await refusal(verifyIdentityToken(`${h}.${p}.${s!.slice(0, 40)}`, { jwks, clientUuid }))).toBe('ERR_TESTKIT_TOKEN_MALFORMED');
    expect(await refusal(verifyIdentityToken(42, { jwks, clientUuid }))).toBe('ERR_TESTKIT_TOKEN_MALFORMED');
  });

  it('refuses a token signed with another algorithm than EdDSA', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const es256 = await new SignJWT({ sub: clientUuid, iss: HYTALE_SESSION_ISSUER, scope: 'hytale:client' })
      .setProtectedHeader({ alg: 'ES256', kid: service.jwks().keys[0]!.kid })
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(es256.split('.')[2]).toHaveLength(86); // passes the structural check: the algorithm is what fails
    expect(await refusal(verifyIdentityToken(es256, { jwks: service.jwks(), clientUuid }))).toBe('ERR_TESTKIT_TOKEN_ALGORITHM');
  });

  it("refuses a token whose kid is not in the JWKS (another service's key)", async () => {
    const other = await createSessionService();
    try {
      const foreign = await other.mintIdentityToken({ clientUuid, username: 'Alice' });
      expect(await refusal(verifyIdentityToken(foreign, { jwks: service.jwks(), clientUuid }))).toBe('ERR_TESTKIT_TOKEN_UNKNOWN_KEY');
      expect(await refusal(verifyIdentityToken(foreign, { jwks: service.jwksUrl, clientUuid }))).toBe('ERR_TESTKIT_TOKEN_UNKNOWN_KEY');
    } finally {
      await other.close();
    }
  });

  it('allows 300 seconds of clock skew on exp and iat, and no more', async () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const clocked = await createSessionService({ now: () => now, tokenTtlSeconds: 60 });
    try {
      const token = await clocked.mintIdentityToken({ clientUuid, username: 'Alice' });
      const at = (ms: number) => ({ jwks: clocked.jwks(), clientUuid, now: new Date(ms) });
      await expect(verifyIdentityToken(token, at(now + 60_000 + 299_000))).resolves.toBeDefined();
      expect(await refusal(verifyIdentityToken(token, at(now + 60_000 + 301_000)))).toBe('ERR_TESTKIT_TOKEN_EXPIRED');
      await expect(verifyIdentityToken(token, at(now - 299_000))).resolves.toBeDefined();
      expect(await refusal(verifyIdentityToken(token, at(now - 301_000)))).toBe('ERR_TESTKIT_TOKEN_NOT_YET_VALID');
    } finally {
      await clocked.close();
    }
  });

  it('checks a server access token against the certificate the server presented', async () => {
    const sessions = sessionServiceClient({ url: service.url });
    const serverCert = fingerprint('the server certificate');
    const grant = await sessions.requestAuthGrant({ identityToken: server.identityToken, audience: clientUuid, sessionToken: player.sessionToken });
    const serverAccessToken = await sessions.exchangeAuthGrant({ authorizationGrant: grant, certificateFingerprint: serverCert, sessionToken: server.sessionToken });
    await expect(verifyServerAccessToken(serverAccessToken, { jwks: service.jwks(), certificateFingerprint: serverCert })).resolves.toMatchObject({ subject: server.subject });
    expect(await refusal(verifyServerAccessToken(serverAccessToken, { jwks: service.jwks(), certificateFingerprint: otherCert }))).toBe('ERR_TESTKIT_TOKEN_BINDING');
  });

  it('rejects bad expectations with ERR_TESTKIT_INVALID_ARGUMENT, not as a refused token', async () => {
    const error = await verifyAccessToken(player.identityToken, {
      jwks: service.jwks(),
      audience: server.audience,
      clientUuid,
      username: 'Alice',
      certificateFingerprint: 'not a fingerprint',
    }).catch((e: unknown) => e);
    expect(isTestkitError(error, 'ERR_TESTKIT_INVALID_ARGUMENT')).toBe(true);
    expect(isTokenError(error)).toBe(false);
  });
});
