/**
 * State transfer: bytes that the source backend hands to the target inside the ticket (inline) or,
 * when they do not fit the 4096-byte budget, in a shared store, referenced by the ticket together
 * with their length and SHA-256 (both covered by the signature).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TicketError, isTicketError, sanitizeCause } from './errors.js';
import { withDeadline } from '@handoff/store-kit';
import { ExpiryHeap } from './expiry-heap.js';
import { base64url, decodeBase64urlStrict } from './format.js';
import { isVerifiedTicket, type VerifiedTicket } from './verified-ticket.js';

/** Options of {@link TicketStateStore.put}. */
export interface StatePutOptions {
  /** How long the bytes must stay readable, in ms. */
  readonly ttlMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link TicketStateStore.get}. */
export interface StateGetOptions {
  readonly signal?: AbortSignal | undefined;
}

/** A store for by-reference state, shared by source and target backends. */
export interface TicketStateStore {
  readonly kind: string;
  /**
   * Stores `bytes` and returns a new reference (1–128 chars of `A–Z a–z 0–9 . _ : -`).
   * @throws {TicketError} `ERR_TICKET_STATE_UNAVAILABLE` when the store cannot take them.
   */
  put(bytes: Uint8Array, options: StatePutOptions): Promise<string>;
  /** The bytes under `ref`, or `undefined` when missing or expired. Throws `ERR_TICKET_STATE_UNAVAILABLE` when the store cannot answer. */
  get(ref: string, options?: StateGetOptions): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** The error state stores throw when they cannot answer. */
export function stateUnavailable(reason: string, cause?: unknown): TicketError {
  return new TicketError('ERR_TICKET_STATE_UNAVAILABLE', `ticket state unavailable (${reason})`, {
    reason,
    ...(cause === undefined ? {} : { cause: sanitizeCause(cause) }),
  });
}

/** SHA-256 of `bytes`, unpadded base64url (the `sha256` member of a by-reference state claim). */
export function stateSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

function mismatch(reason: string): TicketError {
  return new TicketError('ERR_TICKET_STATE_MISMATCH', 'ticket state bytes do not match the ticket', { reason });
}

/**
 * Checks `bytes` against the ticket's state claim and returns them: for by-reference state, the exact
 * length and then the SHA-256 (constant-time compare); for inline state, byte equality.
 * @throws {TicketError} `ERR_TICKET_STATE_MISMATCH` when they differ; `ERR_TICKET_INVALID_ARGUMENT`
 * when the ticket carries no state or was not made by a verifier.
 */
export function checkTicketState(ticket: VerifiedTicket, bytes: Uint8Array): Uint8Array {
  if (!isVerifiedTicket(ticket)) throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'not a verified ticket', { reason: 'not-verified' });
  const { state } = ticket;
  if (state === undefined) throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'the ticket carries no state', { reason: 'no-state' });
  if (!(bytes instanceof Uint8Array)) throw mismatch('not-bytes');
  if (state.kind === 'inline') {
    if (bytes.length !== state.bytes.length || !timingSafeEqual(bytes, state.bytes)) throw mismatch('inline');
    return bytes;
  }
  if (bytes.length !== state.length) throw mismatch('length');
  const expected = decodeBase64urlStrict(state.sha256) as Buffer;
  const actual = createHash('sha256').update(bytes).digest();
  if (!timingSafeEqual(actual, expected)) throw mismatch('sha256');
  return bytes;
}

/** Options of {@link loadTicketState}. */
export interface LoadStateOptions {
  /** Where by-reference state lives (not needed for inline state). */
  readonly store?: TicketStateStore | undefined;
  /** Upper bound of the store round trip (default 1000 ms). */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The ticket's state bytes: inline ones directly, by-reference ones fetched from `store` and checked
 * with {@link checkTicketState}. `undefined` when the ticket carries no state.
 * @throws {TicketError} `ERR_TICKET_STATE_UNAVAILABLE` (missing, expired, store down or timed out),
 * `ERR_TICKET_STATE_MISMATCH`.
 */
export async function loadTicketState(ticket: VerifiedTicket, options: LoadStateOptions = {}): Promise<Uint8Array | undefined> {
  if (!isVerifiedTicket(ticket)) throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'not a verified ticket', { reason: 'not-verified' });
  const { state } = ticket;
  if (state === undefined) return undefined;
  if (state.kind === 'inline') return state.bytes;
  const { store } = options;
  if (store === undefined) throw stateUnavailable('no-store');
  let bytes: Uint8Array | undefined;
  try {
    bytes = await withDeadline((signal) => store.get(state.ref, { signal }), { timeoutMs: options.timeoutMs ?? 1_000, signal: options.signal }, (kind, reason) =>
      stateUnavailable(kind, reason),
    );
  } catch (error) {
    if (isTicketError(error)) throw error;
    throw stateUnavailable('error', error);
  }
  if (bytes === undefined) throw stateUnavailable('missing');
  return checkTicketState(ticket, bytes);
}

/** A new random state reference: 16 random bytes, base64url (22 characters). */
export function newStateRef(random: (size: number) => Uint8Array): string {
  return base64url(random(16));
}

/** Construction options of {@link createMemoryStateStore}. */
export interface MemoryStateStoreInit {
  /** Total bytes held at most (default 64 MiB); beyond it `put` fails with reason `full`. */
  readonly maxBytes?: number | undefined;
  readonly now?: (() => number) | undefined;
  readonly random?: ((size: number) => Uint8Array) | undefined;
}

/** An in-memory state store (one process; tests, or source and target in the same process). */
export function createMemoryStateStore(init: MemoryStateStoreInit = {}): TicketStateStore & { readonly kind: 'memory' } {
  const maxBytes = init.maxBytes ?? 64 * 1024 * 1024;
  const now = init.now ?? Date.now;
  const random = init.random ?? ((size: number) => crypto.getRandomValues(new Uint8Array(size)));
  const entries = new Map<string, { bytes: Uint8Array; expiresAt: number }>();
  const heap = new ExpiryHeap();
  let total = 0;
  const reclaim = (at: number): void => {
    heap.popExpired(at, (key, expiresAt) => {
      const entry = entries.get(key);
      if (entry !== undefined && entry.expiresAt === expiresAt) {
        entries.delete(key);
        total -= entry.bytes.length;
      }
    });
  };
  return {
    kind: 'memory',
    async put(bytes, options) {
      const at = now();
      reclaim(at);
      if (total + bytes.length > maxBytes) throw stateUnavailable('full');
      const ref = newStateRef(random);
      const expiresAt = at + Math.max(1, Math.ceil(options.ttlMs));
      entries.set(ref, { bytes: new Uint8Array(bytes), expiresAt });
      heap.push(expiresAt, ref);
      total += bytes.length;
      return ref;
    },
    async get(ref) {
      const at = now();
      reclaim(at);
      const entry = entries.get(ref);
      return entry === undefined || entry.expiresAt <= at ? undefined : new Uint8Array(entry.bytes);
    },
    async close() {
      entries.clear();
      heap.clear();
      total = 0;
    },
  };
}
