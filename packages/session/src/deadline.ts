/**
 * Bounded waits for directory calls: the operation runs under a timeout and the caller's signal;
 * whichever fires first rejects at once, even if the operation ignores it.
 */

/** Why a bounded wait ended early. */
export type DeadlineKind = 'timeout' | 'aborted';

/**
 * Runs `operation`; rejects with `onExpire(kind)` when `timeoutMs` passes or `signal` aborts first.
 */
export function withDeadline<T>(
  operation: () => Promise<T>,
  options: { readonly timeoutMs?: number | undefined; readonly signal?: AbortSignal | undefined },
  onExpire: (kind: DeadlineKind, reason: unknown) => Error,
): Promise<T> {
  const outer = options.signal;
  if (outer?.aborted === true) return Promise.reject(onExpire('aborted', outer.reason));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    };
    const expire = (kind: DeadlineKind, reason: unknown): void => {
      if (settled) return;
      finish();
      reject(onExpire(kind, reason));
    };
    const onAbort = (): void => expire('aborted', outer?.reason);
    const { timeoutMs } = options;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => expire('timeout', undefined), timeoutMs);
    outer?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = operation();
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
