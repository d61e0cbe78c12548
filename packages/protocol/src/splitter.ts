/**
 * The streaming frame splitter: bytes in, frames out, as the server's `PacketDecoder`
 * cuts them (docs/protocol.md, "Frames on the wire").
 *
 * Chunks may be cut anywhere. A frame that lies inside one chunk is handed out as a
 * view of that chunk (no copy); only a frame that spans chunks is assembled, into a
 * buffer of exactly its size. The header is checked before any of the body is
 * buffered: a negative length, an unknown id (or one not allowed in this direction or
 * on this channel), or a length over the packet's maxSize is an error at once.
 */
import type { FrameLike } from '@handoff/types';
import type { Channel, PacketDescriptor } from './descriptor.js';
import { ProtocolError, isProtocolError } from './errors.js';
import { FRAME_HEADER_SIZE, MAX_PACKET_SIZE, type Frame } from './frame.js';
import { Registry } from './registry.js';

/** A frame as the splitter hands it out. */
export class WireFrame implements Frame {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly descriptor: PacketDescriptor;

  constructor(bytes: Uint8Array, descriptor: PacketDescriptor) {
    this.bytes = bytes;
    this.descriptor = descriptor;
    this.id = descriptor.id;
  }

  get payload(): Uint8Array {
    return this.bytes.subarray(FRAME_HEADER_SIZE);
  }

  get name(): string {
    return this.descriptor.name;
  }
}

/**
 * Copies a frame out of the buffer it arrived in, so it may outlive that buffer (and so a kept
 * frame holds only its own bytes, never the whole chunk it was cut from). The copy keeps the
 * frame's prototype (a {@link WireFrame} stays one, its `payload` getter reading the new bytes) and
 * its other fields, and re-points an own `payload` property, if the frame has one.
 */
export function copyFrame<F extends FrameLike>(frame: F): F {
  const bytes = frame.bytes.slice();
  if (frame instanceof WireFrame) return new WireFrame(bytes, frame.descriptor) as unknown as F;
  const copy = Object.create(Object.getPrototypeOf(frame) as object) as Record<string, unknown>;
  Object.assign(copy, frame);
  copy['bytes'] = bytes;
  if (Object.prototype.hasOwnProperty.call(frame, 'payload')) {
    const payload = (frame as unknown as { payload: Uint8Array }).payload;
    copy['payload'] = bytes.subarray(bytes.byteLength - payload.byteLength);
  }
  return copy as unknown as F;
}

export interface FrameCheckOptions {
  /** Only accept packets that may travel this way (G3 registries name a direction; older ones allow both). */
  readonly direction?: 'ToServer' | 'ToClient';
  /** The stream's channel: packets of another channel are refused (G3). */
  readonly channel?: Channel;
}

/** Validates a frame header against a registry; returns the packet's descriptor. */
export function checkFrameHeader(registry: Registry, length: number, id: number, options: FrameCheckOptions = {}): PacketDescriptor {
  if (length < 0) throw new ProtocolError('ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH', `frame declares length ${length}`);
  if (length > MAX_PACKET_SIZE) throw new ProtocolError('ERR_PROTOCOL_FRAME_TOO_LARGE', `frame declares ${length} bytes, over the protocol maximum`);
  const descriptor = registry.byId(id);
  if (!descriptor) throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_PACKET', `unknown packet id ${id}`);
  if (options.direction && !Registry.allows(descriptor, options.direction)) {
    throw new ProtocolError('ERR_PROTOCOL_UNKNOWN_PACKET', `${descriptor.name} (${id}) does not travel ${options.direction}`, { packet: descriptor.name });
  }
  if (length > descriptor.maxSize) {
    throw new ProtocolError('ERR_PROTOCOL_FRAME_TOO_LARGE', `frame declares ${length} bytes, over ${descriptor.name}'s maximum ${descriptor.maxSize}`, {
      packet: descriptor.name,
    });
  }
  if (options.channel && descriptor.channel !== options.channel) {
    throw new ProtocolError('ERR_PROTOCOL_WRONG_CHANNEL', `${descriptor.name} travels on ${descriptor.channel}, not ${options.channel}`, {
      packet: descriptor.name,
    });
  }
  return descriptor;
}

/**
 * Splits one exact frame (header + payload, nothing more) without copying.
 * `ERR_PROTOCOL_TRUNCATED` if the bytes stop short; trailing bytes are an error too.
 */
export function readFrame(registry: Registry, bytes: Uint8Array, options: FrameCheckOptions = {}): WireFrame {
  if (bytes.length < FRAME_HEADER_SIZE) throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame header needs 8 bytes, ${bytes.length} available`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getInt32(0, true);
  const descriptor = checkFrameHeader(registry, length, view.getInt32(4, true), options);
  const total = FRAME_HEADER_SIZE + length;
  if (bytes.length < total) {
    throw new ProtocolError('ERR_PROTOCOL_TRUNCATED', `frame declares ${length} payload bytes, ${bytes.length - FRAME_HEADER_SIZE} available`, {
      packet: descriptor.name,
    });
  }
  if (bytes.length > total) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `${bytes.length - total} byte(s) after the frame`, { packet: descriptor.name });
  }
  return new WireFrame(bytes, descriptor);
}

/**
 * Incremental splitter. Feed it chunks with {@link FrameSplitter.push}; it returns the
 * frames completed by each chunk. Chunks must not be modified after they are pushed
 * (frames are views of them). After an error the splitter is poisoned (every later
 * call throws the same error): the stream is out of sync and its peer must be closed.
 *
 * Memory held for an incomplete frame is what has arrived of it, never what its header
 * declares: a header announcing a huge (but allowed) payload costs nothing until the
 * bytes come.
 */
export class FrameSplitter {
  readonly registry: Registry;
  readonly options: FrameCheckOptions;
  /** Header bytes of a frame whose header spans chunks. */
  readonly #header = new Uint8Array(FRAME_HEADER_SIZE);
  #headerFill = 0;
  /** Pieces of a frame that spans chunks (views of the chunks), assembled once complete. */
  #parts: Uint8Array[] = [];
  #partsBytes = 0;
  /** Total size of the spanning frame, 0 when none. */
  #need = 0;
  #descriptor: PacketDescriptor | undefined;
  #error: ProtocolError | undefined;

  constructor(registry: Registry, options: FrameCheckOptions = {}) {
    this.registry = registry;
    this.options = options;
  }

  /** Bytes held back, waiting for the rest of a frame. */
  get buffered(): number {
    return this.#need > 0 ? this.#partsBytes : this.#headerFill;
  }

  /** Whether the bytes so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.buffered === 0;
  }

  /** Splits `chunk`; frames that lie wholly inside it are views of it. */
  push(chunk: Uint8Array): WireFrame[] {
    const out: WireFrame[] = [];
    this.pushTo(chunk, out);
    return out;
  }

  /** Like {@link push}, appending to `out` (no array per chunk on hot paths). */
  pushTo(chunk: Uint8Array, out: WireFrame[]): void {
    if (this.#error) throw this.#error;
    try {
      this.#split(chunk, out);
    } catch (error) {
      if (isProtocolError(error)) {
        this.#error = error;
        this.#parts = [];
      }
      throw error;
    }
  }

  /** Declares the end of the stream: leftover bytes mean the last frame was cut short. */
  end(): void {
    if (this.#error) throw this.#error;
    if (this.buffered > 0) {
      const error = new ProtocolError('ERR_PROTOCOL_TRUNCATED', `stream ended inside a frame (${this.buffered} byte(s) buffered)`, {
        packet: this.#descriptor?.name,
      });
      this.#error = error;
      throw error;
    }
  }

  #split(chunk: Uint8Array, out: WireFrame[]): void {
    let pos = 0;
    const len = chunk.length;
    if (this.#need > 0) {
      pos = this.#fill(chunk, 0, out);
      if (this.#need > 0) return;
    } else if (this.#headerFill > 0) {
      const take = Math.min(FRAME_HEADER_SIZE - this.#headerFill, len);
      this.#header.set(chunk.subarray(0, take), this.#headerFill);
      this.#headerFill += take;
      if (this.#headerFill < FRAME_HEADER_SIZE) return;
      const view = new DataView(this.#header.buffer);
      const length = view.getInt32(0, true);
      const descriptor = checkFrameHeader(this.registry, length, view.getInt32(4, true), this.options);
      this.#headerFill = 0;
      this.#begin(this.#header.slice(), descriptor, length);
      pos = this.#fill(chunk, take, out);
      if (this.#need > 0) return;
    }
    if (pos >= len) return;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pos + FRAME_HEADER_SIZE <= len) {
      const length = view.getInt32(pos, true);
      const descriptor = checkFrameHeader(this.registry, length, view.getInt32(pos + 4, true), this.options);
      const end = pos + FRAME_HEADER_SIZE + length;
      if (end > len) {
        this.#begin(chunk.subarray(pos, pos + FRAME_HEADER_SIZE), descriptor, length);
        this.#fill(chunk, pos + FRAME_HEADER_SIZE, out);
        return;
      }
      out.push(new WireFrame(chunk.subarray(pos, end), descriptor));
      pos = end;
    }
    if (pos < len) {
      this.#header.set(chunk.subarray(pos), 0);
      this.#headerFill = len - pos;
    }
  }

  #begin(header: Uint8Array, descriptor: PacketDescriptor, length: number): void {
    this.#parts = [header];
    this.#partsBytes = FRAME_HEADER_SIZE;
    this.#need = FRAME_HEADER_SIZE + length;
    this.#descriptor = descriptor;
  }

  /** Takes what the spanning frame still lacks from `chunk`; emits it when complete. Returns the new position. */
  #fill(chunk: Uint8Array, pos: number, out: WireFrame[]): number {
    const take = Math.min(this.#need - this.#partsBytes, chunk.length - pos);
    if (take > 0) {
      this.#parts.push(chunk.subarray(pos, pos + take));
      this.#partsBytes += take;
    }
    if (this.#partsBytes === this.#need) {
      const frame = new Uint8Array(this.#need);
      let at = 0;
      for (const part of this.#parts) {
        frame.set(part, at);
        at += part.length;
      }
      out.push(new WireFrame(frame, this.#descriptor!));
      this.#parts = [];
      this.#partsBytes = 0;
      this.#need = 0;
      this.#descriptor = undefined;
    }
    return pos + take;
  }
}

/**
 * A `TransformStream` from bytes to frames. A protocol error errors the stream (and
 * with it the readable side), so a pipe from a peer's stream stops at the bad frame.
 */
export function createFrameStream(registry: Registry, options: FrameCheckOptions = {}): TransformStream<Uint8Array, WireFrame> {
  const splitter = new FrameSplitter(registry, options);
  const frames: WireFrame[] = [];
  return new TransformStream<Uint8Array, WireFrame>({
    transform(chunk, controller) {
      frames.length = 0;
      splitter.pushTo(chunk, frames);
      for (const frame of frames) controller.enqueue(frame);
    },
    flush() {
      splitter.end();
    },
  });
}
