/**
 * Packet and struct layouts, declared once as data (docs/protocol.md, "Struct layout" and "Modelled packets").
 *
 * Field names are the server's. Each packet is a struct; decode, encode, size, the
 * JSON mapping and the worst-case size all follow from these declarations. Layouts
 * that differ between generations have one declaration per shape (`ConnectV1` for
 * the hash-identified G1 layout, `ConnectV2` for G2 and later); `generations.json`
 * says which one each generation uses.
 */
import type { Codec, Infer, InferInput } from './schema/index.js';
import { t } from './schema/index.js';

const { nullable } = t;

/** The server's usual caps: 4,096,000 elements per array/map, bytes per string or blob. */
const MAX_COUNT = 4096000;
const str = t.varString(MAX_COUNT);

// ---------------------------------------------------------------- enums

export const ClientType = t.enum('ClientType', ['Game', 'Editor']);
export const DisconnectType = t.enum('DisconnectType', ['Disconnect', 'Crash']);
export const PongType = t.enum('PongType', ['Raw', 'Direct', 'Tick']);
/** Tri-state bool of FormattedMessage styles. */
export const MaybeBool = t.enum('MaybeBool', ['Null', 'False', 'True']);

// ---------------------------------------------------------------- shared structs

/** int64 LE seconds + int32 LE nanos (`protocol/InstantData.java`). */
export const InstantData = t.struct('InstantData', { seconds: t.int64, nanos: t.int32 });

/**
 * Port as int16 LE (the server casts `(short)port`, so ports over 32767 travel as
 * negative numbers: see {@link portFromWire}) and host as VarInt + UTF-8 ≤ 256 bytes.
 */
export const HostAddress = t.struct('HostAddress', { port: t.int16, host: t.varString(256) });

/** 64-character ASCII hash, then the asset's name. */
export const Asset = t.struct('Asset', { hash: t.fixedString(64), name: t.varString(512) });

/** The player's cosmetic choices: 20 optional strings, 3 null bytes, variable block at 83. */
export const PlayerSkin = t.struct('PlayerSkin', {
  bodyCharacteristic: nullable(str),
  underwear: nullable(str),
  face: nullable(str),
  eyes: nullable(str),
  ears: nullable(str),
  mouth: nullable(str),
  facialHair: nullable(str),
  haircut: nullable(str),
  eyebrows: nullable(str),
  pants: nullable(str),
  overpants: nullable(str),
  undertop: nullable(str),
  overtop: nullable(str),
  shoes: nullable(str),
  headAccessory: nullable(str),
  faceAccessory: nullable(str),
  earAccessory: nullable(str),
  skinFeature: nullable(str),
  gloves: nullable(str),
  cape: nullable(str),
});

/** A polymorphic message parameter: VarInt type id 0 String, 1 Bool, 2 Double, 3 Int, 4 Long. */
export const ParamValue = t.union('ParamValue', {
  String: { typeId: 0, codec: t.struct('StringParamValue', { value: nullable(str) }) },
  Bool: { typeId: 1, codec: t.struct('BoolParamValue', { value: t.bool }) },
  Double: { typeId: 2, codec: t.struct('DoubleParamValue', { value: t.float64 }) },
  Int: { typeId: 3, codec: t.struct('IntParamValue', { value: t.int32 }) },
  Long: { typeId: 4, codec: t.struct('LongParamValue', { value: t.int64 }) },
});
export type ParamValue = Infer<typeof ParamValue>;

/** A rich text message (recursive: children and message parameters are messages too). */
export interface FormattedMessage {
  rawText: string | null;
  messageId: string | null;
  children: FormattedMessage[] | null;
  params: Map<string, ParamValue> | null;
  messageParams: Map<string, FormattedMessage> | null;
  color: string | null;
  bold: Infer<typeof MaybeBool>;
  italic: Infer<typeof MaybeBool>;
  monospace: Infer<typeof MaybeBool>;
  underlined: Infer<typeof MaybeBool>;
  link: string | null;
  markupEnabled: boolean;
}

export interface FormattedMessageInput {
  rawText?: string | null;
  messageId?: string | null;
  children?: FormattedMessageInput[] | null;
  params?: Map<string, InferInput<typeof ParamValue>> | null;
  messageParams?: Map<string, FormattedMessageInput> | null;
  color?: string | null;
  bold: Infer<typeof MaybeBool>;
  italic: Infer<typeof MaybeBool>;
  monospace: Infer<typeof MaybeBool>;
  underlined: Infer<typeof MaybeBool>;
  link?: string | null;
  markupEnabled: boolean;
}

const formattedMessageRef: Codec<FormattedMessage, FormattedMessageInput> = t.lazy(
  'FormattedMessage',
  () => FormattedMessage,
  34,
);

/**
 * FormattedMessage as G1–G3 lay it out: one null byte, four MaybeBool styles and
 * `markupEnabled` in the fixed block (6 bytes), seven slots, variable block at 34.
 */
export const FormattedMessage: Codec<FormattedMessage, FormattedMessageInput> = t.struct('FormattedMessage', {
  rawText: nullable(str),
  messageId: nullable(str),
  children: nullable(t.array(formattedMessageRef, MAX_COUNT)),
  params: nullable(t.map(str, ParamValue, MAX_COUNT)),
  messageParams: nullable(t.map(str, formattedMessageRef, MAX_COUNT)),
  color: nullable(str),
  bold: MaybeBool,
  italic: MaybeBool,
  monospace: MaybeBool,
  underlined: MaybeBool,
  link: nullable(str),
  markupEnabled: t.bool,
}) as unknown as Codec<FormattedMessage, FormattedMessageInput>;

/** One row of the server-wide player list. */
export const ServerPlayerListPlayer = t.struct('ServerPlayerListPlayer', {
  uuid: t.uuid,
  username: nullable(str),
  worldUuid: nullable(t.uuid),
  ping: t.int32,
});

// ---------------------------------------------------------------- connection and auth

/** G1 Connect: identified by the 64-character protocol hash. */
export const ConnectV1 = t.struct('Connect', {
  protocolHash: t.fixedString(64),
  clientType: ClientType,
  uuid: t.uuid,
  language: nullable(t.varString(128, 'ascii')),
  identityToken: nullable(t.varString(8192)),
  username: t.varString(16, 'ascii'),
  referralData: nullable(t.bytes(4096)),
  referralSource: nullable(HostAddress),
});

/** G2/G3 Connect: identified by the protocol CRC and build number. */
export const ConnectV2 = t.struct('Connect', {
  protocolCrc: t.int32,
  protocolBuildNumber: t.int32,
  clientVersion: t.fixedString(20),
  clientType: ClientType,
  uuid: t.uuid,
  username: t.varString(16, 'ascii'),
  identityToken: nullable(t.varString(8192)),
  language: t.varString(16, 'ascii'),
  referralData: nullable(t.bytes(4096)),
  referralSource: nullable(HostAddress),
});

export const Disconnect = t.struct('Disconnect', { reason: nullable(str), type: DisconnectType });

export const Ping = t.struct('Ping', {
  id: t.int32,
  time: nullable(InstantData),
  lastPingValueRaw: t.int32,
  lastPingValueDirect: t.int32,
  lastPingValueTick: t.int32,
});

export const Pong = t.struct('Pong', {
  id: t.int32,
  time: nullable(InstantData),
  type: PongType,
  packetQueueSize: t.int16,
});

/** G1/G2 only (removed from the G3 registry). */
export const Status = t.struct('Status', {
  playerCount: t.int32,
  maxPlayers: t.int32,
  name: nullable(t.varString(128)),
  motd: nullable(t.varString(512)),
});

export const AuthGrant = t.struct('AuthGrant', {
  authorizationGrant: nullable(t.varString(4096)),
  serverIdentityToken: nullable(t.varString(8192)),
});

export const AuthToken = t.struct('AuthToken', {
  accessToken: nullable(t.varString(8192)),
  serverAuthorizationGrant: nullable(t.varString(4096)),
});

export const ServerAuthToken = t.struct('ServerAuthToken', {
  serverAccessToken: nullable(t.varString(8192)),
  passwordChallenge: nullable(t.bytes(64)),
});

export const ConnectAccept = t.struct('ConnectAccept', { passwordChallenge: nullable(t.bytes(64)) });
export const PasswordResponse = t.struct('PasswordResponse', { hash: nullable(t.bytes(64)) });
export const PasswordAccepted = t.struct('PasswordAccepted', {});
export const PasswordRejected = t.struct('PasswordRejected', {
  attemptsRemaining: t.int32,
  newChallenge: nullable(t.bytes(64)),
});

export const ClientReferral = t.struct('ClientReferral', {
  hostTo: nullable(HostAddress),
  data: nullable(t.bytes(4096)),
});

// ---------------------------------------------------------------- setup

export const WorldSettings = t.struct('WorldSettings', {
  worldHeight: t.int32,
  requiredAssets: nullable(t.array(Asset, MAX_COUNT)),
});

/** G1/G2: the status is a plain string. */
export const WorldLoadProgressV1 = t.struct('WorldLoadProgress', {
  status: nullable(str),
  percentComplete: t.int32,
  percentCompleteSubitem: t.int32,
});

/** G3: the status is a FormattedMessage. */
export const WorldLoadProgressV3 = t.struct('WorldLoadProgress', {
  status: nullable(FormattedMessage),
  percentComplete: t.int32,
  percentCompleteSubitem: t.int32,
});

export const WorldLoadFinished = t.struct('WorldLoadFinished', {});
export const RequestAssets = t.struct('RequestAssets', { assets: nullable(t.array(Asset, MAX_COUNT)) });
export const AssetInitialize = t.struct('AssetInitialize', { asset: Asset, size: t.int32 });
export const AssetPart = t.struct('AssetPart', { part: nullable(t.bytes(MAX_COUNT)) });
export const AssetFinalize = t.struct('AssetFinalize', {});
/** In blocks, both directions. */
export const ViewRadius = t.struct('ViewRadius', { value: t.int32 });
export const PlayerOptions = t.struct('PlayerOptions', { skin: nullable(PlayerSkin) });
export const ServerTags = t.struct('ServerTags', { tags: nullable(t.map(str, t.int32, MAX_COUNT)) });
export const ServerInfo = t.struct('ServerInfo', {
  serverName: nullable(str),
  motd: nullable(str),
  maxPlayers: t.int32,
});

// ---------------------------------------------------------------- world entry and clean-up

export const SetClientId = t.struct('SetClientId', { clientId: t.int32 });
export const JoinWorld = t.struct('JoinWorld', { clearWorld: t.bool, fadeInOut: t.bool, worldUuid: t.uuid });
export const ClientReady = t.struct('ClientReady', { readyForChunks: t.bool, readyForGameplay: t.bool });
export const UnloadChunk = t.struct('UnloadChunk', { chunkX: t.int32, chunkZ: t.int32 });
/** Chunk section: coordinates in the fixed block, light and block data as opaque byte arrays. */
export const SetChunk = t.struct('SetChunk', {
  x: t.int32,
  y: t.int32,
  z: t.int32,
  localLight: nullable(t.bytes(MAX_COUNT)),
  globalLight: nullable(t.bytes(MAX_COUNT)),
  data: nullable(t.bytes(MAX_COUNT)),
});
export const ClearWorldMap = t.struct('ClearWorldMap', {});
export const AddToServerPlayerList = t.struct('AddToServerPlayerList', {
  players: nullable(t.array(ServerPlayerListPlayer, MAX_COUNT)),
});
export const RemoveFromServerPlayerList = t.struct('RemoveFromServerPlayerList', {
  players: nullable(t.array(t.uuid, MAX_COUNT)),
});
export const ResetUserInterfaceState = t.struct('ResetUserInterfaceState', {});
export const UpdateLanguage = t.struct('UpdateLanguage', { language: nullable(str) });

/**
 * Every layout, by the name `generations.json` refers to. A packet whose layout never
 * changed uses its own name; changed layouts carry a version suffix.
 */
export const layouts = {
  ConnectV1,
  ConnectV2,
  Disconnect,
  Ping,
  Pong,
  Status,
  AuthGrant,
  AuthToken,
  ServerAuthToken,
  ConnectAccept,
  PasswordResponse,
  PasswordAccepted,
  PasswordRejected,
  ClientReferral,
  WorldSettings,
  WorldLoadProgressV1,
  WorldLoadProgressV3,
  WorldLoadFinished,
  RequestAssets,
  AssetInitialize,
  AssetPart,
  AssetFinalize,
  ViewRadius,
  PlayerOptions,
  ServerTags,
  ServerInfo,
  SetClientId,
  JoinWorld,
  ClientReady,
  UnloadChunk,
  SetChunk,
  ClearWorldMap,
  AddToServerPlayerList,
  RemoveFromServerPlayerList,
  ResetUserInterfaceState,
  UpdateLanguage,
} as const;

export type LayoutName = keyof typeof layouts;

/** The layout (or layouts, where generations differ) of each modelled packet, by packet name. */
export interface PacketLayouts {
  Connect: typeof ConnectV1 | typeof ConnectV2;
  Disconnect: typeof Disconnect;
  Ping: typeof Ping;
  Pong: typeof Pong;
  Status: typeof Status;
  AuthGrant: typeof AuthGrant;
  AuthToken: typeof AuthToken;
  ServerAuthToken: typeof ServerAuthToken;
  ConnectAccept: typeof ConnectAccept;
  PasswordResponse: typeof PasswordResponse;
  PasswordAccepted: typeof PasswordAccepted;
  PasswordRejected: typeof PasswordRejected;
  ClientReferral: typeof ClientReferral;
  WorldSettings: typeof WorldSettings;
  WorldLoadProgress: typeof WorldLoadProgressV1 | typeof WorldLoadProgressV3;
  WorldLoadFinished: typeof WorldLoadFinished;
  RequestAssets: typeof RequestAssets;
  AssetInitialize: typeof AssetInitialize;
  AssetPart: typeof AssetPart;
  AssetFinalize: typeof AssetFinalize;
  ViewRadius: typeof ViewRadius;
  PlayerOptions: typeof PlayerOptions;
  ServerTags: typeof ServerTags;
  ServerInfo: typeof ServerInfo;
  SetClientId: typeof SetClientId;
  JoinWorld: typeof JoinWorld;
  ClientReady: typeof ClientReady;
  UnloadChunk: typeof UnloadChunk;
  SetChunk: typeof SetChunk;
  ClearWorldMap: typeof ClearWorldMap;
  AddToServerPlayerList: typeof AddToServerPlayerList;
  RemoveFromServerPlayerList: typeof RemoveFromServerPlayerList;
  ResetUserInterfaceState: typeof ResetUserInterfaceState;
  UpdateLanguage: typeof UpdateLanguage;
}

/** Decoded value of each modelled packet, by packet name (a union where generations differ). */
export type PacketValues = { [N in keyof PacketLayouts]: Infer<PacketLayouts[N]> };

/** What the encoder of each modelled packet accepts (nullable fields may be left out). */
export type PacketInputs = { [N in keyof PacketLayouts]: InferInput<PacketLayouts[N]> };

export type PacketName = keyof PacketValues;

/** A HostAddress port as the server wrote it (int16) → the TCP/UDP port it meant (0–65535). */
export function portFromWire(port: number): number {
  return port & 0xffff;
}

/** A port (0–65535) → the int16 the server would write for it. */
export function portToWire(port: number): number {
  return (port << 16) >> 16;
}
