/**
 * Bounded waits: run an async operation under a timeout and an optional caller signal. Whichever
 * fires first aborts the signal handed to the operation and rejects at once, even if the operation
 * ignores its signal.
 */

/** Why a bounded wait ended early. */
export type DeadlineKind = 'timeout' | 'aborted';

/** Options of {@link withDeadline}. */
export interface DeadlineOptions {
  /** No timer when undefined (the caller's signal alone bounds the wait). */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `operation` with a signal that aborts after `timeoutMs` (if set) or when `options.signal` aborts.
 * On either, rejects with `onExpire(kind, reason)` without waiting for the operation.
 */
export function withDeadline<T>(
  operation: (signal: AbortSignal) => Promise<T> | T,
  options: DeadlineOptions,
  onExpire: (kind: DeadlineKind, reason: unknown) => Error,
): Promise<T> {
  const outer = options.signal;
  if (outer?.aborted === true) return Promise.reject(onExpire('aborted', outer.reason));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    };
    const expire = (kind: DeadlineKind, reason: unknown): void => {
      if (settled) return;
      finish();
      controller.abort(reason);
      reject(onExpire(kind, reason));
    };
    const onOuterAbort = (): void => expire('aborted', outer?.reason);
    const { timeoutMs } = options;
    const timer =
      timeoutMs === undefined ? undefined : setTimeout(() => expire('timeout', new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(operation(controller.signal));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}
