/**
 * `@handoff/protocol`: the Hytale packet codec for every protocol generation.
 *
 * @example
 * ```ts
 * import { FrameSplitter, decodeFrame, getGeneration, zstdReady } from '@handoff/protocol';
 *
 * await zstdReady; // once, before the first compressed packet
 * const g3 = getGeneration('G3');
 * const splitter = new FrameSplitter(g3.registry, { direction: 'ToClient' });
 * for (const frame of splitter.push(chunkFromTheServer)) {
 *   if (frame.descriptor.name === 'JoinWorld') {
 *     const join = g3.packet('JoinWorld').decodeFrame(frame);
 *     console.log(join.worldUuid, join.clearWorld);
 *   }
 * }
 * const bytes = g3.packet('JoinWorld').encodeFrame({ clearWorld: true, fadeInOut: true, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' });
 * ```
 */
export type { Channel, PacketDescriptor, PacketDirection } from './descriptor.js';
export { FRAME_HEADER_SIZE, MAX_PACKET_SIZE, frameFromPayload, writeFrameHeader, type Frame } from './frame.js';
export { ProtocolError, isProtocolError, protocolErrorCodes, type ProtocolErrorCode, type ProtocolErrorOptions } from './errors.js';
export { VARINT_MAX_BYTES, decodeVarInt, encodeVarInt, varIntSize } from './varint.js';
export { fromHex, toHex } from './bytes.js';
export { floatToHalf, halfToFloat } from './half.js';
export {
  MAX_NESTING,
  ReadContext,
  WriteContext,
  check,
  decodeWith,
  encodeWith,
  t,
  type AnyCodec,
  type Codec,
  type CodecSpec,
  type FieldLayout,
  type FieldSpec,
  type Infer,
  type InferInput,
  type Json,
  type NullableField,
  type Shape,
  type StructCodec,
  type StructInput,
  type StructLayout,
  type StructValue,
  type Variant,
  type VariantSpec,
} from './schema/index.js';
// the packet declarations (names are the server's)
export {
  AddToServerPlayerList,
  Asset,
  AssetFinalize,
  AssetInitialize,
  AssetPart,
  AuthGrant,
  AuthToken,
  ClearWorldMap,
  ClientReady,
  ClientReferral,
  ClientType,
  ConnectAccept,
  ConnectV1,
  ConnectV2,
  Disconnect,
  DisconnectType,
  FormattedMessage,
  HostAddress,
  InstantData,
  JoinWorld,
  MaybeBool,
  ParamValue,
  PasswordAccepted,
  PasswordRejected,
  PasswordResponse,
  Ping,
  PlayerOptions,
  PlayerSkin,
  Pong,
  PongType,
  RemoveFromServerPlayerList,
  RequestAssets,
  ResetUserInterfaceState,
  ServerAuthToken,
  ServerInfo,
  ServerPlayerListPlayer,
  ServerTags,
  SetChunk,
  SetClientId,
  Status,
  UnloadChunk,
  UpdateLanguage,
  ViewRadius,
  WorldLoadFinished,
  WorldLoadProgressV1,
  WorldLoadProgressV3,
  WorldSettings,
  layouts,
  portFromWire,
  portToWire,
  type FormattedMessageInput,
  type LayoutName,
  type PacketInputs,
  type PacketLayouts,
  type PacketName,
  type PacketValues,
} from './packets.js';
export { Registry, type RegistryTable, type RegistryTableRow } from './registry.js';
export {
  Generation,
  detectGeneration,
  generations,
  getGeneration,
  type DecodeOptions,
  type DetectGenerationOptions,
  type EncodeOptions,
  type GenerationIdentity,
  type GenerationInit,
  type PacketCodec,
} from './generation.js';
export type { FieldName, FixedFieldReader } from './fixed-fields.js';
export { FrameSplitter, WireFrame, copyFrame, createFrameStream, readFrame, type FrameCheckOptions } from './splitter.js';
export { decodeFrame, encodeFrame, frameToJson, type DecodedFrame } from './frames.js';
export { DEFAULT_ZSTD_LEVEL, compressPayload, decompressPayload, zstdContentSize, zstdReady } from './zstd.js';
export { checkVector, checkVectors, type PacketVector, type VarIntVector, type Vector, type VectorResult } from './vectors.js';
/** The public byte-exact vectors (`data/vectors.public.json`), checked against the official classes of each build. */
export { default as publicVectors } from '../data/vectors.public.json';
