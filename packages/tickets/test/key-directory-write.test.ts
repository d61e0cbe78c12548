import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JWKS_FILE,
  SIGNING_KEY_FILE,
  createMemoryReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  loadKeys,
  writeKeyDirectory,
} from '@handoff/tickets';
import { BINDING, CLIENT, SOURCE, TARGET, TEST_ED25519_JWK, expectCode, publicJwk } from './support/fixtures.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'handoff-keys-'));
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('key directory: writing and loading', () => {
  it('writes a private Ed25519 JWK (mode 0600) and the public JWKS under one kid', async () => {
    const dir = join(fresh(), 'nested', 'keys');
    const written = await writeKeyDirectory(dir);
    expect(written.signingKeyPath).toBe(join(dir, SIGNING_KEY_FILE));
    expect(written.jwksPath).toBe(join(dir, JWKS_FILE));
    expect(written.kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // the RFC 7638 thumbprint
    const signing = json(written.signingKeyPath);
    expect(signing).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: written.kid, alg: 'EdDSA' });
    expect(typeof signing.d).toBe('string');
    expect(statSync(written.signingKeyPath).mode & 0o777).toBe(0o600);
    const jwks = json(written.jwksPath) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: signing.x, kid: written.kid, alg: 'EdDSA', use: 'sig' }]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('signs with the full directory and verifies with only its jwks.json', async () => {
    const dir = fresh();
    const { kid } = await writeKeyDirectory(dir, { kid: 'lobby-2026-01' });
    const signer = await loadKeys(dir);
    expect(signer.list()).toEqual([expect.objectContaining({ kid: 'lobby-2026-01', alg: 'EdDSA', canSign: true })]);
    const verifierRing = await loadKeys(dir, { publicOnly: true });
    expect(verifierRing.list()).toEqual([expect.objectContaining({ kid, canSign: false })]);
    const fromFile = await loadKeys(join(dir, JWKS_FILE));
    expect(fromFile.list()).toEqual([expect.objectContaining({ kid, canSign: false })]);

    const token = await createTicketIssuer({ keyRing: signer, issuer: SOURCE }).issue({ clientUuid: CLIENT, target: TARGET });
    const verifier = createTicketVerifier({ keyRing: verifierRing, replayStore: createMemoryReplayStore() });
    await expect(verifier.verify(token, BINDING)).resolves.toMatchObject({ clientUuid: CLIENT });
  });

  it('a verifier never reads the signing key: publicOnly works with signing-key.jwk unreadable', async () => {
    const dir = fresh();
    await writeKeyDirectory(dir);
    writeFileSync(join(dir, SIGNING_KEY_FILE), '{ not json');
    expect((await loadKeys(dir, { publicOnly: true })).list()).toHaveLength(1);
    await expectCode(loadKeys(dir), 'ERR_TICKET_INVALID_ARGUMENT');
  });

  it('refuses to overwrite an existing directory unless asked', async () => {
    const dir = fresh();
    const first = await writeKeyDirectory(dir);
    const error = await writeKeyDirectory(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TICKET_INVALID_ARGUMENT', reason: 'key-directory-exists' });
    expect(json(first.jwksPath)).toMatchObject({ keys: [{ kid: first.kid }] });
    const second = await writeKeyDirectory(dir, { overwrite: true });
    expect(second.kid).not.toBe(first.kid);
    expect(statSync(second.signingKeyPath).mode & 0o777).toBe(0o600);
    expect((await loadKeys(dir)).list().map((k) => k.kid)).toEqual([second.kid]);
  });

  it('refuses a jwks.json that lists another key under the signing kid, and disagreeing windows', async () => {
    const dir = fresh();
    const { kid, jwksPath } = await writeKeyDirectory(dir);
    writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...publicJwk(TEST_ED25519_JWK), kid }] }));
    expect(await loadKeys(dir).catch((e: unknown) => e)).toMatchObject({ reason: 'key-directory' });
    // the public half alone still verifies
    expect((await loadKeys(dir, { publicOnly: true })).list()).toHaveLength(1);

    const other = fresh();
    const again = await writeKeyDirectory(other);
    const signing = json(again.signingKeyPath);
    writeFileSync(again.signingKeyPath, JSON.stringify({ ...signing, exp: 2_000_000_000 }));
    expect(await loadKeys(other).catch((e: unknown) => e)).toMatchObject({ reason: 'key-directory' });
    writeFileSync(again.jwksPath, JSON.stringify({ keys: [{ ...(json(again.jwksPath) as { keys: object[] }).keys[0], exp: 2_000_000_000 }] }));
    expect((await loadKeys(other)).list()).toEqual([expect.objectContaining({ canSign: true, notAfter: 2_000_000_000_000 })]);
  });

  it('names the file, never its content, when it cannot be read', async () => {
    const dir = fresh();
    const missing = await loadKeys(join(dir, 'nope')).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'ERR_TICKET_INVALID_ARGUMENT', reason: 'key-file' });
    expect(String((missing as Error).message)).toContain('nope');
    const empty = await loadKeys(dir).catch((e: unknown) => e);
    expect(empty).toMatchObject({ reason: 'key-directory' });
    const { signingKeyPath } = await writeKeyDirectory(join(dir, 'k'));
    const secret = json(signingKeyPath).d as string;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ keys: 'x', leaked: secret }));
    const bad = await loadKeys(join(dir, 'bad.json')).catch((e: unknown) => e);
    expect(bad).toMatchObject({ reason: 'jwks' });
    expect(JSON.stringify({ message: (bad as Error).message, ...(bad as object) })).not.toContain(secret);
  });

  it('refuses a bad kid', async () => {
    await expectCode(writeKeyDirectory(fresh(), { kid: 'has space' }), 'ERR_TICKET_INVALID_ARGUMENT');
  });
});
