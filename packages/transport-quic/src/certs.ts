/**
 * Certificate helpers: a private CA and leaf certificates for development and tests (P-256 or
 * Ed25519), PEM loading, and the SHA-256 fingerprint Hytale binds tokens to (`cnf.x5t#S256`).
 *
 * Keys are made and certificates signed with WebCrypto (`globalThis.crypto`) through
 * `@peculiar/x509`; no ASN.1 is written by hand. `@peculiar/x509` needs `reflect-metadata` loaded
 * before it. Fingerprints use the contract's `certificateFingerprint`, so every adapter computes
 * `cnf.x5t#S256` the same way.
 */
import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { certificateFingerprint } from '@handoff/transport';
import { QuicTransportError } from './errors.js';

/** Key algorithms the helpers can create. Both are accepted by BoringSSL (quiche) and by Go's TLS. */
export type KeyAlgorithm = 'P-256' | 'Ed25519';

/** What a leaf certificate may be used for (extended key usage). */
export type CertificateUsage = 'server' | 'client' | 'both';

/** A certificate with its private key, in the PEM form the QUIC endpoints take. */
export interface CertificateWithKey {
  /** The certificate chain in PEM, leaf first (a CA-issued leaf carries only itself; add the CA as trust anchor). */
  readonly certPem: string;
  /** The private key in PKCS#8 PEM. Never log it. */
  readonly keyPem: string;
  /** DER of the leaf certificate. */
  readonly der: Uint8Array;
  /** base64url (no padding) SHA-256 of `der`: Hytale's `cnf.x5t#S256`. */
  readonly fingerprint: string;
  /** Subject distinguished name, for diagnostics. */
  readonly subject: string;
}

/** A development CA: its certificate (the trust anchor to give verifiers) and a way to issue leaves. */
export interface DevCa extends CertificateWithKey {
  /** Issues a leaf certificate signed by this CA. */
  issue(init: LeafInit): Promise<CertificateWithKey>;
}

/** Options for {@link createDevCa}. */
export interface DevCaInit {
  readonly commonName?: string;
  readonly algorithm?: KeyAlgorithm;
  /** Validity in days from now (default 365). */
  readonly validityDays?: number;
}

/** Options for a leaf certificate. */
export interface LeafInit {
  readonly commonName: string;
  /** DNS subject alternative names (default: `[commonName]` when it looks like a host name). */
  readonly dnsNames?: readonly string[];
  /** IP subject alternative names, e.g. `['127.0.0.1', '::1']`. */
  readonly ipAddresses?: readonly string[];
  readonly algorithm?: KeyAlgorithm;
  /** Extended key usage (default `'both'`). */
  readonly usage?: CertificateUsage;
  /** Validity in days from now (default 30). */
  readonly validityDays?: number;
  /** Start of validity (default: one minute ago, to tolerate small clock skew). */
  readonly notBefore?: Date;
}

const DAY_MS = 86_400_000;

function keyParams(algorithm: KeyAlgorithm): { gen: webcrypto.EcKeyGenParams | webcrypto.Algorithm; sign: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  if (algorithm === 'Ed25519') return { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  return { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams };
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  const { gen } = keyParams(algorithm);
  return (await globalThis.crypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  if (bytes[0] === 0) bytes[0] = 1;
  return Buffer.from(bytes).toString('hex');
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

async function withKey(cert: x509.X509Certificate, privateKey: webcrypto.CryptoKey): Promise<CertificateWithKey> {
  const der = new Uint8Array(cert.rawData);
  return {
    certPem: cert.toString('pem'),
    keyPem: await exportKeyPem(privateKey),
    der,
    fingerprint: certificateFingerprint(der),
    subject: cert.subject,
  };
}

/**
 * Creates a private certificate authority for development and tests.
 *
 * @example
 * ```ts
 * const ca = await createDevCa({ commonName: 'Handoff dev CA' });
 * const server = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'], usage: 'server' });
 * ```
 */
export async function createDevCa(init: DevCaInit = {}): Promise<DevCa> {
  const algorithm = init.algorithm ?? 'P-256';
  const { sign } = keyParams(algorithm);
  const keys = await generateKeys(algorithm);
  const now = Date.now();
  const name = `CN=${escapeDnValue(init.commonName ?? 'Handoff development CA')}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (init.validityDays ?? 365) * DAY_MS),
    signingAlgorithm: sign,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const base = await withKey(cert, keys.privateKey);
  const issue = async (leaf: LeafInit): Promise<CertificateWithKey> => {
    const leafAlgorithm = leaf.algorithm ?? algorithm;
    const leafKeys = await generateKeys(leafAlgorithm);
    const leafCert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${escapeDnValue(leaf.commonName)}`,
      issuer: cert.subject,
      notBefore: leaf.notBefore ?? new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + (leaf.validityDays ?? 30) * DAY_MS),
      signingAlgorithm: sign,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      extensions: await leafExtensions(leaf, leafKeys.publicKey, cert),
    });
    return withKey(leafCert, leafKeys.privateKey);
  };
  return { ...base, issue };
}

/**
 * Creates a self-signed leaf certificate, like the one a Hytale client presents (used only to
 * bind tokens; a `required-any` listener accepts it).
 */
export async function createSelfSignedCertificate(leaf: LeafInit): Promise<CertificateWithKey> {
  const algorithm = leaf.algorithm ?? 'P-256';
  const { sign } = keyParams(algorithm);
  const keys = await generateKeys(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeDnValue(leaf.commonName)}`,
    notBefore: leaf.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + (leaf.validityDays ?? 30) * DAY_MS),
    signingAlgorithm: sign,
    keys,
    extensions: await leafExtensions(leaf, keys.publicKey),
  });
  return withKey(cert, keys.privateKey);
}

async function leafExtensions(leaf: LeafInit, publicKey: webcrypto.CryptoKey, issuer?: x509.X509Certificate): Promise<x509.Extension[]> {
  const usage = leaf.usage ?? 'both';
  const eku: string[] = [];
  if (usage !== 'client') eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (usage !== 'server') eku.push(x509.ExtendedKeyUsage.clientAuth);
  const dnsNames = leaf.dnsNames ?? (/^[a-z0-9.-]+$/i.test(leaf.commonName) ? [leaf.commonName] : []);
  const names = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(leaf.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey));
  return extensions;
}

/** Splits PEM text into the DER of each `CERTIFICATE` block, in order. */
export function certificatesFromPem(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let structs: ReturnType<typeof x509.PemConverter.decodeWithHeaders>;
  try {
    structs = x509.PemConverter.decodeWithHeaders(pem);
  } catch (cause) {
    throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', 'the PEM text could not be decoded', { cause });
  }
  for (const struct of structs) {
    if (struct.type === 'CERTIFICATE') out.push(new Uint8Array(struct.rawData));
  }
  return out;
}

/** Encodes DER certificates as one PEM text. */
export function certificatesToPem(ders: readonly Uint8Array[]): string {
  return ders.map((der) => x509.PemConverter.encode(der, 'CERTIFICATE')).join('');
}

/** Parses a DER certificate (for callers that want its subject, validity or extensions). */
export function parseCertificate(der: Uint8Array): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', 'the certificate could not be parsed', { cause });
  }
}

/** Certificate material read from PEM files. */
export interface PemFiles {
  /** Certificate chain PEM (leaf first). */
  readonly certPem: string;
  /** Private key PEM (PKCS#8, or SEC1/PKCS#1 as BoringSSL reads them). */
  readonly keyPem: string;
  /** DER of the leaf. */
  readonly der: Uint8Array;
  readonly fingerprint: string;
}

/**
 * Reads a certificate chain and its private key from PEM files and checks that they look right
 * (at least one certificate; a private-key block present). Errors never include the key text.
 */
export async function loadPemFiles(paths: { readonly cert: string; readonly key: string }): Promise<PemFiles> {
  const [certPem, keyPem] = await Promise.all([readText(paths.cert, 'certificate'), readText(paths.key, 'private key')]);
  const ders = certificatesFromPem(certPem);
  const leaf = ders[0];
  if (!leaf) throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', `no CERTIFICATE block in ${paths.cert}`);
  parseCertificate(leaf);
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(keyPem)) {
    throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', `no PRIVATE KEY block in ${paths.key}`);
  }
  return { certPem, keyPem, der: leaf, fingerprint: certificateFingerprint(leaf) };
}

/** Reads a PEM file of trust anchors (one or more CA certificates). */
export async function loadCaFile(path: string): Promise<string> {
  const pem = await readText(path, 'CA');
  if (certificatesFromPem(pem).length === 0) {
    throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', `no CERTIFICATE block in ${path}`);
  }
  return pem;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new QuicTransportError('ERR_TRANSPORT_QUIC_BAD_CERTIFICATE', `cannot read the ${what} file ${path}`, { cause });
  }
}
