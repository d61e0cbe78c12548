import { describe, expect, it } from 'vitest';
import {
  createMemoryReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  isVerifiedTicket,
  type KeyRing,
  type TicketVerifier,
} from '@handoff/tickets';
import { parseBackendId, parsePoolId, parseSessionId } from '@handoff/types';
import {
  BINDING,
  CLIENT,
  MAX_TICKET_BYTES,
  OTHER_CLIENT,
  SOURCE,
  T0,
  TARGET,
  TEST_ED25519_JWK,
  TEST_ED25519_JWK_2,
  TEST_HS256_SECRET,
  decodeToken,
  expectCode,
  testClock,
  testKeyRing,
} from './support/fixtures.js';
import { b64u, signRaw } from './support/raw-sign.js';

const TYP = 'handoff-migration+jwt';

async function setup(which: 'ed' | 'hs' | 'both' = 'ed') {
  const clock = testClock(T0);
  const keyRing = await testKeyRing(clock.now, which);
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
  const replayStore = createMemoryReplayStore({ now: clock.now });
  const verifier = createTicketVerifier({ keyRing, replayStore, now: clock.now, maxTtlSeconds: 60, clockToleranceSeconds: 5 });
  return { clock, keyRing, issuer, verifier, replayStore };
}

function claims(extra: Record<string, unknown> = {}) {
  return { iss: SOURCE, aud: TARGET, sub: CLIENT, jti: b64u(crypto.getRandomValues(new Uint8Array(16))), iat: T0, exp: T0 + 30, ...extra };
}

describe('verify: valid tickets', () => {
  it('accepts an EdDSA ticket and returns a branded VerifiedTicket with the claims', async () => {
    const { issuer, verifier } = await setup('ed');
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('minigames'), sessionId: parseSessionId('s-1') });
    const { header } = decodeToken(token);
    expect(header).toEqual({ alg: 'EdDSA', kid: 'ed-1', typ: TYP });
    const ticket = await verifier.verify(token, BINDING);
    expect(isVerifiedTicket(ticket)).toBe(true);
    expect(ticket).toMatchObject({
      kid: 'ed-1',
      alg: 'EdDSA',
      clientUuid: CLIENT,
      source: SOURCE,
      target: TARGET,
      issuedAt: T0,
      expiresAt: T0 + 30,
      pool: 'minigames',
      sessionId: 's-1',
      state: undefined,
    });
    expect(Object.isFrozen(ticket)).toBe(true);
  });

  it('accepts an HS256 ticket', async () => {
    const { issuer, verifier } = await setup('hs');
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    expect(decodeToken(token).header.alg).toBe('HS256');
    const ticket = await verifier.verify(token, BINDING);
    expect(ticket.alg).toBe('HS256');
    expect(ticket.pool).toBeUndefined();
  });

  it('accepts the ticket as Connect.referralData bytes', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    const ticket = await verifier.verify(new TextEncoder().encode(token), BINDING);
    expect(ticket.clientUuid).toBe(CLIENT);
  });

  it('a look-alike object is not a VerifiedTicket', async () => {
    const { issuer, verifier } = await setup();
    const ticket = await verifier.verify(await issuer.issue({ clientUuid: CLIENT, target: TARGET }), BINDING);
    expect(isVerifiedTicket({ ...ticket })).toBe(false);
    expect(isVerifiedTicket(JSON.parse(JSON.stringify(ticket)))).toBe(false);
  });
});

describe('verify: tampering', () => {
  it('refuses a tampered header, payload or signature', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('a') });
    const [h, p, s] = token.split('.') as [string, string, string];
    const header2 = b64u(`{"kid":"ed-1","alg":"EdDSA","typ":"${TYP}"}`); // same members, other order
    await expectCode(verifier.verify(`${header2}.${p}.${s}`, BINDING), 'ERR_TICKET_SIGNATURE');
    const payload2 = b64u(JSON.stringify({ ...decodeToken(token).claims, pool: 'b' }));
    await expectCode(verifier.verify(`${h}.${payload2}.${s}`, BINDING), 'ERR_TICKET_SIGNATURE');
    for (const index of [0, 40, 84]) {
      const sig2 = s.slice(0, index) + (s[index] === 'A' ? 'B' : 'A') + s.slice(index + 1);
      await expectCode(verifier.verify(`${h}.${p}.${sig2}`, BINDING), 'ERR_TICKET_SIGNATURE');
    }
    const short = b64u(Buffer.from(s, 'base64url').subarray(0, 32));
    await expectCode(verifier.verify(`${h}.${p}.${short}`, BINDING), 'ERR_TICKET_SIGNATURE'); // wrong length
    // and the untampered ticket still verifies: none of the above consumed its nonce
    await expect(verifier.verify(token, BINDING)).resolves.toMatchObject({ pool: 'a' });
  });

  it('refuses a ticket signed by another key under the right kid', async () => {
    const { verifier } = await setup();
    const token = signRaw({ alg: 'EdDSA', kid: 'ed-1', typ: TYP }, claims(), { ed25519: TEST_ED25519_JWK_2 });
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_SIGNATURE');
  });
});

describe('verify: algorithm confusion', () => {
  it('refuses an HS256 ticket naming an EdDSA kid (HMAC keyed with the public key)', async () => {
    const { verifier } = await setup('both');
    const token = signRaw({ alg: 'HS256', kid: 'ed-1', typ: TYP }, claims(), { hmac: Buffer.from(TEST_ED25519_JWK.x!, 'base64url') });
    const error = await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_ALG');
    expect(error.reason).toBe('kid-alg-mismatch');
  });

  it('refuses an EdDSA ticket naming an HS256 kid', async () => {
    const { verifier } = await setup('both');
    const token = signRaw({ alg: 'EdDSA', kid: 'hs-1', typ: TYP }, claims(), { ed25519: TEST_ED25519_JWK });
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_ALG');
  });

  it('refuses alg none, with or without a signature, and other algorithms', async () => {
    const { verifier } = await setup('both');
    const none = signRaw({ alg: 'none', kid: 'ed-1', typ: TYP }, claims(), { none: true });
    expect(await expectCode(verifier.verify(none, BINDING), 'ERR_TICKET_ALG')).toMatchObject({ reason: 'none' });
    const noneSigned = signRaw({ alg: 'none', kid: 'hs-1', typ: TYP }, claims(), { hmac: TEST_HS256_SECRET });
    await expectCode(verifier.verify(noneSigned, BINDING), 'ERR_TICKET_ALG');
    for (const alg of ['HS384', 'HS512', 'RS256', 'ES256', 'Ed25519', 'NONE', 'eddsa']) {
      const token = signRaw({ alg, kid: 'hs-1', typ: TYP }, claims(), { hmac: TEST_HS256_SECRET });
      await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_ALG');
    }
  });
});

describe('verify: structure', () => {
  let verifier: TicketVerifier;
  let keyRing: KeyRing;
  const good = () => signRaw({ alg: 'EdDSA', kid: 'ed-1', typ: TYP }, claims(), { ed25519: TEST_ED25519_JWK });
  const signed = (header: object, payload: object | string) => signRaw(header, payload, { ed25519: TEST_ED25519_JWK });
  const edHeader = { alg: 'EdDSA', kid: 'ed-1', typ: TYP };

  it.each([
    ['empty', ''],
    ['one segment', 'abc'],
    ['four segments', 'a.b.c.d'],
    ['empty header', '.eyJ9.AAAA'],
    ['not base64url', 'ab$c.def.ghi'],
    ['padded', 'eyJhbGciOiJFZERTQSJ9.e30=.AAAA'],
    ['length 1 mod 4', 'a.b.c'],
    ['header not JSON', `${b64u('{nope')}.${b64u('{}')}.AAAA`],
    ['header an array', `${b64u('[1]')}.${b64u('{}')}.AAAA`],
    ['header invalid UTF-8', `${b64u(Buffer.from([0x7b, 0xff, 0x7d]))}.${b64u('{}')}.AAAA`],
  ])('refuses %s as malformed', async (_name, token) => {
    ({ verifier } = await setup());
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_MALFORMED');
  });

  it('refuses non-canonical base64url (non-zero trailing bits)', async () => {
    ({ verifier } = await setup());
    const [h, p, s] = good().split('.') as [string, string, string];
    // 86-char Ed25519 signature: the last char carries 4 padding bits; 'B' after 'A' differs only there
    const last = s[85]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    await expectCode(verifier.verify(`${h}.${p}.${s.slice(0, 85)}${sibling}`, BINDING), 'ERR_TICKET_MALFORMED');
  });

  it.each([
    ['missing alg', { kid: 'ed-1', typ: TYP }],
    ['alg not a string', { alg: 1, kid: 'ed-1', typ: TYP }],
    ['missing kid', { alg: 'EdDSA', typ: TYP }],
    ['kid with a quote', { alg: 'EdDSA', kid: 'a"b', typ: TYP }],
    ['missing typ', { alg: 'EdDSA', kid: 'ed-1' }],
    ['typ JWT', { alg: 'EdDSA', kid: 'ed-1', typ: 'JWT' }],
    ['typ in other case', { alg: 'EdDSA', kid: 'ed-1', typ: 'Handoff-Migration+JWT' }],
    ['crit', { alg: 'EdDSA', kid: 'ed-1', typ: TYP, crit: ['exp'] }],
    ['b64 false', { alg: 'EdDSA', kid: 'ed-1', typ: TYP, b64: false }],
    ['embedded jwk', { alg: 'EdDSA', kid: 'ed-1', typ: TYP, jwk: { kty: 'OKP', crv: 'Ed25519', x: TEST_ED25519_JWK_2.x } }],
  ])('refuses a header with %s as malformed', async (_name, header) => {
    ({ verifier } = await setup());
    await expectCode(verifier.verify(signed(header, claims()), BINDING), 'ERR_TICKET_MALFORMED');
  });

  it.each([
    ['payload not JSON', '{"iss":'],
    ['payload an array', '[]'],
    ['unknown claim nbf', claims({ nbf: T0 })],
    ['unknown claim cnf', claims({ cnf: {} })],
    ['missing jti', (({ jti: _, ...rest }) => rest)(claims())],
    ['short jti', claims({ jti: 'AAAA' })],
    ['jti not canonical', claims({ jti: 'AAAAAAAAAAAAAAAAAAAAAB' })],
    ['uppercase sub', claims({ sub: CLIENT.toUpperCase() })],
    ['sub not a uuid', claims({ sub: 'player' })],
    ['aud array', claims({ aud: [TARGET] })],
    ['iss empty', claims({ iss: '' })],
    ['iat string', claims({ iat: String(T0) })],
    ['exp fractional', claims({ exp: T0 + 1.5 })],
    ['exp negative', claims({ iat: -10, exp: -5 })],
    ['exp before iat', claims({ exp: T0 - 1 })],
    ['exp equal to iat', claims({ exp: T0 })],
    ['pool bad', claims({ pool: 'a b' })],
    ['sid too long', claims({ sid: 'x'.repeat(129) })],
    ['st both forms', claims({ st: { in: '', ref: 'r', len: 0, sha256: 'A'.repeat(43) } })],
    ['st in not base64url', claims({ st: { in: 'a=' } })],
    ['st ref bad sha', claims({ st: { ref: 'r', len: 3, sha256: 'short' } })],
    ['st ref negative len', claims({ st: { ref: 'r', len: -1, sha256: b64u(new Uint8Array(32)) } })],
    ['st ref extra member', claims({ st: { ref: 'r', len: 1, sha256: b64u(new Uint8Array(32)), url: 'x' } })],
  ])('refuses a correctly signed ticket with %s as malformed', async (_name, payload) => {
    ({ verifier } = await setup());
    await expectCode(verifier.verify(signed(edHeader, payload as object | string), BINDING), 'ERR_TICKET_MALFORMED');
  });

  it('refuses tickets over 4096 bytes before parsing, as text or bytes', async () => {
    ({ verifier, keyRing } = await setup());
    const big = signed(edHeader, claims({ st: { in: b64u(new Uint8Array(3000)) } }));
    expect(big.length).toBeGreaterThan(MAX_TICKET_BYTES);
    await expectCode(verifier.verify(big, BINDING), 'ERR_TICKET_TOO_LARGE');
    await expectCode(verifier.verify(new TextEncoder().encode(big), BINDING), 'ERR_TICKET_TOO_LARGE');
    await expectCode(verifier.verify('a'.repeat(MAX_TICKET_BYTES + 1), BINDING), 'ERR_TICKET_TOO_LARGE');
    // 2048 characters but 4098 UTF-8 bytes
    await expectCode(verifier.verify('é'.repeat(2049), BINDING), 'ERR_TICKET_TOO_LARGE');
    // exactly 4096 bytes is within the limit (malformed here, not too large)
    await expectCode(verifier.verify('a'.repeat(MAX_TICKET_BYTES), BINDING), 'ERR_TICKET_MALFORMED');
    expect(keyRing).toBeDefined();
  });

  it('refuses non-ASCII bytes and non-string input as malformed', async () => {
    ({ verifier } = await setup());
    await expectCode(verifier.verify(new Uint8Array([0x61, 0x2e, 0xc3, 0xa9, 0x2e, 0x61]), BINDING), 'ERR_TICKET_MALFORMED');
    await expectCode(verifier.verify(42 as unknown as string, BINDING), 'ERR_TICKET_MALFORMED');
  });
});

describe('verify: bindings', () => {
  it('refuses another client, source or target, and argument misuse', async () => {
    const { issuer, verifier } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    await expectCode(verifier.verify(token, { ...BINDING, clientUuid: OTHER_CLIENT }), 'ERR_TICKET_CLIENT_MISMATCH');
    await expectCode(verifier.verify(token, { ...BINDING, source: parseBackendId('lobby-2') }), 'ERR_TICKET_SOURCE_MISMATCH');
    await expectCode(verifier.verify(token, { ...BINDING, target: parseBackendId('game-8') }), 'ERR_TICKET_TARGET_MISMATCH');
    await expectCode(verifier.verify(token, { ...BINDING, clientUuid: CLIENT.toUpperCase() as typeof CLIENT }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(verifier.verify(token, undefined as unknown as typeof BINDING), 'ERR_TICKET_INVALID_ARGUMENT');
    await expect(verifier.verify(token, BINDING)).resolves.toBeDefined();
  });
});
