/**
 * The capture tap: the forwarding loop hands it every frame, in each direction, and it fills the
 * session record from the few packets that matter (docs/session.md has the table).
 *
 * Cost: one array lookup by packet id per frame; frames it does not read (nearly all of them) return
 * at once. It decodes only the packets it captures, and of the frequent ones (Ping, Pong, SetChunk,
 * UnloadChunk) it reads only the fixed fields it needs, through readers compiled from the
 * generation's schema (`generation.fixedFields`): packet ids and offsets are never constants here,
 * so a generation that moves a packet is read correctly. It never throws into the forwarding loop: a
 * packet it cannot read becomes a {@link SessionError} — returned, kept in `errors`, counted, passed
 * to `onError` and logged without secrets — and the frame passes on unchanged.
 */
import {
  decompressPayload,
  detectGeneration,
  getGeneration,
  generations,
  isProtocolError,
  portFromWire,
  type FixedFieldReader,
  type Frame,
  type Generation,
  type PacketName,
} from '@handoff/protocol';
import { isHandoffError, parseClientUuid, type BackendId, type BackendRef, type ClientUuid, type Logger } from '@handoff/types';
import { internAssetSet, payloadDigest } from './client-assets.js';
import { SessionError, type SessionErrorCode } from './errors.js';
import type { PongRoute } from './ping-ledger.js';
import type { ConnectInfo, SessionRecord } from './record.js';

/** A frame the tap could not capture from; the frame itself passes on. */
export interface CaptureFailure {
  readonly kind: 'error';
  readonly error: SessionError;
}

/**
 * What the tap says about a frame: `undefined` (nothing to do: most frames), where a client Pong goes
 * (`kind: 'pong'`; `backendId` undefined means drop it), or a capture failure (`kind: 'error'`).
 */
export type TapResult = undefined | PongRoute | CaptureFailure;

/** Which backend a server frame came from: its id, or its reference. */
export type FrameSource = BackendId | BackendRef;

export interface CaptureTapInit {
  /** The generation, when the proxy knows it before the Connect (it is otherwise read from the Connect). */
  readonly generation?: Generation | string;
  /** Called with each capture error (synchronously; must not throw). */
  readonly onError?: (error: SessionError) => void;
  /** Capture errors kept in `errors` (default 16, most recent). */
  readonly maxErrors?: number;
  /** Track chunk columns from SetChunk (default true). SetChunk is zstd-compressed: tracking costs a decompression per section. */
  readonly trackChunks?: boolean;
  readonly logger?: Logger;
}

/** Monotonic counters of a tap. */
export interface CaptureCounters {
  readonly clientFrames: number;
  readonly serverFrames: number;
  /** Frames the tap read something from. */
  readonly captured: number;
  readonly errors: number;
  readonly errorsByCode: Readonly<Partial<Record<SessionErrorCode, number>>>;
}

// Kinds of captured packets (0: not captured).
const enum K {
  None = 0,
  Connect,
  AuthToken,
  RequestAssets,
  ClientViewRadius,
  PlayerOptions,
  UpdateLanguage,
  Pong,
  AuthGrant,
  ServerAuthToken,
  WorldSettings,
  ServerInfo,
  AssetInitialize,
  ServerViewRadius,
  JoinWorld,
  SetClientId,
  SetChunk,
  UnloadChunk,
  AddToServerPlayerList,
  RemoveFromServerPlayerList,
  Ping,
  /** A captured packet arriving before the Connect. */
  NotConnected,
}

const CLIENT_PACKETS: ReadonlyArray<readonly [PacketName, K]> = [
  ['Connect', K.Connect],
  ['AuthToken', K.AuthToken],
  ['RequestAssets', K.RequestAssets],
  ['ViewRadius', K.ClientViewRadius],
  ['PlayerOptions', K.PlayerOptions],
  ['UpdateLanguage', K.UpdateLanguage],
  ['Pong', K.Pong],
];

const SERVER_PACKETS: ReadonlyArray<readonly [PacketName, K]> = [
  ['AuthGrant', K.AuthGrant],
  ['ServerAuthToken', K.ServerAuthToken],
  ['WorldSettings', K.WorldSettings],
  ['ServerInfo', K.ServerInfo],
  ['AssetInitialize', K.AssetInitialize],
  ['ViewRadius', K.ServerViewRadius],
  ['JoinWorld', K.JoinWorld],
  ['SetClientId', K.SetClientId],
  ['SetChunk', K.SetChunk],
  ['UnloadChunk', K.UnloadChunk],
  ['AddToServerPlayerList', K.AddToServerPlayerList],
  ['RemoveFromServerPlayerList', K.RemoveFromServerPlayerList],
  ['Ping', K.Ping],
];

/** Per-generation dispatch: packet id → kind, and the fixed-field readers of the fast paths (from the schema). */
interface Tables {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly ping: FixedFieldReader<'Ping', 'id'>;
  readonly pong: FixedFieldReader<'Pong', 'id' | 'type'>;
  readonly chunk: FixedFieldReader<'SetChunk', 'x' | 'z'>;
  readonly unload: FixedFieldReader<'UnloadChunk', 'chunkX' | 'chunkZ'>;
}

function kindTable(generation: Generation, packets: ReadonlyArray<readonly [PacketName, K]>): Uint8Array {
  let max = 0;
  for (const [name] of packets) max = Math.max(max, generation.registry.byName(name)?.id ?? 0);
  const table = new Uint8Array(max + 1);
  for (const [name, kind] of packets) {
    const descriptor = generation.registry.byName(name);
    if (descriptor !== undefined && generation.isModelled(name)) table[descriptor.id] = kind;
  }
  return table;
}

const tablesByGeneration = new WeakMap<Generation, Tables>();

function tablesOf(generation: Generation): Tables {
  let tables = tablesByGeneration.get(generation);
  if (tables === undefined) {
    tables = {
      c2s: kindTable(generation, CLIENT_PACKETS),
      s2c: kindTable(generation, SERVER_PACKETS),
      ping: generation.fixedFields('Ping', ['id']),
      pong: generation.fixedFields('Pong', ['id', 'type']),
      chunk: generation.fixedFields('SetChunk', ['x', 'z']),
      unload: generation.fixedFields('UnloadChunk', ['chunkX', 'chunkZ']),
    };
    tablesByGeneration.set(generation, tables);
  }
  return tables;
}

/** Before the Connect: id 0 is the Connect; every other captured id (of any generation) is "not connected". */
function preConnectTable(packets: ReadonlyArray<readonly [PacketName, K]>): Uint8Array {
  const ids = new Map<number, K>();
  for (const generation of generations) {
    for (const [name, kind] of packets) {
      const id = generation.registry.byName(name)?.id;
      if (id !== undefined) ids.set(id, kind === K.Connect ? K.Connect : K.NotConnected);
    }
  }
  const table = new Uint8Array(Math.max(...ids.keys()) + 1);
  for (const [id, kind] of ids) table[id] = kind;
  return table;
}

const PRE_C2S = preConnectTable(CLIENT_PACKETS);
const PRE_S2C = preConnectTable(SERVER_PACKETS);

/** The capture tap of one client connection. */
export class CaptureTap {
  readonly record: SessionRecord;
  readonly #onError: ((error: SessionError) => void) | undefined;
  readonly #logger: Logger | undefined;
  readonly #maxErrors: number;
  readonly #trackChunks: boolean;
  #generation: Generation | undefined;
  #tables: Tables | undefined;
  #c2s: Uint8Array;
  #s2c: Uint8Array;
  #clientFrames = 0;
  #serverFrames = 0;
  #captured = 0;
  #errorCount = 0;
  #errors: SessionError[] | undefined;
  #errorsByCode: Partial<Record<SessionErrorCode, number>> | undefined;
  /** Collections whose LIMIT error was already reported (reported again after they are cleared). */
  #limitReported: Set<string> | undefined;

  constructor(record: SessionRecord, init: CaptureTapInit = {}) {
    this.record = record;
    this.#onError = init.onError;
    this.#logger = init.logger;
    this.#maxErrors = init.maxErrors ?? 16;
    this.#trackChunks = init.trackChunks ?? true;
    this.#c2s = PRE_C2S;
    this.#s2c = PRE_S2C;
    if (init.generation !== undefined) {
      this.#use(typeof init.generation === 'string' ? getGeneration(init.generation) : init.generation);
    }
  }

  /** The generation, once known (from the Connect, or given). */
  get generation(): Generation | undefined {
    return this.#generation;
  }

  /** The most recent capture errors (bounded), oldest first. */
  get errors(): readonly SessionError[] {
    return this.#errors === undefined ? [] : [...this.#errors];
  }

  get counters(): CaptureCounters {
    return {
      clientFrames: this.#clientFrames,
      serverFrames: this.#serverFrames,
      captured: this.#captured,
      errors: this.#errorCount,
      errorsByCode: { ...(this.#errorsByCode ?? {}) },
    };
  }

  /**
   * Whether the tap takes session data from packets of this id travelling in `direction` (`ToServer`:
   * from the client; `ToClient`: to it), in the generation the tap knows (before the Connect: in any
   * generation). A trace marks such frames as captured; the check costs one array lookup.
   */
  captures(direction: 'ToServer' | 'ToClient', id: number): boolean {
    const table = direction === 'ToServer' ? this.#c2s : this.#s2c;
    return id >= 0 && id < table.length && table[id] !== K.None;
  }

  /** A frame from the client (call it when the frame arrives, before any buffering, once per frame). */
  clientToServer(frame: Frame): TapResult {
    this.#clientFrames++;
    const table = this.#c2s;
    const id = frame.id;
    const kind = id < table.length ? table[id]! : K.None;
    if (kind === K.None) return undefined;
    return this.#client(kind, frame);
  }

  /**
   * A frame the client receives from a backend (`from`: its id or reference; default the record's
   * backend). Tap only what reaches the client: frames the proxy swallows (backend B's setup during a
   * migration, Pings the proxy answers itself) are not client state.
   */
  serverToClient(frame: Frame, from?: FrameSource): TapResult {
    this.#serverFrames++;
    const table = this.#s2c;
    const id = frame.id;
    const kind = id < table.length ? table[id]! : K.None;
    if (kind === K.None) return undefined;
    return this.#server(kind, frame, from);
  }

  #use(generation: Generation): void {
    this.#generation = generation;
    this.record.setGeneration(generation);
    const tables = tablesOf(generation);
    this.#tables = tables;
    this.#c2s = tables.c2s;
    this.#s2c = tables.s2c;
  }

  #client(kind: K, frame: Frame): TapResult {
    const generation = this.#generation;
    if (kind === K.Connect) return this.#connect(frame);
    if (generation === undefined || kind === K.NotConnected) {
      return this.#fail('ERR_SESSION_NOT_CONNECTED', frame.descriptor.name, undefined, `${frame.descriptor.name} arrived before the Connect`);
    }
    const record = this.record;
    try {
      this.#captured++;
      switch (kind) {
        case K.AuthToken: {
          const value = generation.packet('AuthToken').decodeFrame(frame);
          record.setSecret('accessToken', value.accessToken);
          record.setSecret('serverAuthorizationGrant', value.serverAuthorizationGrant);
          return undefined;
        }
        case K.RequestAssets: {
          const value = generation.packet('RequestAssets').decodeFrame(frame);
          const hashes = (value.assets ?? []).map((a) => a.hash);
          if (!record.assets.noteRequested(hashes)) return this.#limit('asset-hashes', frame);
          return undefined;
        }
        case K.ClientViewRadius:
          record.setViewRadius('client', generation.packet('ViewRadius').decodeFrame(frame).value);
          return undefined;
        case K.PlayerOptions: {
          generation.packet('PlayerOptions').decodeFrame(frame); // validates; the raw payload is kept
          if (!record.setPlayerOptions(frame.payload)) return this.#limit('player-options', frame);
          return undefined;
        }
        case K.UpdateLanguage:
          record.setLanguage(generation.packet('UpdateLanguage').decodeFrame(frame).language);
          return undefined;
        case K.Pong:
          return this.#pong(frame);
        default:
          return undefined;
      }
    } catch (error) {
      return this.#decodeFailed(frame, error);
    }
  }

  #server(kind: K, frame: Frame, from: FrameSource | undefined): TapResult {
    const generation = this.#generation;
    if (generation === undefined || kind === K.NotConnected) {
      return this.#fail('ERR_SESSION_NOT_CONNECTED', frame.descriptor.name, undefined, `${frame.descriptor.name} arrived before the Connect`);
    }
    const record = this.record;
    const tables = this.#tables!;
    try {
      this.#captured++;
      switch (kind) {
        case K.Ping: {
          const { id } = tables.ping.read(frame.payload);
          const backendId = from === undefined ? record.backend?.id : typeof from === 'string' ? from : from.id;
          if (backendId === undefined) {
            return this.#fail('ERR_SESSION_INVALID_ARGUMENT', 'Ping', undefined, 'a Ping was tapped without its backend and the record has none', 'no-backend');
          }
          if (record.pings.recordPing(id, backendId)) {
            return this.#fail('ERR_SESSION_PING_LEDGER_OVERFLOW', 'Ping', undefined, `more than ${record.pings.limit} Pings await Pongs: the oldest was forgotten`);
          }
          return undefined;
        }
        case K.SetChunk: {
          if (!this.#trackChunks) return undefined;
          const descriptor = frame.descriptor;
          const raw = frame.payload;
          const payload = descriptor.compressed && raw.length > 0 ? decompressPayload(raw, descriptor.maxSize) : raw;
          const { x, z } = tables.chunk.read(payload);
          if (!record.chunks.add(x, z)) return this.#limit('chunk-columns', frame);
          this.#limitReported?.delete('chunk-columns');
          return undefined;
        }
        case K.UnloadChunk: {
          const { chunkX, chunkZ } = tables.unload.read(frame.payload);
          record.chunks.delete(chunkX, chunkZ);
          return undefined;
        }
        case K.AddToServerPlayerList: {
          const value = generation.packet('AddToServerPlayerList').decodeFrame(frame);
          let full = false;
          // the codec decodes a UUID to its canonical lowercase text: a ClientUuid by construction
          for (const p of value.players ?? []) if (!record.playerList.add(p.uuid as ClientUuid)) full = true;
          return full ? this.#limit('player-list', frame) : undefined;
        }
        case K.RemoveFromServerPlayerList: {
          const value = generation.packet('RemoveFromServerPlayerList').decodeFrame(frame);
          for (const uuid of value.players ?? []) record.playerList.delete(uuid as ClientUuid);
          return undefined;
        }
        case K.JoinWorld:
          record.setJoinWorld(generation.packet('JoinWorld').decodeFrame(frame));
          return undefined;
        case K.SetClientId:
          record.setClientId(generation.packet('SetClientId').decodeFrame(frame).clientId);
          return undefined;
        case K.ServerViewRadius:
          record.setViewRadius('server', generation.packet('ViewRadius').decodeFrame(frame).value);
          return undefined;
        case K.AssetInitialize: {
          const value = generation.packet('AssetInitialize').decodeFrame(frame);
          if (!record.assets.noteReceived(value.asset.hash)) return this.#limit('asset-hashes', frame);
          return undefined;
        }
        case K.WorldSettings: {
          const set = internAssetSet(payloadDigest(frame.payload), () => {
            const value = generation.packet('WorldSettings').decodeFrame(frame);
            return { hashes: (value.requiredAssets ?? []).map((a) => a.hash), worldHeight: value.worldHeight };
          });
          record.assets.noteRequired(set);
          record.setWorldSettings({ worldHeight: set.worldHeight, requiredAssets: set.size });
          return undefined;
        }
        case K.ServerInfo: {
          const value = generation.packet('ServerInfo').decodeFrame(frame);
          record.setServerInfo(value);
          return undefined;
        }
        case K.AuthGrant: {
          const value = generation.packet('AuthGrant').decodeFrame(frame);
          record.setSecret('authorizationGrant', value.authorizationGrant);
          record.setSecret('serverIdentityToken', value.serverIdentityToken);
          return undefined;
        }
        case K.ServerAuthToken: {
          const value = generation.packet('ServerAuthToken').decodeFrame(frame);
          record.setSecret('serverAccessToken', value.serverAccessToken);
          return undefined;
        }
        default:
          return undefined;
      }
    } catch (error) {
      return this.#decodeFailed(frame, error);
    }
  }

  #connect(frame: Frame): TapResult {
    const record = this.record;
    if (record.connect !== undefined) {
      return this.#fail('ERR_SESSION_DUPLICATE_CONNECT', 'Connect', undefined, 'a second Connect was ignored; the first is kept');
    }
    let info: ConnectInfo;
    let identityToken: string | null;
    let referralData: Uint8Array | null;
    let generation: Generation;
    const given = this.#generation;
    try {
      generation = detectGeneration(frame, given === undefined ? {} : { candidates: [given] });
    } catch (error) {
      const other = given !== undefined && isProtocolError(error, 'ERR_PROTOCOL_UNKNOWN_GENERATION') ? knownGenerationOf(frame) : undefined;
      if (other !== undefined) {
        return this.#fail('ERR_SESSION_CONNECT_INVALID', 'Connect', undefined, `the Connect names generation ${other.id}, the tap was given ${given!.id}`, 'generation-mismatch');
      }
      const code = isProtocolError(error) ? error.code : 'unexpected-error';
      return this.#fail('ERR_SESSION_CONNECT_INVALID', 'Connect', error, `the Connect could not be read (${code})`, code);
    }
    try {
      const value = generation.packet('Connect').decodeFrame(frame);
      identityToken = value.identityToken;
      referralData = value.referralData;
      const v1 = 'protocolHash' in value ? value : undefined;
      const v2 = 'protocolCrc' in value ? value : undefined;
      info = {
        generation: generation.id,
        protocolHash: v1?.protocolHash ?? null,
        protocolCrc: v2?.protocolCrc ?? null,
        protocolBuildNumber: v2?.protocolBuildNumber ?? null,
        clientVersion: v2?.clientVersion ?? null,
        clientType: value.clientType,
        clientUuid: parseClientUuid(value.uuid),
        username: value.username,
        language: value.language,
        referralSource: value.referralSource === null ? null : { host: value.referralSource.host, port: portFromWire(value.referralSource.port) },
      };
    } catch (error) {
      const code = isHandoffError(error) ? error.code : 'unexpected-error';
      return this.#fail('ERR_SESSION_CONNECT_INVALID', 'Connect', error, `the Connect could not be read (${code})`, code);
    }
    this.#captured++;
    this.#use(generation);
    record.setConnect(info);
    record.setSecret('identityToken', identityToken);
    record.setSecret('referralData', referralData);
    return undefined;
  }

  #pong(frame: Frame): TapResult {
    const { id, type } = this.#tables!.pong.read(frame.payload);
    const route = this.record.pings.answer(id, type);
    if (route.status === 'unmatched') {
      this.#fail('ERR_SESSION_PONG_UNMATCHED', 'Pong', undefined, `a ${route.type} Pong answers no known Ping: drop it`);
    } else if (route.status === 'out-of-order') {
      this.#fail('ERR_SESSION_PONG_OUT_OF_ORDER', 'Pong', undefined, `a ${route.type} Pong skipped ${route.skipped} earlier Ping(s) of its type`);
    }
    return route;
  }

  #limit(what: string, frame: Frame): TapResult {
    if (this.#limitReported?.has(what) === true) {
      this.#count('ERR_SESSION_LIMIT');
      return undefined;
    }
    (this.#limitReported ??= new Set()).add(what);
    return this.#fail('ERR_SESSION_LIMIT', frame.descriptor.name, undefined, `the record's ${what} bound is reached: the record is incomplete`, what);
  }

  #decodeFailed(frame: Frame, error: unknown): TapResult {
    const code = isProtocolError(error) ? error.code : 'unexpected-error';
    return this.#fail('ERR_SESSION_DECODE', frame.descriptor.name, error, `${frame.descriptor.name} could not be decoded (${code}): nothing captured from it`, code);
  }

  #count(code: SessionErrorCode): void {
    this.#errorCount++;
    const byCode = (this.#errorsByCode ??= {});
    byCode[code] = (byCode[code] ?? 0) + 1;
  }

  #fail(code: SessionErrorCode, packet: string, cause: unknown, message: string, reason?: string): CaptureFailure {
    const first = this.#errorsByCode?.[code] === undefined;
    this.#count(code);
    const error = new SessionError(code, message, { cause, packet, reason });
    if (this.#maxErrors > 0) {
      const errors = (this.#errors ??= []);
      errors.push(error);
      if (errors.length > this.#maxErrors) errors.shift();
    }
    const line = { session: this.record.id, code, packet, ...(reason === undefined ? {} : { reason }) };
    if (first) this.#logger?.warn?.(line, 'session capture failed');
    else this.#logger?.debug?.(line, 'session capture failed');
    try {
      this.#onError?.(error);
    } catch {
      // an observer must not break the forwarding loop
    }
    return { kind: 'error', error };
  }
}

/** The known generation a Connect names, if any (to tell a mismatch from garbage). */
function knownGenerationOf(frame: Frame): Generation | undefined {
  try {
    return detectGeneration(frame);
  } catch {
    return undefined;
  }
}

/** Creates the capture tap of a record. */
export function createCaptureTap(record: SessionRecord, init: CaptureTapInit = {}): CaptureTap {
  return new CaptureTap(record, init);
}
