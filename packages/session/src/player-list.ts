/**
 * The server-wide player list as the client holds it (`AddToServerPlayerList` /
 * `RemoveFromServerPlayerList`, REFERENCE.md §7): nothing on the server resets it on a world change,
 * so a backend switch must remove the old backend's entries.
 */

/** One row of the client's server player list. */
export interface PlayerListEntry {
  readonly uuid: string;
  readonly username: string | null;
  readonly worldUuid: string | null;
  readonly ping: number;
}

/** Default bound of player-list entries per session. */
export const DEFAULT_MAX_PLAYER_LIST_ENTRIES = 10_000;

/** A bounded map of player-list entries by UUID, in the order they were added. */
export class PlayerList {
  readonly limit: number;
  #entries = new Map<string, PlayerListEntry>();
  #overflowed = false;

  constructor(limit = DEFAULT_MAX_PLAYER_LIST_ENTRIES) {
    this.limit = limit;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True once an entry could not be tracked because the list was full: the list is incomplete. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  get(uuid: string): PlayerListEntry | undefined {
    return this.#entries.get(uuid);
  }

  has(uuid: string): boolean {
    return this.#entries.has(uuid);
  }

  /** Adds or replaces an entry. Returns `false` (and marks the list incomplete) when the list is full. */
  set(entry: PlayerListEntry): boolean {
    if (!this.#entries.has(entry.uuid) && this.#entries.size >= this.limit) {
      this.#overflowed = true;
      return false;
    }
    this.#entries.set(entry.uuid, entry);
    return true;
  }

  delete(uuid: string): boolean {
    return this.#entries.delete(uuid);
  }

  /** Forgets every entry and the overflow mark (after the client was told to remove them all). */
  clear(): void {
    this.#entries.clear();
    this.#overflowed = false;
  }

  uuids(): string[] {
    return [...this.#entries.keys()];
  }

  [Symbol.iterator](): IterableIterator<PlayerListEntry> {
    return this.#entries.values();
  }

  toJSON(): { entries: number; overflowed: boolean } {
    return { entries: this.#entries.size, overflowed: this.#overflowed };
  }
}
