import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  certificateFingerprint,
  certificatesFromPem,
  certificatesToPem,
  createDevCa,
  createSelfSignedCertificate,
  loadCaFile,
  loadPemFiles,
  parseCertificate,
  QuicTransportError,
  isQuicTransportError,
  transportQuicErrorCodes,
} from '@handoff/transport-quic';

describe.each(['P-256', 'Ed25519'] as const)('certificate helpers with %s keys', (algorithm) => {
  it('issues a leaf that verifies against its CA and carries the asked names and usages', async () => {
    const ca = await createDevCa({ commonName: 'Test CA', algorithm });
    const leaf = await ca.issue({ commonName: 'backend-a', dnsNames: ['backend-a', 'localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    const caCert = new NodeX509(ca.certPem);
    const leafCert = new NodeX509(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(leafCert.ca).toBe(false);
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.subjectAltName).toContain('DNS:localhost');
    expect(leafCert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(leafCert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new NodeX509(ca.certPem).verify(new NodeX509(leaf.certPem).publicKey)).toBe(false);
    expect(leafCert.publicKey.asymmetricKeyType).toBe(algorithm === 'P-256' ? 'ec' : 'ed25519');
  });

  it('makes a self-signed client certificate whose fingerprint is cnf.x5t#S256', async () => {
    const cert = await createSelfSignedCertificate({ commonName: 'player', algorithm, usage: 'client' });
    const expected = createHash('sha256').update(cert.der).digest('base64url');
    expect(cert.fingerprint).toBe(expected);
    expect(cert.fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(certificateFingerprint(cert.der)).toBe(expected);
    const parsed = new NodeX509(cert.certPem);
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(cert.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });
});

describe('PEM helpers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handoff-quic-certs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips DER and PEM and parses certificates', async () => {
    const ca = await createDevCa();
    const leaf = await ca.issue({ commonName: 'localhost' });
    const ders = certificatesFromPem(leaf.certPem + ca.certPem);
    expect(ders).toHaveLength(2);
    expect(Buffer.from(ders[0]!).equals(Buffer.from(leaf.der))).toBe(true);
    expect(certificatesFromPem(certificatesToPem(ders))).toEqual(ders);
    expect(parseCertificate(leaf.der).subject).toBe('CN=localhost');
    expect(() => parseCertificate(new Uint8Array([1, 2, 3]))).toThrow(QuicTransportError);
  });

  it('loads a certificate chain, key and CA from files', async () => {
    const ca = await createDevCa();
    const leaf = await ca.issue({ commonName: 'localhost' });
    await writeFile(join(dir, 'cert.pem'), leaf.certPem);
    await writeFile(join(dir, 'key.pem'), leaf.keyPem);
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    const loaded = await loadPemFiles({ cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
    expect(loaded.fingerprint).toBe(leaf.fingerprint);
    expect(loaded.keyPem).toBe(leaf.keyPem);
    expect(await loadCaFile(join(dir, 'ca.pem'))).toBe(ca.certPem);
  });

  it('reports bad files with a stable code and never echoes key material', async () => {
    const leaf = await createSelfSignedCertificate({ commonName: 'x' });
    await writeFile(join(dir, 'swapped-cert.pem'), leaf.keyPem);
    await writeFile(join(dir, 'swapped-key.pem'), leaf.certPem);
    const missing = loadPemFiles({ cert: join(dir, 'nope.pem'), key: join(dir, 'nope.key') });
    await expect(missing).rejects.toMatchObject({ code: 'ERR_TRANSPORT_QUIC_BAD_CERTIFICATE' });
    const swapped = await loadPemFiles({ cert: join(dir, 'swapped-cert.pem'), key: join(dir, 'swapped-key.pem') }).catch((e: unknown) => e);
    expect(swapped).toBeInstanceOf(QuicTransportError);
    expect((swapped as QuicTransportError).code).toBe('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE');
    const keyBody = leaf.keyPem.split('\n')[1]!;
    expect((swapped as Error).message).not.toContain(keyBody);
    await expect(loadCaFile(join(dir, 'swapped-cert.pem'))).rejects.toMatchObject({ code: 'ERR_TRANSPORT_QUIC_BAD_CERTIFICATE' });
  });

  it('isQuicTransportError recognises the errors of another installed copy of the package', async () => {
    const ours = await loadCaFile(join(dir, 'nope.pem')).catch((e: unknown) => e);
    expect(isQuicTransportError(ours, 'ERR_TRANSPORT_QUIC_BAD_CERTIFICATE')).toBe(true);
    vi.resetModules();
    const copy = (await import('@handoff/transport-quic')) as typeof import('@handoff/transport-quic');
    expect(copy.QuicTransportError).not.toBe(QuicTransportError);
    const theirs = new copy.QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', 'bad');
    expect(theirs).not.toBeInstanceOf(QuicTransportError);
    expect(isQuicTransportError(theirs, 'ERR_TRANSPORT_QUIC_BAD_CERTIFICATE')).toBe(true);
    expect(copy.isQuicTransportError(ours)).toBe(true);
    expect(isQuicTransportError(Object.assign(new Error('x'), { code: 'ERR_TRANSPORT_QUIC_BAD_CERTIFICATE' }))).toBe(false);
    expect(Object.keys(transportQuicErrorCodes).every((code) => code.startsWith('ERR_TRANSPORT_QUIC_'))).toBe(true);
  });
});
