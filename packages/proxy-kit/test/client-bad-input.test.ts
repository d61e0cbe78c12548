/**
 * Bad input from a client, in the handshake and after it, over real loopback QUIC: packets in the wrong
 * stage, frames the codec refuses, oversized frames, floods. Each closes only that client, the way the
 * server closes it, with its counter; a second client on the same listener goes on to play.
 */
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_SIZE, writeFrameHeader } from '@handoff/protocol';
import { ManualClock, connectStrictClient } from '@handoff/testkit';
import { isProxyError, noClientAuth, type ClientCloseReason, type ProxyErrorCode } from '@handoff/proxy-kit';
import { closeAfterEach, connectPacket, expectCounted, passwordHash, ProxyHarness, RawClient, value } from './client-support.js';

const track = closeAfterEach();

const harness = async (init: Parameters<typeof ProxyHarness.start>[0]) => track(await ProxyHarness.start(init));

const raw = async (init: Parameters<typeof RawClient.connect>[0]) => track(await RawClient.connect(init));

async function expectOthersUnaffected(h: ProxyHarness, password?: string): Promise<void> {
  const other = await connectStrictClient({ address: h.address, waitTimeoutMs: 10_000, ...(password ? { password } : {}) });
  track(other);
  await other.inWorld();
  other.sendMovement(2);
  const index = h.outcomes.length - 1;
  await h.signal.until(() => h.outcomes[index]!.frames.filter((n) => n === 'ClientMovement').length === 2, 'the other client moving');
  expect(other.violations).toEqual([]);
}

/** A frame with any id and payload, written by hand. */
function frame(id: number, payload: Uint8Array | number[] = [], declared?: number): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  writeFrameHeader(out, 0, id, body.length);
  if (declared !== undefined) new DataView(out.buffer).setInt32(0, declared, true);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

const VIOLATION = { initiator: 'remote', code: 10, reason: 'PROTOCOL_VIOLATION' };

describe('before the Connect', () => {
  const cases: [string, () => Uint8Array, ClientCloseReason, ProxyErrorCode][] = [
    ['another packet first (a Pong)', () => frame(3, new Uint8Array(20)), 'unexpected-packet', 'ERR_PROXY_CLIENT_UNEXPECTED_PACKET'],
    ['an unknown packet id', () => frame(9999, [1, 2, 3]), 'malformed-frame', 'ERR_PROXY_CLIENT_MALFORMED'],
    ['a server-to-client packet (JoinWorld)', () => frame(104, new Uint8Array(18)), 'malformed-frame', 'ERR_PROXY_CLIENT_MALFORMED'],
    ['a negative length', () => frame(0, [], -5), 'malformed-frame', 'ERR_PROXY_CLIENT_MALFORMED'],
    ['a Connect header declaring more than a Connect may hold', () => frame(0, [], 50_000), 'oversized-frame', 'ERR_PROXY_CLIENT_OVERSIZED'],
    ['a Connect whose payload does not decode', () => frame(0, [0x00, 1, 2, 3, 4, 5, 6, 7, 8]), 'malformed-frame', 'ERR_PROXY_CLIENT_MALFORMED'],
  ];
  for (const [what, bytes, reason, code] of cases) {
    it(`${what}: closed silently as a protocol violation`, async () => {
      const h = await harness({ accept: { auth: noClientAuth() } });
      const client = await raw({ address: h.address });
      await client.sendRaw(bytes());
      expect(await client.closed).toMatchObject(VIOLATION);
      expect(client.received).toEqual([]);
      const { error } = await h.outcome(0);
      expect(isProxyError(error, code)).toBe(true);
      expectCounted(h, reason);
      await expectOthersUnaffected(h);
    });
  }

  it('a client that ends its stream inside its Connect: closed with code 0, counted as client-left', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    const connect = client.generation.packet('Connect').encodeFrame(connectPacket(client.generation));
    await client.sendRaw(connect.subarray(0, 20));
    await client.endStream();
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 0 });
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_LEFT')).toBe(true);
    expectCounted(h, 'client-left');
    await expectOthersUnaffected(h);
  });
});

describe('in a handshake stage', () => {
  async function inPassword(h: ProxyHarness): Promise<{ client: RawClient; challenge: Uint8Array }> {
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation));
    const challenge = value<{ passwordChallenge: Uint8Array }>(await client.next('ConnectAccept')).passwordChallenge;
    return { client, challenge };
  }

  it('a packet the stage does not take: "Protocol error: unexpected packet 32", then code 0', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'pw' } });
    const { client } = await inPassword(h);
    await client.send('ViewRadius', { value: 192 });
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Protocol error: unexpected packet 32', type: 'Disconnect' });
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 0 });
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_UNEXPECTED_PACKET')).toBe(true);
    expectCounted(h, 'unexpected-packet');
    expect(h.store.size).toBe(0);
    await expectOthersUnaffected(h, 'pw');
  });

  it('a PasswordResponse that does not decode: a protocol violation', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'pw' } });
    const { client } = await inPassword(h);
    await client.sendRaw(frame(15, [0x01, 0xff]));
    expect(await client.closed).toMatchObject(VIOLATION);
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_MALFORMED')).toBe(true);
    expectCounted(h, 'malformed-frame');
    await expectOthersUnaffected(h, 'pw');
  });

  it('a PasswordResponse longer than its maximum (70 bytes): a protocol violation, before its body arrives', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), password: 'pw' } });
    const { client } = await inPassword(h);
    await client.sendRaw(frame(15, [], 71));
    expect(await client.closed).toMatchObject(VIOLATION);
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_OVERSIZED')).toBe(true);
    expectCounted(h, 'oversized-frame');
    await expectOthersUnaffected(h, 'pw');
  });

  it('the handshake counts against the rate limit too: the packet past the bucket closes with code 1', async () => {
    const clock = new ManualClock();
    const h = await harness({ accept: { auth: noClientAuth(), password: 'pw', clock, rateLimit: { burst: 2, perSecond: 1 } } });
    const { client, challenge } = await inPassword(h);
    await client.send('PasswordResponse', { hash: passwordHash(challenge, 'wrong') });
    const rejected = value<{ newChallenge: Uint8Array }>(await client.next('PasswordRejected'));
    await client.send('PasswordResponse', { hash: passwordHash(rejected.newChallenge, 'pw') });
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 1 });
    expect(client.names()).toEqual(['ConnectAccept', 'PasswordRejected']);
    expect(isProxyError((await h.outcome(0)).error, 'ERR_PROXY_CLIENT_RATE_LIMITED')).toBe(true);
    expectCounted(h, 'rate-limited');
  });
});

describe('after the handshake (the frames the session reads)', () => {
  async function accepted(h: ProxyHarness): Promise<RawClient> {
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation));
    await client.next('ConnectAccept');
    await h.outcome(h.outcomes.length - 1);
    return client;
  }

  for (const [what, bytes, code, reason] of [
    ['an unknown packet id', frame(9999, [0]), 'ERR_PROXY_CLIENT_MALFORMED', 'malformed-frame'],
    ['a server-to-client packet (SetClientId)', frame(100, [0, 0, 0, 0]), 'ERR_PROXY_CLIENT_MALFORMED', 'malformed-frame'],
    ['a frame over its packet\'s maximum (ClientReady declaring 3 bytes)', frame(105, [], 3), 'ERR_PROXY_CLIENT_OVERSIZED', 'oversized-frame'],
  ] as const) {
    it(`${what}: the session's read rejects with ${code}, the client is closed as a protocol violation`, async () => {
      const h = await harness({ accept: { auth: noClientAuth() } });
      const client = await accepted(h);
      await client.send('ViewRadius', { value: 160 });
      await client.sendRaw(bytes);
      expect(await client.closed).toMatchObject(VIOLATION);
      const outcome = h.outcomes[0]!;
      await h.signal.until(() => outcome.framesEnded, 'the session to stop reading');
      expect(isProxyError(outcome.framesError, code)).toBe(true);
      expect(outcome.frames).toContain('ViewRadius');
      expectCounted(h, reason);
      expect(h.counters.accepted).toBe(1);
      await expectOthersUnaffected(h);
    });
  }

  it('a flood: with the clock still, the 500 packets of the bucket pass (the Connect was the first), the next closes with code 1', async () => {
    const clock = new ManualClock();
    const h = await harness({ accept: { auth: noClientAuth(), clock } });
    const client = await accepted(h);
    const g = client.generation;
    const one = g.packet('ViewRadius').encodeFrame({ value: 96 });
    await client.sendRaw(Buffer.concat(Array.from({ length: 600 }, () => one)));
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 1 });
    const outcome = h.outcomes[0]!;
    await h.signal.until(() => outcome.framesEnded, 'the session to stop reading');
    expect(isProxyError(outcome.framesError, 'ERR_PROXY_CLIENT_RATE_LIMITED')).toBe(true);
    expect(outcome.frames.filter((n) => n === 'ViewRadius')).toHaveLength(499);
    expectCounted(h, 'rate-limited');
    await expectOthersUnaffected(h);
  });

  it('the bucket refills at 2000 packets a second: 100 ms later 200 more pass, the 201st closes', async () => {
    const clock = new ManualClock();
    const h = await harness({ accept: { auth: noClientAuth(), clock } });
    const client = await accepted(h);
    const one = client.generation.packet('ViewRadius').encodeFrame({ value: 96 });
    const outcome = h.outcomes[0]!;
    await client.sendRaw(Buffer.concat(Array.from({ length: 499 }, () => one)));
    await h.signal.until(() => outcome.frames.length === 499, '499 frames read');
    await clock.advance(100);
    await client.sendRaw(Buffer.concat(Array.from({ length: 201 }, () => one)));
    expect(await client.closed).toMatchObject({ code: 1 });
    await h.signal.until(() => outcome.framesEnded, 'the session to stop reading');
    expect(outcome.frames).toHaveLength(699);
    expectCounted(h, 'rate-limited');
  });

  it('rateLimit: false turns the limiter off', async () => {
    const clock = new ManualClock();
    const h = await harness({ accept: { auth: noClientAuth(), clock, rateLimit: false } });
    const client = await accepted(h);
    const one = client.generation.packet('ViewRadius').encodeFrame({ value: 96 });
    await client.sendRaw(Buffer.concat(Array.from({ length: 1200 }, () => one)));
    await h.signal.until(() => h.outcomes[0]!.frames.length === 1200, '1200 frames read');
    expect(h.counters.closed['rate-limited']).toBe(0);
  });
});
