import { readFile } from 'node:fs/promises';
import { checkVectors, decodeFrame, frameToJson, fromHex, getGeneration, toHex, zstdReady } from '@handoff/protocol';
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
