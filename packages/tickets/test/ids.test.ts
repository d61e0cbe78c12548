/**
 * The ids a ticket binds are the branded ids of `@handoff/types`. Their parsers throw `TypesError`;
 * where the tickets API validates an id itself, a bad one is `ERR_TICKET_INVALID_ARGUMENT` with the
 * `TypesError` kept as `cause`.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryReplayStore, createPoolPolicy, createTicketIssuer, createTicketVerifier, isTicketError, type TicketError } from '@handoff/tickets';
import { clientUuidFromBytes, isTypesError, parseBackendId, parseClientUuid, parsePoolId, parseSessionId } from '@handoff/types';
import { BINDING, CLIENT, SOURCE, T0, TARGET, testClock, testKeyRing } from './support/fixtures.js';

async function world() {
  const clock = testClock(T0);
  const keyRing = await testKeyRing(clock.now, 'ed');
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, now: clock.now });
  const verifier = createTicketVerifier({ keyRing, replayStore: createMemoryReplayStore({ now: clock.now }), now: clock.now });
  return { clock, keyRing, issuer, verifier };
}
type World = Awaited<ReturnType<typeof world>>;

async function refusal(run: () => unknown): Promise<TicketError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(isTicketError(caught, 'ERR_TICKET_INVALID_ARGUMENT'), String(caught)).toBe(true);
  return caught as TicketError;
}

describe('ids at the tickets API', () => {
  it('binds the UUID of a Connect however it was read (any case, or the 16 wire bytes)', async () => {
    const { issuer, verifier } = await world();
    const fromText = parseClientUuid('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D');
    const fromBytes = clientUuidFromBytes(Uint8Array.from(Buffer.from('0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d', 'hex')));
    expect(fromText).toBe(CLIENT);
    expect(fromBytes).toBe(CLIENT);
    const ticket = await verifier.verify(await issuer.issue({ clientUuid: fromText, target: TARGET }), { ...BINDING, clientUuid: fromBytes });
    expect(ticket.clientUuid).toBe(CLIENT);
    // an uppercase UUID that skipped the parser is refused, never silently matched
    await refusal(async () => issuer.issue({ clientUuid: CLIENT.toUpperCase() as typeof CLIENT, target: TARGET }));
  });

  it('accepts ids at their grammar limits', async () => {
    const { keyRing, clock, issuer, verifier } = await world();
    const longest = parseBackendId('b'.repeat(64));
    expect(createTicketIssuer({ keyRing, issuer: longest, now: clock.now }).issuer).toBe(longest);
    const token = await issuer.issue({ clientUuid: CLIENT, target: longest, pool: parsePoolId('p'.repeat(64)), sessionId: parseSessionId('s'.repeat(128)) });
    await expect(verifier.verify(token, { ...BINDING, target: longest })).resolves.toMatchObject({ pool: 'p'.repeat(64), sessionId: 's'.repeat(128) });
  });

  it.each([
    ['issuer', 'backend-id', (w: World) => createTicketIssuer({ keyRing: w.keyRing, issuer: 'b'.repeat(65) as never })],
    ['issue pool', 'pool-id', (w: World) => w.issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: 'p'.repeat(65) as never })],
    ['issue sessionId', 'session-id', (w: World) => w.issuer.issue({ clientUuid: CLIENT, target: TARGET, sessionId: 's'.repeat(129) as never })],
    ['policy pools', 'pool-id', (w: World) => createPoolPolicy({ keyRing: w.keyRing, replayStore: createMemoryReplayStore(), pools: ['a b' as never] })],
  ] as const)('refuses an id one character past its grammar (%s) with ERR_TICKET_INVALID_ARGUMENT, the TypesError as cause', async (_where, reason, run) => {
    const w = await world();
    const error = await refusal(() => run(w));
    expect(error.reason).toBe(reason);
    expect(isTypesError(error.cause, 'ERR_TYPES_INVALID_ID')).toBe(true);
  });

  it.each([
    ['parseBackendId', () => parseBackendId('')],
    ['parsePoolId', () => parsePoolId('a/b')],
    ['parseSessionId', () => parseSessionId('s'.repeat(129))],
    ['parseClientUuid', () => parseClientUuid('nope')],
  ] as const)('leaves parsing to @handoff/types: %s throws TypesError, never a TicketError', (_name, run) => {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(isTypesError(caught, 'ERR_TYPES_INVALID_ID')).toBe(true);
    expect(isTicketError(caught)).toBe(false);
  });
});
