/**
 * Every failure of the codec is a {@link ProtocolError} with a stable `code`.
 *
 * Truncated input (the bytes end before the value does) and malformed input (the
 * bytes are there but say something impossible) are different codes, so a caller
 * that reads from a stream can tell "wait for more" from "close the peer".
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** Every code `@handoff/protocol` throws, with what happened and what to do (`docs/errors.md` is generated from it). */
export const protocolErrorCodes = {
  ERR_PROTOCOL_TRUNCATED:
    'The input ended before the value did: a frame shorter than its header says, a payload shorter than its fields, a count larger than the bytes left. With a stream, wait for more bytes; with a whole frame, the sender is at fault. (An offset slot pointing past a complete payload is ERR_PROTOCOL_INVALID_OFFSET.)',
  ERR_PROTOCOL_VARINT_TOO_LONG: 'A VarInt ran past its 5-byte maximum. The input is malformed: close the peer.',
  ERR_PROTOCOL_VARINT_NEGATIVE:
    'A VarInt decoded to a negative int32 (its fifth byte sets the sign bit), or a negative value was given to encode. Lengths and counts are never negative.',
  ERR_PROTOCOL_STRING_TOO_LONG: "A string's byte length is over the field's maximum (on decode or encode).",
  ERR_PROTOCOL_ARRAY_TOO_LONG: "An array's or map's element count is over the field's maximum.",
  ERR_PROTOCOL_INVALID_OFFSET:
    'An offset slot of a variable field is negative or points past the end of the payload.',
  ERR_PROTOCOL_MISSING_FIELD: 'A required variable field has the null offset (-1), or a required field is missing from a value to encode.',
  ERR_PROTOCOL_INVALID_ENUM: 'An enum byte is not one of the constants of that enum (or an unknown constant name was given to encode).',
  ERR_PROTOCOL_UNKNOWN_VARIANT: 'A polymorphic value carries a type id (or a type name to encode) that the schema does not know.',
  ERR_PROTOCOL_DUPLICATE_KEY: 'A map on the wire repeats a key. The input is malformed: close the peer.',
  ERR_PROTOCOL_INVALID_VALUE:
    'A value given to encode does not fit its schema (wrong type, out of range, not ASCII, bad UUID or hex). The error names the field path.',
  ERR_PROTOCOL_FRAME_NEGATIVE_LENGTH: "A frame header declares a negative payload length. Close the peer.",
  ERR_PROTOCOL_FRAME_TOO_LARGE:
    "A frame header declares a payload over the packet's maxSize (or over the protocol's 1,677,721,600-byte limit); rejected before the body is buffered. Close the peer.",
  ERR_PROTOCOL_UNKNOWN_PACKET:
    "A frame carries a packet id that the generation's registry does not know (or not for this direction). Close the peer.",
  ERR_PROTOCOL_WRONG_CHANNEL: 'A packet arrived on a stream of another channel than the registry gives it (G3: Default, Chunks, WorldMap).',
  ERR_PROTOCOL_UNKNOWN_GENERATION:
    'A Connect frame carries a protocol hash or CRC that no known generation has. The client and the proxy speak different protocol versions.',
  ERR_PROTOCOL_NOT_MODELLED:
    'The packet is known to the registry but its layout is not modelled, so it can only pass through as an opaque frame.',
  ERR_PROTOCOL_NOT_FIXED_FIELD:
    "A fixed-field reader (`generation.fixedFields(packet, fields)`) was asked for a field that is not at a fixed offset of the packet in this generation (a variable-size field, or no such field): read it with the packet's codec instead.",
  ERR_PROTOCOL_ZSTD_NO_CONTENT_SIZE:
    'A compressed payload is not a zstd frame that declares its content size; Hytale requires it. Rejected before anything is allocated.',
  ERR_PROTOCOL_ZSTD_TOO_LARGE:
    "A compressed payload declares (or has) more bytes than the packet's maxSize; rejected before anything is allocated.",
  ERR_PROTOCOL_ZSTD_CORRUPT: 'A compressed payload is not valid zstd data, or decompresses to another size than it declares.',
  ERR_PROTOCOL_ZSTD_NOT_READY:
    'zstd (WebAssembly) is still loading: `await zstdReady` once at start-up before the first compressed packet.',
} as const;

export type ProtocolErrorCode = keyof typeof protocolErrorCodes;

export interface ProtocolErrorOptions {
  /** Field path from the packet down to the failing value, e.g. `['skin', 'haircut']` or `['assets', '3', 'name']`. */
  readonly path?: readonly string[];
  readonly cause?: unknown;
  /** Packet name, when known. */
  readonly packet?: string;
}

/**
 * The error of `@handoff/protocol`: a stable `code`, the field `path` and the `packet` where known,
 * `cause` where there is one. Its message quotes no packet contents beyond lengths, ids and names.
 */
export class ProtocolError extends HandoffError<ProtocolErrorCode> {
  override readonly name = 'ProtocolError';
  /** Field path, outermost first. Mutable only while the error propagates out of the decoder. */
  readonly path: string[];
  packet: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super('protocol', code, message, { cause: options.cause });
    this.path = options.path ? [...options.path] : [];
    this.packet = options.packet;
  }

  /** `Connect.referralSource.host`-style location, or `''`. */
  get location(): string {
    return [this.packet, ...this.path].filter((p) => p !== undefined && p !== '').join('.');
  }

  /** True for the "need more bytes" family, false for malformed input. */
  get truncated(): boolean {
    return this.code === 'ERR_PROTOCOL_TRUNCATED';
  }

  override toString(): string {
    const where = this.location;
    return `${this.name} [${this.code}]${where ? ` at ${where}` : ''}: ${this.message}`;
  }
}

/**
 * True when `value` is a {@link ProtocolError} (of `code` when given), whichever installed copy of
 * this package made it (a brand, not `instanceof`).
 */
export function isProtocolError(value: unknown, code?: ProtocolErrorCode): value is ProtocolError {
  return isHandoffError(value, 'protocol', code);
}

/** Adds a path segment to a protocol error on its way out of a nested decoder/encoder. */
export function withPath(error: unknown, segment: string): unknown {
  if (isProtocolError(error)) error.path.unshift(segment);
  return error;
}

export function truncated(what: string, needed: number, available: number): ProtocolError {
  return new ProtocolError('ERR_PROTOCOL_TRUNCATED', `${what} needs ${needed} byte(s), ${available} available`);
}

export function invalidValue(message: string): ProtocolError {
  return new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', message);
}
