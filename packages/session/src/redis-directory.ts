/**
 * The Redis session directory, shared by every proxy of a network.
 *
 * One hash per player, `<prefix>player:<clientUuid>`, with the fields `proxy`, `session`, `backend`,
 * `pool`, `phase`, `migration`, `claimedAt`, `updatedAt` and `expiresAt` (the stored names: short,
 * and unchanged since the first release so directories of older proxies stay readable; each maps to
 * a `DirectoryEntry` field, see docs/session.md, "Stores"). Every claim, heartbeat and update
 * sets `expiresAt = now + ttlMs` and hands that same instant to `PEXPIREAT`: the entry's expiry is one
 * stored fact, so every read of one write reports the same `expiresAt` (never re-derived from `PTTL`). Each operation is one Lua script on that one key (atomic, and cluster-safe:
 * a script never touches a second key): the ownership check and the write cannot interleave with
 * another proxy's. Timestamps come from the Redis server's clock (`TIME`), so proxies with skewed
 * clocks agree on expiry. A dead proxy stops heartbeating and Redis expires its entries.
 */
import type { Redis } from 'ioredis';
import { isBackendId, isMigrationId, isPhase, isPoolId, isSessionId, type ClientUuid, type Logger, type SessionId } from '@handoff/types';
import {
  checkBackend,
  checkClientUuid,
  checkMigrationId,
  checkPhase,
  checkProxyId,
  checkSessionId,
  checkTtl,
  notOwner,
  type ClaimInit,
  type ClaimOptions,
  type ClaimResult,
  type DirectoryCallOptions,
  type DirectoryEntry,
  type DirectoryUpdate,
  type SessionDirectory,
} from './directory.js';
import { SessionError, isSessionError, sanitizeCause } from './errors.js';
import { closeRedis, openRedis, waitReady, withDeadline, type RedisSource } from '@handoff/store-kit';

/** Default key prefix; every proxy of a network must use the same one. */
export const DEFAULT_DIRECTORY_KEY_PREFIX = 'handoff:session:';

export type RedisDirectoryInit = RedisSource & {
  /** This proxy's id: the owner of every entry it claims (unique per proxy process). */
  readonly proxyId: string;
  /** Entry lifetime after each claim, heartbeat or update (default 30 s). */
  readonly ttlMs?: number | undefined;
  /** Key prefix (default `handoff:session:`). */
  readonly keyPrefix?: string | undefined;
  /** Upper bound of one call when no signal is given (default 1000 ms). */
  readonly timeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
};

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the player's hash; ARGV proxy, session, ttl, steal, backend, pool, phase, migration. */
const CLAIM = `${NOW}
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'proxy', 'session', 'claimedAt')
local status = 1
local prev = {}
local claimedAt = now
if cur[1] then
  prev = redis.call('HGETALL', key)
  if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
    status = 2
    claimedAt = tonumber(cur[3]) or now
  elseif ARGV[4] == '1' then
    status = 3
  else
    return {0, prev}
  end
end
redis.call('DEL', key)
local expiresAt = now + tonumber(ARGV[3])
redis.call('HSET', key, 'proxy', ARGV[1], 'session', ARGV[2], 'backend', ARGV[5], 'phase', ARGV[7],
  'claimedAt', string.format('%.0f', claimedAt), 'updatedAt', string.format('%.0f', now),
  'expiresAt', string.format('%.0f', expiresAt))
if ARGV[6] ~= '' then redis.call('HSET', key, 'pool', ARGV[6]) end
if ARGV[8] ~= '' then redis.call('HSET', key, 'migration', ARGV[8]) end
redis.call('PEXPIREAT', key, string.format('%.0f', expiresAt))
return {status, prev, redis.call('HGETALL', key)}`;

/** KEYS[1] the player's hash; ARGV proxy, session, ttl, then field/value pairs ('' deletes the field). */
const TOUCH = `local key = KEYS[1]
local cur = redis.call('HMGET', key, 'proxy', 'session')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return {0} end
${NOW}
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', key, ARGV[i]) else redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
end
local expiresAt = now + tonumber(ARGV[3])
redis.call('HSET', key, 'updatedAt', string.format('%.0f', now), 'expiresAt', string.format('%.0f', expiresAt))
redis.call('PEXPIREAT', key, string.format('%.0f', expiresAt))
return {1, redis.call('HGETALL', key)}`;

/** KEYS[1] the player's hash. */
const LOOKUP = `local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return {0} end
return {1, all}`;

/** KEYS[1] the player's hash; ARGV proxy, session. */
const RELEASE = `local cur = redis.call('HMGET', KEYS[1], 'proxy', 'session')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

interface DirectoryCommands {
  handoffSessionClaim(key: string, ...args: string[]): Promise<[number, string[], string[]?]>;
  handoffSessionTouch(key: string, ...args: string[]): Promise<[number, string[]?]>;
  handoffSessionLookup(key: string): Promise<[number, string[]?]>;
  handoffSessionRelease(key: string, proxy: string, session: string): Promise<number>;
}

function defineCommands(redis: Redis): DirectoryCommands {
  redis.defineCommand('handoffSessionClaim', { numberOfKeys: 1, lua: CLAIM });
  redis.defineCommand('handoffSessionTouch', { numberOfKeys: 1, lua: TOUCH });
  redis.defineCommand('handoffSessionLookup', { numberOfKeys: 1, lua: LOOKUP });
  redis.defineCommand('handoffSessionRelease', { numberOfKeys: 1, lua: RELEASE });
  return redis as unknown as DirectoryCommands;
}

/**
 * Parses a flat `HGETALL` reply into an entry: `undefined` for an empty hash, or one whose fields do
 * not parse (written by something else, or corrupt). Stored field → entry field: `proxy` → `proxyId`,
 * `session` → `sessionId`, `backend`/`pool` → `backend`, `phase` → `phase`, `migration` →
 * `migrationId`; the key names the `clientUuid`.
 */
function toEntry(clientUuid: ClientUuid, flat: readonly string[] | undefined): DirectoryEntry | undefined {
  if (flat === undefined || flat.length === 0) return undefined;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  const { proxy, session, backend, pool, migration } = f;
  const phase = f['phase'] ?? 'Idle';
  if (proxy === undefined || !isSessionId(session) || !isBackendId(backend) || !isPhase(phase)) return undefined;
  if ((pool !== undefined && !isPoolId(pool)) || (migration !== undefined && !isMigrationId(migration))) return undefined;
  const claimedAt = Number(f['claimedAt']);
  const updatedAt = Number(f['updatedAt']);
  const expiresAt = Number(f['expiresAt']);
  if (!Number.isFinite(claimedAt) || !Number.isFinite(updatedAt) || !Number.isFinite(expiresAt)) return undefined;
  return Object.freeze({
    clientUuid,
    sessionId: session,
    proxyId: proxy,
    backend: Object.freeze(pool === undefined ? { id: backend } : { id: backend, pool }),
    phase,
    ...(migration === undefined ? {} : { migrationId: migration }),
    claimedAt,
    updatedAt,
    expiresAt,
  });
}

/** Creates a Redis session directory from a client you own (`redis`) or a URL (owned by the directory). */
export function createRedisDirectory(init: RedisDirectoryInit): SessionDirectory {
  const proxyId = checkProxyId(init.proxyId);
  const ttlMs = checkTtl(init.ttlMs);
  const keyPrefix = init.keyPrefix ?? DEFAULT_DIRECTORY_KEY_PREFIX;
  const timeoutMs = init.timeoutMs ?? 1_000;
  if (init.redis === undefined && typeof init.url !== 'string') {
    throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'a Redis directory needs `redis` (a client) or `url`');
  }
  const handle = openRedis(init, init.logger, 'session-directory');
  const commands = defineCommands(handle.redis);
  let closed = false;
  const key = (clientUuid: ClientUuid): string => `${keyPrefix}player:${clientUuid}`;

  const run = <T>(operation: () => Promise<T>, options: DirectoryCallOptions | undefined): Promise<T> => {
    if (closed) return Promise.reject(new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the directory is closed', { reason: 'closed' }));
    return withDeadline(
      async (signal) => {
        try {
          await waitReady(handle.redis, signal);
          return await operation();
        } catch (error) {
          if (isSessionError(error)) throw error;
          throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the Redis directory call failed', {
            cause: sanitizeCause(error),
            reason: handle.redis.status === 'ready' ? 'error' : 'down',
          });
        }
      },
      { timeoutMs: options?.signal === undefined ? timeoutMs : undefined, signal: options?.signal },
      (kind) => new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', kind === 'timeout' ? `the Redis directory did not answer within ${timeoutMs} ms` : 'the call was aborted', { reason: kind }),
    );
  };

  const touch = (clientUuid: ClientUuid, sessionId: SessionId, fields: string[], options: DirectoryCallOptions | undefined): Promise<DirectoryEntry> =>
    run(async () => {
      const reply = await commands.handoffSessionTouch(key(clientUuid), proxyId, sessionId, String(ttlMs), ...fields);
      const entry = reply[0] === 1 ? toEntry(clientUuid, reply[1]) : undefined;
      if (entry === undefined) throw notOwner(clientUuid);
      return entry;
    }, options);

  return {
    kind: 'redis',
    proxyId,
    ttlMs,
    claim(claim: ClaimInit, options?: ClaimOptions): Promise<ClaimResult> {
      let args: string[];
      let clientUuid: ClientUuid;
      try {
        clientUuid = checkClientUuid(claim.clientUuid);
        const sessionId = checkSessionId(claim.sessionId);
        const backend = checkBackend(claim.backend);
        const phase = checkPhase(claim.phase ?? 'Idle');
        const migrationId = claim.migrationId === undefined ? '' : checkMigrationId(claim.migrationId);
        args = [proxyId, sessionId, String(ttlMs), options?.steal === true ? '1' : '0', backend.id, backend.pool ?? '', phase, migrationId];
      } catch (error) {
        return Promise.reject(error);
      }
      return run(async () => {
        const [status, prev, current] = await commands.handoffSessionClaim(key(clientUuid), ...args);
        const previous = toEntry(clientUuid, prev);
        if (status === 0) {
          if (previous === undefined) throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the directory entry is unreadable', { reason: 'corrupt' });
          return { claimed: false, holder: previous };
        }
        const entry = toEntry(clientUuid, current);
        if (entry === undefined) throw new SessionError('ERR_SESSION_DIRECTORY_UNAVAILABLE', 'the directory entry is unreadable', { reason: 'corrupt' });
        const how = status === 1 ? 'fresh' : status === 2 ? 'renewed' : 'stolen';
        return previous === undefined ? { claimed: true, entry, how } : { claimed: true, entry, how, previous };
      }, options);
    },
    heartbeat(clientUuid, sessionId, options) {
      try {
        return touch(checkClientUuid(clientUuid), checkSessionId(sessionId), [], options);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    update(clientUuid, sessionId, changes: DirectoryUpdate, options) {
      const fields: string[] = [];
      let id: ClientUuid;
      try {
        id = checkClientUuid(clientUuid);
        checkSessionId(sessionId);
        if (changes.backend !== undefined) {
          const backend = checkBackend(changes.backend);
          fields.push('backend', backend.id, 'pool', backend.pool ?? '');
        }
        if (changes.phase !== undefined) fields.push('phase', checkPhase(changes.phase));
        if (changes.migrationId !== undefined) fields.push('migration', changes.migrationId === null ? '' : checkMigrationId(changes.migrationId));
      } catch (error) {
        return Promise.reject(error);
      }
      return touch(id, sessionId, fields, options);
    },
    lookup(clientUuid, options) {
      let id: ClientUuid;
      try {
        id = checkClientUuid(clientUuid);
      } catch (error) {
        return Promise.reject(error);
      }
      return run(async () => {
        const reply = await commands.handoffSessionLookup(key(id));
        return reply[0] === 1 ? toEntry(id, reply[1]) : undefined;
      }, options);
    },
    release(clientUuid, sessionId, options) {
      let id: ClientUuid;
      try {
        id = checkClientUuid(clientUuid);
        checkSessionId(sessionId);
      } catch (error) {
        return Promise.reject(error);
      }
      return run(async () => (await commands.handoffSessionRelease(key(id), proxyId, sessionId)) === 1, options);
    },
    async close() {
      closed = true;
      await closeRedis(handle);
    },
  };
}
