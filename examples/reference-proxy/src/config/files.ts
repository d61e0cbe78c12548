/**
 * The files a configuration names, read before anything starts: certificates, token and password
 * files, the proxy's signing keys and each backend's public keys. Every unreadable or unusable file
 * is one issue naming its key path; all of them are reported at once. Nothing read here is ever put
 * in an error message or a log line.
 */
import { readFile } from 'node:fs/promises';
import { loadKeys, type KeyRing } from '@handoff/tickets';
import type { CertificateInit } from '@handoff/transport-quic';
import { ReferenceProxyError, type ConfigIssue } from '../errors.js';
import { ADMIN_TOKEN_ENV, keyPath } from './load.js';
import type { ProxyConfig } from './schema.js';

/** What the files held. Secrets stay in this object; it is never logged. */
export interface ConfigFiles {
  readonly listenCertificate: CertificateInit | undefined;
  readonly adminToken: string | undefined;
  readonly proxyPassword: string | undefined;
  readonly backendPasswords: ReadonlyMap<string, string>;
  readonly backendCa: ReadonlyMap<string, string>;
  /** Each backend's public keys (referral tickets it signs), by backend id. */
  readonly backendKeys: ReadonlyMap<string, KeyRing>;
  /** The proxy's keys (with the signing key), when tickets are on. */
  readonly signingKeys: KeyRing | undefined;
  readonly serverSessionToken: string | undefined;
  readonly serverIdentityToken: string | undefined;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}

/**
 * Reads every file `config` names.
 *
 * @throws {ReferenceProxyError} `ERR_REFERENCE_PROXY_FILE`, with one issue per file that failed.
 */
export async function readConfigFiles(config: ProxyConfig, env: Readonly<Record<string, string | undefined>> = process.env): Promise<ConfigFiles> {
  const issues: ConfigIssue[] = [];
  const text = async (segments: readonly string[], file: string, kind: 'secret' | 'pem'): Promise<string | undefined> => {
    let value: string;
    try {
      value = await readFile(file, 'utf8');
    } catch (error) {
      issues.push({ path: keyPath(segments), message: `cannot read ${file}: ${errnoOf(error)}` });
      return undefined;
    }
    // a secret file usually ends with a newline; the secret is the text without it
    const trimmed = kind === 'secret' ? value.replace(/\r?\n$/, '') : value;
    if (trimmed.length === 0) {
      issues.push({ path: keyPath(segments), message: `${file} is empty` });
      return undefined;
    }
    return trimmed;
  };
  const keys = async (segments: readonly string[], path: string, publicOnly: boolean): Promise<KeyRing | undefined> => {
    try {
      return await loadKeys(path, { publicOnly });
    } catch (error) {
      // the tickets package's messages never hold key material
      issues.push({ path: keyPath(segments), message: `cannot load keys from ${path}: ${(error as Error).message}` });
      return undefined;
    }
  };

  let listenCertificate: CertificateInit | undefined;
  const cert = config.listen.certificate;
  if (cert !== undefined) {
    const certPem = await text(['listen', 'certificate', 'cert'], cert.cert, 'pem');
    const keyPem = await text(['listen', 'certificate', 'key'], cert.key, 'pem');
    if (certPem !== undefined && !certPem.includes('-----BEGIN CERTIFICATE-----')) {
      issues.push({ path: 'listen.certificate.cert', message: `${cert.cert} holds no PEM certificate` });
    } else if (keyPem !== undefined && !/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(keyPem)) {
      issues.push({ path: 'listen.certificate.key', message: `${cert.key} holds no PEM private key` });
    } else if (certPem !== undefined && keyPem !== undefined) {
      listenCertificate = { certPem, keyPem };
    }
  }

  const adminTokenFile = config.admin?.tokenFile;
  let adminToken = adminTokenFile === undefined ? undefined : await text(['admin', 'tokenFile'], adminTokenFile, 'secret');
  if (adminTokenFile === undefined && env[ADMIN_TOKEN_ENV]) adminToken = env[ADMIN_TOKEN_ENV];
  if (adminToken !== undefined && adminToken.length < 16) {
    issues.push({ path: adminTokenFile === undefined ? ADMIN_TOKEN_ENV : 'admin.tokenFile', message: 'the admin token must be at least 16 characters' });
  }
  const proxyPassword = config.proxy?.passwordFile === undefined ? undefined : await text(['proxy', 'passwordFile'], config.proxy.passwordFile, 'secret');

  const backendPasswords = new Map<string, string>();
  const backendCa = new Map<string, string>();
  const backendKeys = new Map<string, KeyRing>();
  for (const [id, backend] of Object.entries(config.backends)) {
    if (backend.passwordFile !== undefined) {
      const password = await text(['backends', id, 'passwordFile'], backend.passwordFile, 'secret');
      if (password !== undefined) backendPasswords.set(id, password);
    }
    if (backend.trust?.ca !== undefined) {
      const ca = await text(['backends', id, 'trust', 'ca'], backend.trust.ca, 'pem');
      if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) issues.push({ path: keyPath(['backends', id, 'trust', 'ca']), message: `${backend.trust.ca} holds no PEM certificate` });
      else if (ca !== undefined) backendCa.set(id, ca);
    }
    if (backend.jwks !== undefined) {
      const ring = await keys(['backends', id, 'jwks'], backend.jwks, true);
      if (ring !== undefined) backendKeys.set(id, ring);
    }
  }

  let signingKeys: KeyRing | undefined;
  if (config.tickets !== undefined) {
    signingKeys = await keys(['tickets', 'keys'], config.tickets.keys, false);
    if (signingKeys !== undefined && !signingKeys.list().some((key) => key.canSign)) {
      issues.push({ path: 'tickets.keys', message: `${config.tickets.keys} has no signing key (signing-key.jwk): the proxy signs the tickets backends check` });
      signingKeys = undefined;
    }
  }

  const auth = config.clientAuth;
  const serverSessionToken =
    auth.serverSessionTokenFile === undefined ? undefined : await text(['clientAuth', 'serverSessionTokenFile'], auth.serverSessionTokenFile, 'secret');
  const serverIdentityToken =
    auth.serverIdentityTokenFile === undefined ? undefined : await text(['clientAuth', 'serverIdentityTokenFile'], auth.serverIdentityTokenFile, 'secret');

  if (issues.length > 0) {
    const first = issues[0]!;
    throw new ReferenceProxyError('ERR_REFERENCE_PROXY_FILE', `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
  }
  return {
    listenCertificate,
    adminToken,
    proxyPassword,
    backendPasswords,
    backendCa,
    backendKeys,
    signingKeys,
    serverSessionToken,
    serverIdentityToken,
  };
}
