#!/usr/bin/env node
/**
 * `pnpm bench [--json] [package …]`: runs every package's `bench/index.ts` (with tsx), then the Java
 * library's benchmark (`java`, scripts/java.sh bench), one after another so they do not compete for
 * the CPU. With `--json`, prints one object keyed by package name (and `java`). When both `tickets`
 * and `java` run, the Java numbers are also printed beside the TypeScript ones of the same run.
 *
 * Benchmarks that take minutes run only when named: `pnpm bench soak [--players N --duration S …]`
 * (the reference proxy's soak, examples/reference-proxy/bench/README.md); their options are passed on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareJavaWithTickets } from './bench-java.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
// `--name value` options other than --json go to the benchmarks that run only when named
const only = [];
const passOn = [];
for (let i = 0; i < args.length; i++) {
  if (!args[i].startsWith('--')) only.push(args[i]);
  else if (args[i] !== '--json') {
    passOn.push(args[i]);
    if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) passOn.push(args[++i]);
  }
}
/** Benchmarks that run only when named, with the options given. */
const onRequest = { soak: 'examples/reference-proxy/bench/soak.ts' };
const wanted = (name) => only.length === 0 || only.includes(name);
// the comparison needs both results, so those two always run in JSON mode (their human lines go to stderr)
const compare = wanted('tickets') && wanted('java');
const results = {};
let failed = false;

function bench(name, cmd, cmdArgs) {
  process.stderr.write(`\n# ${name}\n`);
  const capture = json || (compare && (name === 'tickets' || name === 'java'));
  const run = spawnSync(cmd, [...cmdArgs, ...(capture ? ['--json'] : [])], {
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    failed = true;
    process.stderr.write(`bench ${name} exited with ${run.status}\n`);
    return;
  }
  // captured benchmarks still show their human lines: in JSON mode they go to stderr
  if (capture) results[name] = JSON.parse(run.stdout);
}

for (const dir of readdirSync('packages').sort()) {
  const script = join('packages', dir, 'bench', 'index.ts');
  if (!existsSync(script) || !wanted(dir)) continue;
  bench(dir, 'node', ['--expose-gc', '--conditions=source', '--import', 'tsx', script]);
}
if (wanted('java')) bench('java', 'bash', ['scripts/java.sh', 'bench']);
for (const [name, script] of Object.entries(onRequest)) {
  if (only.includes(name)) bench(name, 'node', ['--expose-gc', '--conditions=source', '--import', 'tsx', script, ...passOn]);
}

if (compare && results.tickets && results.java) {
  const comparison = compareJavaWithTickets(results.java, results.tickets);
  results.java = { ...results.java, typescriptSameRun: comparison.json };
  if (!json) for (const line of comparison.lines) process.stdout.write(`${line}\n`);
}
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(failed ? 1 : 0);
