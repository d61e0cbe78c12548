/**
 * The client side in development mode over real loopback QUIC: a strict client joins through
 * `acceptClient` (G3, G2, G1), the proxy's password (right, wrong three times, empty), and what the
 * session gets: the record, the tap, the frames after the handshake with nothing lost.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connectStrictClient } from '@handoff/testkit';
import { isProxyError, noClientAuth } from '@handoff/proxy-kit';
import { closeAfterEach, connectPacket, passwordHash, ProxyHarness, RawClient, value } from './client-support.js';

const track = closeAfterEach();

const harness = async (init: Parameters<typeof ProxyHarness.start>[0]) => track(await ProxyHarness.start(init));

const strict = async (init: Parameters<typeof connectStrictClient>[0]) => track(await connectStrictClient({ waitTimeoutMs: 10_000, ...init }));

const raw = async (init: Parameters<typeof RawClient.connect>[0]) => track(await RawClient.connect(init));

describe('development mode (noClientAuth)', () => {
  for (const [generation, alpn] of [
    ['G3', ['hytale/2', 'hytale/1']],
    ['G2', ['hytale/2', 'hytale/1']],
    ['G1', ['hytale/1']],
  ] as const) {
    it(`${generation}: a strict client joins through acceptClient and reaches play, seamlessly`, async () => {
      const h = await harness({ accept: { auth: noClientAuth(), generations: [generation] }, alpn });
      const client = await strict({ address: h.address, generation, username: 'Alice' });
      await client.inWorld();
      expect(client.violations).toEqual([]);
      const outcome = await h.outcome(0);
      const accepted = outcome.client!;
      expect(accepted.generation.id).toBe(generation);
      expect(accepted.clientUuid).toBe(client.clientUuid);
      expect(accepted.username).toBe('Alice');
      expect(accepted.authenticated).toBe(false);
      expect(accepted.certificateFingerprint).toBe(client.certificateFingerprint);
      expect(accepted.record.connect).toMatchObject({ generation, clientUuid: client.clientUuid, username: 'Alice' });
      expect(accepted.tap.generation?.id).toBe(generation);
      expect(h.store.get(accepted.record.id)).toBe(accepted.record);
      // the session's frames carry on after the handshake: setup and world entry went through them
      expect(outcome.frames).toEqual(expect.arrayContaining(['RequestAssets', 'ViewRadius', 'PlayerOptions', 'ClientReady']));
      expect(h.counters.accepted).toBe(1);
      expect(Object.values(h.counters.closed).every((n) => n === 0)).toBe(true);
    });
  }

  it('the bytes the client sent right behind its Connect reach the session, in order', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    const g = client.generation;
    await client.sendRaw(
      Buffer.concat([
        g.packet('Connect').encodeFrame(connectPacket(g)),
        g.packet('ViewRadius').encodeFrame({ value: 96 }),
        g.packet('RequestAssets').encodeFrame({ assets: [] }),
        g.packet('ViewRadius').encodeFrame({ value: 128 }),
      ]),
    );
    expect(value(await client.next('ConnectAccept'))).toEqual({ passwordChallenge: null });
    await h.signal.until(() => (h.outcomes[0]?.frames.length ?? 0) >= 3, 'three frames read by the session');
    expect(h.outcomes[0]!.frames.slice(0, 3)).toEqual(['ViewRadius', 'RequestAssets', 'ViewRadius']);
  });

  it('a Disconnect from the client before its Connect ends it with code 0, counted as client-left', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    await client.send('Disconnect', { reason: 'bye', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 0 });
    const { error } = await h.outcome(0);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_LEFT')).toBe(true);
    expect(h.counters.closed['client-left']).toBe(1);
  });
});

describe("the proxy's password", () => {
  it('the right answer: PasswordAccepted, then the session', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'hunter2' } });
    const client = await strict({ address: h.address, password: 'hunter2' });
    await client.inWorld();
    expect(client.violations).toEqual([]);
    expect(client.counters.passwordAttempts).toBe(1);
    expect(h.counters.accepted).toBe(1);
  });

  it('three wrong answers: PasswordRejected twice (2, 1 left, new challenges), then "Too many failed password attempts" and code 0; a second client is unaffected', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'hunter2' } });
    const bad = await raw({ address: h.address });
    await bad.send('Connect', connectPacket(bad.generation));
    let challenge = value<{ passwordChallenge: Uint8Array }>(await bad.next('ConnectAccept')).passwordChallenge;
    expect(challenge).toHaveLength(32);
    for (const remaining of [2, 1]) {
      await bad.send('PasswordResponse', { hash: passwordHash(challenge, 'wrong') });
      const rejected = value<{ attemptsRemaining: number; newChallenge: Uint8Array }>(await bad.next('PasswordRejected'));
      expect(rejected.attemptsRemaining).toBe(remaining);
      expect(Buffer.from(rejected.newChallenge).equals(Buffer.from(challenge))).toBe(false);
      challenge = rejected.newChallenge;
    }
    const good = await strict({ address: h.address, password: 'hunter2' });
    await good.inWorld();
    await bad.send('PasswordResponse', { hash: passwordHash(challenge, 'wrong') });
    expect(value(await bad.next('Disconnect'))).toEqual({ reason: 'Too many failed password attempts', type: 'Disconnect' });
    expect(await bad.closed).toMatchObject({ initiator: 'remote', code: 0 });
    const { error } = await h.outcome(0);
    expect(isProxyError(error, 'ERR_PROXY_CLIENT_PASSWORD_REJECTED')).toBe(true);
    expect(h.counters.closed['password-rejected']).toBe(1);
    expect(h.counters.accepted).toBe(1);
    // nothing of the refused client stays in the store
    expect(h.store.size).toBe(1);
    good.sendMovement(3);
    await h.signal.until(() => h.outcomes[1]!.frames.filter((n) => n === 'ClientMovement').length === 3, 'the good client still moving');
    expect(good.violations).toEqual([]);
  });

  it('an empty answer: "Invalid password response"', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'hunter2' } });
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    await client.send('PasswordResponse', { hash: null });
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Invalid password response', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    expect(h.counters.closed['password-rejected']).toBe(1);
  });
});

describe('what the session gets', () => {
  it('the record holds the Connect and the identity token as a secret, never in a serialised form', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    const token = 'eyJhbGciOiJFZERTQSJ9.not-checked-in-development-mode.signature';
    await client.send('Connect', connectPacket(client.generation, { identityToken: token, language: 'fr' }));
    await client.next('ConnectAccept');
    const { client: accepted } = await h.outcome(0);
    const record = accepted!.record;
    expect(record.secret('identityToken')).toBe(token);
    expect(record.connect).toMatchObject({ language: 'fr', username: 'Bob' });
    for (const text of [JSON.stringify(record), inspect(record, { depth: 10 }), JSON.stringify(h.counters)]) expect(text).not.toContain(token);
  });

  it('disconnect(reason): Disconnect, then code 0, and the frames end', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    const outcome = await h.outcome(0);
    await outcome.client!.disconnect('Moved to another proxy');
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Moved to another proxy', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ code: 0 });
    await h.signal.until(() => outcome.framesEnded, 'the session frames to end');
    expect(Object.values(h.counters.closed).every((n) => n === 0)).toBe(true);
  });
});
