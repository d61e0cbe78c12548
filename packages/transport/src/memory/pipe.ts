import { performance } from 'node:perf_hooks';
import type { WireEvent } from './wire.js';

interface Pending {
  readonly due: number;
  readonly event: WireEvent;
}

/**
 * One direction of a memory link: delivers events in order, each `latency` ms after it was sent,
 * holds the data of stalled streams, and can black-hole everything. At most one timer is armed, and
 * none once the pipe is empty or closed.
 */
export class Pipe {
  #latency: number;
  readonly #deliver: (event: WireEvent) => void;
  #queue: Pending[] = [];
  #head = 0;
  #lastDue = 0;
  #timer: NodeJS.Timeout | undefined;
  #microtask = false;
  #blackholed = false;
  #closed = false;
  readonly #stalled = new Map<number, WireEvent[]>();
  #drained: (() => void)[] = [];

  constructor(latency: number, deliver: (event: WireEvent) => void) {
    this.#latency = latency;
    this.#deliver = deliver;
  }

  set latency(ms: number) {
    this.#latency = ms;
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  send(event: WireEvent): void {
    if (this.#closed || this.#blackholed) return;
    if ((event.t === 'data' || event.t === 'fin' || event.t === 'reset') && this.#stalled.has(event.id)) {
      this.#stalled.get(event.id)!.push(event);
      return;
    }
    this.#enqueue(event);
  }

  /** Holds the data, FIN and reset of stream `id` from now on, until `release(id)`. */
  stall(id: number): void {
    if (!this.#stalled.has(id)) this.#stalled.set(id, []);
  }

  release(id: number): void {
    const held = this.#stalled.get(id);
    if (held === undefined) return;
    this.#stalled.delete(id);
    for (const event of held) this.#enqueue(event);
  }

  /** Everything sent from now on is lost, and so is everything in flight. */
  blackhole(): void {
    this.#blackholed = true;
    this.#clear();
  }

  /** Resolves once every queued event is delivered (held, stalled data does not count). */
  drained(): Promise<void> {
    if (this.#head >= this.#queue.length) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Drops everything queued and refuses further events; clears the timer. */
  close(): void {
    this.#closed = true;
    this.#clear();
  }

  #enqueue(event: WireEvent): void {
    const due = Math.max(this.#latency > 0 ? performance.now() + this.#latency : 0, this.#lastDue);
    this.#lastDue = due;
    this.#queue.push({ due, event });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#microtask || this.#head >= this.#queue.length) return;
    const wait = this.#queue[this.#head]!.due - performance.now();
    if (wait <= 0) {
      this.#microtask = true;
      queueMicrotask(() => {
        this.#microtask = false;
        this.#flush();
      });
    } else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, Math.ceil(wait));
    }
  }

  #flush(): void {
    const now = performance.now();
    while (!this.#closed && !this.#blackholed && this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      if (next.due > now) break;
      this.#queue[this.#head] = undefined as unknown as Pending;
      this.#head++;
      this.#deliver(next.event);
    }
    if (this.#head >= this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      const waiters = this.#drained;
      this.#drained = [];
      for (const resolve of waiters) resolve();
    } else {
      if (this.#head > 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#schedule();
    }
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
    this.#stalled.clear();
    const waiters = this.#drained;
    this.#drained = [];
    for (const resolve of waiters) resolve();
  }
}
