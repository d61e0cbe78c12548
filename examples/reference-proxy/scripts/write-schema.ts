/**
 * Writes the published JSON Schema of the configuration from `src/config/schema.ts`:
 * `proxy-config.schema.json` (shipped with the package) and `docs/proxy-config.schema.json`.
 *
 *   pnpm --filter @handoff/reference-proxy schema          # write both
 *   pnpm --filter @handoff/reference-proxy schema --check  # exit 1 when either is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { proxyConfigJsonSchema } from '../src/config/schema.js';

export const SCHEMA_FILES = [
  fileURLToPath(new URL('../proxy-config.schema.json', import.meta.url)),
  fileURLToPath(new URL('../../../docs/proxy-config.schema.json', import.meta.url)),
];

export function schemaText(): string {
  return `${JSON.stringify(proxyConfigJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = schemaText();
  let stale = 0;
  for (const file of SCHEMA_FILES) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing: written below
    }
    if (current === text) continue;
    stale += 1;
    if (process.argv.includes('--check')) console.error(`${file} is out of date: run pnpm --filter @handoff/reference-proxy schema`);
    else writeFileSync(file, text);
  }
  process.exitCode = process.argv.includes('--check') && stale > 0 ? 1 : 0;
}
