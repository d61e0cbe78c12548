/**
 * `handoff proxy`: its flags (each in --help and in docs/operations.md), one line per problem with
 * status 2 for bad flags, configs and files, status 1 for a start that fails, and a real proxy
 * process: the README's common command with ephemeral ports, a player through it, and SIGTERM telling
 * the player why before the process exits.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '@handoff/cli';
import { LOG_LEVELS } from '@handoff/reference-proxy';
import { connectStrictClient, createBackend, type SimulatedBackend } from '@handoff/testkit';
import { loadKeys } from '@handoff/tickets';
import { PROXY_LOG_LEVELS, overridesFromArgs } from '../src/commands/proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const cli = join(here, 'fixtures', 'handoff.ts');
const tmp = () => mkdtempSync(join(tmpdir(), 'handoff-cli-proxy-'));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

const common = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--backend', 'a=quic://127.0.0.1:6001', '--client-auth', 'none'];

describe('handoff proxy: flags and their errors', () => {
  it.each([
    [['--backend', 'a=http://127.0.0.1:1'], /^ERR_CLI_USAGE: .*--backend.*expected id=quic:\/\/host:port or id=tcp:\/\/host:port$/],
    [['--backend', 'no spaces=tcp://127.0.0.1:1'], /^ERR_CLI_USAGE: .*--backend/],
    [['--listen', '127.0.0.1'], /^ERR_CLI_USAGE: .*--listen.*expected host:port/],
    [['--admin', '127.0.0.1:99999'], /^ERR_CLI_USAGE: .*--admin/],
    [['--client-auth', 'open'], /^ERR_CLI_USAGE: .*--client-auth.*open/],
    [['--log-level', 'loud'], /^ERR_CLI_USAGE: .*--log-level/],
    [['--backend-keys', 'a'], /^ERR_CLI_USAGE: .*--backend-keys/],
    [['--proxy-id', 'a b'], /^ERR_CLI_USAGE: .*--proxy-id/],
    [['--frobnicate'], /^ERR_CLI_USAGE: unknown option '--frobnicate'/],
    [['--cert', 'c.pem'], /^ERR_CLI_USAGE: --cert and --key go together$/],
  ])('%j: one line, status 2', async (argv, pattern) => {
    const result = await run('proxy', ...common, ...argv);
    expect(result.code).toBe(2);
    expect(result.out).toEqual([]);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toMatch(pattern);
  });

  it('every problem of the configuration is one line naming its key, status 2', async () => {
    const result = await run('proxy', '--listen', '127.0.0.1:0', '--backend', 'a=quic://10.0.0.1:6001', '--admin', '0.0.0.0:8080', '--client-auth', 'none');
    expect(result.code).toBe(2);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      expect.stringMatching(/^ERR_REFERENCE_PROXY_CONFIG: backends\.a\.trust: is required for a QUIC backend off loopback/),
      expect.stringMatching(/^ERR_REFERENCE_PROXY_CONFIG: admin\.tokenFile: is required when admin\.address is not loopback/),
    ]);
    const none = await run('proxy', '--listen', '127.0.0.1:0');
    expect([none.code, none.err]).toEqual([
      2,
      ['ERR_REFERENCE_PROXY_CONFIG: backends: is required (or --backend)', 'ERR_REFERENCE_PROXY_CONFIG: clientAuth: is required (or --client-auth)'],
    ]);
  });

  it('a config file: its problems name their keys; flags win over it', async () => {
    const dir = tmp();
    const file = join(dir, 'proxy.yaml');
    writeFileSync(file, 'listen: { address: "nowhere" }\nbackends: { a: { address: "quic://127.0.0.1:6001" } }\nclientAuth: { mode: none }\npools: { default: { assets: copy } }\n');
    // --listen replaces the file's bad address: only the file's other problem is left
    const result = await run('proxy', '--config', file, '--listen', '127.0.0.1:0');
    expect(result.code).toBe(2);
    expect(result.err).toEqual([expect.stringMatching(/^ERR_REFERENCE_PROXY_CONFIG: pools\.default\.assets: must be one of: "require-identical"/)]);
    expect((await run('proxy', '--config', file)).err).toHaveLength(2);
    const missing = await run('proxy', '--config', join(dir, 'nope.yaml'));
    expect([missing.code, missing.err]).toEqual([2, [expect.stringMatching(/^ERR_REFERENCE_PROXY_FILE: --config: cannot read .*nope\.yaml: ENOENT$/)]]);
    writeFileSync(file, 'listen: [\n');
    expect((await run('proxy', '--config', file)).err).toEqual([expect.stringMatching(/^ERR_REFERENCE_PROXY_CONFIG: .*proxy\.yaml:\d+:\d+: /)]);
  });

  it('a file the configuration names that cannot be used: one line, status 2', async () => {
    const result = await run('proxy', ...common, '--ticket-keys', join(tmp(), 'no-keys'));
    expect(result.code).toBe(2);
    expect(result.err).toEqual([expect.stringMatching(/^ERR_REFERENCE_PROXY_FILE: tickets\.keys: cannot load keys from /)]);
  });

  it('a start that fails (the admin port taken) is one line, status 1, and leaves nothing running', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await run('proxy', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`, '--backend', 'a=tcp://127.0.0.1:6001', '--client-auth', 'none', '--log-level', 'silent');
      expect(result.code).toBe(1);
      expect(result.err).toEqual([expect.stringMatching(new RegExp(`^ERR_REFERENCE_PROXY_START: cannot serve the admin API on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))]);
    } finally {
      taken.close();
    }
  });

  it('flags map onto configuration keys; relative paths are taken from the working directory', () => {
    expect(
      overridesFromArgs(
        {
          listen: '0.0.0.0:5520',
          admin: '127.0.0.1:8080',
          backend: [
            { id: 'a', url: 'quic://10.0.0.1:5520' },
            { id: 'b', url: 'tcp://10.0.0.2:5520' },
          ],
          backendKeys: [{ id: 'a', path: 'keys/a' }],
          ticketKeys: 'keys/proxy',
          clientAuth: 'none',
          redis: 'redis://127.0.0.1:6379',
          proxyId: 'p1',
          proxyAddress: '10.0.0.5:5520',
          cert: 'c.pem',
          key: 'k.pem',
          logLevel: 'debug',
        },
        '/srv',
      ),
    ).toEqual({
      listen: { address: '0.0.0.0:5520', certificate: { cert: '/srv/c.pem', key: '/srv/k.pem' } },
      admin: { address: '127.0.0.1:8080' },
      backends: { a: { address: 'quic://10.0.0.1:5520', jwks: '/srv/keys/a' }, b: { address: 'tcp://10.0.0.2:5520' } },
      tickets: { keys: '/srv/keys/proxy' },
      clientAuth: { mode: 'none' },
      redis: { url: 'redis://127.0.0.1:6379' },
      proxy: { id: 'p1', address: '10.0.0.5:5520' },
      log: { level: 'debug' },
    });
    expect([...PROXY_LOG_LEVELS]).toEqual([...LOG_LEVELS]);
  });

  it('every flag is in --help and in docs/operations.md', async () => {
    const help = await run('proxy', '--help');
    expect(help.code).toBe(0);
    const text = help.out.join('\n');
    const doc = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
    const flags = [...text.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
    expect(flags).toEqual(['--config', '--listen', '--admin', '--backend', '--backend-keys', '--ticket-keys', '--client-auth', '--redis', '--proxy-id', '--proxy-address', '--cert', '--key', '--log-level', '--trace']);
    for (const flag of flags) expect(doc, flag).toContain(`\`${flag} `);
  });
});

describe('handoff proxy: a running process', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  const backends: SimulatedBackend[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const backend of backends.splice(0)) await backend.close();
  });

  it('the common command takes a player to a backend; SIGTERM tells the player why and the process exits 0', async () => {
    const keys = join(tmp(), 'keys');
    expect((await run('keys', 'generate', '--out', keys)).code).toBe(0);
    const tickets = { keyRing: await loadKeys(keys, { publicOnly: true }), sources: { '127.0.0.1': 'proxy' } };
    const a = await createBackend({ id: 'a', transport: 'quic', tickets, requireTicket: true });
    const b = await createBackend({ id: 'b', transport: 'tcp', tickets, requireTicket: true });
    backends.push(a, b);

    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        cli,
        'proxy',
        '--listen',
        '127.0.0.1:0',
        '--admin',
        '127.0.0.1:0',
        '--backend',
        `a=quic://127.0.0.1:${a.address.port}`,
        '--backend',
        `b=tcp://127.0.0.1:${b.address.port}`,
        '--ticket-keys',
        keys,
        '--client-auth',
        'none',
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    const lines: string[] = [];
    let buffered = '';
    let wake = () => {};
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      wake();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    /** The first log line whose `msg` is `msg` (parsed); bounded by the test's timeout. */
    const logLine = async (msg: string): Promise<Record<string, unknown>> => {
      for (;;) {
        for (const line of lines) {
          if (!line.startsWith('{')) continue;
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.msg === msg) return parsed;
        }
        if (child.exitCode !== null) throw new Error(`exited before "${msg}":\n${lines.join('\n')}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };

    const started = await logLine('proxy started');
    const [host, port] = String(started.listen).split(':');
    const admin = `http://${String(started.admin)}`;
    const client = await connectStrictClient({ address: { host: host!, port: Number(port) } });
    await client.inWorld();
    const sessions = (await (await fetch(`${admin}/sessions`)).json()) as { sessions: { clientUuid: string; backend: string }[] };
    expect(sessions.sessions).toEqual([expect.objectContaining({ clientUuid: client.clientUuid, backend: 'a' })]);

    child.kill('SIGTERM');
    const report = await client.ended;
    expect(report.violations).toEqual([expect.objectContaining({ kind: 'disconnected', reason: 'Server is shutting down!' })]);
    expect(await exit).toBe(0);
    expect(await logLine('proxy stopped')).toMatchObject({ level: 'info' });
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]);
    // the backend saw the player leave cleanly, not a crash
    await a.waitForEvent((e) => e.type === 'disconnected' && e.clientUuid === client.clientUuid);
  }, 60_000);
});
