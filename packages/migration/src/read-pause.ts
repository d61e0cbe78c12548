/**
 * Whether the forwarding loop may read from B (`migrator.backendReads`). Paused while an awaited
 * hook runs (the machine's `pause-backend-reads` tag), so B's packets stay in the transport (flow
 * control) until the hook decides.
 */
export interface BackendReads {
  /** True while an awaited hook runs: do not read from B. */
  readonly paused: boolean;
  /** Resolves at once when reads are allowed, else when the pause ends. */
  whenReadable(): Promise<void>;
}

/** The migrator's {@link BackendReads}, set from the machine's state. */
export class ReadPause implements BackendReads {
  #paused = false;
  #waiters: Array<() => void> = [];

  get paused(): boolean {
    return this.#paused;
  }

  /** Resolves at once when reads are allowed, else when the pause ends. */
  whenReadable(): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Set by the migrator from the machine's state. */
  set(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!paused) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
