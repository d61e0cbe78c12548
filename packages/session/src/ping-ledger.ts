/**
 * The ping ledger: which backend sent which Ping, so each client Pong goes back to that backend
 * (docs/session.md, "Ping and Pong on the server").
 *
 * A server queues each Ping id it sends in three FIFOs, one per Pong type (Raw, Direct, Tick), and
 * expects the client to answer every Ping with one Pong per type, in order: a Pong whose id is not the
 * head of its type's FIFO throws and disconnects the player (`PacketHandler.PingInfo.handlePacket`).
 * Ping ids are random 32-bit integers, so two backends' ids practically never collide; the ledger
 * still follows the server's FIFO rule, so a collision is resolved by order.
 *
 * The ledger mirrors those FIFOs: one list of Pings in the order the client received them and one
 * cursor per Pong type. A Pong of type T matches the entry at T's cursor; the Ping is settled once
 * all three types answered it. Outstanding Pings are bounded (`limit`, the oldest is forgotten with
 * `ERR_SESSION_PING_LEDGER_OVERFLOW`); a few settled ones are kept (`history`) so a Pong that was
 * routed when it arrived can still be classified when a migration drains it later.
 *
 * Pong frames are read through the generation's schema (`generation.fixedFields('Pong', …)`): the
 * Pong's packet id and field offsets come from the generation the client speaks, never from constants.
 */
import type { FixedFieldReader, Generation } from '@handoff/protocol';
import type { BackendId, FrameLike, SourcePongTest } from '@handoff/types';
import { SessionError } from './errors.js';

/** The three Pong types, in wire order (the `PongType` enum: Raw=0, Direct=1, Tick=2). */
export const PONG_TYPES = ['Raw', 'Direct', 'Tick'] as const;
export type PongType = (typeof PONG_TYPES)[number];

/** Default bound of Pings awaiting Pongs (servers ping once a second). */
export const DEFAULT_PING_LEDGER_LIMIT = 64;
/** Default number of settled Pings kept for late lookups. */
export const DEFAULT_PING_LEDGER_HISTORY = 32;

/** How a Pong matched the ledger. */
export type PongStatus =
  /** the head of its type's FIFO: what the server expects */
  | 'matched'
  /** a later Ping of its type: earlier ones of that type were skipped (the backend will likely disconnect) */
  | 'out-of-order'
  /** a Ping this type already answered (the same Pong tapped twice): routed as before */
  | 'duplicate'
  /** no known Ping: it must reach no backend */
  | 'unmatched';

/** Where a client Pong goes. */
export interface PongRoute {
  readonly kind: 'pong';
  readonly pingId: number;
  readonly type: PongType;
  /** The backend that sent the Ping; `undefined` when unmatched (drop the Pong). */
  readonly backendId: BackendId | undefined;
  readonly status: PongStatus;
  /** For `out-of-order`: how many earlier Pings of this type were skipped. */
  readonly skipped: number;
}

interface PingEntry {
  readonly id: number;
  readonly backendId: BackendId;
}

/** Counters of a ledger (all monotonic). */
export interface PingLedgerCounters {
  readonly pings: number;
  readonly pongs: number;
  readonly outOfOrder: number;
  readonly duplicates: number;
  readonly unmatched: number;
  /** Pings forgotten because too many were outstanding. */
  readonly overflowed: number;
}

export interface PingLedgerInit {
  /** Bound of outstanding Pings (default 64). */
  readonly limit?: number;
  /** Settled Pings kept for late lookups (default 32). */
  readonly history?: number;
  /** The generation whose Pong frames {@link PingLedger.backendOf} reads (a record's ledger gets it from the capture tap). */
  readonly generation?: Generation;
}

/** The ping ledger of one client connection. */
export class PingLedger {
  readonly limit: number;
  readonly history: number;
  /** Pings in the order the client received them; `#entries[i]` has sequence number `#base + i`. */
  #entries: PingEntry[] = [];
  #base = 0;
  #next = 0;
  /** Sequence number of the next Ping each Pong type must answer. */
  readonly #cursor = [0, 0, 0];
  #pings = 0;
  #pongs = 0;
  #outOfOrder = 0;
  #duplicates = 0;
  #unmatched = 0;
  #overflowed = 0;
  #generation: Generation | undefined;
  #pong: FixedFieldReader<'Pong', 'id' | 'type'> | undefined;
  #isSourcePong: SourcePongTest | undefined;

  constructor(init: PingLedgerInit = {}) {
    const limit = init.limit ?? DEFAULT_PING_LEDGER_LIMIT;
    const history = init.history ?? DEFAULT_PING_LEDGER_HISTORY;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('ping ledger limit must be a positive integer');
    if (!Number.isInteger(history) || history < 0) throw new RangeError('ping ledger history must be a non-negative integer');
    this.limit = limit;
    this.history = history;
    if (init.generation !== undefined) this.setGeneration(init.generation);
  }

  /** The generation whose Pong frames the ledger reads, once known. */
  get generation(): Generation | undefined {
    return this.#generation;
  }

  /** Sets the generation whose Pong frames the ledger reads (the capture tap does, from the Connect). */
  setGeneration(generation: Generation): void {
    this.#generation = generation;
    this.#pong = generation.fixedFields('Pong', ['id', 'type']);
  }

  /** Pings not yet answered by all three Pong types. */
  get outstanding(): number {
    return this.#next - this.#low();
  }

  get counters(): PingLedgerCounters {
    return {
      pings: this.#pings,
      pongs: this.#pongs,
      outOfOrder: this.#outOfOrder,
      duplicates: this.#duplicates,
      unmatched: this.#unmatched,
      overflowed: this.#overflowed,
    };
  }

  /**
   * A Ping from `backendId` reaches the client. Returns `true` when the ledger was full and forgot its
   * oldest outstanding Ping to make room.
   */
  recordPing(pingId: number, backendId: BackendId): boolean {
    this.#entries.push({ id: pingId | 0, backendId });
    this.#next++;
    this.#pings++;
    if (this.#next - this.#low() <= this.limit) return false;
    // forget the oldest outstanding Ping for every type that has not answered it
    const low = this.#low();
    for (let t = 0; t < 3; t++) if (this.#cursor[t]! <= low) this.#cursor[t] = low + 1;
    this.#overflowed++;
    this.#trim();
    return true;
  }

  /**
   * The client sent a Pong of `type` for `pingId`: consumes it from that type's FIFO and says which
   * backend it answers. Call once per Pong, in the order the client sent them (when it arrives).
   */
  answer(pingId: number, type: PongType | number): PongRoute {
    const t = typeof type === 'number' ? type : PONG_TYPES.indexOf(type);
    const typeName = PONG_TYPES[t];
    if (typeName === undefined) throw new RangeError(`unknown Pong type ${String(type)}`);
    this.#pongs++;
    const id = pingId | 0;
    const cursor = this.#cursor[t]!;
    for (let seq = cursor; seq < this.#next; seq++) {
      const entry = this.#entries[seq - this.#base]!;
      if (entry.id !== id) continue;
      this.#cursor[t] = seq + 1;
      const skipped = seq - cursor;
      if (skipped > 0) this.#outOfOrder++;
      this.#trim();
      return { kind: 'pong', pingId: id, type: typeName, backendId: entry.backendId, status: skipped > 0 ? 'out-of-order' : 'matched', skipped };
    }
    for (let seq = cursor - 1; seq >= this.#base; seq--) {
      const entry = this.#entries[seq - this.#base]!;
      if (entry.id !== id) continue;
      this.#duplicates++;
      return { kind: 'pong', pingId: id, type: typeName, backendId: entry.backendId, status: 'duplicate', skipped: 0 };
    }
    this.#unmatched++;
    return { kind: 'pong', pingId: id, type: typeName, backendId: undefined, status: 'unmatched', skipped: 0 };
  }

  /**
   * The backend whose Ping this Pong answers, without consuming anything: the entry its type already
   * consumed most recently, else the next one it would consume. `undefined` when no Ping matches.
   */
  lookup(pingId: number, type: PongType | number): BackendId | undefined {
    const t = typeof type === 'number' ? type : PONG_TYPES.indexOf(type);
    if (t < 0 || t > 2) return undefined;
    const id = pingId | 0;
    const cursor = this.#cursor[t]!;
    for (let seq = cursor - 1; seq >= this.#base; seq--) {
      const entry = this.#entries[seq - this.#base]!;
      if (entry.id === id) return entry.backendId;
    }
    for (let seq = cursor; seq < this.#next; seq++) {
      const entry = this.#entries[seq - this.#base]!;
      if (entry.id === id) return entry.backendId;
    }
    return undefined;
  }

  /**
   * The backend whose Ping a Pong frame answers (see {@link lookup}), read through the generation's
   * schema; `undefined` when no known Ping matches, or the frame is not a well-formed Pong of that
   * generation.
   * @throws {SessionError} `ERR_SESSION_NOT_CONNECTED` while the ledger does not know the generation.
   */
  backendOf(frame: Pick<FrameLike, 'id' | 'bytes'>): BackendId | undefined {
    const reader = this.#pong;
    if (reader === undefined) {
      throw new SessionError('ERR_SESSION_NOT_CONNECTED', 'the ping ledger reads Pongs with the generation\'s schema and does not know the generation yet', {
        packet: 'Pong',
        reason: 'no-generation',
      });
    }
    if (frame.id !== reader.descriptor.id) return undefined;
    let pong: { id: number; type: PongType };
    try {
      pong = reader.readFrame(frame);
    } catch {
      return undefined; // malformed: it answers no Ping
    }
    return this.lookup(pong.id, pong.type);
  }

  /**
   * The Pong drain predicate of a migration (`SourcePongTest`, what `@handoff/migration`'s drain
   * policy takes as `isSourcePong`): true for a buffered client Pong that must not reach
   * `ends.target` — one answering a Ping of the source (or of any backend but the target), and one
   * that answers no known Ping or is malformed (the target would disconnect the player on it).
   * False for every packet that is not a Pong. A bound function: pass it as it is.
   *
   * @example
   * ```ts
   * createMigrator({ drainPolicy: { isSourcePong: record.pings.isSourcePong }, … });
   * ```
   */
  get isSourcePong(): SourcePongTest {
    return (this.#isSourcePong ??= (frame, ends) => frame.descriptor.name === 'Pong' && this.backendOf(frame) !== ends.target.id);
  }

  /** Forgets everything (a new connection). */
  clear(): void {
    this.#entries = [];
    this.#base = this.#next = 0;
    this.#cursor.fill(0);
  }

  toJSON(): { outstanding: number } & PingLedgerCounters {
    return { outstanding: this.outstanding, ...this.counters };
  }

  #low(): number {
    const c = this.#cursor;
    return Math.min(c[0]!, c[1]!, c[2]!);
  }

  /** Drops settled entries beyond the history bound. */
  #trim(): void {
    const drop = this.#low() - this.#base - this.history;
    if (drop > 0) {
      this.#entries.splice(0, drop);
      this.#base += drop;
    }
  }
}
