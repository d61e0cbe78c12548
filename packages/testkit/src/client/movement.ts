/**
 * The strict client's movement-like packets. They travel as `ClientMovement` (a gameplay packet every
 * server accepts in play, 153 bytes of fixed block, not modelled by the codec), with a payload the
 * testkit declares with the codec's schema: a sequence number, the tick, a position and a look
 * direction, padded to the packet's 153 bytes. The sequence number makes every packet unique, so the
 * backends' logs tell exactly which ones arrived, where, and in what order.
 */
import { FRAME_HEADER_SIZE, encodeWith, t, writeFrameHeader, type Generation, type Infer } from '@handoff/protocol';
import { TestkitError } from '../errors.js';

/** The name of the registry packet the probes travel as. */
export const MOVEMENT_PACKET = 'ClientMovement';

/** The probe's layout: 44 bytes of fields, then zero padding to ClientMovement's 153 bytes. */
export const MovementProbe = t.struct('MovementProbe', {
  seq: t.int32,
  tick: t.int64,
  x: t.float64,
  y: t.float64,
  z: t.float64,
  yaw: t.float32,
  pitch: t.float32,
  padding: t.fixedString(109),
});

export type MovementProbe = Infer<typeof MovementProbe>;

/** The whole frame of probe number `seq` (position walks a circle, so consecutive probes differ). */
export function movementFrame(generation: Generation, seq: number): Uint8Array {
  const descriptor = generation.registry.byName(MOVEMENT_PACKET);
  if (!descriptor) throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', `${generation.id} has no ${MOVEMENT_PACKET} packet`);
  const angle = (seq % 360) * (Math.PI / 180);
  const payload = encodeWith(MovementProbe, {
    seq,
    tick: BigInt(seq),
    x: Math.cos(angle) * 8,
    y: 64,
    z: Math.sin(angle) * 8,
    yaw: angle,
    pitch: 0,
    padding: '',
  });
  if (payload.length > descriptor.maxSize) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', `the movement probe (${payload.length} bytes) is over ${MOVEMENT_PACKET}'s ${descriptor.maxSize}`);
  }
  const frame = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(frame, 0, descriptor.id, payload.length);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}
