import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { withDeadline } from '@handoff/store-kit';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const expired = (kind: string) => new Error(`expired: ${kind}`);

test('passes the value and the error of an operation that ends in time', async () => {
  await expect(withDeadline(async () => 7, { timeoutMs: 100 }, expired)).resolves.toBe(7);
  await expect(withDeadline(() => 8, {}, expired)).resolves.toBe(8);
  await expect(withDeadline(async () => Promise.reject(new Error('boom')), { timeoutMs: 100 }, expired)).rejects.toThrow('boom');
  await expect(
    withDeadline(() => {
      throw new Error('sync boom');
    }, {}, expired),
  ).rejects.toThrow('sync boom');
});

test('rejects at the timeout even when the operation ignores its signal, and aborts that signal', async () => {
  let inner: AbortSignal | undefined;
  const pending = withDeadline((signal) => {
    inner = signal;
    return new Promise<never>(() => {});
  }, { timeoutMs: 50 }, expired);
  const assertion = expect(pending).rejects.toThrow('expired: timeout');
  await vi.advanceTimersByTimeAsync(50);
  await assertion;
  expect(inner?.aborted).toBe(true);
});

test('rejects at once when the caller aborts, or has already aborted', async () => {
  const controller = new AbortController();
  const pending = withDeadline(() => new Promise<never>(() => {}), { signal: controller.signal }, expired);
  controller.abort();
  await expect(pending).rejects.toThrow('expired: aborted');
  await expect(withDeadline(async () => 1, { signal: AbortSignal.abort() }, expired)).rejects.toThrow('expired: aborted');
});

test('leaves no timer behind once settled', async () => {
  await withDeadline(async () => 1, { timeoutMs: 10_000 }, expired);
  expect(vi.getTimerCount()).toBe(0);
});
