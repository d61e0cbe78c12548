#!/usr/bin/env node
/**
 * The whole test suite: system services, type-check, then every Vitest project.
 * A full run (no arguments) also builds the Java library and runs its JUnit tests (scripts/java-tests.mjs).
 * Ends with one plain line, `N passed, N failed, N skipped`: vitest's and JUnit's own test counts plus the
 * type-check step, and one failure per test file that failed outside its tests. Exits non-zero on any failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { javaTests } from './java-tests.mjs';

const passthrough = process.argv.slice(2);
let passed = 0;
let failed = 0;

function run(label, cmd, args, env = process.env) {
  process.stderr.write(`\n> ${label}\n`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', env });
  return result.status === 0;
}

if (!process.env.HANDOFF_SKIP_SERVICES) {
  if (!run('services (redis-server, quic-go, JDK, JUnit)', 'bash', ['scripts/services.sh'])) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

let skipped = 0;
if (passthrough.length === 0) {
  if (run('type-check', 'pnpm', ['exec', 'tsc', '-p', 'tsconfig.json', '--noEmit'])) passed += 1;
  else failed += 1;
  const java = javaTests(run);
  passed += java.passed;
  failed += java.failed;
  skipped += java.skipped;
}

const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
const report = join(dir, 'vitest.json');
const ok = run('vitest', 'pnpm', ['exec', 'vitest', 'run', ...passthrough], { ...process.env, HANDOFF_JSON_REPORT: report });
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  // count tests exactly as vitest does; a describe block is not a test
  passed += json.numPassedTests ?? 0;
  failed += json.numFailedTests ?? 0;
  skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  // a file that failed without a failing test (it did not load, or a hook threw) is one failure of its own
  const fileErrors = (json.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  );
  for (const file of fileErrors) process.stderr.write(`test file failed outside its tests: ${file.name}\n`);
  failed += fileErrors.length;
  // vitest failed for another reason (an unhandled error between tests): one failure
  if (!ok && (json.numFailedTests ?? 0) + fileErrors.length === 0) failed += 1;
} catch {
  if (!ok) failed += 1;
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && ok ? 0 : 1);
