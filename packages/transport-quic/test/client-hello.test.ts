import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { quic } from '@handoff/transport-quic';
import { offeredAlpn, preferredAlpn } from '../src/client-hello.js';
import { fixtures } from './helpers/fixtures.js';

/** Captures the first datagram a dialer sends (its Initial) on a socket that never answers. */
async function firstInitial(alpn: string[]): Promise<Buffer> {
  const f = await fixtures();
  const sink = createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
  const captured = new Promise<Buffer>((resolve) => sink.once('message', (message) => resolve(message)));
  const controller = new AbortController();
  const dial = quic()
    .dial({ address: { host: '127.0.0.1', port: sink.address().port }, alpn, certificate: f.player, serverTrust: 'insecure-any', signal: controller.signal })
    .catch(() => {});
  const datagram = await captured;
  controller.abort();
  await dial;
  await new Promise<void>((resolve) => sink.close(() => resolve()));
  return datagram;
}

describe('reading the ALPN offer from a client Initial', () => {
  it('finds the protocols in the client order', async () => {
    expect(offeredAlpn(await firstInitial(['hytale/1', 'hytale/2', 'x']))).toEqual(['hytale/1', 'hytale/2', 'x']);
  });

  it('returns undefined for anything that is not a readable client Initial', async () => {
    const datagram = await firstInitial(['hytale/2']);
    const tampered = Buffer.from(datagram);
    tampered[100] = tampered[100]! ^ 0xff; // inside the protected payload: the AEAD check fails
    expect(offeredAlpn(tampered)).toBeUndefined();
    expect(offeredAlpn(datagram.subarray(0, 30))).toBeUndefined();
    expect(offeredAlpn(new Uint8Array([0x40, 1, 2, 3]))).toBeUndefined();
    expect(offeredAlpn(new Uint8Array(0))).toBeUndefined();
  });

  it("picks the listener's most preferred protocol among those offered", () => {
    expect(preferredAlpn(['hytale/2', 'hytale/1'], ['hytale/1', 'hytale/2'])).toBe('hytale/2');
    expect(preferredAlpn(['hytale/2', 'hytale/1'], ['hytale/1'])).toBe('hytale/1');
    expect(preferredAlpn(['hytale/2'], ['hytale/9'])).toBeUndefined();
  });
});
