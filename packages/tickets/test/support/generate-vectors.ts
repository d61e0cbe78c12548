/** Writes docs/tickets-vectors.json from test/support/vectors.ts. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildVectors, serializeVectors } from './vectors.js';

const target = fileURLToPath(new URL('../../../../docs/tickets-vectors.json', import.meta.url));
const file = await buildVectors();
writeFileSync(target, serializeVectors(file));
process.stdout.write(`wrote ${file.vectors.length} vectors to ${target}\n`);
