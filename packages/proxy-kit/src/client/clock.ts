/**
 * The time source of the client side's timers (stage timeouts, the inactivity check, the rate
 * limiter). Tests pass a manual clock (the testkit's `ManualClock` fits) and move it forward, so a
 * 30 s timeout fires in microseconds and at its exact duration.
 */

/** A timer armed on a {@link ClientClock}. */
export interface ClientClockTimer {
  /** Disarms the timer; a no-op once it fired. */
  cancel(): void;
}

/** Time and timers. */
export interface ClientClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once, `delayMs` from now. */
  setTimeout(callback: () => void, delayMs: number): ClientClockTimer;
}

/** The real clock: `Date.now()` and unref'ed Node timers (they never keep a process alive). */
export const systemClientClock: ClientClock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, delayMs: number): ClientClockTimer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
});
