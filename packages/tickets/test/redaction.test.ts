/**
 * Secrets never leak: tokens, nonces, state bytes and key material appear in no error message,
 * error cause, serialised error, log line, inspected or serialised ticket, or policy snapshot.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  TicketError,
  createMemoryReplayStore,
  createMemoryStateStore,
  createPoolPolicy,
  createTicketIssuer,
  createTicketVerifier,
  type ReplayStore,
} from '@handoff/tickets';
import { parseBackendId, parsePoolId, type Logger } from '@handoff/types';
import {
  BINDING,
  CLIENT,
  OTHER_CLIENT,
  SOURCE,
  T0,
  TARGET,
  TEST_ED25519_JWK,
  TEST_ED25519_JWK_2,
  TEST_HS256_SECRET,
  TEST_HS256_SECRET_UTF8,
  decodeToken,
  testClock,
  testKeyRing,
} from './support/fixtures.js';

/** The token with one character of its signature changed (still canonical base64url). */
function forgedSignature(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  return `${h}.${p}.${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`;
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (obj: object, msg?: string) => lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

describe('redaction', () => {
  it('keeps tokens, nonces, state and keys out of errors, logs, tickets and snapshots', async () => {
    const clock = testClock(T0);
    const logger = capturingLogger();
    const keyRing = await testKeyRing(clock.now, 'both');
    const secretState = new TextEncoder().encode('SECRET-STATE-'.repeat(10));
    const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now, logger, stateStore: createMemoryStateStore() });
    const flaky: ReplayStore = {
      kind: 'flaky',
      consume: async (nonce) => Promise.reject(Object.assign(new Error('boom'), { args: [nonce] })),
      probe: async () => {},
      close: async () => {},
    };
    const good = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now, logger });
    const bad = createTicketVerifier({ keyRing, replayStore: flaky, now: clock.now, logger });

    const tokens = [
      await issuer.issue({ clientUuid: CLIENT, target: TARGET, state: secretState }),
      await issuer.issue({ clientUuid: CLIENT, target: TARGET, state: new Uint8Array(6000).fill(65), stateMode: 'auto' }),
    ];
    // any 24-character window of a token counts as a leak (step 6, so every 29+ character excerpt is caught)
    const windows = (text: string) => Array.from({ length: Math.floor((text.length - 24) / 6) + 1 }, (_, i) => text.slice(i * 6, i * 6 + 24));
    const secrets = [
      ...tokens.flatMap(windows),
      ...tokens.map((t) => decodeToken(t).claims.jti as string),
      ...tokens.map((t) => JSON.stringify(decodeToken(t).claims.st)),
      'SECRET-STATE',
      TEST_ED25519_JWK.d!,
      TEST_ED25519_JWK_2.d!,
      TEST_HS256_SECRET_UTF8,
      Buffer.from(TEST_HS256_SECRET).toString('base64url'),
    ];

    const errors: unknown[] = [];
    const ticket = await good.verify(tokens[0]!, BINDING);
    for (const attempt of [
      () => good.verify(tokens[0]!, BINDING), // replayed
      () => good.verify(tokens[1]!, { ...BINDING, clientUuid: OTHER_CLIENT }),
      () => good.verify(tokens[1]!, { ...BINDING, target: parseBackendId('x') }),
      () => good.verify(`${tokens[1]!}x`, BINDING),
      () => good.verify(tokens[1]!.replace('.', '.A'), BINDING),
      () => bad.verify(tokens[1]!, BINDING),
      () => good.verify(forgedSignature(tokens[1]!), BINDING), // jose's verification error as cause
      () => keyRing.add({ kid: 'leak-pem', pem: `-----BEGIN PRIVATE KEY-----\n${Buffer.from(TEST_HS256_SECRET).toString('base64url')}\n-----END PRIVATE KEY-----\n` }),
      () => keyRing.add({ kid: 'leak-jwk', jwk: { ...TEST_ED25519_JWK, d: TEST_ED25519_JWK_2.d! } }),
    ]) {
      await attempt().catch((error: unknown) => errors.push(error));
    }
    expect(errors).toHaveLength(9);
    expect(errors.every((e) => e instanceof TicketError)).toBe(true);
    // causes are kept (the store's error, jose's, the PEM parser's), so the check below covers them
    expect(errors.filter((e) => (e as Error).cause !== undefined).length).toBeGreaterThanOrEqual(3);

    const policy = createPoolPolicy({ keyRing, replayStore: createMemoryReplayStore(), logger, pools: [parsePoolId('a')] });
    await policy.probe();

    const surfaces = [
      ...errors.map((e) => {
        const error = e as TicketError;
        const cause = error.cause as Error | undefined;
        return [
          error.message,
          String(error.stack),
          JSON.stringify(error),
          inspect(error, { depth: 5 }),
          inspect(cause, { depth: 5, showHidden: true }),
          JSON.stringify(cause),
          String(cause?.stack),
        ].join('\n');
      }),
      ...logger.lines,
      JSON.stringify(ticket),
      inspect(ticket, { depth: 5 }),
      String(ticket),
      JSON.stringify(policy.snapshot()),
      JSON.stringify(keyRing.list()),
    ];
    expect(logger.lines.length).toBeGreaterThan(5);
    for (const surface of surfaces) {
      for (const secret of secrets) expect(surface.includes(secret), `leaked ${secret.slice(0, 12)}… in ${surface.slice(0, 80)}`).toBe(false);
    }
    // the ticket still hands state to its owner
    expect(ticket.state).toMatchObject({ kind: 'inline' });
  });
});
