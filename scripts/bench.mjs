#!/usr/bin/env node
/**
 * `pnpm bench [--json] [package …]`: runs every package's `bench/index.ts` (with tsx),
 * one after another so they do not compete for the CPU. With `--json`, prints one
 * object keyed by package name.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.filter((a) => !a.startsWith('--'));
const results = {};
let failed = false;
for (const dir of readdirSync('packages').sort()) {
  const script = join('packages', dir, 'bench', 'index.ts');
  if (!existsSync(script) || (only.length > 0 && !only.includes(dir))) continue;
  process.stderr.write(`\n# ${dir}\n`);
  const run = spawnSync('node', ['--expose-gc', '--conditions=source', '--import', 'tsx', script, ...(json ? ['--json'] : [])], {
    stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    failed = true;
    process.stderr.write(`bench ${dir} exited with ${run.status}\n`);
    continue;
  }
  if (json) results[dir] = JSON.parse(run.stdout);
}
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(failed ? 1 : 0);
