/**
 * `listen.limits` reaches the QUIC listener: with one connection allowed per address, a second
 * player from the same address is refused while the first plays on, and admitted once the first
 * has left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStrictClient } from '@handoff/testkit';
import { Harness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ config: { listen: { limits: { maxConnectionsPerAddress: 1 } } } });
});
afterAll(() => h.close());

describe('listen.limits', () => {
  it('refuses a second connection from one address past maxConnectionsPerAddress, and admits one again after the first leaves', { timeout: 30_000 }, async () => {
    const first = await h.client();

    const second = await connectStrictClient({ address: h.proxy.address, waitTimeoutMs: 10_000 });
    h.clients.push(second);
    await expect(second.inWorld()).rejects.toMatchObject({ code: 'ERR_TESTKIT_CLIENT_CLOSED' });
    // closed by the listener with code 1 (RATE_LIMITED), before any packet reached the proxy
    expect(second.report().connections[0]?.close).toMatchObject({ initiator: 'remote', code: 1 });
    expect(h.proxy.session(first.clientUuid)).toBeDefined();
    first.startMovement({ intervalMs: 20 });
    await first.worldsEntered(1);
    first.stopMovement();

    await first.leave();
    await h.until(() => h.proxy.session(first.clientUuid) === undefined, 'the first session to end');
    const third = await h.client();
    expect(h.proxy.session(third.clientUuid)).toBeDefined();
    expect(first.violations).toEqual([]);
  });
});
