/**
 * The local session store: the records of the sessions this process holds, by session id and by the
 * player's UUID. Records hold secrets, so they never leave the process; what other proxies need to
 * know (who holds which player, where, in which phase) goes to a session directory.
 */
import type { ClientUuid, SessionId } from '@handoff/types';
import { SessionError } from './errors.js';
import { SessionRecord, type SessionRecordInit } from './record.js';

/** The in-memory store of this process's session records. */
export interface SessionStore {
  readonly kind: 'memory';
  /** Creates and adds a record. `ERR_SESSION_DUPLICATE_SESSION` when its id is taken. */
  create(init?: SessionRecordInit): SessionRecord;
  /** Adds a record made elsewhere. `ERR_SESSION_DUPLICATE_SESSION` when its id is taken. */
  add(record: SessionRecord): SessionRecord;
  get(id: SessionId): SessionRecord | undefined;
  /** The most recently added session of this player (by the UUID its Connect carried; a scan of the records). */
  byClientUuid(clientUuid: ClientUuid): SessionRecord | undefined;
  /** Every session of this player, oldest first (a reconnect can overlap the old session). */
  allByClientUuid(clientUuid: ClientUuid): SessionRecord[];
  /** Removes a record and wipes its secrets; `false` when it was not there. */
  delete(id: SessionId): boolean;
  readonly size: number;
  values(): IterableIterator<SessionRecord>;
}

/** Creates the in-memory session store. */
export function createSessionStore(): SessionStore {
  const byId = new Map<SessionId, SessionRecord>();

  const add = (record: SessionRecord): SessionRecord => {
    if (byId.has(record.id)) throw new SessionError('ERR_SESSION_DUPLICATE_SESSION', 'a session with this id is already in the store');
    byId.set(record.id, record);
    return record;
  };

  const allByClientUuid = (clientUuid: ClientUuid): SessionRecord[] => {
    const out: SessionRecord[] = [];
    for (const record of byId.values()) if (record.clientUuid === clientUuid) out.push(record);
    return out;
  };

  return {
    kind: 'memory',
    create: (init) => add(new SessionRecord(init)),
    add,
    get: (id) => byId.get(id),
    byClientUuid: (clientUuid) => allByClientUuid(clientUuid).pop(),
    allByClientUuid,
    delete(id) {
      const record = byId.get(id);
      if (record === undefined) return false;
      byId.delete(id);
      record.clearSecrets();
      return true;
    },
    get size() {
      return byId.size;
    },
    values: () => byId.values(),
  };
}
