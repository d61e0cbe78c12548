/**
 * Byte-exact test vectors in the documented format (`vectors.public.json`): the check
 * that `handoff vectors` runs and the test suite runs on every vector file.
 */
import { fromHex, toHex } from './bytes.js';
import { isProtocolError } from './errors.js';
import { decodeFrame, frameToJson } from './frames.js';
import { getGeneration } from './generation.js';
import type { Json } from './schema/index.js';
import { decodeVarInt, encodeVarInt } from './varint.js';
import { zstdContentSize } from './zstd.js';

export interface PacketVector {
  readonly kind: 'packet';
  readonly name: string;
  readonly packet: string;
  readonly id: number;
  readonly direction?: string;
  readonly generations: readonly string[];
  readonly frameHex: string;
  readonly expect: 'roundtrip' | 'decode-only' | 'reject';
  readonly value?: Json;
  readonly uncompressedFrameHex?: string;
  readonly note?: string;
}

export interface VarIntVector {
  readonly kind: 'varint';
  readonly name: string;
  readonly hex: string;
  readonly expect: 'roundtrip' | 'decode-only' | 'reject';
  readonly value?: number;
  readonly note?: string;
}

export type Vector = PacketVector | VarIntVector;

export interface VectorResult {
  readonly name: string;
  readonly ok: boolean;
  /** What went wrong (or, for a passing reject vector, the error code it produced). */
  readonly detail?: string;
}

/** Compares JSON values; a key missing on the expected side stands for `null` (the vector format allows leaving nulls out). */
export function jsonMatches(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected === undefined) expected = null;
  if (actual === undefined) actual = null;
  if (expected === null || typeof expected !== 'object') {
    if (Object.is(actual, expected) || (typeof actual === 'number' && actual === expected)) return undefined;
    return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} elements, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = jsonMatches(actual[i], expected[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(e)])) {
    const problem = jsonMatches(a[key], e[key], `${path}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (isProtocolError(error)) return `${error.code}${error.location ? ` at ${error.location}` : ''}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function checkPacket(v: PacketVector): string | undefined {
  if (!Array.isArray(v.generations) || v.generations.length === 0) return 'vector lists no generations';
  const frame = fromHex(v.frameHex);
  for (const id of v.generations) {
    const generation = getGeneration(id);
    if (v.expect === 'reject') {
      try {
        decodeFrame(generation, frame);
      } catch (error) {
        if (isProtocolError(error)) continue;
        return `${id}: rejected with an untyped error: ${describe(error)}`;
      }
      return `${id}: decoded, but the vector expects a rejection`;
    }
    let json: Json;
    try {
      const decoded = decodeFrame(generation, frame);
      if (decoded.name !== v.packet) return `${id}: decoded as ${decoded.name}, expected ${v.packet}`;
      if (decoded.id !== v.id) return `${id}: packet id ${decoded.id}, expected ${v.id}`;
      json = frameToJson(generation, decoded).value;
    } catch (error) {
      return `${id}: decode failed: ${describe(error)}`;
    }
    const mismatch = jsonMatches(json, v.value);
    if (mismatch) return `${id}: decoded value differs: ${mismatch}`;
    // encode the vector's value
    let encoded: Uint8Array;
    const codec = generation.packet(v.packet as never);
    try {
      encoded = codec.encodeFrame(codec.fromJson(v.value ?? {}));
    } catch (error) {
      return `${id}: encode failed: ${describe(error)}`;
    }
    const compressed = codec.descriptor.compressed;
    if (v.expect === 'roundtrip' && !compressed && toHex(encoded) !== toHex(frame)) {
      return `${id}: re-encoded frame differs:\n  expected ${toHex(frame)}\n  got      ${toHex(encoded)}`;
    }
    if (compressed && encoded.length > 8 && zstdContentSize(encoded.subarray(8)) === undefined) {
      return `${id}: encoded zstd frame does not carry its content size`;
    }
    if (compressed && v.uncompressedFrameHex !== undefined) {
      const payload = codec.encode(codec.fromJson(v.value ?? {}));
      const expected = fromHex(v.uncompressedFrameHex).subarray(8);
      if (toHex(payload) !== toHex(expected)) return `${id}: uncompressed payload differs from uncompressedFrameHex`;
    }
    try {
      const again = frameToJson(generation, decodeFrame(generation, encoded)).value;
      const drift = jsonMatches(again, v.value);
      if (drift) return `${id}: re-encoded frame decodes to another value: ${drift}`;
    } catch (error) {
      return `${id}: re-encoded frame does not decode: ${describe(error)}`;
    }
  }
  return undefined;
}

function checkVarInt(v: VarIntVector): string | undefined {
  const bytes = fromHex(v.hex);
  if (v.expect === 'reject') {
    try {
      decodeVarInt(bytes);
    } catch (error) {
      return isProtocolError(error) ? undefined : `rejected with an untyped error: ${describe(error)}`;
    }
    return 'decoded, but the vector expects a rejection';
  }
  let value: number;
  try {
    value = decodeVarInt(bytes);
  } catch (error) {
    return `decode failed: ${describe(error)}`;
  }
  if (value !== v.value) return `decoded ${value}, expected ${v.value}`;
  if (v.expect === 'roundtrip' && toHex(encodeVarInt(value)) !== toHex(bytes)) {
    return `re-encoded as ${toHex(encodeVarInt(value))}, expected ${v.hex}`;
  }
  return undefined;
}

/** Checks one vector. Never throws for a bad vector or bad bytes: the result says what failed. */
export function checkVector(vector: Vector): VectorResult {
  const name = typeof vector?.name === 'string' ? vector.name : '(unnamed)';
  try {
    let problem: string | undefined;
    if (vector.kind === 'packet') problem = checkPacket(vector);
    else if (vector.kind === 'varint') problem = checkVarInt(vector);
    else problem = `unknown vector kind ${JSON.stringify((vector as { kind?: unknown }).kind)}`;
    return problem ? { name, ok: false, detail: problem } : { name, ok: true };
  } catch (error) {
    return { name, ok: false, detail: `malformed vector: ${describe(error)}` };
  }
}

/** Checks a whole vector file's contents (an array of vectors). */
export function checkVectors(vectors: unknown): VectorResult[] {
  if (!Array.isArray(vectors)) return [{ name: '(file)', ok: false, detail: 'a vector file holds a JSON array of vectors' }];
  return vectors.map((v) => checkVector(v as Vector));
}
