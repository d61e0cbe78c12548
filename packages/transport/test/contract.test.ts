import { createHash } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import {
  CloseCode,
  InboundQueue,
  TransportError,
  abortError,
  certificateFingerprint,
  closeCodeName,
  transportErrorCodes,
  inferChannel,
  isTransportError,
  onAbort,
  raceSignal,
  throwIfAborted,
  toTransportError,
} from '@handoff/transport';

describe('close codes', () => {
  test('are the codes of docs/transports.md › Close codes (the server\'s ProtocolUtil)', () => {
    expect(CloseCode).toEqual({
      NO_ERROR: 0,
      RATE_LIMITED: 1,
      AUTH_FAILED: 2,
      INVALID_VERSION: 3,
      TIMEOUT: 4,
      CLIENT_OUTDATED: 5,
      SERVER_OUTDATED: 6,
    });
    expect(closeCodeName(5)).toBe('CLIENT_OUTDATED');
    expect(closeCodeName(99)).toBeUndefined();
  });
});

describe('channels', () => {
  test('a peer-opened bidi stream is Default; uni streams are Chunks then WorldMap, then unknown', () => {
    expect(inferChannel('bidi', 0)).toBe('Default');
    expect(inferChannel('uni', 0)).toBe('Chunks');
    expect(inferChannel('uni', 1)).toBe('WorldMap');
    expect(inferChannel('uni', 2)).toBeUndefined();
  });
});

describe('certificateFingerprint', () => {
  test('is base64url(SHA-256(DER)) without padding, as in cnf.x5t#S256', () => {
    // SHA-256("abc") = ba7816bf…, a published test vector
    expect(certificateFingerprint(new TextEncoder().encode('abc'))).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    const der = new Uint8Array(300).map((_, i) => i * 7);
    const expected = createHash('sha256').update(der).digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(certificateFingerprint(der)).toBe(expected);
  });
});

describe('errors', () => {
  test('every code has a description; TransportError carries code, closeCode, reason and cause', () => {
    for (const [code, description] of Object.entries(transportErrorCodes)) {
      expect(code).toMatch(/^ERR_TRANSPORT_[A-Z_]+$/);
      expect(description.length).toBeGreaterThan(20);
    }
    const cause = new Error('x');
    const error = new TransportError('ERR_TRANSPORT_PEER_CLOSED', undefined, { closeCode: 2, reason: 'auth', cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TransportError');
    expect(error.message).toBe(transportErrorCodes.ERR_TRANSPORT_PEER_CLOSED);
    expect(error).toMatchObject({ code: 'ERR_TRANSPORT_PEER_CLOSED', closeCode: 2, reason: 'auth', cause });
    expect(isTransportError(error)).toBe(true);
    expect(isTransportError(error, 'ERR_TRANSPORT_CLOSED')).toBe(false);
    expect(isTransportError(new Error('no'))).toBe(false);
  });

  test('isTransportError and toTransportError recognise the errors of another installed copy of the package', async () => {
    vi.resetModules();
    const copy = (await import('@handoff/transport')) as typeof import('@handoff/transport');
    expect(copy.TransportError).not.toBe(TransportError);
    const theirs = new copy.TransportError('ERR_TRANSPORT_STREAM_RESET', undefined, { closeCode: 7 });
    expect(theirs).not.toBeInstanceOf(TransportError);
    expect(isTransportError(theirs)).toBe(true);
    expect(isTransportError(theirs, 'ERR_TRANSPORT_STREAM_RESET')).toBe(true);
    expect(isTransportError(theirs, 'ERR_TRANSPORT_CLOSED')).toBe(false);
    expect(toTransportError(theirs)).toBe(theirs); // passed through, not re-wrapped as ERR_TRANSPORT_FAILED
    expect(copy.isTransportError(new TransportError('ERR_TRANSPORT_TLS'), 'ERR_TRANSPORT_TLS')).toBe(true);
    // look-alikes without the brand are not transport errors
    expect(isTransportError(Object.assign(new Error('x'), { code: 'ERR_TRANSPORT_TLS' }))).toBe(false);
  });

  test('toTransportError maps Node system errors and aborts, keeps TransportErrors, falls back otherwise', () => {
    const sys = (code: string): Error => Object.assign(new Error(code), { code });
    expect(toTransportError(sys('ECONNREFUSED')).code).toBe('ERR_TRANSPORT_CONNECT_REFUSED');
    expect(toTransportError(sys('ECONNRESET')).code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
    expect(toTransportError(sys('EPIPE')).code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
    expect(toTransportError(sys('EADDRINUSE')).code).toBe('ERR_TRANSPORT_LISTEN_FAILED');
    expect(toTransportError(sys('ENOTFOUND')).code).toBe('ERR_TRANSPORT_CONNECT_FAILED');
    expect(toTransportError(new DOMException('stop', 'AbortError')).code).toBe('ERR_TRANSPORT_ABORTED');
    expect(toTransportError(new Error('weird')).code).toBe('ERR_TRANSPORT_FAILED');
    expect(toTransportError('weird', 'ERR_TRANSPORT_PROTOCOL').code).toBe('ERR_TRANSPORT_PROTOCOL');
    const original = new TransportError('ERR_TRANSPORT_TLS');
    expect(toTransportError(original)).toBe(original);
    const mapped = toTransportError(sys('ECONNRESET'));
    expect(mapped.cause).toBeInstanceOf(Error);
  });
});

describe('abort plumbing', () => {
  test('throwIfAborted and abortError carry the reason as cause', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort('why'))).toThrow(TransportError);
    expect(abortError(AbortSignal.abort('why')).cause).toBe('why');
  });

  test('raceSignal rejects on abort, runs the cancel hook, and removes its listener when settled', async () => {
    const controller = new AbortController();
    let cancelled: unknown;
    const never = new Promise<never>(() => {});
    const raced = raceSignal(never, controller.signal, (reason) => {
      cancelled = reason;
    });
    controller.abort('stop');
    await expect(raced).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ABORTED', cause: 'stop' });
    expect(cancelled).toBe('stop');

    // a long-lived signal does not pile up listeners
    const long = new AbortController();
    let added = 0;
    let removed = 0;
    const add = long.signal.addEventListener.bind(long.signal);
    const remove = long.signal.removeEventListener.bind(long.signal);
    long.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    long.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 10; i++) await raceSignal(Promise.resolve(i), long.signal);
    expect(added).toBe(10);
    expect(removed).toBe(10);
    expect(await raceSignal(Promise.resolve(3), undefined)).toBe(3);
  });

  test('onAbort runs at once for an aborted signal and can be disposed', () => {
    let calls = 0;
    onAbort(AbortSignal.abort(), () => calls++);
    expect(calls).toBe(1);
    const controller = new AbortController();
    const dispose = onAbort(controller.signal, () => calls++);
    dispose();
    controller.abort();
    expect(calls).toBe(1);
  });
});

describe('InboundQueue', () => {
  test('delivers pushed chunks in order, reports consumption, then ends', async () => {
    const consumed: number[] = [];
    const queue = new InboundQueue({ highWaterMark: 4, onConsumed: (n) => consumed.push(n) });
    queue.push(new Uint8Array([1, 2]));
    queue.push(new Uint8Array([3, 4, 5]));
    expect(queue.full).toBe(true);
    expect(queue.bytes).toBe(5);
    queue.end();
    const reader = queue.readable.getReader();
    expect((await reader.read()).value).toEqual(new Uint8Array([1, 2]));
    expect((await reader.read()).value).toEqual(new Uint8Array([3, 4, 5]));
    expect((await reader.read()).done).toBe(true);
    expect(consumed).toEqual([2, 3]);
    expect(queue.settled).toBe(true);
  });

  test('fail() lets queued data drain first; fail(discard) drops it', async () => {
    const settled: (string | undefined)[] = [];
    const queue = new InboundQueue({ highWaterMark: 100, onSettled: (e) => settled.push(e?.code) });
    queue.push(new Uint8Array([9]));
    queue.fail(new TransportError('ERR_TRANSPORT_PEER_CLOSED'));
    const reader = queue.readable.getReader();
    expect((await reader.read()).value).toEqual(new Uint8Array([9]));
    await expect(reader.read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_PEER_CLOSED' });
    expect(settled).toEqual(['ERR_TRANSPORT_PEER_CLOSED']);

    const dropped = new InboundQueue({ highWaterMark: 100 });
    dropped.push(new Uint8Array([9]));
    dropped.fail(new TransportError('ERR_TRANSPORT_STREAM_RESET'), { discard: true });
    await expect(dropped.readable.getReader().read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_STREAM_RESET' });
  });

  test('a pending read is woken by push, and cancel reports to the source', async () => {
    let cancelledWith: unknown;
    const queue = new InboundQueue({ highWaterMark: 100, onCancel: (r) => (cancelledWith = r) });
    const reader = queue.readable.getReader();
    const pending = reader.read();
    queue.push(new Uint8Array([7]));
    expect((await pending).value).toEqual(new Uint8Array([7]));
    await reader.cancel('bye');
    expect(cancelledWith).toBe('bye');
    queue.push(new Uint8Array([8]));
    expect(queue.bytes).toBe(0);
  });
});
