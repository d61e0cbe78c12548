/**
 * The Java part of the test suite (java/, see scripts/java.sh): builds the jar, runs JUnit, and
 * returns JUnit's own counts for the closing line of scripts/test.mjs. A class that failed outside
 * its tests (a container failure) counts as one failure; a run that failed without any count, or
 * that ran no test, is one failure too.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';

const SUMMARY = 'java/build/test-reports/summary.txt';

/** @param {(label: string, cmd: string, args: string[]) => boolean} run */
export function javaTests(run) {
  rmSync(SUMMARY, { force: true });
  const ok = run('java (jar, JUnit)', 'bash', ['scripts/java.sh', 'test']);
  const text = existsSync(SUMMARY) ? readFileSync(SUMMARY, 'utf8') : '';
  const count = (what) => Number(new RegExp(`\\[\\s*(\\d+) ${what}\\s*\\]`).exec(text)?.[1] ?? 0);
  const passed = count('tests successful');
  let failed = count('tests failed') + count('containers failed');
  const skipped = count('tests skipped') + count('tests aborted');
  if ((!ok || passed + failed === 0) && failed === 0) failed = 1;
  return { passed, failed, skipped };
}
