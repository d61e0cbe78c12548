/**
 * Pauses of the backend reads. A backend forwarder asks before each read; while a pause holds, it
 * reads nothing, so the backend's packets wait in the transport (its flow control), not in memory.
 */

/** Something a forwarder waits on before each read. */
export interface ReadPermit {
  readonly paused: boolean;
  /** Resolves at once when reads are allowed, else when the pause ends. */
  whenReadable(): Promise<void>;
}

/** A pause held while packet hooks run on backend packets (counted: several may run at once). */
export class HookPause implements ReadPermit {
  #holders = 0;
  #waiters: Array<() => void> = [];

  get paused(): boolean {
    return this.#holders > 0;
  }

  whenReadable(): Promise<void> {
    if (this.#holders === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Holds the pause until the returned function is called (once). */
  hold(): () => void {
    this.#holders += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders -= 1;
      if (this.#holders === 0) {
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const resolve of waiters) resolve();
      }
    };
  }
}

/** Reads are allowed when every permit allows them. */
export function allPermits(...permits: readonly ReadPermit[]): ReadPermit {
  return {
    get paused() {
      return permits.some((p) => p.paused);
    },
    async whenReadable() {
      // a pause may start again while another ends: loop until one pass finds all open
      while (permits.some((p) => p.paused)) {
        for (const p of permits) if (p.paused) await p.whenReadable();
      }
    },
  };
}
