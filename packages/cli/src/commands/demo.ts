import { type Vector, checkVector, decodeFrame, frameToJson, fromHex, getGeneration, publicVectors, zstdReady } from '@handoff/protocol';
import type { CliIo } from '../io.js';

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

/**
 * `handoff demo`: decodes the public vectors and prints them readably: what each frame
 * is, its bytes, and the value the codec reads from it.
 */
export async function demoCommand(io: CliIo): Promise<number> {
  await zstdReady;
  const vectors = publicVectors as unknown as Vector[];
  io.stdout(`Handoff codec demo: ${vectors.length} public vectors, decoded and checked byte for byte\n`);
  let failed = 0;
  for (const vector of vectors) {
    const result = checkVector(vector);
    if (!result.ok) failed++;
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
  io.stdout('');
  io.stdout(`${vectors.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
