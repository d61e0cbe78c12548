#!/usr/bin/env node
/**
 * The whole test suite: system services, type-check, then every Vitest project.
 * Ends with one plain line, `N passed, N failed`, and exits non-zero on any failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const passthrough = process.argv.slice(2);
let passed = 0;
let failed = 0;

function run(label, cmd, args, env = process.env) {
  process.stderr.write(`\n> ${label}\n`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', env });
  return result.status === 0;
}

if (!process.env.HANDOFF_SKIP_SERVICES) {
  if (!run('services (redis-server, quic-go)', 'bash', ['scripts/services.sh'])) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

if (passthrough.length === 0) {
  if (run('type-check', 'pnpm', ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'])) passed += 1;
  else failed += 1;
}

const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
const report = join(dir, 'vitest.json');
const ok = run('vitest', 'pnpm', ['exec', 'vitest', 'run', ...passthrough], { ...process.env, HANDOFF_JSON_REPORT: report });
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed += json.numPassedTests ?? 0;
  failed += (json.numFailedTests ?? 0) + (json.numFailedTestSuites ?? 0);
  if (!ok && (json.numFailedTests ?? 0) + (json.numFailedTestSuites ?? 0) === 0) failed += 1;
} catch {
  if (!ok) failed += 1;
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && ok ? 0 : 1);
