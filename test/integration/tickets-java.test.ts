/**
 * Cross-language checks between @handoff/tickets and the Java backend library (java/), through the
 * Java command-line tool (`java -jar handoff-tickets.jar verify|issue`): every vector of
 * docs/tickets-vectors.json gives the same result in both; tickets issued on one side verify on the
 * other; and the attacks and edges give the same code on both sides.
 */
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JWKS_FILE,
  SIGNING_KEY_FILE,
  TicketError,
  createMemoryReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  loadKeys,
  type KeyRing,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid, parsePoolId, parseSessionId } from '@handoff/types';
import { b64u, signRaw } from '../../packages/tickets/test/support/raw-sign.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const T0 = 1_767_225_600;
const CLIENT = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER = 'ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const SOURCE = 'lobby-1';
const TARGET = 'game-7';
const TYP = 'handoff-migration+jwt';

let jar: string;
let dir: string;
/** Key directory with an Ed25519 signing key (kid ed-x) and its public JWK Set. */
let edDir: string;
/** JWK Set file with the HS256 secret (kid hs-x): signs and verifies. */
let hsFile: string;
/** JWK Set file a verifier uses: the public ed-x and the secret hs-x. */
let verifyFile: string;
let edPrivate: Record<string, string>;
let otherPrivate: Record<string, string>;
const hsSecret = Buffer.from('handoff-TEST-ONLY-interop-hs256-secret-01234567', 'utf8');

interface Binding {
  readonly client?: string;
  readonly source?: string;
  readonly target?: string;
}

async function java(args: string[], input: string): Promise<string[]> {
  const child = execFile('java', ['-jar', jar, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  const out = new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`java ${args[0]} exited with ${code}`))));
  });
  child.stdin!.end(input);
  const text = await out;
  return text.length === 0 ? [] : text.replace(/\n$/, '').split('\n');
}

/** Verifies `tokens` in order with one Java run (one replay store). */
function javaVerify(keys: string, now: number, tokens: readonly string[], binding: Binding = {}, extra: string[] = []): Promise<string[]> {
  return java(
    ['verify', '--keys', keys, '--client', binding.client ?? CLIENT, '--source', binding.source ?? SOURCE, '--target', binding.target ?? TARGET, '--now', String(now), ...extra],
    tokens.map((t) => `${t}\n`).join(''),
  );
}

/** Verifies `tokens` in order with one TypeScript verifier (one replay store). */
async function tsVerify(keys: string, now: number, tokens: readonly string[], binding: Binding = {}, options: { maxTtl?: number } = {}): Promise<string[]> {
  const clock = () => now * 1000;
  const keyRing = await loadKeys(keys, { now: clock });
  const verifier = createTicketVerifier({
    keyRing,
    replayStore: createMemoryReplayStore({ now: clock }),
    now: clock,
    maxTtlSeconds: options.maxTtl ?? 60,
  });
  const out: string[] = [];
  for (const token of tokens) {
    try {
      await verifier.verify(token, {
        clientUuid: parseClientUuid(binding.client ?? CLIENT),
        source: parseBackendId(binding.source ?? SOURCE),
        target: parseBackendId(binding.target ?? TARGET),
      });
      out.push('OK');
    } catch (error) {
      out.push(error instanceof TicketError ? error.code : `unexpected ${String(error)}`);
    }
  }
  return out;
}

async function tsIssue(keys: string | KeyRing, at: number, options: { ttl?: number; iss?: string; aud?: string; sub?: string; pool?: string; sid?: string; state?: Uint8Array } = {}): Promise<string> {
  const keyRing = typeof keys === 'string' ? await loadKeys(keys) : keys;
  const issuer = createTicketIssuer({ keyRing, issuer: parseBackendId(options.iss ?? SOURCE), ttlSeconds: options.ttl ?? 30, now: () => at * 1000 });
  return issuer.issue({
    clientUuid: parseClientUuid(options.sub ?? CLIENT),
    target: parseBackendId(options.aud ?? TARGET),
    pool: options.pool === undefined ? undefined : parsePoolId(options.pool),
    sessionId: options.sid === undefined ? undefined : parseSessionId(options.sid),
    state: options.state,
  });
}

async function javaIssue(keys: string, at: number, count: number, options: { ttl?: number; iss?: string; aud?: string; sub?: string; pool?: string; sid?: string; state?: string } = {}): Promise<string[]> {
  const args = ['issue', '--keys', keys, '--source', options.iss ?? SOURCE, '--target', options.aud ?? TARGET, '--now', String(at), '--ttl', String(options.ttl ?? 30)];
  if (options.pool !== undefined) args.push('--pool', options.pool);
  if (options.sid !== undefined) args.push('--sid', options.sid);
  const line = `${options.sub ?? CLIENT}${options.state === undefined ? '' : ` ${options.state}`}\n`;
  const out = await java(args, line.repeat(count));
  for (const token of out) expect(token, 'java issue').toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  return out;
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

beforeAll(async () => {
  jar = execFileSync('bash', ['scripts/java.sh', 'jar'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  dir = await mkdtemp(join(tmpdir(), 'handoff-java-'));
  edDir = join(dir, 'ed');
  await mkdir(edDir);
  edPrivate = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as Record<string, string>;
  otherPrivate = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const edPublic = { kty: 'OKP', crv: 'Ed25519', x: edPrivate.x, kid: 'ed-x', alg: 'EdDSA', use: 'sig' };
  await writeFile(join(edDir, SIGNING_KEY_FILE), JSON.stringify({ ...edPrivate, kid: 'ed-x', alg: 'EdDSA', use: 'sig' }), { mode: 0o600 });
  await writeFile(join(edDir, JWKS_FILE), JSON.stringify({ keys: [edPublic] }));
  hsFile = join(dir, 'hs.json');
  const hsJwk = { kty: 'oct', kid: 'hs-x', k: hsSecret.toString('base64url') };
  await writeFile(hsFile, JSON.stringify({ keys: [hsJwk] }));
  verifyFile = join(dir, 'verify.json');
  await writeFile(verifyFile, JSON.stringify({ keys: [edPublic, hsJwk] }));
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('docs/tickets-vectors.json in Java', () => {
  it('every vector gives the same result in Java as in TypeScript (and as the file lists)', async () => {
    const file = JSON.parse(await readFile(join(root, 'docs/tickets-vectors.json'), 'utf8')) as {
      keys: { alg: string; publicJwk?: object; jwk?: object }[];
      binding: { clientUuid: string; source: string; target: string };
      vectors: { name: string; now: number; token: string; verifications: ({ ok: true } | { ok: false; code: string })[] }[];
    };
    const keysFile = join(dir, 'vectors.json');
    await writeFile(keysFile, JSON.stringify({ keys: file.keys.map((k) => (k.alg === 'EdDSA' ? k.publicJwk : k.jwk)) }));
    const binding = { client: file.binding.clientUuid, source: file.binding.source, target: file.binding.target };
    // one run per group of vectors with the same clock and distinct tokens (each vector needs a fresh replay store)
    const groups: { now: number; vectors: typeof file.vectors }[] = [];
    for (const vector of file.vectors) {
      let group = groups.find((g) => g.now === vector.now && !g.vectors.some((v) => v.token === vector.token));
      if (group === undefined) groups.push((group = { now: vector.now, vectors: [] }));
      group.vectors.push(vector);
    }
    let checked = 0;
    await Promise.all(
      groups.map(async (group) => {
        const tokens = group.vectors.flatMap((v) => v.verifications.map(() => v.token));
        const expected = group.vectors.flatMap((v) => v.verifications.map((r) => (r.ok ? 'OK' : r.code)));
        const [javaOut, tsOut] = await Promise.all([javaVerify(keysFile, group.now, tokens, binding), tsVerify(keysFile, group.now, tokens, binding)]);
        const names = group.vectors.flatMap((v) => v.verifications.map(() => v.name));
        expect(names.map((n, i) => `${n}: ${javaOut[i]}`)).toEqual(names.map((n, i) => `${n}: ${expected[i]}`));
        expect(tsOut).toEqual(expected);
        checked += tokens.length;
      }),
    );
    expect(checked).toBe(file.vectors.reduce((n, v) => n + v.verifications.length, 0));
  }, 120_000);
});

describe('round trips', () => {
  it('tickets issued by @handoff/tickets verify in Java (EdDSA from the key directory, HS256, pool, sid, state)', async () => {
    const tokens = [
      await tsIssue(edDir, T0),
      await tsIssue(edDir, T0, { pool: 'minigames', sid: 'sess-42', state: new TextEncoder().encode('{"world":"hub"}') }),
      await tsIssue(hsFile, T0, { pool: 'minigames' }),
    ];
    expect(await javaVerify(verifyFile, T0, [...tokens, ...tokens])).toEqual(['OK', 'OK', 'OK', 'ERR_TICKET_REPLAYED', 'ERR_TICKET_REPLAYED', 'ERR_TICKET_REPLAYED']);
    // the Java verifier reads the TypeScript-loaded key directory itself too
    expect(await javaVerify(edDir, T0, [await tsIssue(edDir, T0)])).toEqual(['OK']);
  }, 60_000);

  it('tickets issued in Java verify in TypeScript, and are canonical', async () => {
    const ed = await javaIssue(edDir, T0, 2, { pool: 'minigames', sid: 'sess-42', state: b64u('{"world":"hub"}') });
    const hs = await javaIssue(hsFile, T0, 1);
    expect(await tsVerify(verifyFile, T0, [...ed, ...hs, ed[0]!])).toEqual(['OK', 'OK', 'OK', 'ERR_TICKET_REPLAYED']);
    const claims = payloadOf(ed[0]!);
    expect(Object.keys(claims)).toEqual(['iss', 'aud', 'sub', 'jti', 'iat', 'exp', 'pool', 'sid', 'st']);
    expect(claims).toMatchObject({ iss: SOURCE, aud: TARGET, sub: CLIENT, iat: T0, exp: T0 + 30, pool: 'minigames', sid: 'sess-42', st: { in: b64u('{"world":"hub"}') } });
    expect(payloadOf(ed[1]!).jti).not.toBe(claims.jti);
    expect(JSON.parse(Buffer.from(ed[0]!.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'EdDSA', kid: 'ed-x', typ: TYP });
  }, 60_000);
});

describe('attacks and edges give the same code on both sides', () => {
  interface Case {
    readonly name: string;
    readonly tokens: readonly string[];
    readonly expected: readonly string[];
    readonly now?: number;
    readonly binding?: Binding;
  }

  async function both(cases: readonly Case[]): Promise<void> {
    const groups = new Map<string, Case[]>();
    for (const c of cases) {
      const key = JSON.stringify([c.now ?? T0, c.binding ?? {}]);
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const now = group[0]!.now ?? T0;
        const binding = group[0]!.binding ?? {};
        const tokens = group.flatMap((c) => c.tokens);
        const names = group.flatMap((c) => c.tokens.map((_, i) => `${c.name}#${i}`));
        const expected = group.flatMap((c) => c.expected);
        const [javaOut, tsOut] = await Promise.all([javaVerify(verifyFile, now, tokens, binding), tsVerify(verifyFile, now, tokens, binding)]);
        expect(names.map((n, i) => `${n}: ${javaOut[i]}`), 'java').toEqual(names.map((n, i) => `${n}: ${expected[i]}`));
        expect(names.map((n, i) => `${n}: ${tsOut[i]}`), 'typescript').toEqual(names.map((n, i) => `${n}: ${expected[i]}`));
      }),
    );
  }

  function tamperPayload(token: string): string {
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = payloadOf(token);
    return `${h}.${b64u(JSON.stringify({ ...claims, iss: 'lobby-2' }))}.${s}`;
  }

  function flipSignatureByte(token: string): string {
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[7] = sig[7]! ^ 0x01;
    return `${h}.${p}.${sig.toString('base64url')}`;
  }

  it('for tickets from both issuers', async () => {
    const cases: Case[] = [];
    for (const side of ['ts', 'java'] as const) {
      const issue = async (at: number, options: { ttl?: number; sub?: string; iss?: string; aud?: string } = {}) =>
        side === 'ts' ? tsIssue(edDir, at, options) : (await javaIssue(edDir, at, 1, options))[0]!;
      const issueHs = async (at: number) => (side === 'ts' ? tsIssue(hsFile, at) : (await javaIssue(hsFile, at, 1))[0]!);
      const good = await issue(T0);
      const hs = await issueHs(T0);
      const claims = payloadOf(good);
      // raw claims with this side's nonce: hostile signatures over genuine-looking payloads
      const raw = (jti: string) => ({ ...claims, jti });
      const jti = (n: number) => Buffer.alloc(16, n + (side === 'ts' ? 0 : 100)).toString('base64url');
      cases.push(
        { name: `${side} tampered payload byte`, tokens: [tamperPayload(good)], expected: ['ERR_TICKET_SIGNATURE'] },
        { name: `${side} tampered signature byte`, tokens: [flipSignatureByte(good), flipSignatureByte(hs)], expected: ['ERR_TICKET_SIGNATURE', 'ERR_TICKET_SIGNATURE'] },
        {
          name: `${side} wrong key under the right kid`,
          tokens: [signRaw({ alg: 'EdDSA', kid: 'ed-x', typ: TYP }, raw(jti(1)), { ed25519: otherPrivate })],
          expected: ['ERR_TICKET_SIGNATURE'],
        },
        {
          name: `${side} wrong HS256 secret`,
          tokens: [signRaw({ alg: 'HS256', kid: 'hs-x', typ: TYP }, raw(jti(2)), { hmac: Buffer.alloc(32, 7) })],
          expected: ['ERR_TICKET_SIGNATURE'],
        },
        {
          name: `${side} alg confusion: HS256 keyed with the Ed25519 public key`,
          tokens: [signRaw({ alg: 'HS256', kid: 'ed-x', typ: TYP }, raw(jti(3)), { hmac: Buffer.from(edPrivate.x!, 'base64url') })],
          expected: ['ERR_TICKET_ALG'],
        },
        {
          name: `${side} alg confusion: EdDSA over the HS256 kid`,
          tokens: [signRaw({ alg: 'EdDSA', kid: 'hs-x', typ: TYP }, raw(jti(4)), { ed25519: edPrivate })],
          expected: ['ERR_TICKET_ALG'],
        },
        { name: `${side} alg none`, tokens: [signRaw({ alg: 'none', kid: 'ed-x', typ: TYP }, raw(jti(5)), { none: true })], expected: ['ERR_TICKET_ALG'] },
        { name: `${side} unknown kid`, tokens: [signRaw({ alg: 'EdDSA', kid: 'nobody', typ: TYP }, raw(jti(6)), { ed25519: edPrivate })], expected: ['ERR_TICKET_KEY_UNKNOWN'] },
        {
          name: `${side} duplicate header member (last wins on both sides)`,
          tokens: [`${b64u(`{"alg":"none","kid":"ed-x","typ":"${TYP}","alg":"EdDSA"}`)}.${good.split('.')[1]}.${good.split('.')[2]}`],
          expected: ['ERR_TICKET_SIGNATURE'],
        },
        {
          name: `${side} a failed check does not burn the nonce; replay within one run`,
          tokens: [tamperPayload(good), flipSignatureByte(good), good, good],
          expected: ['ERR_TICKET_SIGNATURE', 'ERR_TICKET_SIGNATURE', 'OK', 'ERR_TICKET_REPLAYED'],
        },
        { name: `${side} exp exactly at the tolerance`, tokens: [await issue(T0 - 35)], expected: ['OK'] },
        { name: `${side} exp one second beyond`, tokens: [await issue(T0 - 36)], expected: ['ERR_TICKET_EXPIRED'] },
        { name: `${side} iat exactly at the tolerance`, tokens: [await issue(T0 + 5)], expected: ['OK'] },
        { name: `${side} iat one second beyond`, tokens: [await issue(T0 + 6)], expected: ['ERR_TICKET_NOT_YET_VALID'] },
        { name: `${side} lifetime at the maximum`, tokens: [await issue(T0, { ttl: 60 })], expected: ['OK'] },
        { name: `${side} lifetime one second over`, tokens: [await issue(T0, { ttl: 61 })], expected: ['ERR_TICKET_TTL'] },
        { name: `${side} client mismatch`, tokens: [await issue(T0, { sub: OTHER })], expected: ['ERR_TICKET_CLIENT_MISMATCH'] },
        { name: `${side} source mismatch`, tokens: [await issue(T0, { iss: 'lobby-2' })], expected: ['ERR_TICKET_SOURCE_MISMATCH'] },
        { name: `${side} target mismatch`, tokens: [await issue(T0, { aud: 'game-8' })], expected: ['ERR_TICKET_TARGET_MISMATCH'] },
      );
      // the same good ticket presented where another client is expected: refused every time (the nonce is not consumed)
      const other = await issue(T0);
      cases.push({ name: `${side} expected another client`, tokens: [other, other], expected: ['ERR_TICKET_CLIENT_MISMATCH', 'ERR_TICKET_CLIENT_MISMATCH'], binding: { client: OTHER } });
    }
    await both(cases);
  }, 120_000);
});
