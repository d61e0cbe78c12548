/**
 * The configuration: each problem is one issue naming its key path (from the schema, from the checks
 * a schema cannot express, from YAML itself, from the files it names), flags win over the file, paths
 * in a file are taken from its directory, and the published schema is the one the code validates with.
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeKeyDirectory } from '@handoff/tickets';
import {
  checkProxyConfig,
  isReferenceProxyError,
  loadProxyConfig,
  mergeConfig,
  parseConfigText,
  proxyConfigJsonSchema,
  readConfigFiles,
  type ConfigIssue,
  type RawConfig,
} from '@handoff/reference-proxy';
import { SCHEMA_FILES, schemaText } from '../scripts/write-schema.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'handoff-refproxy-config-'));

const minimal: RawConfig = {
  listen: { address: '127.0.0.1:5520' },
  backends: { a: { address: 'quic://127.0.0.1:6001' }, b: { address: 'tcp://127.0.0.1:6002' } },
  clientAuth: { mode: 'none' },
};

/** The issues of `config` (merged over the minimal one), or [] when it holds. */
function issues(overrides: RawConfig, env: Record<string, string> = {}, base: RawConfig = minimal): ConfigIssue[] {
  try {
    checkProxyConfig(mergeConfig(base, overrides), env);
    return [];
  } catch (error) {
    if (!isReferenceProxyError(error, 'ERR_REFERENCE_PROXY_CONFIG')) throw error;
    for (const issue of error.issues) expect(`${issue.path}: ${issue.message}`).not.toMatch(/\n/);
    return [...error.issues];
  }
}

describe('a valid configuration', () => {
  it('the common case: listen, backends, client auth', () => {
    expect(issues({})).toEqual([]);
  });

  it('every key of the schema at once', () => {
    expect(
      issues({
        proxy: { id: 'proxy-1', address: '10.0.0.5:5520', publicAddress: 'play.example.com:5520', generations: ['G2', 'G3'], passwordFile: '/p' },
        listen: { address: '0.0.0.0:5520', certificate: { cert: '/c.pem', key: '/k.pem' }, idleTimeoutMs: 30000,
          rateLimit: { burst: 500, perSecond: 2000 },
          limits: { maxConnections: 4096, maxConnectionsPerAddress: 64, handshakeRate: { perSecond: 500, burst: 1000 }, handshakeRatePerAddress: { perSecond: 10, burst: 30 }, handshakeTimeoutMs: 10000 },
        },
        admin: { address: '10.0.0.5:8080', tokenFile: '/t' },
        backends: {
          a: { address: 'quic://10.0.1.1:5520', pool: 'lobby', trust: { fingerprints: ['A'.repeat(43)] }, jwks: '/a.json', passwordFile: '/pa', forwardIdentityToken: false },
          b: { address: 'quic://10.0.1.2:5520', pool: 'games', trust: { ca: '/ca.pem', serverName: 'games' } },
          c: { address: 'quic://10.0.1.3:5520', pool: 'games', trust: { insecure: true } },
        },
        pools: { lobby: { fallback: null, assets: 'swallow' }, games: { fallback: 'lobby', assets: 'forward-after-cutover', otherwise: 'refer', finalKicks: ['^You are banned'] } },
        initialPool: 'lobby',
        clientAuth: { mode: 'session-service', url: 'https://sessions.example', audience: 'proxy', serverSessionTokenFile: '/s', serverIdentityTokenFile: '/i', issuer: 'https://sessions.example' },
        tickets: { keys: '/keys', ttlSeconds: 30 },
        redis: { url: 'redis://10.0.0.9:6379', keyPrefix: 'net1:' },
        timeouts: {
          handshake: { initial: 15000, auth: 30000, authGrant: 30000, authToken: 30000, authServerExchange: 15000, password: 45000 },
          migration: { prepare: 5000, auth: 10000, sync: 30000, freeze: 2000, cutover: 5000, resume: 10000, cleanup: 15000, rollback: 5000, fallback: 5000, migration: 60000 },
          referralGraceMs: 10000,
          shutdownMs: 10000,
        },
        buffers: { migration: { maxPackets: 1024, maxBytes: 1048576 }, global: { maxPackets: 262144, maxBytes: 67108864 } },
        shutdown: { message: 'Back in a minute!' },
        log: { level: 'debug' },
      }),
    ).toEqual([]);
  });
});

describe('each problem, one line naming its key', () => {
  it.each<[string, RawConfig, ConfigIssue[]]>([
    ['an unknown key', { listen: { address: '127.0.0.1:5520', adress: 'x' } }, [{ path: 'listen.adress', message: expect.stringMatching(/^is not a known key \(expected one of: address, certificate/) }]],
    ['an unknown top-level key', { frontend: {} }, [{ path: 'frontend', message: expect.stringMatching(/^is not a known key/) }]],
    ['a bad address', { listen: { address: 'localhost' } }, [{ path: 'listen.address', message: 'must be host:port (or [v6]:port), not the string "localhost"' }]],
    ['a port out of range', { listen: { address: '127.0.0.1:70000' } }, [{ path: 'listen.address', message: 'the port of "127.0.0.1:70000" must be 0–65535' }]],
    ['a backend URL of another scheme', { backends: { a: { address: 'http://127.0.0.1:6001' } } }, [{ path: 'backends.a.address', message: expect.stringMatching(/^must be quic:\/\/host:port or tcp:\/\/host:port/) }]],
    ['a bad backend id', { backends: { 'a b': { address: 'tcp://127.0.0.1:1' } } }, [{ path: 'backends["a b"]', message: expect.stringMatching(/^is not a valid id/) }]],
    ['a backend without address', { backends: { c: { pool: 'x' } } }, [{ path: 'backends.c.address', message: 'is required' }]],
    ['two backends at one address', { backends: { c: { address: 'tcp://127.0.0.1:6002' } } }, [{ path: 'backends.c.address', message: 'is the address of backend b too' }]],
    ['a wrong type', { listen: { address: '127.0.0.1:1', idleTimeoutMs: '30s' } }, [{ path: 'listen.idleTimeoutMs', message: 'must be an integer, not the string "30s"' }]],
    ['a number out of range', { timeouts: { migration: { sync: 0 } } }, [{ path: 'timeouts.migration.sync', message: 'must be >= 1' }]],
    ['a listener limit out of range', { listen: { address: '127.0.0.1:1', limits: { maxConnectionsPerAddress: 0 } } }, [{ path: 'listen.limits.maxConnectionsPerAddress', message: 'must be >= 1' }]],
    ['a value not among the allowed', { clientAuth: { mode: 'open' } }, [{ path: 'clientAuth.mode', message: 'must be one of: "none", "session-service"' }]],
    ['a generation the codec does not know', { proxy: { generations: ['G4'] } }, [{ path: 'proxy.generations[0]', message: 'must be one of: "G1", "G2", "G3"' }]],
    ['an unknown asset policy', { pools: { default: { assets: 'copy' } } }, [{ path: 'pools.default.assets', message: expect.stringMatching(/^must be one of: "require-identical"/) }]],
    ['a pool nobody is in', { pools: { games: {} } }, [{ path: 'pools.games', message: 'no backend is in this pool' }]],
    ['a fallback pool nobody is in', { pools: { default: { fallback: 'games' } } }, [{ path: 'pools.default.fallback', message: 'no backend is in pool games' }]],
    ['an initial pool nobody is in', { initialPool: 'lobby' }, [{ path: 'initialPool', message: 'no backend is in pool lobby' }]],
    ['a final-kick pattern that is not a regular expression', { pools: { default: { finalKicks: ['(ban'] } } }, [{ path: 'pools.default.finalKicks[0]', message: 'is not a valid regular expression' }]],
    ['trust on a TCP backend', { backends: { b: { address: 'tcp://127.0.0.1:6002', trust: { insecure: true } } } }, [{ path: 'backends.b.trust', message: 'is for QUIC backends (TCP has no TLS)' }]],
    ['two kinds of trust', { backends: { a: { address: 'quic://127.0.0.1:6001', trust: { insecure: true, ca: '/ca' } } } }, [{ path: 'backends.a.trust', message: 'needs exactly one of fingerprints, ca or insecure: true' }]],
    ['a server name without a CA', { backends: { a: { address: 'quic://127.0.0.1:6001', trust: { fingerprints: ['A'.repeat(43)], serverName: 'x' } } } }, [{ path: 'backends.a.trust.serverName', message: 'goes with ca' }]],
    ['a bad fingerprint', { backends: { a: { address: 'quic://127.0.0.1:6001', trust: { fingerprints: ['abc'] } } } }, [{ path: 'backends.a.trust.fingerprints[0]', message: expect.stringMatching(/^must be a SHA-256 fingerprint/) }]],
    ['a QUIC backend off loopback without trust', { backends: { a: { address: 'quic://10.0.0.1:6001' } } }, [{ path: 'backends.a.trust', message: expect.stringMatching(/^is required for a QUIC backend off loopback/) }]],
    ['backend keys without ticket keys', { backends: { a: { address: 'quic://127.0.0.1:6001', jwks: '/a.json' } } }, [{ path: 'backends.a.jwks', message: expect.stringMatching(/^needs tickets\.keys/) }]],
    ['a wildcard listener without proxy.address', { listen: { address: '0.0.0.0:5520' } }, [{ path: 'proxy.address', message: expect.stringMatching(/^is required when listen\.address is a wildcard/) }]],
    ['certificate without its key', { listen: { address: '127.0.0.1:1', certificate: { cert: '/c.pem' } } }, [{ path: 'listen.certificate.key', message: 'is required' }]],
    [
      'session-service without its settings',
      { clientAuth: { mode: 'session-service' } },
      [
        { path: 'clientAuth.audience', message: 'is required with mode session-service' },
        { path: 'clientAuth.serverSessionTokenFile', message: 'is required with mode session-service' },
        { path: 'clientAuth.serverIdentityTokenFile', message: 'is required with mode session-service' },
      ],
    ],
    ['session-service settings with mode none', { clientAuth: { mode: 'none', audience: 'x' } }, [{ path: 'clientAuth.audience', message: 'is only for mode session-service' }]],
    ['an admin API off loopback without a token', { admin: { address: '0.0.0.0:8080' } }, [{ path: 'admin.tokenFile', message: expect.stringMatching(/^is required when admin\.address is not loopback/) }]],
    ['a Redis URL of another scheme', { redis: { url: 'http://127.0.0.1:6379' } }, [{ path: 'redis.url', message: expect.stringMatching(/^must be a redis:\/\/ or rediss:\/\/ URL/) }]],
    ['a ticket lifetime out of range', { tickets: { keys: '/k', ttlSeconds: 600 } }, [{ path: 'tickets.ttlSeconds', message: 'must be <= 60' }]],
    ['an unknown log level', { log: { level: 'loud' } }, [{ path: 'log.level', message: expect.stringMatching(/^must be one of: "fatal"/) }]],
  ])('%s', (_, overrides, expected) => {
    expect(issues(overrides)).toEqual(expected);
  });

  it('what is required, with the flag that gives it', () => {
    expect(issues({}, {}, {})).toEqual([
      { path: 'listen', message: 'is required (or --listen)' },
      { path: 'backends', message: 'is required (or --backend)' },
      { path: 'clientAuth', message: 'is required (or --client-auth)' },
    ]);
    expect(issues({ ...minimal, backends: {} }, {}, {})).toEqual([{ path: 'backends', message: 'must have at least 1 entry' }]);
    expect(issues({ proxy: { generations: [] } })).toEqual([{ path: 'proxy.generations', message: 'must have at least 1 entry' }]);
  });

  it('HANDOFF_ADMIN_TOKEN stands for admin.tokenFile', () => {
    expect(issues({ admin: { address: '0.0.0.0:8080' } }, { HANDOFF_ADMIN_TOKEN: 'x'.repeat(32) })).toEqual([]);
  });

  it('every problem of one configuration is reported, not only the first', () => {
    expect(issues({ listen: { address: 'x' }, clientAuth: { mode: 'open' }, log: { level: 1 } }).map((i) => i.path)).toEqual(['listen.address', 'clientAuth.mode', 'log.level']);
  });
});

describe('YAML', () => {
  it('a syntax error or a duplicate key names the line and column', () => {
    const fail = (text: string) => {
      try {
        parseConfigText(text, 'proxy.yaml');
        return undefined;
      } catch (error) {
        return isReferenceProxyError(error, 'ERR_REFERENCE_PROXY_CONFIG') ? error.issues : error;
      }
    };
    expect(fail('listen: [')).toEqual([{ path: expect.stringMatching(/^proxy\.yaml:1:\d+$/), message: expect.any(String) }]);
    expect(fail('listen: {}\nlisten: {}\n')).toEqual([{ path: 'proxy.yaml:2:1', message: 'Map keys must be unique' }]);
    expect(fail('- a\n- b\n')).toEqual([{ path: '(the configuration)', message: 'must be a mapping of keys, not a list' }]);
    expect(parseConfigText('')).toEqual({});
  });

  it('a file: its relative paths are taken from its directory; flags win over it', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'conf'));
    const file = join(dir, 'conf', 'proxy.yaml');
    writeFileSync(
      file,
      [
        'listen:',
        '  address: 127.0.0.1:5520',
        'backends:',
        '  a: { address: "quic://127.0.0.1:6001", pool: lobby }',
        'tickets:',
        '  keys: ./keys',
        'clientAuth: { mode: none }',
        'log: { level: warn }',
      ].join('\n'),
    );
    const config = await loadProxyConfig({
      file,
      overrides: { listen: { address: '127.0.0.1:7777' }, backends: { a: { address: 'tcp://127.0.0.1:6009' }, b: { address: 'tcp://127.0.0.1:6010' } } },
      env: {},
    });
    expect(config.listen.address).toBe('127.0.0.1:7777');
    // the flag replaced a's address and kept the file's pool
    expect(config.backends).toEqual({ a: { address: 'tcp://127.0.0.1:6009', pool: 'lobby' }, b: { address: 'tcp://127.0.0.1:6010' } });
    expect(config.tickets?.keys).toBe(join(dir, 'conf', 'keys'));
    expect(config.log?.level).toBe('warn');
  });

  it('an unreadable file is ERR_REFERENCE_PROXY_FILE naming --config', async () => {
    await expect(loadProxyConfig({ file: join(tmp(), 'missing.yaml') })).rejects.toMatchObject({
      code: 'ERR_REFERENCE_PROXY_FILE',
      issues: [{ path: '--config', message: expect.stringMatching(/cannot read .*missing\.yaml: ENOENT$/) }],
    });
  });
});

describe('the files a configuration names', () => {
  it('each unreadable or unusable file is one issue naming its key; none of their content is shown', async () => {
    const dir = tmp();
    const publicOnly = join(dir, 'public-only');
    await writeKeyDirectory(publicOnly);
    // a key directory without its signing key: the proxy cannot sign
    writeFileSync(join(publicOnly, 'signing-key.jwk'), '');
    const jwksOnly = join(dir, 'jwks.json');
    writeFileSync(jwksOnly, readFileSync(join(publicOnly, 'jwks.json')));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'secret-looking-content');
    const config = checkProxyConfig(
      mergeConfig(minimal, {
        listen: { address: '127.0.0.1:5520', certificate: { cert: notPem, key: notPem } },
        admin: { tokenFile: empty },
        backends: { a: { address: 'quic://127.0.0.1:6001', jwks: join(dir, 'nope') }, b: { address: 'tcp://127.0.0.1:6002', passwordFile: join(dir, 'missing') } },
        tickets: { keys: jwksOnly },
      }),
      {},
    );
    const error = await readConfigFiles(config, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isReferenceProxyError(error, 'ERR_REFERENCE_PROXY_FILE')).toBe(true);
    const found = (error as { issues: ConfigIssue[] }).issues;
    expect(found.map((i) => i.path)).toEqual(['listen.certificate.cert', 'admin.tokenFile', 'backends.a.jwks', 'backends.b.passwordFile', 'tickets.keys']);
    expect(found.find((i) => i.path === 'tickets.keys')?.message).toMatch(/has no signing key/);
    expect(JSON.stringify(found)).not.toContain('secret-looking-content');
  });

  it('an admin token shorter than 16 characters is refused', async () => {
    const config = checkProxyConfig(minimal, {});
    await expect(readConfigFiles(config, { HANDOFF_ADMIN_TOKEN: 'short' })).rejects.toMatchObject({
      issues: [{ path: 'HANDOFF_ADMIN_TOKEN', message: 'the admin token must be at least 16 characters' }],
    });
  });
});

describe('the published schema', () => {
  it('docs/proxy-config.schema.json and the package copy are the schema the proxy validates with', () => {
    expect(SCHEMA_FILES).toEqual([expect.stringMatching(/reference-proxy\/proxy-config\.schema\.json$/), join(root, 'docs', 'proxy-config.schema.json')]);
    for (const file of SCHEMA_FILES) expect(readFileSync(file, 'utf8'), `${file}: run pnpm --filter @handoff/reference-proxy schema`).toBe(schemaText());
  });

  it('docs/operations.md documents every key of the schema', () => {
    const doc = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
    const keys: string[] = [];
    const walk = (schema: Record<string, unknown>, path: string) => {
      const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
      const patterns = schema.patternProperties as Record<string, Record<string, unknown>> | undefined;
      for (const [name, child] of Object.entries(properties ?? {})) {
        keys.push(`${path}${name}`);
        walk(child, `${path}${name}.`);
      }
      for (const child of Object.values(patterns ?? {})) walk(child, `${path}<id>.`);
    };
    walk(proxyConfigJsonSchema(), '');
    expect(keys.length).toBeGreaterThan(60);
    const missing = keys.filter((key) => !doc.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });
});
