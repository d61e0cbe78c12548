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
export { FRAME_HEADER_SIZE, MAX_PACKET_SIZE, type Frame } from './frame.js';
export { ProtocolError, errorCodes, isProtocolError, type ProtocolErrorCode, type ProtocolErrorOptions } from './errors.js';
export { VARINT_MAX_BYTES, decodeVarInt, encodeVarInt, readVarIntAt, varIntSize, writeVarIntAt } from './varint.js';
export { fromHex, toHex, uuidFromBytes, uuidToBytes, isUuid } from './bytes.js';
export { floatToHalf, halfToFloat } from './half.js';
export * from './schema/index.js';
export * from './packets.js';
export { Registry, type RegistryTable, type RegistryTableRow } from './registry.js';
export {
  Generation,
  detectGeneration,
  generations,
  getGeneration,
  type DecodeOptions,
  type EncodeOptions,
  type GenerationIdentity,
  type PacketCodec,
} from './generation.js';
export {
  FrameSplitter,
  WireFrame,
  checkFrameHeader,
  copyFrame,
  createFrameStream,
  readFrame,
  writeFrameHeader,
  type FrameCheckOptions,
} from './splitter.js';
export { decodeFrame, encodeFrame, frameToJson, type DecodedFrame } from './frames.js';
export { DEFAULT_ZSTD_LEVEL, compressPayload, decompressPayload, zstdContentSize, zstdReady } from './zstd.js';
export { checkVector, checkVectors, jsonMatches, type PacketVector, type VarIntVector, type Vector, type VectorResult } from './vectors.js';
/** The public byte-exact vectors (`data/vectors.public.json`), checked against the official classes of each build. */
export { default as publicVectors } from '../data/vectors.public.json';
