/**
 * Time checks with injected clocks (no wall time): exp and iat with the tolerance at both edges,
 * the maximum lifetime, and sub-second clocks. Tolerance 5 s, maximum TTL 60 s.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryReplayStore, createTicketIssuer, createTicketVerifier } from '@handoff/tickets';
import { BINDING, CLIENT, SOURCE, T0, TARGET, expectCode, testClock, testKeyRing } from './support/fixtures.js';

async function setup(ttlSeconds = 30) {
  const issuerClock = testClock(T0);
  const verifierClock = testClock(T0);
  const keyRing = await testKeyRing(issuerClock.now, 'ed');
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds, now: issuerClock.now });
  const verifier = createTicketVerifier({
    keyRing,
    replayStore: createMemoryReplayStore({ now: verifierClock.now }),
    now: verifierClock.now,
    maxTtlSeconds: 60,
    clockToleranceSeconds: 5,
  });
  const issue = () => issuer.issue({ clientUuid: CLIENT, target: TARGET });
  return { issuerClock, verifierClock, issue, verifier };
}

describe('expiry', () => {
  it('accepts at exp + tolerance (verifier clock ahead by exactly the tolerance) and refuses one second later', async () => {
    const { verifierClock, issue, verifier } = await setup();
    const atEdge = await issue();
    const beyond = await issue();
    verifierClock.set(T0 + 30 + 5);
    await expect(verifier.verify(atEdge, BINDING)).resolves.toMatchObject({ expiresAt: T0 + 30 });
    verifierClock.set(T0 + 30 + 6);
    await expectCode(verifier.verify(beyond, BINDING), 'ERR_TICKET_EXPIRED');
  });

  it('uses whole seconds: 999 ms past the edge second still passes', async () => {
    const { verifierClock, issue, verifier } = await setup();
    const token = await issue();
    verifierClock.set(T0 + 35 + 0.999);
    await expect(verifier.verify(token, BINDING)).resolves.toBeDefined();
  });

  it('refuses a long-expired ticket', async () => {
    const { verifierClock, issue, verifier } = await setup();
    const token = await issue();
    verifierClock.advance(3600);
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_EXPIRED');
  });
});

describe('not yet valid', () => {
  it('accepts iat = now + tolerance (verifier clock behind by exactly the tolerance) and refuses one second more', async () => {
    const { verifierClock, issue, verifier } = await setup();
    const token = await issue();
    verifierClock.set(T0 - 5);
    await expect(verifier.verify(token, BINDING)).resolves.toMatchObject({ issuedAt: T0 });
    const token2 = await issue();
    verifierClock.set(T0 - 6);
    await expectCode(verifier.verify(token2, BINDING), 'ERR_TICKET_NOT_YET_VALID');
  });
});

describe('lifetime', () => {
  it('accepts exp - iat = maxTtlSeconds', async () => {
    const { issue, verifier } = await setup(60);
    await expect(verifier.verify(await issue(), BINDING)).resolves.toMatchObject({ expiresAt: T0 + 60 });
  });

  it('refuses exp - iat = maxTtlSeconds + 1, even while not expired', async () => {
    const { issue, verifier } = await setup(61);
    await expectCode(verifier.verify(await issue(), BINDING), 'ERR_TICKET_TTL');
  });

  it('refuses an over-long ticket even when its lifetime is mostly over', async () => {
    const { verifierClock, issue, verifier } = await setup(3600);
    const token = await issue();
    verifierClock.set(T0 + 3590);
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_TTL');
  });
});
