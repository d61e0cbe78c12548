import { readFile } from 'node:fs/promises';
import { type Vector, checkVector, checkVectors, decodeFrame, frameToJson, fromHex, getGeneration, publicVectors, toHex, zstdReady } from '@handoff/protocol';
import { CliError } from '../errors.js';
import type { CliIo } from '../io.js';

export interface DecodeArgs {
  readonly protocol: string;
  readonly frameHex: string;
  readonly direction?: 'ToServer' | 'ToClient';
}

/** `handoff decode`: one frame in hex → `{"packet","id","value"}`. */
export async function decodeCommand(args: DecodeArgs, io: CliIo): Promise<number> {
  await zstdReady;
  const generation = getGeneration(args.protocol);
  const decoded = decodeFrame(generation, fromHex(args.frameHex), args.direction ? { direction: args.direction } : {});
  io.stdout(JSON.stringify(frameToJson(generation, decoded)));
  return 0;
}

export interface EncodeArgs {
  readonly protocol: string;
  readonly packet: string;
  readonly json: string;
  readonly level?: number;
}

/** `handoff encode`: a JSON value → the frame in hex, compressed where the registry says so. */
export async function encodeCommand(args: EncodeArgs, io: CliIo): Promise<number> {
  await zstdReady;
  const generation = getGeneration(args.protocol);
  let json: unknown;
  try {
    json = JSON.parse(args.json);
  } catch (error) {
    throw new CliError('ERR_CLI_BAD_JSON', `the value is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const codec = generation.packet(args.packet as never);
  const frame = codec.encodeFrame(codec.fromJson(json), args.level === undefined ? {} : { level: args.level });
  io.stdout(toHex(frame));
  return 0;
}

/** `handoff vectors`: checks a vector file; one line per vector, then `N passed, N failed`. */
export async function vectorsCommand(file: string, io: CliIo, options: { quiet?: boolean } = {}): Promise<number> {
  await zstdReady;
  let vectors: unknown;
  try {
    vectors = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError('ERR_CLI_FILE', `cannot read vectors from ${file}: ${(error as Error).message}`, { cause: error });
  }
  const results = checkVectors(vectors);
  let passed = 0;
  let failed = 0;
  for (const result of results) {
    if (result.ok) {
      passed++;
      if (!options.quiet) io.stdout(`ok   ${result.name}`);
    } else {
      failed++;
      io.stdout(`FAIL ${result.name}: ${result.detail ?? ''}`);
    }
  }
  io.stdout(`${passed} passed, ${failed} failed`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

/**
 * `handoff vectors` without a file: the codec's public vectors, decoded and checked byte for byte,
 * printed readably (what each frame is, its bytes, the value the codec reads from it); ends with
 * `N passed, N failed`.
 */
export async function publicVectorsCommand(io: CliIo, options: { quiet?: boolean } = {}): Promise<number> {
  await zstdReady;
  const vectors = publicVectors as unknown as Vector[];
  if (!options.quiet) io.stdout(`The codec's ${vectors.length} public vectors, decoded and checked byte for byte\n`);
  let failed = 0;
  for (const vector of vectors) {
    const result = checkVector(vector);
    if (!result.ok) failed++;
    if (options.quiet && result.ok) continue;
    const mark = result.ok ? 'ok  ' : 'FAIL';
    if (vector.kind === 'varint') {
      io.stdout(`${mark} ${vector.name.padEnd(4)} VarInt ${vector.hex} → ${vector.expect === 'reject' ? 'rejected' : String(vector.value)}`);
      continue;
    }
    const generationIds = vector.generations.join('/');
    io.stdout(`${mark} ${vector.name.padEnd(4)} ${vector.packet} (id ${vector.id}, ${vector.direction ?? '?'}) in ${generationIds}${vector.expect === 'reject' ? ': must be rejected' : ''}`);
    io.stdout(indent(`frame ${vector.frameHex.length / 2} bytes: ${vector.frameHex.length > 96 ? `${vector.frameHex.slice(0, 96)}…` : vector.frameHex}`));
    const generation = getGeneration(vector.generations[0]!);
    try {
      const decoded = decodeFrame(generation, fromHex(vector.frameHex));
      io.stdout(indent(JSON.stringify(frameToJson(generation, decoded).value, null, 2)));
    } catch (error) {
      const e = error as { code?: string; message?: string };
      io.stdout(indent(`rejected: ${e.code ?? 'error'}: ${e.message ?? ''}`));
    }
    if (!result.ok) io.stdout(indent(`check failed: ${result.detail}`));
  }
  if (!options.quiet) io.stdout('');
  io.stdout(`${vectors.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
