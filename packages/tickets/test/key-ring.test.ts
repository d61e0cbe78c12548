import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createKeyRing,
  createMemoryReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  keyRingFromJwks,
  type KeyRingEvent,
} from '@handoff/tickets';
import { parsePoolId } from '@handoff/types';
import {
  BINDING,
  CLIENT,
  SOURCE,
  T0,
  TARGET,
  TEST_ED25519_JWK,
  TEST_ED25519_JWK_2,
  TEST_HS256_SECRET,
  decodeToken,
  expectCode,
  publicJwk,
  testClock,
} from './support/fixtures.js';

const ms = (seconds: number) => seconds * 1000;

describe('key rotation', () => {
  it('issues with the new kid while the old kid still verifies inside its window, and not after', async () => {
    const clock = testClock(T0);
    const ring = createKeyRing({ now: clock.now });
    await ring.add({ kid: 'old', jwk: TEST_ED25519_JWK });
    const verifier = createTicketVerifier({ keyRing: ring, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now });
    const issuer = createTicketIssuer({ keyRing: ring, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
    const issue = () => issuer.issue({ clientUuid: CLIENT, target: TARGET });

    const fromOld = await issue();
    const fromOld2 = await issue();
    expect(decodeToken(fromOld).header.kid).toBe('old');

    // rotate at runtime: the new key signs from now on; the old one verifies for 60 s more
    await ring.add({ kid: 'new', jwk: TEST_ED25519_JWK_2 });
    ring.retire('old', ms(T0 + 60));
    const fromNew = await issue();
    expect(decodeToken(fromNew).header.kid).toBe('new');

    clock.set(T0 + 20);
    await expect(verifier.verify(fromOld, BINDING)).resolves.toMatchObject({ kid: 'old' });
    await expect(verifier.verify(fromNew, BINDING)).resolves.toMatchObject({ kid: 'new' });

    // after its window (+ 5 s tolerance) the old kid no longer verifies, even for an unexpired ticket
    clock.set(T0 + 66);
    const error = await expectCode(verifier.verify(fromOld2, BINDING), 'ERR_TICKET_KEY_UNKNOWN');
    expect(error.reason).toBe('outside-window');
  });

  it('accepts a ticket exactly at key notAfter + tolerance and refuses it one second later', async () => {
    const clock = testClock(T0);
    const signing = createKeyRing({ now: clock.now });
    await signing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    const verifying = createKeyRing({ now: clock.now });
    await verifying.add({ kid: 'k', jwk: publicJwk(TEST_ED25519_JWK), notAfter: ms(T0 + 10) });
    const issuer = createTicketIssuer({ keyRing: signing, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
    const verifier = createTicketVerifier({ keyRing: verifying, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now, clockToleranceSeconds: 5 });
    const a = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    const b = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    clock.set(T0 + 15);
    await expect(verifier.verify(a, BINDING)).resolves.toBeDefined();
    clock.set(T0 + 16); // the tickets themselves are valid until T0 + 35
    expect((await expectCode(verifier.verify(b, BINDING), 'ERR_TICKET_KEY_UNKNOWN')).reason).toBe('outside-window');
  });

  it('accepts a ticket exactly at key notBefore - tolerance and refuses it one second earlier', async () => {
    const clock = testClock(T0);
    const signing = createKeyRing({ now: clock.now });
    await signing.add({ kid: 'k', secret: TEST_HS256_SECRET });
    const verifying = createKeyRing({ now: clock.now });
    await verifying.add({ kid: 'k', secret: TEST_HS256_SECRET, notBefore: ms(T0 + 5) });
    const issuer = createTicketIssuer({ keyRing: signing, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
    const verifier = createTicketVerifier({ keyRing: verifying, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now, clockToleranceSeconds: 5 });
    const a = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    clock.set(T0 - 1);
    await expectCode(verifier.verify(a, BINDING), 'ERR_TICKET_KEY_UNKNOWN');
    clock.set(T0);
    await expect(verifier.verify(a, BINDING)).resolves.toBeDefined();
  });

  it('does not sign with a key before its notBefore, nor with one that would lapse before the ticket expires', async () => {
    const clock = testClock(T0);
    const ring = createKeyRing({ now: clock.now });
    await ring.add({ kid: 'current', jwk: TEST_ED25519_JWK, notAfter: ms(T0 + 100) });
    await ring.add({ kid: 'next', jwk: TEST_ED25519_JWK_2, notBefore: ms(T0 + 50) });
    const issuer = createTicketIssuer({ keyRing: ring, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
    const kidAt = async (seconds: number) => {
      clock.set(seconds);
      return decodeToken(await issuer.issue({ clientUuid: CLIENT, target: TARGET })).header.kid;
    };
    expect(await kidAt(T0)).toBe('current'); // next not active yet
    expect(await kidAt(T0 + 50)).toBe('next'); // newest active (latest notBefore)
    ring.remove('next');
    expect(await kidAt(T0 + 70)).toBe('current'); // T0 + 70 + 30 = notAfter: still covers the lifetime
    clock.set(T0 + 71);
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET }), 'ERR_TICKET_NO_SIGNING_KEY');
  });

  it('among keys without windows, the most recently added signs', async () => {
    const ring = createKeyRing();
    await ring.add({ kid: 'a', jwk: TEST_ED25519_JWK });
    await ring.add({ kid: 'b', secret: TEST_HS256_SECRET });
    await ring.add({ kid: 'c', jwk: TEST_ED25519_JWK_2 });
    const issuer = createTicketIssuer({ keyRing: ring, issuer: SOURCE });
    expect(decodeToken(await issuer.issue({ clientUuid: CLIENT, target: TARGET })).header.kid).toBe('c');
  });

  it('removing a key stops verification at once', async () => {
    const clock = testClock(T0);
    const ring = createKeyRing({ now: clock.now });
    await ring.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    const token = await createTicketIssuer({ keyRing: ring, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET });
    expect(ring.remove('k')).toBe(true);
    expect(ring.remove('k')).toBe(false);
    const verifier = createTicketVerifier({ keyRing: ring, replayStore: createMemoryReplayStore(), now: clock.now });
    expect((await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_KEY_UNKNOWN')).reason).toBe('unknown-kid');
  });

  it('reports changes to subscribers', async () => {
    const ring = createKeyRing({ now: () => ms(T0) });
    const events: KeyRingEvent[] = [];
    const off = ring.subscribe((e) => events.push(e));
    await ring.add({ kid: 'k', secret: TEST_HS256_SECRET });
    ring.retire('k');
    ring.remove('k');
    off();
    await ring.add({ kid: 'k2', secret: TEST_HS256_SECRET });
    expect(events).toEqual([
      { type: 'key-added', kid: 'k' },
      { type: 'key-retired', kid: 'k' },
      { type: 'key-removed', kid: 'k' },
    ]);
  });
});

describe('key sources', () => {
  it('loads a JWKS with validity (nbf/exp seconds) and pools members; public keys verify only', async () => {
    const ring = await keyRingFromJwks({
      keys: [
        { ...publicJwk(TEST_ED25519_JWK), kid: 'pub', nbf: T0, exp: T0 + 3600, pools: ['a', 'b'] } as never,
        { ...TEST_ED25519_JWK, kid: 'priv', alg: 'EdDSA', use: 'sig' },
        { kty: 'oct', kid: 'hs', k: Buffer.from(TEST_HS256_SECRET).toString('base64url'), alg: 'HS256' },
      ],
    });
    expect(ring.list()).toEqual([
      { kid: 'pub', alg: 'EdDSA', canSign: false, notBefore: ms(T0), notAfter: ms(T0 + 3600), pools: ['a', 'b'] },
      { kid: 'priv', alg: 'EdDSA', canSign: true, notBefore: undefined, notAfter: undefined, pools: undefined },
      { kid: 'hs', alg: 'HS256', canSign: true, notBefore: undefined, notAfter: undefined, pools: undefined },
    ]);
    expect(JSON.stringify(ring.list())).not.toContain(TEST_ED25519_JWK.d!);
  });

  it('loads PEM keys: PKCS#8 private signs, SPKI public verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createKeyRing({ now: () => ms(T0) });
    await signer.add({ kid: 'pem', pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    const checker = createKeyRing({ now: () => ms(T0) });
    const info = await checker.add({ kid: 'pem', pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() });
    expect(info.canSign).toBe(false);
    const token = await createTicketIssuer({ keyRing: signer, issuer: SOURCE, now: () => ms(T0) }).issue({ clientUuid: CLIENT, target: TARGET });
    const verifier = createTicketVerifier({ keyRing: checker, replayStore: createMemoryReplayStore(), now: () => ms(T0) });
    await expect(verifier.verify(token, BINDING)).resolves.toMatchObject({ kid: 'pem' });
    await expectCode(createTicketIssuer({ keyRing: checker, issuer: SOURCE }).issue({ clientUuid: CLIENT, target: TARGET }), 'ERR_TICKET_NO_SIGNING_KEY');
  });

  it.each([
    ['a secret shorter than 32 bytes', { kid: 'k', secret: new Uint8Array(31) }],
    ['an oct JWK shorter than 32 bytes', { kid: 'k', jwk: { kty: 'oct', k: Buffer.alloc(16).toString('base64url') } }],
    ['an oct JWK with alg HS512', { kid: 'k', jwk: { kty: 'oct', alg: 'HS512', k: Buffer.from(TEST_HS256_SECRET).toString('base64url') } }],
    ['an X25519 key', { kid: 'k', jwk: { kty: 'OKP', crv: 'X25519', x: TEST_ED25519_JWK.x } }],
    ['a P-256 key', { kid: 'k', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }],
    ['an RSA PEM', { kid: 'k', pem: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString() }],
    ['garbage PEM', { kid: 'k', pem: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }],
    ['a private half that does not match x', { kid: 'k', jwk: { ...TEST_ED25519_JWK, d: TEST_ED25519_JWK_2.d } }],
    ['use enc', { kid: 'k', jwk: { ...TEST_ED25519_JWK, use: 'enc' } }],
    ['a kid with spaces', { kid: 'a b', secret: TEST_HS256_SECRET }],
    ['notAfter before notBefore', { kid: 'k', secret: TEST_HS256_SECRET, notBefore: 10, notAfter: 5 }],
    ['a bad pool name', { kid: 'k', secret: TEST_HS256_SECRET, pools: ['a b'] }],
    ['no material', { kid: 'k' }],
  ])('refuses %s', async (_name, input) => {
    const ring = createKeyRing();
    await expectCode(ring.add(input as never), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(ring.list()).toEqual([]);
  });

  it('refuses a duplicate kid unless replacing', async () => {
    const ring = createKeyRing();
    await ring.add({ kid: 'k', secret: TEST_HS256_SECRET });
    await expectCode(ring.add({ kid: 'k', jwk: TEST_ED25519_JWK }), 'ERR_TICKET_INVALID_ARGUMENT');
    await ring.add({ kid: 'k', jwk: TEST_ED25519_JWK }, { replace: true });
    expect(ring.get('k')?.alg).toBe('EdDSA');
  });

  it('error messages never contain key material', async () => {
    const ring = createKeyRing();
    const error = await expectCode(ring.add({ kid: 'k', jwk: { ...TEST_ED25519_JWK, d: TEST_ED25519_JWK_2.d } }), 'ERR_TICKET_INVALID_ARGUMENT');
    const text = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(text).not.toContain(TEST_ED25519_JWK_2.d!);
    expect(text).not.toContain(TEST_ED25519_JWK.x!);
  });
});

describe('pool-scoped keys', () => {
  it('verifies only tickets of its pools', async () => {
    const clock = testClock(T0);
    const ring = createKeyRing({ now: clock.now });
    await ring.add({ kid: 'mini', jwk: TEST_ED25519_JWK, pools: ['minigames'] });
    const issuer = createTicketIssuer({ keyRing: ring, issuer: SOURCE, now: clock.now });
    const verifier = createTicketVerifier({ keyRing: ring, replayStore: createMemoryReplayStore(), now: clock.now });
    const ok = await issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('minigames') });
    await expect(verifier.verify(ok, BINDING)).resolves.toMatchObject({ pool: 'minigames' });
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('survival') }), 'ERR_TICKET_NO_SIGNING_KEY');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET }), 'ERR_TICKET_NO_SIGNING_KEY');
    // a ticket for another pool signed with this key (e.g. by a misconfigured issuer) is refused
    const wide = createKeyRing({ now: clock.now });
    await wide.add({ kid: 'mini', jwk: TEST_ED25519_JWK });
    const other = await createTicketIssuer({ keyRing: wide, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('survival') });
    expect((await expectCode(verifier.verify(other, BINDING), 'ERR_TICKET_KEY_UNKNOWN')).reason).toBe('pool');
  });
});
