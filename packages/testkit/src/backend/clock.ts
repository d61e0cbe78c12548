/**
 * Time for simulated peers. Every timer a simulated backend arms (stage timeouts, the inactivity
 * check, the ClientReady window, pings) goes through a {@link Clock}, so tests drive 30 seconds of
 * server time with a {@link ManualClock} in microseconds of wall time.
 */

/** A timer armed on a {@link Clock}. */
export interface ClockTimer {
  /** Disarms the timer; a no-op once it fired. */
  cancel(): void;
}

/** The time source and timer service of a simulated peer. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once, `delayMs` from now. */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
}

/** The real clock: `Date.now()` and unref'ed Node timers (they never keep a process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Lets pending promise jobs and I/O callbacks run (a macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to. Timers due at the same instant fire in the order they were
 * armed. {@link ManualClock.advance} lets the event loop turn after every timer, so what a timer
 * starts (a write, a ticket check) completes before the next timer fires.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const backend = await createBackend({ id: 'lobby', transport: memoryTransport, clock });
 * // … connect, send Connect, nothing else …
 * await clock.advance(15_000); // the 'initial' stage timeout fires now
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  /** @param start the initial time in ms since the epoch (default: the real time, so tickets are valid). */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const entry: Pending = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (in order), with an
   * event-loop turn after each. Timers armed by those timers fire too if they fall due in the window.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance() takes a non-negative number of milliseconds');
    const target = this.#now + ms;
    await settle();
    for (;;) {
      this.#pending = this.#pending.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.#pending) {
        if (p.at <= target && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (next === undefined) break;
      next.cancelled = true;
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}
