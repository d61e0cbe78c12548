/**
 * Events only report: listeners are called synchronously, never awaited, and one that throws (or
 * returns a rejected promise) is logged and ignored — it cannot change what the session does.
 */
import type { Logger } from '@handoff/types';

/** A listener of one event type. */
export type Listener<E> = (event: E) => void;

/** A small typed event emitter over an event map `{ type: payload }`. */
export class Emitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();
  readonly #logger: Logger;

  constructor(logger: Logger = {}) {
    this.#logger = logger;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set!.delete(listener as Listener<never>);
  }

  emit<K extends keyof M>(type: K, event: M[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as Listener<M[K]>)(event) as unknown;
        if (result instanceof Promise) result.catch((err: unknown) => this.#logger.error?.({ err, type: String(type) }, 'event listener rejected'));
      } catch (err) {
        this.#logger.error?.({ err, type: String(type) }, 'event listener threw');
      }
    }
  }
}
