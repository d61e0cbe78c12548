import { describe, expect, it } from 'vitest';
import { AdmissionControl, TokenBucket, addressKey, type AdmissionLimits } from '../src/admission.js';
import { DEFAULT_LIMITS, SHARED_ADDRESS_LIMITS, listenerLimits } from '../src/options.js';

const generous: AdmissionLimits = {
  maxConnections: 1000,
  maxConnectionsPerAddress: 1000,
  handshakeRate: { perSecond: 1000, burst: 1000 },
  handshakeRatePerAddress: { perSecond: 1000, burst: 1000 },
  refusalRate: { perSecond: 1000, burst: 1000 },
};

describe('TokenBucket', () => {
  it('allows a burst, then refills at its rate', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(400)).toBe(false); // 0.8 token
    expect(bucket.take(500)).toBe(true); // 1 token after 500 ms
    expect(bucket.full(500)).toBe(false);
    expect(bucket.full(2_000)).toBe(true);
  });
});

describe('addressKey', () => {
  it('counts IPv4 addresses one by one, IPv4-mapped ones as IPv4, and IPv6 by /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('AdmissionControl', () => {
  it('refuses past the connections per address, and admits again once one ends', () => {
    const control = new AdmissionControl({ ...generous, maxConnectionsPerAddress: 2 }, 0);
    const a = control.admit('10.0.0.1', 0);
    control.admit('10.0.0.1', 0);
    expect(control.admit('10.0.0.1', 0)).toMatchObject({ admitted: false, reason: 'connections-per-address', tell: true });
    expect(control.admit('10.0.0.2', 0)).toMatchObject({ admitted: true });
    control.release(a.key);
    control.release(a.key); // the refused one ended too
    expect(control.admit('10.0.0.1', 0)).toMatchObject({ admitted: true });
  });

  it('refuses past the connections in total, whatever the address', () => {
    const control = new AdmissionControl({ ...generous, maxConnections: 2 }, 0);
    control.admit('10.0.0.1', 0);
    control.admit('10.0.0.2', 0);
    expect(control.admit('10.0.0.3', 0)).toMatchObject({ admitted: false, reason: 'connections' });
    expect(control.connections).toBe(3);
  });

  it('limits the handshake rate per address, and in total', () => {
    const control = new AdmissionControl(
      { ...generous, handshakeRatePerAddress: { perSecond: 1, burst: 2 }, handshakeRate: { perSecond: 1, burst: 3 } },
      0,
    );
    expect(control.admit('10.0.0.1', 0).admitted).toBe(true);
    expect(control.admit('10.0.0.1', 0).admitted).toBe(true);
    expect(control.admit('10.0.0.1', 0)).toMatchObject({ admitted: false, reason: 'handshake-rate-per-address' });
    expect(control.admit('10.0.0.2', 0).admitted).toBe(true);
    expect(control.admit('10.0.0.3', 0)).toMatchObject({ admitted: false, reason: 'handshake-rate' });
    expect(control.admit('10.0.0.1', 1_000).admitted).toBe(true); // refilled
  });

  it('tells refused peers why only as fast as the refusal rate allows', () => {
    const control = new AdmissionControl({ ...generous, maxConnections: 1, refusalRate: { perSecond: 1, burst: 2 } }, 0);
    control.admit('10.0.0.1', 0);
    const tells = Array.from({ length: 4 }, () => control.admit('10.0.0.1', 0)).map((a) => !a.admitted && a.tell);
    expect(tells).toEqual([true, true, false, false]);
  });

  it('keeps a bounded table of addresses under a flood from many sources', () => {
    const control = new AdmissionControl(generous, 0);
    for (let i = 0; i < 70_000; i++) {
      const a = control.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i * 10);
      control.release(a.key);
    }
    expect(control.trackedAddresses).toBeLessThanOrEqual(65_536);
    expect(control.connections).toBe(0);
  });
});

describe('SHARED_ADDRESS_LIMITS', () => {
  it('admits as many connections and handshakes from one address as from all, and keeps every other default', () => {
    const limits = listenerLimits(SHARED_ADDRESS_LIMITS);
    expect(limits).toEqual({
      ...DEFAULT_LIMITS,
      maxConnectionsPerAddress: DEFAULT_LIMITS.maxConnections,
      handshakeRatePerAddress: DEFAULT_LIMITS.handshakeRate,
    });
    const shared = new AdmissionControl(limits, 0);
    const defaults = new AdmissionControl(listenerLimits(undefined), 0);
    const admitted = (control: AdmissionControl) => Array.from({ length: 200 }, () => control.admit('127.0.0.1', 0).admitted).filter(Boolean).length;
    expect(admitted(shared)).toBe(200); // 200 players behind one proxy, joining at once
    expect(admitted(defaults)).toBe(DEFAULT_LIMITS.handshakeRatePerAddress.burst);
  });
});
