/**
 * The session record: what the proxy knows about one client connection, filled by a capture tap
 * (`capture-tap.ts`) and read by the migration (to replay the client's setup to backend B, and to undo
 * on the client what backend A left there).
 *
 * Secrets (tokens, grants, referral data) are kept in a private holder and read only through
 * {@link SessionRecord.secret}. Every way of turning a record into data — `JSON.stringify`,
 * `toJSON()`, `snapshot()`, `util.inspect`/`console.log`, `structuredClone`, object spread — shows
 * which secrets are present, never their values.
 */
import { randomUUID } from 'node:crypto';
import { inspect, type InspectOptions } from 'node:util';
import type { Generation } from '@handoff/protocol';
import {
  isPhase,
  parseBackendRef,
  parseMigrationId,
  parseSessionId,
  type BackendRef,
  type ClientUuid,
  type MigrationId,
  type Phase,
  type SessionId,
  type SessionRef,
} from '@handoff/types';
import { ChunkColumns, DEFAULT_MAX_CHUNK_COLUMNS } from './chunk-columns.js';
import { ClientAssets, DEFAULT_MAX_ASSET_HASHES } from './client-assets.js';
import { SessionError, parseArgument } from './errors.js';
import { DEFAULT_PING_LEDGER_HISTORY, DEFAULT_PING_LEDGER_LIMIT, PingLedger, type PingLedgerCounters } from './ping-ledger.js';
import { DEFAULT_MAX_PLAYER_LIST_ENTRIES, PlayerList } from './player-list.js';
import { SECRET_NAMES, type SecretName, type SessionSecrets } from './secrets.js';

/** What the client's Connect said, secrets excepted (docs/session.md, "The Connect"). */
export interface ConnectInfo {
  /** `G1`, `G2`, `G3`: from the protocol hash (G1) or CRC (G2+). */
  readonly generation: string;
  /** G1 only. */
  readonly protocolHash: string | null;
  /** G2+ only. */
  readonly protocolCrc: number | null;
  /** G2+ only. */
  readonly protocolBuildNumber: number | null;
  /** G2+ only (the server does not check it). */
  readonly clientVersion: string | null;
  readonly clientType: 'Game' | 'Editor';
  /** The player's UUID (the Connect's `uuid` field). */
  readonly clientUuid: ClientUuid;
  readonly username: string;
  /** Required from G2; nullable in G1 (the server then uses `en-US`). */
  readonly language: string | null;
  /** The referring server, when the client came by referral (port 0–65535). */
  readonly referralSource: { readonly host: string; readonly port: number } | null;
}

/** One finished (or refused) migration, as the record keeps it. */
export interface MigrationHistoryEntry {
  readonly migrationId: MigrationId;
  /** The backend the player left (A). */
  readonly source: BackendRef;
  /** The backend the player was to join (B). */
  readonly target: BackendRef;
  /** `migrated`, `rolled-back`, `referred`, `disconnected`, `refused` (or any string the caller uses). */
  readonly outcome: string;
  /** When it ended (ms since the epoch, from the record's clock). */
  readonly at: number;
  /** The phase it failed in, if it failed. */
  readonly phase?: Phase;
  /** A failure or refusal code. Never secret. */
  readonly reason?: string;
}

export interface ServerInfoCapture {
  readonly serverName: string | null;
  readonly motd: string | null;
  readonly maxPlayers: number;
}

export interface WorldSettingsCapture {
  readonly worldHeight: number;
  /** Number of required assets (the hashes themselves are in `record.assets`). */
  readonly requiredAssets: number;
}

export interface JoinWorldCapture {
  readonly worldUuid: string;
  readonly clearWorld: boolean;
  readonly fadeInOut: boolean;
}

/** ViewRadius values in blocks, as each side last sent them. */
export interface ViewRadiusCapture {
  /** Client → server (the player's setting). */
  readonly client: number | null;
  /** Server → client (the server's maximum × 32). */
  readonly server: number | null;
}

/** Bounds of one record. Every collection the network can grow is bounded. */
export interface SessionLimits {
  /** Chunk columns tracked (default 32,768). */
  readonly chunkColumns?: number;
  /** Server player-list entries tracked (default 10,000). */
  readonly playerListEntries?: number;
  /** Largest PlayerOptions payload kept (default 65,536 bytes). */
  readonly playerOptionsBytes?: number;
  /** Per-session asset hashes beyond the shared required list (default 65,536). */
  readonly assetHashes?: number;
  /** Outstanding Pings (default 64). */
  readonly pings?: number;
  /** Settled Pings kept for late lookups (default 32). */
  readonly pingHistory?: number;
  /** Migrations kept in the history (default 16). */
  readonly migrationHistory?: number;
}

export const DEFAULT_MAX_PLAYER_OPTIONS_BYTES = 65_536;
export const DEFAULT_MIGRATION_HISTORY = 16;

export interface SessionRecordInit {
  /** The session id (default: a random UUID). Never secret: it appears in logs and in the directory. */
  readonly id?: SessionId;
  /** The backend the client is first routed to. */
  readonly backend?: BackendRef;
  readonly limits?: SessionLimits;
  /** Clock for timestamps (ms since the epoch; default `Date.now`). */
  readonly now?: () => number;
}

/** The plain, secret-free form of a record (what `JSON.stringify(record)` writes). */
export interface SessionSnapshot {
  readonly id: SessionId;
  readonly createdAt: number;
  readonly clientUuid: ClientUuid | null;
  readonly backend: BackendRef | null;
  readonly phase: Phase;
  readonly connect: ConnectInfo | null;
  /** Names of the secrets the record holds; the values are never part of a snapshot. */
  readonly secrets: SecretName[];
  readonly serverInfo: ServerInfoCapture | null;
  readonly worldSettings: WorldSettingsCapture | null;
  readonly assets: ReturnType<ClientAssets['toJSON']>;
  readonly viewRadius: ViewRadiusCapture;
  /** Size of the captured PlayerOptions payload (the bytes themselves are in `record.playerOptions`). */
  readonly playerOptionsBytes: number | null;
  readonly language: string | null;
  readonly joinWorld: JoinWorldCapture | null;
  readonly clientId: number | null;
  readonly worldJoins: number;
  readonly chunks: { columns: number; overflowed: boolean };
  readonly playerList: { entries: number; overflowed: boolean };
  readonly pings: { outstanding: number } & PingLedgerCounters;
  readonly migrations: MigrationHistoryEntry[];
}

const NO_VIEW_RADIUS: ViewRadiusCapture = Object.freeze({ client: null, server: null });

const positive = (value: number | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', `limits.${name} must be a non-negative integer`);
  return value;
};

/** One client connection's captured state. */
export class SessionRecord {
  readonly id: SessionId;
  readonly createdAt: number;
  /** Chunk columns loaded on the client (SetChunk / UnloadChunk). */
  readonly chunks: ChunkColumns;
  /** The server player list as the client holds it. */
  readonly playerList: PlayerList;
  /** Asset hashes the client holds. */
  readonly assets: ClientAssets;
  /** Which backend sent which Ping. */
  readonly pings: PingLedger;
  /** Largest PlayerOptions payload kept. */
  readonly playerOptionsLimit: number;
  readonly migrationHistoryLimit: number;

  readonly #now: () => number;
  #secrets: Partial<SessionSecrets> | undefined;
  #connect: ConnectInfo | undefined;
  #serverInfo: ServerInfoCapture | undefined;
  #worldSettings: WorldSettingsCapture | undefined;
  #viewRadius: ViewRadiusCapture = NO_VIEW_RADIUS;
  #playerOptions: Uint8Array | undefined;
  #language: string | undefined;
  #joinWorld: JoinWorldCapture | undefined;
  #clientId: number | undefined;
  #worldJoins = 0;
  #backend: BackendRef | undefined;
  #generation: Generation | undefined;
  #phase: Phase = 'Idle';
  #migrations: MigrationHistoryEntry[] = [];

  constructor(init: SessionRecordInit = {}) {
    const limits = init.limits ?? {};
    this.id = init.id === undefined ? (randomUUID() as SessionId) : parseArgument(parseSessionId, init.id, 'the session id');
    this.#now = init.now ?? Date.now;
    this.createdAt = this.#now();
    this.chunks = new ChunkColumns(positive(limits.chunkColumns, DEFAULT_MAX_CHUNK_COLUMNS, 'chunkColumns'));
    this.playerList = new PlayerList(positive(limits.playerListEntries, DEFAULT_MAX_PLAYER_LIST_ENTRIES, 'playerListEntries'));
    this.assets = new ClientAssets(positive(limits.assetHashes, DEFAULT_MAX_ASSET_HASHES, 'assetHashes'));
    this.pings = new PingLedger({
      limit: Math.max(1, positive(limits.pings, DEFAULT_PING_LEDGER_LIMIT, 'pings')),
      history: positive(limits.pingHistory, DEFAULT_PING_LEDGER_HISTORY, 'pingHistory'),
    });
    this.playerOptionsLimit = positive(limits.playerOptionsBytes, DEFAULT_MAX_PLAYER_OPTIONS_BYTES, 'playerOptionsBytes');
    this.migrationHistoryLimit = positive(limits.migrationHistory, DEFAULT_MIGRATION_HISTORY, 'migrationHistory');
    if (init.backend !== undefined) this.#backend = parseArgument(parseBackendRef, init.backend, 'the backend');
  }

  // ------------------------------------------------------------ reading

  /** `{ id, clientUuid }`: the `SessionRef` `@handoff/migration` takes. */
  get ref(): SessionRef {
    return this.#connect === undefined ? { id: this.id } : { id: this.id, clientUuid: this.#connect.clientUuid };
  }

  /** The player's UUID, once the Connect was captured. */
  get clientUuid(): ClientUuid | undefined {
    return this.#connect?.clientUuid;
  }

  get connect(): ConnectInfo | undefined {
    return this.#connect;
  }

  /**
   * The protocol generation, once known: the capture tap sets it from the Connect (or from its
   * `generation` option). Replay frames are encoded with it, and the ping ledger reads Pongs with it.
   */
  get generation(): Generation | undefined {
    return this.#generation;
  }

  get serverInfo(): ServerInfoCapture | undefined {
    return this.#serverInfo;
  }

  get worldSettings(): WorldSettingsCapture | undefined {
    return this.#worldSettings;
  }

  get viewRadius(): ViewRadiusCapture {
    return this.#viewRadius;
  }

  /** The last PlayerOptions payload the client sent (uncompressed, as on the wire): replay it to B. A copy. */
  get playerOptions(): Uint8Array | undefined {
    return this.#playerOptions?.slice();
  }

  /** The client's language: the last `UpdateLanguage`, else the Connect's. */
  get language(): string | undefined {
    return this.#language ?? this.#connect?.language ?? undefined;
  }

  get joinWorld(): JoinWorldCapture | undefined {
    return this.#joinWorld;
  }

  /** The player's entity network id in the current world (`SetClientId`). */
  get clientId(): number | undefined {
    return this.#clientId;
  }

  /** Number of JoinWorld packets the client received. */
  get worldJoins(): number {
    return this.#worldJoins;
  }

  /** The backend the client is routed to now. */
  get backend(): BackendRef | undefined {
    return this.#backend;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Finished migrations, oldest first (bounded). */
  get migrations(): readonly MigrationHistoryEntry[] {
    return this.#migrations;
  }

  // ------------------------------------------------------------ secrets

  /** A secret, or `undefined`. Byte values are returned as a copy. */
  secret<N extends SecretName>(name: N): SessionSecrets[N] | undefined {
    const value = this.#secrets?.[name];
    return (value instanceof Uint8Array ? value.slice() : value) as SessionSecrets[N] | undefined;
  }

  hasSecret(name: SecretName): boolean {
    return this.#secrets?.[name] !== undefined;
  }

  /** Names of the secrets held. */
  secretNames(): SecretName[] {
    const secrets = this.#secrets;
    return secrets === undefined ? [] : SECRET_NAMES.filter((name) => secrets[name] !== undefined);
  }

  /** Stores a secret (a copy, for bytes); `null`/`undefined` removes it. */
  setSecret<N extends SecretName>(name: N, value: SessionSecrets[N] | null | undefined): void {
    if (value === null || value === undefined) {
      this.#wipe(name);
      return;
    }
    (this.#secrets ??= {})[name] = (value instanceof Uint8Array ? value.slice() : value) as SessionSecrets[N];
  }

  /** Forgets the named secrets (all when none are named); byte values are zeroed first. */
  clearSecrets(...names: SecretName[]): void {
    for (const name of names.length === 0 ? SECRET_NAMES : names) this.#wipe(name);
  }

  // ------------------------------------------------------------ writing (the capture tap calls these)

  /** The generation the client speaks (the capture tap calls it); the ping ledger reads Pongs with it. */
  setGeneration(generation: Generation): void {
    this.#generation = generation;
    this.pings.setGeneration(generation);
  }

  setConnect(info: ConnectInfo): void {
    this.#connect = Object.freeze({ ...info, referralSource: info.referralSource === null ? null : Object.freeze({ ...info.referralSource }) });
  }

  setServerInfo(info: ServerInfoCapture): void {
    this.#serverInfo = Object.freeze({ serverName: info.serverName, motd: info.motd, maxPlayers: info.maxPlayers });
  }

  setWorldSettings(info: WorldSettingsCapture): void {
    this.#worldSettings = Object.freeze({ worldHeight: info.worldHeight, requiredAssets: info.requiredAssets });
  }

  setViewRadius(side: 'client' | 'server', blocks: number): void {
    this.#viewRadius = Object.freeze({ ...this.#viewRadius, [side]: blocks });
  }

  /** Keeps a copy of a PlayerOptions payload; `false` when it is over `playerOptionsLimit` (not kept). */
  setPlayerOptions(payload: Uint8Array): boolean {
    if (payload.length > this.playerOptionsLimit) return false;
    this.#playerOptions = payload.slice();
    return true;
  }

  setLanguage(language: string | null): void {
    this.#language = language ?? undefined;
  }

  setJoinWorld(join: JoinWorldCapture): void {
    this.#joinWorld = Object.freeze({ worldUuid: join.worldUuid, clearWorld: join.clearWorld, fadeInOut: join.fadeInOut });
    this.#worldJoins++;
  }

  setClientId(clientId: number): void {
    this.#clientId = clientId;
  }

  /** The client is now routed to `backend` (at the cutover of a migration). */
  setBackend(backend: BackendRef): void {
    this.#backend = parseArgument(parseBackendRef, backend, 'the backend');
  }

  /** The migration phase the session is in. `ERR_SESSION_INVALID_ARGUMENT` for anything but a `Phase`. */
  setPhase(phase: Phase): void {
    if (!isPhase(phase)) throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the phase is not a migration phase', { reason: 'phase' });
    this.#phase = phase;
  }

  /**
   * Adds a finished migration to the bounded history (oldest dropped first). With outcome
   * `migrated`, the record's backend becomes `target`.
   */
  recordMigration(entry: Omit<MigrationHistoryEntry, 'at'> & { readonly at?: number }): MigrationHistoryEntry {
    if (entry.phase !== undefined && !isPhase(entry.phase)) {
      throw new SessionError('ERR_SESSION_INVALID_ARGUMENT', 'the phase is not a migration phase', { reason: 'phase' });
    }
    const kept: MigrationHistoryEntry = Object.freeze({
      migrationId: parseArgument(parseMigrationId, entry.migrationId, 'the migration id'),
      source: parseArgument(parseBackendRef, entry.source, 'the source backend'),
      target: parseArgument(parseBackendRef, entry.target, 'the target backend'),
      outcome: entry.outcome,
      at: entry.at ?? this.#now(),
      ...(entry.phase === undefined ? {} : { phase: entry.phase }),
      ...(entry.reason === undefined ? {} : { reason: entry.reason }),
    });
    if (this.migrationHistoryLimit > 0) {
      this.#migrations.push(kept);
      if (this.#migrations.length > this.migrationHistoryLimit) this.#migrations.splice(0, this.#migrations.length - this.migrationHistoryLimit);
    }
    if (entry.outcome === 'migrated') this.#backend = kept.target;
    return kept;
  }

  /**
   * Forgets what the client holds of the current world: chunk columns and player-list entries (after
   * the cutover told the client to unload and remove them all).
   */
  forgetWorld(): void {
    this.chunks.clear();
    this.playerList.clear();
  }

  // ------------------------------------------------------------ redaction

  /** The plain, secret-free form of the record. */
  snapshot(): SessionSnapshot {
    return {
      id: this.id,
      createdAt: this.createdAt,
      clientUuid: this.#connect?.clientUuid ?? null,
      backend: this.#backend ?? null,
      phase: this.#phase,
      connect: this.#connect ?? null,
      secrets: this.secretNames(),
      serverInfo: this.#serverInfo ?? null,
      worldSettings: this.#worldSettings ?? null,
      assets: this.assets.toJSON(),
      viewRadius: this.#viewRadius,
      playerOptionsBytes: this.#playerOptions?.length ?? null,
      language: this.language ?? null,
      joinWorld: this.#joinWorld ?? null,
      clientId: this.#clientId ?? null,
      worldJoins: this.#worldJoins,
      chunks: this.chunks.toJSON(),
      playerList: this.playerList.toJSON(),
      pings: this.pings.toJSON(),
      migrations: [...this.#migrations],
    };
  }

  toJSON(): SessionSnapshot {
    return this.snapshot();
  }

  [inspect.custom](depth: number, options: InspectOptions, nodeInspect: typeof inspect = inspect): string {
    if (depth < 0) return `SessionRecord <${this.id}>`;
    return `SessionRecord ${nodeInspect(this.snapshot(), { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
  }

  #wipe(name: SecretName): void {
    const value = this.#secrets?.[name];
    if (value === undefined) return;
    if (value instanceof Uint8Array) value.fill(0);
    delete this.#secrets![name];
  }
}
