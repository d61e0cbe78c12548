/**
 * Every error code of `ticketErrorCodes` is reached by a scenario through the public API. The table is a
 * `Record` over the codes, so adding a code without a scenario fails the type-check.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  TicketError,
  isTicketError,
  ticketErrorCodes,
  createKeyRing,
  createMemoryReplayStore,
  createMemoryStateStore,
  createTicketIssuer,
  createTicketVerifier,
  loadTicketState,
  checkTicketState,
  type ReplayStore,
  type TicketErrorCode,
  type TicketStateStore,
} from '@handoff/tickets';
import { TypesError, parseBackendId } from '@handoff/types';
import { BINDING, CLIENT, OTHER_CLIENT, SOURCE, T0, TARGET, TEST_ED25519_JWK, TEST_ED25519_JWK_2, testClock, testKeyRing } from './support/fixtures.js';
import { b64u, signRaw } from './support/raw-sign.js';

const TYP = 'handoff-migration+jwt';

async function world() {
  const clock = testClock(T0);
  const keyRing = await testKeyRing(clock.now, 'ed');
  const stateStore = createMemoryStateStore({ now: clock.now });
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now, stateStore });
  const verifier = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now });
  const issue = (extra = {}) => issuer.issue({ clientUuid: CLIENT, target: TARGET, ...extra });
  const claims = { iss: SOURCE, aud: TARGET, sub: CLIENT, jti: b64u(new Uint8Array(16).fill(1)), iat: T0, exp: T0 + 30 };
  return { clock, keyRing, issuer, verifier, issue, claims, stateStore };
}

const scenarios: Record<TicketErrorCode, () => Promise<unknown>> = {
  ERR_TICKET_MALFORMED: async () => (await world()).verifier.verify('not-a-ticket', BINDING),
  ERR_TICKET_TOO_LARGE: async () => (await world()).verifier.verify('x'.repeat(5000), BINDING),
  ERR_TICKET_ALG: async () => {
    const { verifier, claims } = await world();
    return verifier.verify(signRaw({ alg: 'none', kid: 'ed-1', typ: TYP }, claims, { none: true }), BINDING);
  },
  ERR_TICKET_KEY_UNKNOWN: async () => {
    const { verifier, claims } = await world();
    return verifier.verify(signRaw({ alg: 'EdDSA', kid: 'nobody', typ: TYP }, claims, { ed25519: TEST_ED25519_JWK_2 }), BINDING);
  },
  ERR_TICKET_SIGNATURE: async () => {
    const { verifier, claims } = await world();
    return verifier.verify(signRaw({ alg: 'EdDSA', kid: 'ed-1', typ: TYP }, claims, { ed25519: TEST_ED25519_JWK_2 }), BINDING);
  },
  ERR_TICKET_EXPIRED: async () => {
    const { verifier, issue, clock } = await world();
    const token = await issue();
    clock.advance(36);
    return verifier.verify(token, BINDING);
  },
  ERR_TICKET_NOT_YET_VALID: async () => {
    const { verifier, issue, clock } = await world();
    const token = await issue();
    clock.advance(-6);
    return verifier.verify(token, BINDING);
  },
  ERR_TICKET_TTL: async () => {
    const { verifier, claims } = await world();
    return verifier.verify(signRaw({ alg: 'EdDSA', kid: 'ed-1', typ: TYP }, { ...claims, exp: T0 + 61 }, { ed25519: TEST_ED25519_JWK }), BINDING);
  },
  ERR_TICKET_CLIENT_MISMATCH: async () => {
    const { verifier, issue } = await world();
    return verifier.verify(await issue(), { ...BINDING, clientUuid: OTHER_CLIENT });
  },
  ERR_TICKET_SOURCE_MISMATCH: async () => {
    const { verifier, issue } = await world();
    return verifier.verify(await issue(), { ...BINDING, source: parseBackendId('elsewhere') });
  },
  ERR_TICKET_TARGET_MISMATCH: async () => {
    const { verifier, issue } = await world();
    return verifier.verify(await issue(), { ...BINDING, target: parseBackendId('elsewhere') });
  },
  ERR_TICKET_REPLAYED: async () => {
    const { verifier, issue } = await world();
    const token = await issue();
    await verifier.verify(token, BINDING);
    return verifier.verify(token, BINDING);
  },
  ERR_TICKET_REPLAY_STORE_UNAVAILABLE: async () => {
    const { keyRing, issue, clock } = await world();
    const down: ReplayStore = { kind: 'down', consume: async () => Promise.reject(new Error('ECONNREFUSED')), probe: async () => {}, close: async () => {} };
    return createTicketVerifier({ keyRing, replayStore: down, now: clock.now }).verify(await issue(), BINDING);
  },
  ERR_TICKET_NO_SIGNING_KEY: async () => createTicketIssuer({ keyRing: createKeyRing(), issuer: SOURCE }).issue({ clientUuid: CLIENT, target: TARGET }),
  ERR_TICKET_STATE_MISMATCH: async () => {
    const { verifier, issue } = await world();
    const ticket = await verifier.verify(await issue({ state: new Uint8Array(10), stateMode: 'reference' }), BINDING);
    return checkTicketState(ticket, new Uint8Array(10).fill(1));
  },
  ERR_TICKET_STATE_UNAVAILABLE: async () => {
    const { verifier, issue } = await world();
    const ticket = await verifier.verify(await issue({ state: new Uint8Array(10), stateMode: 'reference' }), BINDING);
    const empty: TicketStateStore = createMemoryStateStore();
    return loadTicketState(ticket, { store: empty });
  },
  ERR_TICKET_INVALID_ARGUMENT: async () => createTicketIssuer({ keyRing: createKeyRing(), issuer: 'not a backend id' as never }),
};

describe('error codes', () => {
  it.each(Object.keys(ticketErrorCodes) as TicketErrorCode[])('%s is reachable through the public API', async (code) => {
    let caught: unknown;
    try {
      await scenarios[code]();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TicketError);
    expect((caught as TicketError).code).toBe(code);
    expect((caught as TicketError).name).toBe('TicketError');
  });

  it('describes every code in one line', () => {
    for (const [code, description] of Object.entries(ticketErrorCodes)) {
      expect(code).toMatch(/^ERR_TICKET_[A-Z_]+$/);
      expect(description).not.toContain('\n');
      expect(description.length).toBeGreaterThan(20);
    }
    expect(Object.keys(scenarios).sort()).toEqual(Object.keys(ticketErrorCodes).sort());
  });

  it('isTicketError recognises the errors of another installed copy of the package, both ways', async () => {
    vi.resetModules();
    const copy = (await import('@handoff/tickets')) as typeof import('@handoff/tickets');
    expect(copy.TicketError).not.toBe(TicketError);
    const theirs = new copy.TicketError('ERR_TICKET_REPLAYED');
    const ours = new TicketError('ERR_TICKET_REPLAYED');
    expect(theirs).not.toBeInstanceOf(TicketError);
    expect(isTicketError(theirs)).toBe(true);
    expect(isTicketError(theirs, 'ERR_TICKET_REPLAYED')).toBe(true);
    expect(isTicketError(theirs, 'ERR_TICKET_EXPIRED')).toBe(false);
    expect(copy.isTicketError(ours, 'ERR_TICKET_REPLAYED')).toBe(true);
    // a real refusal made by the other copy is recognised too
    const { verifier } = await world();
    const refusal = await verifier.verify('not-a-ticket', BINDING).catch((error: unknown) => error);
    expect(copy.isTicketError(refusal, 'ERR_TICKET_MALFORMED')).toBe(true);
    // errors of other packages, and look-alikes without the brand, are not ticket errors
    expect(isTicketError(Object.assign(new Error('x'), { code: 'ERR_TICKET_REPLAYED' }))).toBe(false);
    expect(isTicketError(new TypesError('ERR_TYPES_INVALID_ID', 'backend id'))).toBe(false);
  });

  it('keeps the cause of a failure: jose\'s verification error, reduced to its name, message and code', async () => {
    const { verifier, claims } = await world();
    const forged = signRaw({ alg: 'EdDSA', kid: 'ed-1', typ: TYP }, claims, { ed25519: TEST_ED25519_JWK_2 });
    const error = (await verifier.verify(forged, BINDING).catch((e: unknown) => e)) as TicketError;
    expect(error.code).toBe('ERR_TICKET_SIGNATURE');
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).toMatchObject({ name: 'JWSSignatureVerificationFailed', code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    expect((error.cause as Error).cause).toBeUndefined();
  });
});
