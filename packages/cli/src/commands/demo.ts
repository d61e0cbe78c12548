/**
 * `handoff demo`: a real migration on loopback in one command (the scenario is `../demo/scenario.ts`),
 * printed as a timeline; with `--json`, one JSON summary on the last line. `--trace <file>` keeps every
 * frame the proxy handled as JSONL (`handoff trace analyze <file>` reads it).
 */
import type { DemoMigration, DemoStep, DemoSummary } from '../demo/scenario.js';
import { isCliError } from '../errors.js';
import type { CliIo } from '../io.js';
import { openTraceFile, type TraceFile } from '../trace/file.js';

export interface DemoArgs {
  readonly generation?: 'G1' | 'G2' | 'G3' | undefined;
  readonly json?: boolean | undefined;
  readonly trace?: string | undefined;
}

function seconds(ms: number): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

function millis(ms: number | undefined): string {
  return ms === undefined ? '–' : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function stepLines(step: DemoStep): string[] {
  const head = `${seconds(step.at).padStart(9)}  ${step.text}${step.ms === undefined || step.migration ? '' : ` (${millis(step.ms)})`}`;
  const m = step.migration;
  if (!m) return [head];
  return [head, ...migrationLines(m)];
}

function migrationLines(m: DemoMigration): string[] {
  const indent = ' '.repeat(11);
  const phases = m.phases.map((p) => `${p.phase} ${millis(p.ms)}`).join(' · ');
  const lines = [`${indent}${phases || 'no phase reported'}`];
  const stall = `stall ${millis(m.stallMs)}`;
  const detect = m.detectMs === undefined ? '' : `; loss detected ${millis(m.detectMs)} after the crash`;
  lines.push(`${indent}total ${millis(m.totalMs)}; ${stall} (Freeze → the target's first frame at the client)${detect}`);
  return lines;
}

function resultLine(s: DemoSummary): string {
  return (
    `${s.seamless ? 'Seamless' : 'NOT seamless'}: ${s.migrationsSucceeded} of ${s.migrationsAttempted} migrations succeeded, ` +
    `${s.clientReconnects} reconnects, ${s.violations.length} violations, ${s.packetsLost} packets lost, ${s.packetsReordered} reordered, ` +
    `max stall ${millis(s.maxStallMs)}; ${s.movementSent} movement packets sent, ` +
    `${Object.entries(s.packetsDroppedByRule)
      .map(([rule, n]) => `${n} ${rule}`)
      .join(', ')} dropped by documented rules, ${s.packetsUnreadByCrashedBackend} unread by the crashed backend; ${millis(s.durationMs)} in all`
  );
}

/** Runs the demo; exit status 0 when everything was seamless, 1 otherwise (2: a trace file that cannot be written). */
export async function demoCommand(args: DemoArgs, io: CliIo): Promise<number> {
  const generation = args.generation ?? 'G3';
  let file: TraceFile | undefined;
  try {
    file = args.trace === undefined ? undefined : await openTraceFile(args.trace);
  } catch (error) {
    if (!isCliError(error)) throw error;
    io.stderr(`${error.code}: ${error.message}`);
    return 2;
  }
  const { runDemo } = await import('../demo/scenario.js');
  io.stdout(
    `Handoff demo (${generation}): a fake session service, backend a (QUIC) and backend b (TCP), the reference proxy, ` +
      'and a strict client over QUIC, all on loopback. The client plays on while it is moved a → b → a → b, then its backend crashes.',
  );
  let summary: DemoSummary;
  try {
    summary = await runDemo({
      generation,
      onStep: (step) => {
        for (const line of stepLines(step)) io.stdout(line);
      },
      ...(file === undefined ? {} : { trace: file }),
    });
  } finally {
    await file?.close();
  }
  for (const v of summary.violations) io.stdout(`  violation ${v.kind}: ${v.message}`);
  for (const w of summary.proxyWarnings) io.stdout(`  proxy warning: ${w}`);
  if (summary.failure !== undefined) io.stdout(`  the demo stopped early: ${summary.failure}`);
  io.stdout(resultLine(summary));
  if (args.trace !== undefined) io.stdout(`trace: ${args.trace} (handoff trace analyze ${args.trace})`);
  if (args.json) io.stdout(JSON.stringify(summary));
  return summary.seamless ? 0 : 1;
}
