/**
 * Loading a configuration: the YAML file (parsed with `yaml`), the command line's overrides merged on
 * top, the result validated against the published JSON Schema (`ajv`), then the checks a schema
 * cannot express (a pool that names another pool, a QUIC backend off loopback without a trust
 * setting…). Every problem becomes one issue naming its key path; all of them are reported at once.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { ReferenceProxyError, type ConfigIssue } from '../errors.js';
import { proxyConfigJsonSchema, type ProxyConfig } from './schema.js';

/** A config object before validation: what a file or the flags said. */
export type RawConfig = Record<string, unknown>;

/** Default pool of a backend that names none. */
export const DEFAULT_POOL = 'default';
/** Default admin address. */
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:8080';
/** Environment variable holding the admin token (instead of `admin.tokenFile`). */
export const ADMIN_TOKEN_ENV = 'HANDOFF_ADMIN_TOKEN';

let validator: ReturnType<Ajv['compile']> | undefined;

function validate(config: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    validator = ajv.compile(proxyConfigJsonSchema());
  }
  return validator(config) ? [] : [...(validator.errors ?? [])];
}

// ------------------------------------------------------------------ key paths

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['backends', 'a.b', 'trust']` → `backends["a.b"].trust`; array indexes as `[0]`. */
export function keyPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(the configuration)' : out;
}

function pointerSegments(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const segments: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const index = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : undefined;
    segments.push(index ?? key);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return segments;
}

/** What a pattern means, for the message of a value that does not match it. */
const PATTERN_MEANING: ReadonlyArray<[RegExp, string]> = [
  [/^\^\(\?:quic\|tcp\)/, 'must be quic://host:port or tcp://host:port'],
  [/^\^\(\?:\\\[/, 'must be host:port (or [v6]:port)'],
  [/^\^\[A-Za-z0-9\._:-\]\{1,64\}\$$/, 'must be an id of 1–64 characters of A–Z a–z 0–9 . _ : -'],
  [/^\^\[A-Za-z0-9_-\]\{43\}\$$/, 'must be a SHA-256 fingerprint, 43 characters of base64url'],
  [/^\^https\?/, 'must be an http:// or https:// URL'],
  [/^\^rediss\?/, 'must be a redis:// or rediss:// URL'],
];

/** Flags that stand for a key, named in "is required" messages. */
const FLAG_OF: Readonly<Record<string, string>> = {
  listen: '--listen',
  'listen.address': '--listen',
  backends: '--backend',
  clientAuth: '--client-auth',
  'clientAuth.mode': '--client-auth',
  'tickets.keys': '--ticket-keys',
};

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function issueOf(error: ErrorObject, data: unknown): ConfigIssue {
  const segments = pointerSegments(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const path = keyPath([...segments, missing]);
      const flag = FLAG_OF[path];
      return { path, message: `is required${flag ? ` (or ${flag})` : ''}` };
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const allowed = Object.keys(((error.parentSchema ?? {}) as { properties?: Record<string, unknown> }).properties ?? {});
      const isIdMap = allowed.length === 0;
      return {
        path: keyPath([...segments, extra]),
        message: isIdMap ? 'is not a valid id (1–64 characters of A–Z a–z 0–9 . _ : -)' : `is not a known key (expected one of: ${allowed.join(', ')})`,
      };
    }
    case 'type':
      return { path: keyPath(segments), message: `must be ${article(String(params.type))}, not ${describeType(error.data)}` };
    case 'enum':
      return { path: keyPath(segments), message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'pattern': {
      const meaning = PATTERN_MEANING.find(([re]) => re.test(String(params.pattern)))?.[1] ?? `must match ${String(params.pattern)}`;
      return { path: keyPath(segments), message: `${meaning}, not ${describeType(error.data)}` };
    }
    case 'minProperties':
    case 'minItems': {
      const limit = Number(params.limit);
      return { path: keyPath(segments), message: `must have at least ${limit} ${limit === 1 ? 'entry' : 'entries'}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'uniqueItems':
      return { path: keyPath(segments), message: error.message ?? `fails ${error.keyword}` };
    default:
      return { path: keyPath(segments), message: error.message ?? `fails ${error.keyword}` };
  }
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false' };
  return type
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ');
}

// ------------------------------------------------------------------ merging

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `overrides` on top of `base`: mappings merge key by key, anything else replaces. A backend given by
 * a flag replaces that backend's address and keeps the file's other keys for it.
 */
export function mergeConfig(base: RawConfig, overrides: RawConfig): RawConfig {
  const out: RawConfig = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

/** Keys whose values are file paths: made absolute against the config file's directory. */
const PATH_KEYS: readonly (readonly string[])[] = [
  ['proxy', 'passwordFile'],
  ['listen', 'certificate', 'cert'],
  ['listen', 'certificate', 'key'],
  ['admin', 'tokenFile'],
  ['backends', '*', 'trust', 'ca'],
  ['backends', '*', 'jwks'],
  ['backends', '*', 'passwordFile'],
  ['clientAuth', 'serverSessionTokenFile'],
  ['clientAuth', 'serverIdentityTokenFile'],
  ['tickets', 'keys'],
];

/** Rewrites every relative path in `config` against `baseDir` (in place; only strings are touched). */
export function absolutePaths(config: RawConfig, baseDir: string): RawConfig {
  const visit = (node: unknown, keys: readonly string[]): void => {
    if (!isPlainObject(node) || keys.length === 0) return;
    const [head, ...rest] = keys as [string, ...string[]];
    const children = head === '*' ? Object.keys(node) : [head];
    for (const child of children) {
      if (rest.length === 0) {
        const value = node[child];
        if (typeof value === 'string' && value.length > 0 && !isAbsolute(value)) node[child] = resolvePath(baseDir, value);
      } else {
        visit(node[child], rest);
      }
    }
  };
  for (const keys of PATH_KEYS) visit(config, keys);
  return config;
}

// ------------------------------------------------------------------ reading

/** Parses YAML (or JSON, a subset) text; syntax errors and duplicate keys are issues with their line. */
export function parseConfigText(text: string, source = 'the config file'): RawConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => {
      const line = error.linePos?.[0];
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return { path: line ? `${source}:${line.line}:${line.col}` : source, message };
    });
    throw new ReferenceProxyError('ERR_REFERENCE_PROXY_CONFIG', `${source} is not valid YAML`, { issues });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new ReferenceProxyError('ERR_REFERENCE_PROXY_CONFIG', `${source} must hold a mapping`, {
      issues: [{ path: '(the configuration)', message: `must be a mapping of keys, not ${describeType(value)}` }],
    });
  }
  return value;
}

/** Reads and parses a config file; relative paths inside it are taken from its directory. */
export async function readConfigFile(file: string): Promise<RawConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ReferenceProxyError('ERR_REFERENCE_PROXY_FILE', `cannot read the config file ${file}: ${code}`, {
      issues: [{ path: '--config', message: `cannot read ${file}: ${code}` }],
    });
  }
  return absolutePaths(parseConfigText(text, file), dirname(resolvePath(file)));
}

// ------------------------------------------------------------------ checking

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** `host:port` → parts (`[v6]:port` too); undefined when malformed or the port is out of range. */
export function parseAddress(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s[\]/]+)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/** `quic://host:port` → transport and address. */
export function parseBackendUrl(value: string): { transport: 'quic' | 'tcp'; host: string; port: number } | undefined {
  const match = /^(quic|tcp):\/\/(.+)$/.exec(value);
  if (!match) return undefined;
  const address = parseAddress(match[2]!);
  return address ? { transport: match[1] as 'quic' | 'tcp', ...address } : undefined;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || LOOPBACK_V4.test(host);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The checks a schema cannot express; `env` supplies `HANDOFF_ADMIN_TOKEN`. */
function semanticIssues(config: ProxyConfig, env: Readonly<Record<string, string | undefined>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (segments: readonly (string | number)[], message: string) => issues.push({ path: keyPath(segments), message });
  const portChecked = (segments: readonly (string | number)[], value: string | undefined) => {
    if (value !== undefined && parseAddress(value) === undefined) add(segments, `the port of ${JSON.stringify(value)} must be 0–65535`);
  };

  const listen = parseAddress(config.listen.address);
  portChecked(['listen', 'address'], config.listen.address);
  portChecked(['proxy', 'address'], config.proxy?.address);
  portChecked(['proxy', 'publicAddress'], config.proxy?.publicAddress);
  portChecked(['admin', 'address'], config.admin?.address);
  if (listen && isWildcard(listen.host) && config.proxy?.address === undefined) {
    add(['proxy', 'address'], `is required when listen.address is a wildcard (${config.listen.address}): the address backends know the proxy by`);
  }
  const cert = config.listen.certificate;
  if (cert !== undefined && (cert.cert === undefined) !== (cert.key === undefined)) add(['listen', 'certificate'], 'needs both cert and key');

  // backends and pools
  const pools = new Map<string, string[]>();
  const addresses = new Map<string, string>();
  for (const [id, backend] of Object.entries(config.backends)) {
    const url = parseBackendUrl(backend.address);
    if (url === undefined) {
      add(['backends', id, 'address'], `the port of ${JSON.stringify(backend.address)} must be 0–65535`);
      continue;
    }
    const where = `${url.host.toLowerCase()}:${url.port}`;
    const other = addresses.get(where);
    if (other !== undefined) add(['backends', id, 'address'], `is the address of backend ${other} too`);
    else addresses.set(where, id);
    const pool = backend.pool ?? DEFAULT_POOL;
    pools.set(pool, [...(pools.get(pool) ?? []), id]);
    const trust = backend.trust;
    if (trust !== undefined) {
      if (url.transport === 'tcp') add(['backends', id, 'trust'], 'is for QUIC backends (TCP has no TLS)');
      const kinds = [trust.fingerprints !== undefined, trust.ca !== undefined, trust.insecure === true].filter(Boolean).length;
      if (kinds !== 1 && url.transport === 'quic') add(['backends', id, 'trust'], 'needs exactly one of fingerprints, ca or insecure: true');
      if (trust.serverName !== undefined && trust.ca === undefined) add(['backends', id, 'trust', 'serverName'], 'goes with ca');
    } else if (url.transport === 'quic' && !isLoopback(url.host)) {
      add(['backends', id, 'trust'], "is required for a QUIC backend off loopback: fingerprints (a self-signed backend), ca, or insecure: true (a private network)");
    }
    if (backend.jwks !== undefined && config.tickets === undefined) {
      add(['backends', id, 'jwks'], "needs tickets.keys: a referral's ticket is exchanged for a fresh one the proxy signs");
    }
  }
  for (const [pool, entry] of Object.entries(config.pools ?? {})) {
    if (!pools.has(pool)) add(['pools', pool], 'no backend is in this pool');
    if (typeof entry.fallback === 'string' && !pools.has(entry.fallback)) add(['pools', pool, 'fallback'], `no backend is in pool ${entry.fallback}`);
    (entry.finalKicks ?? []).forEach((pattern, index) => {
      try {
        new RegExp(pattern, 'i');
      } catch {
        add(['pools', pool, 'finalKicks', index], 'is not a valid regular expression');
      }
    });
  }
  if (config.initialPool !== undefined && !pools.has(config.initialPool)) add(['initialPool'], `no backend is in pool ${config.initialPool}`);

  // client auth
  const auth = config.clientAuth;
  if (auth.mode === 'session-service') {
    for (const key of ['audience', 'serverSessionTokenFile', 'serverIdentityTokenFile'] as const) {
      if (auth[key] === undefined) add(['clientAuth', key], 'is required with mode session-service');
    }
  } else {
    for (const key of ['url', 'audience', 'serverSessionTokenFile', 'serverIdentityTokenFile', 'issuer'] as const) {
      if (auth[key] !== undefined) add(['clientAuth', key], 'is only for mode session-service');
    }
  }

  // admin
  const admin = parseAddress(config.admin?.address ?? DEFAULT_ADMIN_ADDRESS);
  if (admin && !isLoopback(admin.host) && config.admin?.tokenFile === undefined && !env[ADMIN_TOKEN_ENV]) {
    add(['admin', 'tokenFile'], `is required when admin.address is not loopback (or set ${ADMIN_TOKEN_ENV}): the admin API moves players`);
  }
  return issues;
}

/** Options of {@link loadProxyConfig}. */
export interface LoadProxyConfigOptions {
  /** A YAML (or JSON) file; relative paths in it are taken from its directory. */
  readonly file?: string | undefined;
  /** Values from the command line, in the file's shape: they win over the file's. */
  readonly overrides?: RawConfig | undefined;
  /** The environment (default `process.env`): `HANDOFF_ADMIN_TOKEN`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * The file and the overrides, merged and checked.
 *
 * @throws {ReferenceProxyError} `ERR_REFERENCE_PROXY_CONFIG` with every issue (`issues`, each naming
 * its key path); `ERR_REFERENCE_PROXY_FILE` when the file cannot be read.
 */
export async function loadProxyConfig(options: LoadProxyConfigOptions = {}): Promise<ProxyConfig> {
  const base = options.file === undefined ? {} : await readConfigFile(options.file);
  return checkProxyConfig(mergeConfig(base, options.overrides ?? {}), options.env ?? process.env);
}

/**
 * Validates a config object (already merged): the JSON Schema, then the cross-key checks.
 *
 * @throws {ReferenceProxyError} `ERR_REFERENCE_PROXY_CONFIG` with every issue.
 */
export function checkProxyConfig(raw: unknown, env: Readonly<Record<string, string | undefined>> = process.env): ProxyConfig {
  const errors = validate(raw);
  if (errors.length > 0) {
    const seen = new Set<string>();
    const issues: ConfigIssue[] = [];
    // a value of the wrong type also fails its enum or pattern: report the type alone
    const typeFailed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
    for (const error of errors) {
      if (error.keyword !== 'type' && typeFailed.has(error.instancePath)) continue;
      const issue = issueOf(error, raw);
      const key = `${issue.path}\n${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(issue);
    }
    throw configError(issues);
  }
  const config = raw as ProxyConfig;
  const issues = semanticIssues(config, env);
  if (issues.length > 0) throw configError(issues);
  return config;
}

function configError(issues: readonly ConfigIssue[]): ReferenceProxyError {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ReferenceProxyError('ERR_REFERENCE_PROXY_CONFIG', `${first.path}: ${first.message}${more}`, { issues });
}
