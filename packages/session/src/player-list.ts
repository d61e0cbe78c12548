/**
 * The server-wide player list as the client holds it (`AddToServerPlayerList` /
 * `RemoveFromServerPlayerList`; docs/session.md, "Chunks and the player list on the server"): nothing on the server resets it on a world change,
 * so a backend switch must remove the old backend's entries.
 *
 * Only the UUIDs are kept: they are all a `RemoveFromServerPlayerList` needs, and a backend's list can
 * hold thousands of players for each of thousands of sessions. UUIDs are interned (one shared string
 * per player across sessions).
 */
import type { ClientUuid } from '@handoff/types';
import { intern } from './intern.js';

/** Default bound of player-list entries per session. */
export const DEFAULT_MAX_PLAYER_LIST_ENTRIES = 10_000;

/** A bounded set of the player UUIDs on the client's server player list, in the order they were added. */
export class PlayerList {
  readonly limit: number;
  #uuids: Set<ClientUuid> | undefined;
  #overflowed = false;

  constructor(limit = DEFAULT_MAX_PLAYER_LIST_ENTRIES) {
    this.limit = limit;
  }

  get size(): number {
    return this.#uuids?.size ?? 0;
  }

  /** True once an entry could not be tracked because the list was full: the list is incomplete. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  has(uuid: ClientUuid): boolean {
    return this.#uuids?.has(uuid) ?? false;
  }

  /** Adds a UUID. Returns `false` (and marks the list incomplete) when the list is full. */
  add(uuid: ClientUuid): boolean {
    if (this.#uuids?.has(uuid) === true) return true;
    if (this.size >= this.limit) {
      this.#overflowed = true;
      return false;
    }
    (this.#uuids ??= new Set()).add(intern(uuid) as ClientUuid);
    return true;
  }

  delete(uuid: ClientUuid): boolean {
    return this.#uuids?.delete(uuid) ?? false;
  }

  /** Forgets every entry and the overflow mark (after the client was told to remove them all). */
  clear(): void {
    this.#uuids = undefined;
    this.#overflowed = false;
  }

  /** The UUIDs, in the order they were added. */
  uuids(): ClientUuid[] {
    return this.#uuids === undefined ? [] : [...this.#uuids];
  }

  [Symbol.iterator](): IterableIterator<ClientUuid> {
    return (this.#uuids ?? new Set<ClientUuid>()).values();
  }

  toJSON(): { entries: number; overflowed: boolean } {
    return { entries: this.size, overflowed: this.#overflowed };
  }
}
