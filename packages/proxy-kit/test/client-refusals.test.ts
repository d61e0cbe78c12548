/**
 * Every refusal of the client side over real loopback QUIC, each checked against what the server
 * does: the outdated ALPN, another generation (compared byte for byte with the testkit's simulated
 * server of the proxy's generation, fed the same Connect), the Connect's fields, client auth required.
 * Each closes only that client, with the server's close, and increments its counter; a second client
 * on the same listener goes on to play.
 */
import { describe, expect, it } from 'vitest';
import { getGeneration, type PacketInputs } from '@handoff/protocol';
import { ManualClock, connectStrictClient, createBackend } from '@handoff/testkit';
import { isProxyError, noClientAuth, sessionServiceAuth, type ProxyErrorCode } from '@handoff/proxy-kit';
import { closeAfterEach, connectPacket, expectCounted, ProxyHarness, RawClient, type Received, value } from './client-support.js';

const track = closeAfterEach();

const harness = async (init: Parameters<typeof ProxyHarness.start>[0]) => track(await ProxyHarness.start(init));

const raw = async (init: Parameters<typeof RawClient.connect>[0]) => track(await RawClient.connect(init));

async function expectError(h: ProxyHarness, index: number, code: ProxyErrorCode, reason?: string): Promise<void> {
  const { error } = await h.outcome(index);
  expect(isProxyError(error, code), `${error?.code} should be ${code}`).toBe(true);
  if (reason !== undefined) expect(error!.reason).toBe(reason);
}

/** A second client on the same listener still joins and plays. */
async function expectOthersUnaffected(h: ProxyHarness, generation = 'G3'): Promise<void> {
  const other = await connectStrictClient({ address: h.address, generation, waitTimeoutMs: 10_000 });
  track(other);
  await other.inWorld();
  expect(other.violations).toEqual([]);
}

/** What a client sees of a refusal: the frames it got (decoded Disconnects) and how its connection ended. */
async function seen(client: RawClient): Promise<{ frames: unknown[]; close: { initiator: string; code?: number; reason?: string } }> {
  const info = await client.closed;
  const frames = client.received.map((r: Received) => (r.name === 'Disconnect' ? { Disconnect: value(r) } : r.name));
  return { frames, close: { initiator: info.initiator, ...(info.code === undefined ? {} : { code: info.code }), ...(info.reason ? { reason: info.reason } : {}) } };
}

describe('ALPN', () => {
  it('hytale/1 on a G3 proxy: "Your game client needs to be updated.", then code 5 after 100 ms (the clock), nothing else', async () => {
    const clock = new ManualClock();
    const h = await harness({ accept: { auth: noClientAuth(), clock } });
    const client = await raw({ address: h.address, alpn: ['hytale/1'] });
    expect(client.connection.alpn).toBe('hytale/1');
    await client.send('Connect', connectPacket(client.generation));
    expect(value(await client.next('Disconnect'))).toEqual({ reason: 'Your game client needs to be updated.', type: 'Disconnect' });
    await clock.advance(99);
    expect(h.outcomes[0]!.error).toBeUndefined();
    await clock.advance(1);
    expect(await seen(client)).toEqual({ frames: [{ Disconnect: { reason: 'Your game client needs to be updated.', type: 'Disconnect' } }], close: { initiator: 'remote', code: 5 } });
    await expectError(h, 0, 'ERR_PROXY_CLIENT_OUTDATED');
    expectCounted(h, 'outdated-client', 0);
    await expectOthersUnaffected(h);
  });

  it('a proxy that also accepts G1 takes hytale/1 (a G1 client offers nothing else)', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), generations: ['G1', 'G3'] } });
    const g1 = await connectStrictClient({ address: h.address, generation: 'G1', waitTimeoutMs: 10_000 });
    track(g1);
    await g1.inWorld();
    expect((await h.outcome(0)).client!.generation.id).toBe('G1');
    await expectOthersUnaffected(h, 'G3');
  });
});

describe('another generation is refused exactly as the server of the proxy\'s generation refuses it', () => {
  const cases: { proxy: string; client: string; alpn: string; tweak?: Record<string, unknown> }[] = [
    { proxy: 'G3', client: 'G2', alpn: 'hytale/2' },
    { proxy: 'G3', client: 'G3', alpn: 'hytale/2', tweak: { protocolCrc: 1080406952, protocolBuildNumber: 51 } },
    { proxy: 'G3', client: 'G1', alpn: 'hytale/2' },
    { proxy: 'G2', client: 'G3', alpn: 'hytale/2' },
    { proxy: 'G2', client: 'G1', alpn: 'hytale/2' },
    { proxy: 'G1', client: 'G1', alpn: 'hytale/1', tweak: { protocolHash: 'f'.repeat(64) } },
    { proxy: 'G1', client: 'G3', alpn: 'hytale/1' },
    { proxy: 'G1', client: 'G2', alpn: 'hytale/1' },
  ];
  for (const { proxy, client: clientGeneration, alpn, tweak } of cases) {
    it(`a ${clientGeneration} client${tweak ? ' (another build)' : ''} at a ${proxy} proxy`, async () => {
      const listenAlpn = proxy === 'G1' ? ['hytale/1'] : ['hytale/2', 'hytale/1'];
      const h = await harness({ accept: { auth: noClientAuth(), generations: [proxy] }, alpn: listenAlpn });
      const connect = getGeneration(clientGeneration).packet('Connect').encodeFrame(connectPacket(getGeneration(clientGeneration), tweak) as PacketInputs['Connect']);
      // the reference: the simulated server of the proxy's generation, fed the same bytes
      const server = await createBackend({ id: 'reference', transport: 'quic', generation: proxy });
      track(server);
      const toServer = await raw({ address: server.address, generation: clientGeneration, alpn: [alpn] });
      await toServer.sendRaw(connect);
      const expected = await seen(toServer);
      const client = await raw({ address: h.address, generation: clientGeneration, alpn: [alpn] });
      await client.sendRaw(connect);
      const actual = await seen(client);
      expect(actual).toEqual(expected);
      // how the server closes it decides the code and the counter: a version refusal, or a Connect it cannot even decode
      const undecodable = actual.close.code === 10;
      await expectError(h, 0, undecodable ? 'ERR_PROXY_CLIENT_MALFORMED' : 'ERR_PROXY_CLIENT_WRONG_GENERATION');
      expectCounted(h, undecodable ? 'malformed-frame' : 'wrong-generation');
      if (!undecodable && proxy !== 'G1') expect(actual.frames).toEqual([]); // G2+: no Disconnect, only the close
      await expectOthersUnaffected(h, proxy);
    });
  }

  it('G2+ names the proxy\'s version in the close (serverVersion)', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), serverVersion: 'handoff-proxy 1.2.3' } });
    const client = await raw({ address: h.address, generation: 'G2' });
    await client.send('Connect', connectPacket(client.generation));
    expect((await seen(client)).close).toEqual({ initiator: 'remote', code: 5, reason: 'handoff-proxy 1.2.3' });
  });
});

describe('the Connect, checked as the server checks it', () => {
  const refusals: [string, Record<string, unknown>, string][] = [
    ['an empty username', { username: '' }, 'Missing username'],
    ['referral data without a source', { referralData: Uint8Array.of(1, 2, 3), referralSource: null }, 'Referral connections must include source server address'],
    ['referral data from an empty host', { referralData: Uint8Array.of(1, 2, 3), referralSource: { host: '', port: 5520 } }, 'Referral source address is invalid'],
  ];
  for (const [what, fields, reason] of refusals) {
    it(`${what}: "${reason}", then code 0`, async () => {
      const h = await harness({ accept: { auth: noClientAuth() } });
      const client = await raw({ address: h.address });
      await client.send('Connect', connectPacket(client.generation, fields));
      expect(await seen(client)).toEqual({ frames: [{ Disconnect: { reason, type: 'Disconnect' } }], close: { initiator: 'remote', code: 0 } });
      await expectError(h, 0, 'ERR_PROXY_CLIENT_INVALID_CONNECT');
      expectCounted(h, 'invalid-connect', 0);
      expect(h.store.size).toBe(0);
      await expectOthersUnaffected(h);
    });
  }

  it('referral data with a source passes (a referral join)', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation, { referralData: Uint8Array.of(7), referralSource: { host: 'lobby', port: 5520 } }));
    expect(value(await client.next('ConnectAccept'))).toEqual({ passwordChallenge: null });
    const { client: accepted } = await h.outcome(0);
    expect(accepted!.record.connect?.referralSource).toEqual({ host: 'lobby', port: 5520 });
    expect([...accepted!.record.secret('referralData')!]).toEqual([7]);
  });

  it('G1 does not check the referral source', async () => {
    const h = await harness({ accept: { auth: noClientAuth(), generations: ['G1'] }, alpn: ['hytale/1'] });
    const client = await raw({ address: h.address, generation: 'G1' });
    await client.send('Connect', connectPacket(client.generation, { referralData: Uint8Array.of(1) }));
    await client.next('ConnectAccept');
    expect(h.counters.accepted).toBe(1);
  });

  it('referral data over 4096 bytes: the decoder refuses it (a protocol violation, nothing sent)', async () => {
    const h = await harness({ accept: { auth: noClientAuth() } });
    const client = await raw({ address: h.address });
    const g = client.generation;
    // the codec refuses to write it, so lengthen 4096 bytes of referral data by one, by hand
    const frame = Buffer.from(g.packet('Connect').encodeFrame(connectPacket(g, { referralData: new Uint8Array(4096).fill(9), referralSource: { host: 'lobby', port: 1 } })));
    const count = frame.indexOf(Buffer.from([0x80, 0x20, 9, 9, 9, 9]));
    expect(count).toBeGreaterThan(0);
    const patched = Buffer.concat([frame.subarray(0, count), Buffer.from([0x81, 0x20, 9]), frame.subarray(count + 2)]);
    patched.writeInt32LE(patched.length - 8, 0);
    await client.sendRaw(patched);
    expect(await seen(client)).toEqual({ frames: [], close: { initiator: 'remote', code: 10, reason: 'PROTOCOL_VIOLATION' } });
    await expectError(h, 0, 'ERR_PROXY_CLIENT_MALFORMED');
    expectCounted(h, 'malformed-frame', 0);
    await expectOthersUnaffected(h);
  });
});

describe('client auth required', () => {
  async function authenticatedHarness() {
    // nothing reaches the session service here: the Connect is refused before any token is checked
    const sessionService = {
      fetchJwks: () => Promise.reject(new Error('not reached')),
      requestAuthGrant: () => Promise.reject(new Error('not reached')),
      exchangeAuthGrant: () => Promise.reject(new Error('not reached')),
    };
    const auth = sessionServiceAuth({ sessionService, audience: 'proxy', serverIdentityToken: 'x', serverCertificateFingerprint: 'A'.repeat(43) });
    return harness({ accept: { auth } });
  }

  it('a Connect without an identity token: "This server requires authentication!"', async () => {
    const h = await authenticatedHarness();
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation));
    expect(await seen(client)).toEqual({ frames: [{ Disconnect: { reason: 'This server requires authentication!', type: 'Disconnect' } }], close: { initiator: 'remote', code: 0 } });
    await expectError(h, 0, 'ERR_PROXY_CLIENT_AUTH_REFUSED', 'auth-required');
    expectCounted(h, 'auth-required', 0);
  });

  it('an editor client: "Editor isn\'t supported on this server!"', async () => {
    const h = await authenticatedHarness();
    const client = await raw({ address: h.address });
    await client.send('Connect', connectPacket(client.generation, { clientType: 'Editor', identityToken: 'a.b.c' }));
    expect(await seen(client)).toEqual({ frames: [{ Disconnect: { reason: "Editor isn't supported on this server!", type: 'Disconnect' } }], close: { initiator: 'remote', code: 0 } });
    expectCounted(h, 'invalid-connect', 0);
  });
});
