import { MigrationError } from './errors.js';

/**
 * - `open`: frames pass.
 * - `stopping`: a stop was requested while a frame was being written; stops at its `exit()`.
 * - `stopped`: at a frame boundary, nothing is being written; the next `enter()` waits.
 * - `closed`: cut (or failed over); `enter()` answers false and the frame is dropped.
 * - `ended`: the stream itself ended; counts as stopped.
 */
export type GateState = 'open' | 'stopping' | 'stopped' | 'closed' | 'ended';

/**
 * The valve of one A→client stream forwarder. The forwarder brackets every whole-frame write
 * with `enter()` / `exit()`; the barrier can then tell when the stream is at a frame boundary.
 * One writer per gate.
 *
 * ```ts
 * for await (const frame of framesFromA) {
 *   if (!(await gate.enter())) break; // cut: A is left on this stream
 *   try { await toClient.write(frame.bytes); } finally { gate.exit(); }
 * }
 * gate.end();
 * ```
 */
export class StreamGate {
  readonly name: string;
  #state: GateState = 'open';
  #writing = false;
  #waiter: ((pass: boolean) => void) | null = null;
  #stopWaiters: Array<() => void> = [];
  #droppedAfterCut = 0;

  constructor(name: string) {
    this.name = name;
  }

  get state(): GateState {
    return this.#state;
  }

  /** Frames offered after the gate closed (A's remaining frames, dropped at the cut). */
  get droppedAfterCut(): number {
    return this.#droppedAfterCut;
  }

  /** At a frame boundary and not passing frames (stopped, closed or ended). */
  get atRest(): boolean {
    return this.#state === 'stopped' || this.#state === 'ended' || (this.#state === 'closed' && !this.#writing);
  }

  /**
   * Call before writing a frame. `true` (synchronously when open): write it, then `exit()`.
   * Otherwise a promise: `true` once resumed (rollback), `false` once closed (the frame is dropped).
   */
  enter(): boolean | Promise<boolean> {
    if (this.#writing || this.#waiter) throw new MigrationError('ERR_MIGRATION_GATE_MISUSE', `gate "${this.name}": enter() twice`);
    switch (this.#state) {
      case 'open':
        this.#writing = true;
        return true;
      case 'stopping':
        this.#becomeStopped();
        return this.#wait();
      case 'stopped':
        return this.#wait();
      case 'closed':
      case 'ended':
        this.#droppedAfterCut++;
        return false;
    }
  }

  /** Call after the frame entered with `enter()` was completely written (or failed). */
  exit(): void {
    if (!this.#writing) throw new MigrationError('ERR_MIGRATION_GATE_MISUSE', `gate "${this.name}": exit() without enter()`);
    this.#writing = false;
    if (this.#state === 'stopping') this.#becomeStopped();
  }

  /** The forwarder's stream ended: the gate no longer holds the barrier up. */
  end(): void {
    if (this.#state === 'closed' || this.#state === 'ended') return;
    this.#state = 'ended';
    this.#writing = false;
    this.#notifyStopped();
  }

  /** Stop at the next frame boundary (the barrier's `stop()` calls it); resolves once there. */
  requestStop(): Promise<void> {
    if (this.#state === 'open') this.#state = this.#writing ? 'stopping' : 'stopped';
    if (this.#state === 'stopping') return new Promise((resolve) => this.#stopWaiters.push(resolve));
    this.#notifyStopped();
    return Promise.resolve();
  }

  /** Rollback (the barrier's `resume()`): let frames pass again; a held frame is written. */
  resume(): void {
    if (this.#state !== 'stopping' && this.#state !== 'stopped') return;
    this.#state = 'open';
    this.#notifyStopped();
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter) {
      this.#writing = true;
      waiter(true);
    }
  }

  /** The cut or a fail-over (the barrier's `cut()` / `close()`): no A frame passes any more. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#notifyStopped();
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter) {
      this.#droppedAfterCut++;
      waiter(false);
    }
  }

  #becomeStopped(): void {
    this.#state = 'stopped';
    this.#notifyStopped();
  }

  #notifyStopped(): void {
    const waiters = this.#stopWaiters;
    this.#stopWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #wait(): Promise<boolean> {
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

export type BarrierState = 'open' | 'stopping' | 'stopped' | 'cut' | 'closed';

export interface BarrierWaitOptions {
  readonly signal?: AbortSignal;
}

/**
 * The cutover barrier of one migration: every A stream stops at a frame boundary before B's first
 * frame is written on any client stream. A forwarders hold `StreamGate`s; B writers
 * `await barrier.whenCut()` before their first frame. `stop()` (Freeze) resolves once every gate
 * is at rest; `cut()` (Cutover) requires that, closes the gates and releases B's writers;
 * `resume()` (rollback before the cut) reopens the gates; `close()` (fail-over) closes the gates
 * and rejects B's writers. Independent of any transport.
 */
export class CutoverBarrier {
  #gates = new Set<StreamGate>();
  #state: BarrierState = 'open';
  #cutWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  get state(): BarrierState {
    return this.#state;
  }

  get gates(): readonly StreamGate[] {
    return [...this.#gates];
  }

  /** A frames dropped at the cut, over every gate. */
  get droppedAfterCut(): number {
    let n = 0;
    for (const gate of this.#gates) n += gate.droppedAfterCut;
    return n;
  }

  /** Creates and adds a gate for one A→client stream. */
  gate(name: string): StreamGate {
    const gate = new StreamGate(name);
    this.add(gate);
    return gate;
  }

  /** Adds an existing gate; a gate added while stopping/stopped is asked to stop too, after the cut it is closed. */
  add(gate: StreamGate): void {
    this.#gates.add(gate);
    if (this.#state === 'cut' || this.#state === 'closed') gate.close();
    else if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#state = 'stopping';
      void gate.requestStop();
    }
  }

  /** Freeze: stop every gate at a frame boundary; resolves when all are at rest. */
  async stop(options: BarrierWaitOptions = {}): Promise<void> {
    if (this.#state === 'cut') return;
    if (this.#state === 'closed') throw new MigrationError('ERR_MIGRATION_BARRIER_CLOSED');
    if (options.signal?.aborted) throw aborted(options.signal);
    this.#state = 'stopping';
    const abort = abortPromise(options.signal);
    try {
      // Gates may be added while we wait: loop until one pass finds every gate at rest.
      for (;;) {
        const pending = [...this.#gates].filter((g) => !g.atRest);
        if (pending.length === 0) break;
        await Promise.race([Promise.all(pending.map((g) => g.requestStop())), abort.promise]);
        if (this.#state !== 'stopping') break;
      }
    } finally {
      abort.dispose();
    }
    const state = this.#state as BarrierState;
    if (state === 'stopping') this.#state = 'stopped';
    else if (state === 'open') throw new MigrationError('ERR_MIGRATION_BARRIER_ABORTED', 'barrier resumed while stopping');
    else if (state === 'closed') throw new MigrationError('ERR_MIGRATION_BARRIER_CLOSED');
  }

  /** Rollback before the cut: every gate opens again and held A frames are written. */
  resume(): void {
    if (this.#state === 'cut') throw new MigrationError('ERR_MIGRATION_BARRIER_CUT');
    if (this.#state === 'closed') return;
    this.#state = 'open';
    for (const gate of this.#gates) gate.resume();
  }

  /** Cutover: every gate must be at rest; closes them (A's remaining frames are dropped) and releases B. */
  cut(): void {
    if (this.#state === 'cut') return;
    if (this.#state === 'closed') throw new MigrationError('ERR_MIGRATION_BARRIER_CLOSED');
    const notStopped = [...this.#gates].filter((g) => !g.atRest).map((g) => g.name);
    if (notStopped.length > 0) {
      throw new MigrationError('ERR_MIGRATION_BARRIER_NOT_STOPPED', `A streams not at a frame boundary: ${notStopped.join(', ')}`);
    }
    this.#state = 'cut';
    for (const gate of this.#gates) gate.close();
    const waiters = this.#cutWaiters;
    this.#cutWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The migration failed over: close every gate, and reject B writers still waiting. */
  close(): void {
    if (this.#state === 'cut' || this.#state === 'closed') return;
    this.#state = 'closed';
    for (const gate of this.#gates) gate.close();
    const waiters = this.#cutWaiters;
    this.#cutWaiters = [];
    for (const w of waiters) w.reject(new MigrationError('ERR_MIGRATION_BARRIER_CLOSED'));
  }

  /** B writers await this before writing their first frame on any client stream. */
  whenCut(options: BarrierWaitOptions = {}): Promise<void> {
    if (this.#state === 'cut') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new MigrationError('ERR_MIGRATION_BARRIER_CLOSED'));
    if (options.signal?.aborted) return Promise.reject(aborted(options.signal));
    return new Promise((resolve, reject) => {
      const entry = {
        resolve: () => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          options.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.#cutWaiters = this.#cutWaiters.filter((w) => w !== entry);
        reject(aborted(options.signal!));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#cutWaiters.push(entry);
    });
  }
}

/**
 * Forwards `frames` through `gate` with `write`, one whole frame at a time. Resolves `'ended'`
 * when the source ends, `'cut'` when the gate closed (the source iterator is then returned).
 */
export async function forwardThroughGate<F>(
  frames: AsyncIterable<F>,
  gate: StreamGate,
  write: (frame: F) => void | Promise<void>,
): Promise<'ended' | 'cut'> {
  for await (const frame of frames) {
    const pass = gate.enter();
    if (!(pass === true || (await pass))) return 'cut';
    try {
      await write(frame);
    } finally {
      gate.exit();
    }
  }
  gate.end();
  return 'ended';
}

/** The error of a wait the signal aborted; the signal's reason is its cause. */
function aborted(signal: AbortSignal): MigrationError {
  return new MigrationError('ERR_MIGRATION_BARRIER_ABORTED', undefined, { cause: signal.reason });
}

function abortPromise(signal: AbortSignal | undefined): { promise: Promise<never>; dispose(): void } {
  if (!signal) return { promise: new Promise<never>(() => {}), dispose() {} };
  let onAbort!: () => void;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
