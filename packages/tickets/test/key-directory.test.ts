import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  JWKS_FILE,
  SIGNING_KEY_FILE,
  createKeyRing,
  createMemoryReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  loadKeyDirectory,
  loadKeys,
} from '@handoff/tickets';
import { BINDING, CLIENT, SOURCE, T0, TARGET, TEST_ED25519_JWK, TEST_ED25519_JWK_2, expectCode, publicJwk, testClock } from './support/fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'handoff-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const signing = { ...TEST_ED25519_JWK, kid: 'k-2026', alg: 'EdDSA', use: 'sig' };
const published = { ...publicJwk(TEST_ED25519_JWK), kid: 'k-2026', alg: 'EdDSA', use: 'sig' };
const previous = { ...publicJwk(TEST_ED25519_JWK_2), kid: 'k-2025', exp: T0 + 60 };

async function write(name: string, value: unknown, at = dir): Promise<void> {
  await writeFile(join(at, name), typeof value === 'string' ? value : JSON.stringify(value));
}

describe('key directory (signing-key.jwk + jwks.json)', () => {
  it('loads the public set alone (verify only) and with the signing key in place of its entry', async () => {
    const clock = testClock(T0);
    await write(JWKS_FILE, { keys: [published, previous] });
    const verifyOnly = await loadKeyDirectory(dir, { now: clock.now });
    expect(verifyOnly.list().map((k) => [k.kid, k.canSign])).toEqual([
      ['k-2026', false],
      ['k-2025', false],
    ]);
    expect(verifyOnly.get('k-2025')?.notAfter).toBe((T0 + 60) * 1000);

    await write(SIGNING_KEY_FILE, signing);
    const full = await loadKeyDirectory(dir, { now: clock.now });
    expect(full.get('k-2026')?.canSign).toBe(true);
    const token = await createTicketIssuer({ keyRing: full, issuer: SOURCE, now: clock.now }).issue({ clientUuid: CLIENT, target: TARGET });
    const verifier = createTicketVerifier({ keyRing: verifyOnly, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now });
    expect((await verifier.verify(token, BINDING)).kid).toBe('k-2026');
  });

  it('loadKeys takes a directory or a JWK Set file; a signing key alone is a directory too', async () => {
    await write(JWKS_FILE, { keys: [published, previous] });
    expect((await loadKeys(join(dir, JWKS_FILE))).list()).toHaveLength(2);
    expect((await loadKeys(dir)).list()).toHaveLength(2);
    const alone = join(dir, 'alone');
    await mkdir(alone);
    await write(SIGNING_KEY_FILE, signing, alone);
    expect((await loadKeys(alone)).get('k-2026')?.canSign).toBe(true);
  });

  it('refuses what the Java loader refuses, all or nothing, without key material in the message', async () => {
    await expectCode(loadKeyDirectory(dir), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(loadKeys(join(dir, 'missing.json')), 'ERR_TICKET_INVALID_ARGUMENT');
    await write(SIGNING_KEY_FILE, published);
    await expectCode(loadKeyDirectory(dir), 'ERR_TICKET_INVALID_ARGUMENT');
    await write(JWKS_FILE, { keys: [published] });
    await write(SIGNING_KEY_FILE, { ...TEST_ED25519_JWK_2, kid: 'k-2026' });
    const other = await expectCode(loadKeyDirectory(dir), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(other.reason).toBe('key-directory');
    expect(`${other.message} ${String(other.stack)}`).not.toContain(TEST_ED25519_JWK_2.d!);
    await write(SIGNING_KEY_FILE, { ...signing, exp: 1 });
    await expectCode(loadKeyDirectory(dir), 'ERR_TICKET_INVALID_ARGUMENT');
    await write(SIGNING_KEY_FILE, `{"kty":"OKP","d":"${TEST_ED25519_JWK.d!}"`);
    const broken = await expectCode(loadKeyDirectory(dir), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(broken.message).not.toContain(TEST_ED25519_JWK.d!);

    // into a live ring: a bad set adds nothing
    const ring = createKeyRing();
    await write(SIGNING_KEY_FILE, signing);
    await write(JWKS_FILE, { keys: [published, { kty: 'oct', kid: 'short', k: 'AAAA' }] });
    await expectCode(loadKeyDirectory(dir, { keyRing: ring }), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(ring.list()).toEqual([]);
    await write(JWKS_FILE, { keys: [published] });
    await loadKeyDirectory(dir, { keyRing: ring });
    await expectCode(loadKeyDirectory(dir, { keyRing: ring }), 'ERR_TICKET_INVALID_ARGUMENT');
    expect((await loadKeyDirectory(dir, { keyRing: ring, replace: true })).list()).toHaveLength(1);
  });
});
