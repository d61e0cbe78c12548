import { BufferBudget, checkLimits, defaultBufferLimits, sharedBufferBudget, type BufferLimits } from './budget.js';
import { type DrainPolicy, dropRules } from './drain-policy.js';
import { copyFrame } from '@handoff/protocol';
import type { FrameLike, Logger, MigrationEnds } from '@handoff/types';
import { MigrationError } from './errors.js';
import type { OverflowDimension, OverflowScope } from './types.js';

/**
 * - `idle`: not frozen yet; offers are answered "forward to source".
 * - `collecting`: frozen; offers are buffered within the bounds.
 * - `overflowed`: a bound was hit; offers are answered `hold` until the buffer settles.
 * - `draining`: delivering to one side; new offers queue behind (or `hold` when full).
 * - `settled`: everything delivered; offers are answered "forward to `settledTo`".
 * - `discarded`: the session ended; what was left was dropped, offers are answered `drop`.
 */
export type BufferState = 'idle' | 'collecting' | 'overflowed' | 'draining' | 'settled' | 'discarded';

export type Destination = 'source' | 'target';

/** The answer to `offer(frame)`: what the forwarding loop does with that client packet. */
export type Offer =
  | { readonly status: 'forward'; readonly to: Destination }
  | { readonly status: 'buffered' }
  /** Not taken: stop reading the client, await `until`, then offer the same packet again. */
  | { readonly status: 'hold'; readonly until: Promise<void> }
  | { readonly status: 'drop'; readonly rule: string };

export interface OverflowInfo {
  readonly scope: OverflowScope;
  readonly dimension: OverflowDimension;
}

/** Where one buffered packet ended. Every accepted packet produces exactly one. */
export interface SettledEntry<F extends FrameLike = FrameLike> {
  /** Order of acceptance, from 0. */
  readonly seq: number;
  readonly frame: F;
  readonly fate: 'source' | 'target' | 'dropped';
  /** For `dropped`: the rule that dropped it. */
  readonly rule?: string;
}

/** The buffer's account: `accepted = pending + toSource + toTarget + Σ dropped`. */
export interface BufferLedger {
  readonly accepted: number;
  readonly acceptedBytes: number;
  /** Accepted, not settled yet (queued, or being written). */
  readonly pending: number;
  readonly pendingBytes: number;
  readonly toSource: number;
  readonly toTarget: number;
  /** Accepted packets dropped, by rule. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Offers answered `hold` (the caller kept the packet and offers it again). */
  readonly held: number;
  /** Offers answered `drop` after the buffer was discarded, by rule (never accepted). */
  readonly droppedOnOffer: Readonly<Record<string, number>>;
  readonly overflow: OverflowInfo | null;
}

export interface MigrationBufferInit<F extends FrameLike = FrameLike> {
  /** Per-migration bounds (default `defaultBufferLimits`). */
  readonly limits?: Partial<BufferLimits>;
  /** The budget shared with every other migration (default `sharedBufferBudget`). */
  readonly budget?: BufferBudget;
  /** Copy each accepted frame (`copyFrame` of `@handoff/protocol`; default true: frames are views into the arrival buffer). */
  readonly copy?: boolean;
  /** Called once, synchronously, when a bound is hit in `collecting`. */
  readonly onOverflow?: (info: OverflowInfo) => void;
  /** Called once per accepted packet when it settles. */
  readonly onSettled?: (entry: SettledEntry<F>) => void;
  readonly logger?: Logger;
}

export interface DrainOptions {
  readonly signal?: AbortSignal;
}

/** Options of `drainToTarget`: the migration's two ends, passed to the drain policy (`DrainContext`). */
export interface DrainToTargetOptions extends DrainOptions, MigrationEnds {}

interface Entry<F> {
  readonly seq: number;
  readonly frame: F;
  readonly size: number;
}

type Write<F> = (frame: F) => void | Promise<void>;

/**
 * The client packets of one migration, from Freeze until they are delivered to A (rollback), to
 * B (by the drain policy), or dropped by a named rule. Bounded in packets and bytes, per migration
 * and against the shared `BufferBudget`; hitting a bound in `collecting` calls `onOverflow` (the
 * migrator turns it into the machine's `buffer.overflow`) and answers `hold`: the packet stays
 * with the caller, so nothing is lost and order is kept.
 */
export class MigrationBuffer<F extends FrameLike = FrameLike> {
  readonly limits: BufferLimits;
  readonly #budget: BufferBudget;
  readonly #copy: boolean;
  readonly #init: MigrationBufferInit<F>;
  #state: BufferState = 'idle';
  #settledTo: Destination | null = null;
  #queue: Entry<F>[] = [];
  #head = 0;
  #seq = 0;
  #pending = 0;
  #pendingBytes = 0;
  #acceptedBytes = 0;
  #toSource = 0;
  #toTarget = 0;
  #held = 0;
  #dropped: Record<string, number> = {};
  #droppedOnOffer: Record<string, number> = {};
  #overflow: OverflowInfo | null = null;
  #discardRule = dropRules.sessionEnded as string;
  #wake: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(init: MigrationBufferInit<F> = {}) {
    this.#init = init;
    this.limits = checkLimits({ ...defaultBufferLimits, ...init.limits });
    this.#budget = init.budget ?? sharedBufferBudget;
    this.#copy = init.copy ?? true;
  }

  get state(): BufferState {
    return this.#state;
  }

  /** The side the buffer settled to, once `settled`. */
  get settledTo(): Destination | null {
    return this.#settledTo;
  }

  /** Start buffering (Freeze). */
  open(): void {
    if (this.#state !== 'idle') throw new MigrationError('ERR_MIGRATION_BUFFER_STATE', `open() in state ${this.#state}`);
    this.#state = 'collecting';
  }

  offer(frame: F): Offer {
    switch (this.#state) {
      case 'idle':
        return { status: 'forward', to: 'source' };
      case 'settled':
        return { status: 'forward', to: this.#settledTo! };
      case 'discarded':
        this.#droppedOnOffer[this.#discardRule] = (this.#droppedOnOffer[this.#discardRule] ?? 0) + 1;
        return { status: 'drop', rule: this.#discardRule };
      case 'overflowed':
        return this.#hold();
      case 'collecting':
      case 'draining': {
        const size = frame.bytes.byteLength;
        const over = this.#wouldOverflow(size);
        if (over) {
          if (this.#state === 'collecting') {
            this.#state = 'overflowed';
            this.#overflow = over;
            try {
              this.#init.onOverflow?.(over);
            } catch (error) {
              this.#init.logger?.error?.({ err: error }, 'migration buffer onOverflow listener threw');
            }
          }
          return this.#hold();
        }
        this.#queue.push({ seq: this.#seq++, frame: this.#copy ? copyFrame(frame) : frame, size });
        this.#pending++;
        this.#pendingBytes += size;
        this.#acceptedBytes += size;
        return { status: 'buffered' };
      }
    }
  }

  /** Rollback: deliver every buffered packet to A, in order. */
  drainToSource(write: Write<F>, options: DrainOptions = {}): Promise<void> {
    return this.#drain('source', undefined, write, options, undefined);
  }

  /** After the cut: deliver to B what the policy keeps, in order; drop the rest by named rule. */
  drainToTarget(policy: DrainPolicy<F>, write: Write<F>, options: DrainToTargetOptions): Promise<void> {
    return this.#drain('target', policy, write, options, options);
  }

  /** The session ends: drop whatever is still queued under `rule`; later offers are answered `drop`. */
  discard(rule: string = dropRules.sessionEnded): void {
    if (this.#state === 'discarded' || this.#state === 'settled') return;
    this.#discardRule = rule;
    this.#state = 'discarded';
    while (this.#head < this.#queue.length) this.#settle(this.#shift(), 'dropped', rule);
    this.#wakeHolders();
  }

  ledger(): BufferLedger {
    return {
      accepted: this.#seq,
      acceptedBytes: this.#acceptedBytes,
      pending: this.#pending,
      pendingBytes: this.#pendingBytes,
      toSource: this.#toSource,
      toTarget: this.#toTarget,
      dropped: { ...this.#dropped },
      held: this.#held,
      droppedOnOffer: { ...this.#droppedOnOffer },
      overflow: this.#overflow,
    };
  }

  async #drain(
    to: Destination,
    policy: DrainPolicy<F> | undefined,
    write: Write<F>,
    options: DrainOptions,
    ends: MigrationEnds | undefined,
  ): Promise<void> {
    if (this.#state !== 'collecting' && this.#state !== 'overflowed') {
      throw new MigrationError('ERR_MIGRATION_BUFFER_STATE', `drain in state ${this.#state}`);
    }
    this.#state = 'draining';
    let afterClientReady = false;
    while (this.#head < this.#queue.length) {
      options.signal?.throwIfAborted();
      const entry = this.#shift();
      if (policy) {
        const decision = policy.decide(entry.frame, { afterClientReady, source: ends!.source, target: ends!.target });
        if (decision.action === 'drop') {
          this.#settle(entry, 'dropped', decision.rule);
          continue;
        }
        // the first ClientReady the policy keeps is the client's for B (it drops A's: `client-ready-for-source`)
        if (entry.frame.descriptor.name === 'ClientReady') afterClientReady = true;
      }
      try {
        await write(entry.frame);
      } catch (error) {
        this.#settle(entry, 'dropped', dropRules.deliveryFailed);
        throw error;
      }
      this.#settle(entry, to, undefined);
      if (this.#state !== 'draining') {
        throw new MigrationError('ERR_MIGRATION_BUFFER_STATE', `buffer ${this.#state} while draining`);
      }
    }
    this.#state = 'settled';
    this.#settledTo = to;
    this.#queue = [];
    this.#head = 0;
    this.#wakeHolders();
  }

  #wouldOverflow(size: number): OverflowInfo | null {
    if (this.#pending + 1 > this.limits.maxPackets) return { scope: 'migration', dimension: 'packets' };
    if (this.#pendingBytes + size > this.limits.maxBytes) return { scope: 'migration', dimension: 'bytes' };
    const global = this.#budget.tryReserve(1, size);
    return global === 'ok' ? null : { scope: 'global', dimension: global };
  }

  #shift(): Entry<F> {
    const entry = this.#queue[this.#head]!;
    this.#queue[this.#head] = undefined as unknown as Entry<F>;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  #settle(entry: Entry<F>, fate: SettledEntry['fate'], rule: string | undefined): void {
    this.#pending--;
    this.#pendingBytes -= entry.size;
    this.#budget.release(1, entry.size);
    if (fate === 'source') this.#toSource++;
    else if (fate === 'target') this.#toTarget++;
    else this.#dropped[rule!] = (this.#dropped[rule!] ?? 0) + 1;
    const onSettled = this.#init.onSettled;
    if (onSettled) {
      try {
        onSettled(rule === undefined ? { seq: entry.seq, frame: entry.frame, fate } : { seq: entry.seq, frame: entry.frame, fate, rule });
      } catch (error) {
        this.#init.logger?.error?.({ err: error }, 'migration buffer onSettled listener threw');
      }
    }
  }

  #hold(): Offer {
    this.#held++;
    if (!this.#wake) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#wake = { promise, resolve };
    }
    return { status: 'hold', until: this.#wake.promise };
  }

  #wakeHolders(): void {
    this.#wake?.resolve();
    this.#wake = null;
  }
}
