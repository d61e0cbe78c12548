import { abortError } from './errors.js';

/** The per-call options every async call of the contract accepts. */
export interface AbortOptions {
  /** Aborts the call: it then rejects with `ERR_TRANSPORT_ABORTED` (the signal's reason as `cause`). */
  readonly signal?: AbortSignal | undefined;
}

/** Throws `ERR_TRANSPORT_ABORTED` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/**
 * Resolves like `promise`, or rejects with `ERR_TRANSPORT_ABORTED` as soon as `signal` aborts,
 * calling `onAbort` first (to cancel the underlying operation). The abort listener is always removed,
 * so a long-lived signal does not accumulate listeners.
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort?: (reason: unknown) => void,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    onAbort?.(signal.reason);
    promise.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const listener = (): void => {
      onAbort?.(signal.reason);
      promise.catch(() => {});
      reject(abortError(signal));
    };
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', listener);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(error);
      },
    );
  });
}

/**
 * Runs `onAbort` when `signal` aborts and returns a disposer that removes the listener.
 * Useful to tie an operation's lifetime to a signal without leaking listeners.
 */
export function onAbort(signal: AbortSignal | undefined, onAbortFn: (reason: unknown) => void): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    onAbortFn(signal.reason);
    return () => {};
  }
  const listener = (): void => onAbortFn(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
