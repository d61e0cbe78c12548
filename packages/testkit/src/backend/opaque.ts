/**
 * Frames of the packets the simulated backend sends that the codec does not model (it passes them
 * through opaque). Each one is built from the generation's registry (its id, channel, fixed size and
 * compression) and a payload laid out as the server's fixed block, every field little-endian (see
 * docs/testkit.md, "What the backend sends"). All of them are fixed-size packets with no variable field,
 * except UpdateFeatures (a null byte and an empty map). None is compressed.
 */
import { FRAME_HEADER_SIZE, writeFrameHeader, type Generation, type PacketDescriptor } from '@handoff/protocol';

/** A frame and where it goes. */
export interface OutFrame {
  readonly descriptor: PacketDescriptor;
  readonly bytes: Uint8Array;
}

function descriptorOf(generation: Generation, name: string): PacketDescriptor {
  const descriptor = generation.registry.byName(name);
  if (!descriptor) throw new Error(`${generation.id} has no packet ${name}`);
  return descriptor;
}

/** A frame of an opaque packet: the registry's id, `payload` as given (must not be a compressed packet). */
export function opaqueFrame(generation: Generation, name: string, payload: Uint8Array): OutFrame {
  const descriptor = descriptorOf(generation, name);
  if (descriptor.compressed) throw new Error(`${name} is compressed: encode it with the codec`);
  if (payload.length > descriptor.maxSize) throw new Error(`${name} payload of ${payload.length} bytes is over its maximum ${descriptor.maxSize}`);
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(bytes, 0, descriptor.id, payload.length);
  bytes.set(payload, FRAME_HEADER_SIZE);
  return { descriptor, bytes };
}

/** A payload of `size` bytes filled by `fill` through a little-endian DataView. */
function fixed(size: number, fill: (view: DataView) => void): Uint8Array {
  const payload = new Uint8Array(size);
  fill(new DataView(payload.buffer));
  return payload;
}

/** `SetEntitySeed(entitySeed: i32)`. */
export const setEntitySeed = (g: Generation, seed: number) => opaqueFrame(g, 'SetEntitySeed', fixed(4, (v) => v.setInt32(0, seed, true)));
/** `SetTimeDilation(timeDilation: f32)`. */
export const setTimeDilation = (g: Generation, dilation: number) => opaqueFrame(g, 'SetTimeDilation', fixed(4, (v) => v.setFloat32(0, dilation, true)));
/** `SetUpdateRate(updatesPerSecond: i32)`. */
export const setUpdateRate = (g: Generation, tps: number) => opaqueFrame(g, 'SetUpdateRate', fixed(4, (v) => v.setInt32(0, tps, true)));
/** `UpdateFeatures(features: map)`: null bit set, an empty map (VarInt 0). */
export const updateFeatures = (g: Generation) => opaqueFrame(g, 'UpdateFeatures', Uint8Array.of(0x01, 0x00));
/** `UpdateSunSettings`: two f32, both 0. */
export const updateSunSettings = (g: Generation) => opaqueFrame(g, 'UpdateSunSettings', new Uint8Array(8));
/** `UpdatePostFxSettings`: five f32, all 0. */
export const updatePostFxSettings = (g: Generation) => opaqueFrame(g, 'UpdatePostFxSettings', new Uint8Array(20));
/** `SetGameMode(gameMode: u8)`: 0 Adventure, 1 Creative. */
export const setGameMode = (g: Generation, mode: 0 | 1) => opaqueFrame(g, 'SetGameMode', Uint8Array.of(mode));
/** `UpdateTimeSettings(daytimeDurationSeconds: i32, nighttimeDurationSeconds: i32, totalMoonPhases: u8, timePaused: bool)`. */
export const updateTimeSettings = (g: Generation) =>
  opaqueFrame(
    g,
    'UpdateTimeSettings',
    fixed(10, (v) => {
      v.setInt32(0, 1200, true);
      v.setInt32(4, 600, true);
      v.setUint8(8, 8);
      v.setUint8(9, 0);
    }),
  );
/** `UpdateTime(gameTime: InstantData?)`: null bit set, then int64 seconds and int32 nanos. */
export const updateTime = (g: Generation, epochMs: number) =>
  opaqueFrame(
    g,
    'UpdateTime',
    fixed(13, (v) => {
      v.setUint8(0, 1);
      v.setBigInt64(1, BigInt(Math.floor(epochMs / 1000)), true);
      v.setInt32(9, (epochMs % 1000) * 1_000_000, true);
    }),
  );
/** `RequestCommonAssetsRebuild`: empty. */
export const requestCommonAssetsRebuild = (g: Generation) => opaqueFrame(g, 'RequestCommonAssetsRebuild', new Uint8Array(0));
