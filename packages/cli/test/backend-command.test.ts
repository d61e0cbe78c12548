/**
 * `handoff backend` and `handoff keys generate`: flags (each documented, each in --help), one-line
 * errors with status 2, and a real backend process that logs one line per player event and stops
 * cleanly on SIGINT and SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '@handoff/cli';
import { createTicketIssuer, loadKeys } from '@handoff/tickets';
import { parseBackendId, parseClientUuid } from '@handoff/types';
import { tcp } from '@handoff/transport-tcp';
import { createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import type { SimulatedBackend } from '@handoff/testkit';
import { Driver, PLAYER_UUID, join as joinWorld } from '../../testkit/test/backend-support/driver.js';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const cli = join(here, 'fixtures', 'handoff.ts');

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'handoff-cli-backend-'));

/** One clear line on stderr, nothing on stdout, status 2. */
function expectUsage(result: { code: number; out: string[]; err: string[] }, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.out).toEqual([]);
  expect(result.err).toHaveLength(1);
  expect(result.err[0]).toMatch(pattern);
  expect(result.err[0]).not.toMatch(/\n|    at /);
}

describe('handoff keys generate', () => {
  it('writes signing-key.jwk (0600) and jwks.json, and refuses to overwrite them without --force', async () => {
    const dir = join(tmp(), 'keys');
    const first = await run('keys', 'generate', '--out', dir);
    expect(first.code).toBe(0);
    expect(first.out).toEqual([expect.stringMatching(/^wrote .*signing-key\.jwk \(private, mode 0600\) and .*jwks\.json \(public\), kid [A-Za-z0-9_-]{43}$/)]);
    expect(statSync(join(dir, 'signing-key.jwk')).mode & 0o777).toBe(0o600);
    const ring = await loadKeys(dir);
    expect(ring.list()).toEqual([expect.objectContaining({ canSign: true, alg: 'EdDSA' })]);
    expectUsage(await run('keys', 'generate', '--out', dir), /^ERR_TICKET_INVALID_ARGUMENT: signing-key\.jwk already exists/);
    const forced = await run('keys', 'generate', '--out', dir, '--force', '--kid', 'lobby-2026');
    expect(forced.code).toBe(0);
    expect((await loadKeys(dir, { publicOnly: true })).list().map((k) => k.kid)).toEqual(['lobby-2026']);
  });

  it('a bad kid, a missing --out or an unwritable directory: one line, status 2', async () => {
    expectUsage(await run('keys', 'generate', '--out', tmp(), '--kid', 'no spaces'), /^ERR_TICKET_INVALID_ARGUMENT: invalid kid/);
    expectUsage(await run('keys', 'generate'), /^ERR_CLI_USAGE: .*--out/);
    const file = join(tmp(), 'a-file');
    writeFileSync(file, 'x');
    expectUsage(await run('keys', 'generate', '--out', join(file, 'sub')), /^ERR_TICKET_INVALID_ARGUMENT: cannot create the key directory/);
  });
});

describe('handoff backend: flags', () => {
  it.each([
    [['--id', 'x', '--listen', '127.0.0.1:0'], /^ERR_CLI_USAGE: .*--transport/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'udp'], /^ERR_CLI_USAGE: .*--transport.*udp/],
    [['--id', 'no spaces', '--listen', '127.0.0.1:0', '--transport', 'tcp'], /^ERR_CLI_USAGE: .*--id/],
    [['--id', 'x', '--listen', '127.0.0.1', '--transport', 'tcp'], /^ERR_CLI_USAGE: .*--listen/],
    [['--id', 'x', '--listen', '127.0.0.1:70000', '--transport', 'tcp'], /^ERR_CLI_USAGE: .*--listen/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--generation', 'G4'], /^ERR_CLI_USAGE: .*--generation/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--frobnicate'], /^ERR_CLI_USAGE: unknown option '--frobnicate'/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--require-ticket'], /^ERR_CLI_USAGE: --require-ticket needs --ticket-keys/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--redis', 'redis://127.0.0.1:1'], /^ERR_CLI_USAGE: --redis .* needs --ticket-keys/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--cert', 'a.pem', '--key', 'b.pem'], /^ERR_CLI_USAGE: --cert, --key and --client-ca are for --transport quic/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'quic', '--cert', 'a.pem'], /^ERR_CLI_USAGE: --cert and --key go together/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'quic', '--world-uuid', 'nope'], /^ERR_CLI_USAGE: .*--world-uuid/],
    [['--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--source', 'nope'], /^ERR_CLI_USAGE: .*--source/],
  ])('%j → one line, status 2', async (flags, pattern) => {
    expectUsage(await run('backend', ...flags), pattern);
  });

  it('unreadable files: one line, status 2', async () => {
    const missing = join(tmp(), 'missing.pem');
    expectUsage(await run('backend', '--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'quic', '--cert', missing, '--key', missing), /^ERR_CLI_FILE: cannot read certificate .*ENOENT/);
    expectUsage(await run('backend', '--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'quic', '--client-ca', missing), /^ERR_CLI_FILE: cannot read client CA/);
    expectUsage(await run('backend', '--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', missing), /^ERR_CLI_FILE: cannot use --ticket-keys/);
    const empty = tmp();
    expectUsage(await run('backend', '--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', empty), /^ERR_CLI_FILE: .*jwks\.json/);
    const notJson = join(tmp(), 'jwks.json');
    writeFileSync(notJson, '{');
    expectUsage(await run('backend', '--id', 'x', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', notJson), /^ERR_CLI_FILE: .*not valid JSON/);
  });

  it('every flag of --help is documented in docs/testkit.md, and every documented flag is in --help', async () => {
    const help = await run('backend', '--help');
    expect(help.code).toBe(0);
    const inHelp = new Set([...help.out.join('\n').matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!).filter((f) => f !== '--help'));
    const doc = readFileSync(join(root, 'docs', 'testkit.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## `handoff backend`'), doc.indexOf('## `handoff keys generate`'));
    const documented = new Set([...section.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]!));
    expect([...inHelp].sort()).toEqual([...documented].sort());
    const keysHelp = await run('keys', 'generate', '--help');
    const keysSection = doc.slice(doc.indexOf('## `handoff keys generate`'));
    for (const flag of ['--out', '--kid', '--force']) {
      expect(keysHelp.out.join('\n')).toContain(flag);
      expect(keysSection).toContain(`\`${flag}`);
    }
  });
});

// -------------------------------------------------------------------- a real process

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  readonly exit: Promise<number | null>;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function spawnCli(...argv: string[]): Running {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', cli, ...argv], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    wake?.();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    async waitForLine(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no line matching ${pattern}; got:\n${lines.join('\n')}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

/** What a Driver needs of a backend it dials. */
function target(address: { host: string; port: number }, generation = 'G3', certificateFingerprint?: string): SimulatedBackend {
  return { address, generation, certificateFingerprint } as unknown as SimulatedBackend;
}

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

describe('handoff backend: a running process', () => {
  it('TCP with ticket keys: one line per player event, a ticket accepted, a clean stop on SIGTERM', async () => {
    const keys = join(tmp(), 'keys');
    expect((await run('keys', 'generate', '--out', keys, '--kid', 'lobby-key')).code).toBe(0);
    const backend = spawnCli('backend', '--id', 'game-7', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', keys, '--require-ticket', '--source', '127.0.0.9=lobby-1');
    const listening = await backend.waitForLine(/listening on/);
    expect(listening).toMatch(/^backend game-7 listening on tcp:\/\/127\.0\.0\.1:\d+ \(G3, world [0-9a-f-]{36}, tickets required\)$/);
    const port = Number(/:(\d+) \(/.exec(listening)![1]);

    const signer = await loadKeys(keys);
    const ticket = await createTicketIssuer({ keyRing: signer, issuer: parseBackendId('lobby-1') }).issue({
      clientUuid: parseClientUuid(PLAYER_UUID),
      target: parseBackendId('game-7'),
    });
    const driver = await Driver.connect(tcp(), target({ host: '127.0.0.1', port }));
    try {
      await joinWorld(driver, { connect: { referralData: new TextEncoder().encode(ticket), referralSource: { host: '127.0.0.9', port: 5520 } } });
      await backend.waitForLine(/ ready clientId=\d+$/);
    } finally {
      await driver.close();
    }
    await backend.waitForLine(/ disconnected kind=client-closed/);
    const events = backend.lines.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
    expect(events.map((l) => l.split(' ')[4])).toEqual(expect.arrayContaining(['connected', 'connect', 'ticket', 'join-world', 'ready', 'disconnected']));
    expect(events.find((l) => l.includes(' ticket '))).toMatch(new RegExp(`^\\S+ game-7 p1 ${PLAYER_UUID} ticket result=accepted source=lobby-1 kid=lobby-key$`));
    expect(backend.lines.join('\n')).not.toContain(ticket);
    // one line per player event, never one per packet
    expect(events.length).toBeLessThan(20);

    backend.child.kill('SIGTERM');
    expect(await backend.exit).toBe(0);
    expect(backend.lines).toContain('backend game-7: SIGTERM, stopping');
    expect(backend.lines.at(-1)).toMatch(/^backend game-7 stopped \(1 connections, 1 players in the world, 1 left\)$/);
  }, 60_000);

  it('QUIC: prints the certificate to pin, takes a player, and SIGINT kicks it with "Server is shutting down!"', async () => {
    const backend = spawnCli('backend', '--id', 'lobby', '--listen', '127.0.0.1:0', '--transport', 'quic', '--generation', 'g2', '--json');
    const listening = await backend.waitForLine(/listening on/);
    const match = /quic:\/\/127\.0\.0\.1:(\d+) \(G2, world \S+, tickets not checked, certificate sha256 ([A-Za-z0-9_-]{43})\)$/.exec(listening);
    expect(match).not.toBeNull();
    const driver = await Driver.connect(quic(), target({ host: '127.0.0.1', port: Number(match![1]) }, 'G2', match![2]), {
      dial: {
        certificate: await createSelfSignedCertificate({ commonName: 'player' }),
        serverTrust: { fingerprints: [match![2]] },
        idleTimeout: 10_000,
      },
    });
    try {
      await joinWorld(driver);
      const ready = JSON.parse(await backend.waitForLine(/"type":"ready"/)) as Record<string, unknown>;
      expect(ready).toMatchObject({ type: 'ready', backend: 'lobby', player: 'p1', clientUuid: PLAYER_UUID });
      backend.child.kill('SIGINT');
      const shutdown = (await driver.next('Disconnect')).decoded as unknown as { value: { reason: string } };
      expect(shutdown.value.reason).toBe('Server is shutting down!');
      expect(await backend.exit).toBe(0);
    } finally {
      await driver.close();
    }
  }, 60_000);

  it('--redis: nonces go to a shared Redis replay store; an unreachable Redis is one line at start', async () => {
    redis = await startRedisServer();
    const keys = join(tmp(), 'keys');
    await run('keys', 'generate', '--out', keys);
    const down = spawnCli('backend', '--id', 'g', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', keys, '--redis', 'redis://user:s3cret@127.0.0.1:1');
    expect(await down.exit).toBe(1);
    expect(down.lines).toEqual([expect.stringMatching(/^ERR_TICKET_REPLAY_STORE_UNAVAILABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1$/)]);

    const signer = await loadKeys(keys);
    const ticket = await createTicketIssuer({ keyRing: signer, issuer: parseBackendId('lobby-1') }).issue({
      clientUuid: parseClientUuid(PLAYER_UUID),
      target: parseBackendId('game-7'),
    });
    const referral = { referralData: new TextEncoder().encode(ticket), referralSource: { host: 'lobby-1', port: 5520 } };
    const ports: number[] = [];
    const backends = [0, 1].map(() => spawnCli('backend', '--id', 'game-7', '--listen', '127.0.0.1:0', '--transport', 'tcp', '--ticket-keys', keys, '--redis', redis!.url));
    for (const b of backends) ports.push(Number(/:(\d+) \(/.exec(await b.waitForLine(/listening on/))![1]));
    // the ticket works once on the first backend, and is a replay on the second
    const first = await Driver.connect(tcp(), target({ host: '127.0.0.1', port: ports[0]! }));
    await joinWorld(first, { connect: referral, until: 'world-settings' });
    await first.close();
    const second = await Driver.connect(tcp(), target({ host: '127.0.0.1', port: ports[1]! }));
    await second.send('Connect', (await import('../../testkit/test/backend-support/driver.js')).connectPacket(second.generation, referral));
    const refusal = (await second.next('Disconnect')).decoded as unknown as { value: { reason: string } };
    expect(refusal.value.reason).toBe('Migration ticket refused (ERR_TICKET_REPLAYED)');
    await second.close();
    for (const b of backends) {
      b.child.kill('SIGTERM');
      expect(await b.exit).toBe(0);
    }
  }, 60_000);
});
