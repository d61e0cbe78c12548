/**
 * Issuing: the 4096-byte budget, the inline-or-reference rule for state, and loading state on the
 * target side (including the SHA-256 check of fetched bytes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TicketError,
  checkTicketState,
  createMemoryReplayStore,
  createMemoryStateStore,
  createTicketIssuer,
  createTicketVerifier,
  loadTicketState,
  type TicketStateStore,
  type VerifiedTicket,
} from '@handoff/tickets';
import { parsePoolId, parseSessionId } from '@handoff/types';
import { BINDING, CLIENT, MAX_TICKET_BYTES, SOURCE, T0, TARGET, decodeToken, expectCode, sha256b64u, testClock, testKeyRing } from './support/fixtures.js';

async function setup(options: { stateStore?: TicketStateStore | null; alg?: 'ed' | 'hs' } = {}) {
  const clock = testClock(T0);
  const keyRing = await testKeyRing(clock.now, options.alg ?? 'ed');
  const stateStore = options.stateStore === null ? undefined : (options.stateStore ?? createMemoryStateStore({ now: clock.now }));
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds: 30, now: clock.now, stateStore });
  const verifier = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now });
  return { clock, keyRing, issuer, verifier, stateStore };
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

describe('inline or reference', () => {
  it.each(['ed', 'hs'] as const)('switches to a reference exactly when the inline ticket would exceed 4096 bytes (%s)', async (alg) => {
    const { issuer } = await setup({ alg });
    const kindOf = async (n: number) => {
      const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('p'), sessionId: parseSessionId('s'), state: bytes(n) });
      expect(token.length).toBeLessThanOrEqual(MAX_TICKET_BYTES);
      const st = decodeToken(token).claims.st as Record<string, unknown>;
      return { kind: 'in' in st ? 'inline' : 'reference', length: token.length };
    };
    let low = 0;
    let high = 4096; // inline at low, reference at high
    expect((await kindOf(low)).kind).toBe('inline');
    expect((await kindOf(high)).kind).toBe('reference');
    while (high - low > 1) {
      const mid = (low + high) >> 1;
      if ((await kindOf(mid)).kind === 'inline') low = mid;
      else high = mid;
    }
    const largest = await kindOf(low);
    // the largest inline ticket uses the budget (base64url adds at most 3 characters per step)
    expect(largest.length).toBeGreaterThan(MAX_TICKET_BYTES - 4);
    // one byte more does not fit inline: forcing inline is refused
    const forced = await expectCode(
      issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('p'), sessionId: parseSessionId('s'), state: bytes(low + 1), stateMode: 'inline' }),
      'ERR_TICKET_TOO_LARGE',
    );
    expect(forced.reason).toBe('state-inline');
    await expect(
      issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('p'), sessionId: parseSessionId('s'), state: bytes(low), stateMode: 'inline' }),
    ).resolves.toHaveLength(largest.length);
  });

  it('refuses state that does not fit inline when no state store is configured', async () => {
    const { issuer } = await setup({ stateStore: null });
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(4000) }), 'ERR_TICKET_TOO_LARGE');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(10), stateMode: 'reference' }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expect(issuer.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(100) })).resolves.toBeTypeOf('string');
  });

  it('can force a reference for small state', async () => {
    const { issuer } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(10), stateMode: 'reference' });
    expect(decodeToken(token).claims.st).toEqual({ ref: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), len: 10, sha256: sha256b64u(bytes(10)) });
  });

  it('round-trips any state of up to 64 KiB through issue, verify and load', async () => {
    const { issuer, verifier, stateStore } = await setup();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 65_536 }), async (state) => {
        const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET, state });
        expect(Buffer.byteLength(token)).toBeLessThanOrEqual(MAX_TICKET_BYTES);
        const ticket = await verifier.verify(token, BINDING);
        expect(await loadTicketState(ticket, { store: stateStore })).toEqual(state);
      }),
      { numRuns: 60 },
    );
  });

  it('fails with ERR_TICKET_STATE_UNAVAILABLE when the state store cannot take the bytes', async () => {
    const broken: TicketStateStore = { kind: 'broken', put: async () => Promise.reject(new Error('disk full')), get: async () => undefined, close: async () => {} };
    const { issuer } = await setup({ stateStore: broken });
    const error = await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(5000) }), 'ERR_TICKET_STATE_UNAVAILABLE');
    expect(error.reason).toBe('error');
    const full = createMemoryStateStore({ maxBytes: 100 });
    const { issuer: issuer2 } = await setup({ stateStore: full });
    expect((await expectCode(issuer2.issue({ clientUuid: CLIENT, target: TARGET, state: bytes(5000) }), 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('full');
  });
});

describe('issue arguments', () => {
  it('refuses unvalidated ids, bad pools and session ids, and bad options', async () => {
    const { issuer, keyRing } = await setup();
    await expectCode(issuer.issue({ clientUuid: 'nope' as never, target: TARGET }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(issuer.issue({ clientUuid: CLIENT.toUpperCase() as never, target: TARGET }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: 'bad id' as never }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: 'a/b' as never }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, sessionId: '' as never }), 'ERR_TICKET_INVALID_ARGUMENT');
    await expectCode(issuer.issue({ clientUuid: CLIENT, target: TARGET, state: 'text' as never }), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(() => createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds: 0 })).toThrow(TicketError);
    expect(() => createTicketIssuer({ keyRing, issuer: 'has space' as never })).toThrow(TicketError);
    expect(() => createTicketIssuer({ keyRing: {} as never, issuer: SOURCE })).toThrow(TicketError);
  });

  it('issues a fresh 128-bit nonce every time', async () => {
    const { issuer } = await setup();
    const nonces = new Set<string>();
    for (let i = 0; i < 50; i++) nonces.add(decodeToken(await issuer.issue({ clientUuid: CLIENT, target: TARGET })).claims.jti as string);
    expect(nonces.size).toBe(50);
    for (const nonce of nonces) expect(Buffer.from(nonce, 'base64url')).toHaveLength(16);
  });
});

describe('loading state on the target', () => {
  async function verified(state: Uint8Array, mode: 'auto' | 'reference' = 'auto') {
    const ctx = await setup();
    const ticket = await ctx.verifier.verify(await ctx.issuer.issue({ clientUuid: CLIENT, target: TARGET, state, stateMode: mode }), BINDING);
    return { ...ctx, ticket };
  }

  it('returns inline state without a store, and undefined without state', async () => {
    const { ticket } = await verified(bytes(20, 1));
    expect(ticket.state?.kind).toBe('inline');
    expect(await loadTicketState(ticket)).toEqual(bytes(20, 1));
    const { issuer, verifier } = await setup();
    const plain = await verifier.verify(await issuer.issue({ clientUuid: CLIENT, target: TARGET }), BINDING);
    expect(await loadTicketState(plain)).toBeUndefined();
  });

  it('fetches referenced state and checks its length and SHA-256', async () => {
    const { ticket, stateStore } = await verified(bytes(6000, 3));
    expect(ticket.state).toMatchObject({ kind: 'reference', length: 6000, sha256: sha256b64u(bytes(6000, 3)) });
    expect(await loadTicketState(ticket, { store: stateStore })).toEqual(bytes(6000, 3));
    expect(checkTicketState(ticket, bytes(6000, 3))).toEqual(bytes(6000, 3));
    expect(() => checkTicketState(ticket, bytes(6000, 4))).toThrow(expect.objectContaining({ code: 'ERR_TICKET_STATE_MISMATCH', reason: 'sha256' }));
    expect(() => checkTicketState(ticket, bytes(5999, 3))).toThrow(expect.objectContaining({ code: 'ERR_TICKET_STATE_MISMATCH', reason: 'length' }));
  });

  it('refuses substituted bytes served by a store', async () => {
    const { ticket } = await verified(bytes(50, 9), 'reference');
    const lying: TicketStateStore = { kind: 'lying', put: async () => 'x', get: async () => bytes(50, 8), close: async () => {} };
    await expectCode(loadTicketState(ticket, { store: lying }), 'ERR_TICKET_STATE_MISMATCH');
  });

  it('reports missing, expired, storeless and slow loads as ERR_TICKET_STATE_UNAVAILABLE', async () => {
    const { ticket, stateStore, clock } = await verified(bytes(50), 'reference');
    expect((await expectCode(loadTicketState(ticket), 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('no-store');
    const empty = createMemoryStateStore();
    expect((await expectCode(loadTicketState(ticket, { store: empty }), 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('missing');
    clock.advance(30 + 30); // ticket ttl + state grace
    expect((await expectCode(loadTicketState(ticket, { store: stateStore }), 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('missing');
    const hung: TicketStateStore = { kind: 'hung', put: async () => 'x', get: () => new Promise(() => {}), close: async () => {} };
    const controller = new AbortController();
    const pending = loadTicketState(ticket, { store: hung, signal: controller.signal, timeoutMs: 60_000 });
    controller.abort();
    expect((await expectCode(pending, 'ERR_TICKET_STATE_UNAVAILABLE')).reason).toBe('aborted');
  });

  it('refuses objects that did not come from a verifier', async () => {
    const { ticket } = await verified(bytes(10));
    const forged = { ...ticket } as VerifiedTicket;
    await expectCode(loadTicketState(forged), 'ERR_TICKET_INVALID_ARGUMENT');
    expect(() => checkTicketState(forged, bytes(10))).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
  });
});
