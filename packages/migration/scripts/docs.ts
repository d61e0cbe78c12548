/**
 * Regenerates the generated blocks of `docs/migration.md` from the code: the state diagram (from
 * the machine definition), the deadline table, the rollback rules, the drain-policy defaults and
 * the drop rules. `test/docs.test.ts` fails when the committed doc is stale.
 *
 *   pnpm --filter @handoff/migration docs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CLIENT_READY_MARGIN_MS,
  CLIENT_READY_WINDOW_MS,
  DEFAULT_SOURCE_BOUND,
  deadlineDocs,
  defaultBufferLimits,
  defaultDeadlines,
  defaultGlobalLimits,
  dropRuleDocs,
  migrationMachine,
  PHASES,
  rollbackRules,
  toMermaid,
  type DeadlineName,
} from '../src/index.js';

export const docPath = fileURLToPath(new URL('../../../docs/migration.md', import.meta.url));

const ms = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`);
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function generatedBlocks(): Record<string, string> {
  const d = defaultDeadlines;
  const deadlines = [
    '| deadline | default | bounds | when it expires |',
    '|---|---|---|---|',
    ...(Object.keys(deadlineDocs) as DeadlineName[]).map(
      (name) => `| \`${name}\` | ${ms(d[name])} | ${cell(deadlineDocs[name].bounds)} | ${cell(deadlineDocs[name].onExpiry)} |`,
    ),
    '',
    `B arms a ${ms(CLIENT_READY_WINDOW_MS)} ClientReady timer when it sends JoinWorld, which arrives at the end of Sync.`,
    `Freeze + Cutover + Resume must fit in it minus a ${ms(CLIENT_READY_MARGIN_MS)} margin: with the defaults`,
    `${ms(d.freeze)} + ${ms(d.cutover)} + ${ms(d.resume)} = ${ms(d.freeze + d.cutover + d.resume)} ≤ ${ms(CLIENT_READY_WINDOW_MS - CLIENT_READY_MARGIN_MS)}.`,
    '`resolveDeadlines()` (and so `createMigrator`) refuses a configuration that breaks this (`ERR_MIGRATION_READY_WINDOW`).',
  ].join('\n');
  const rollback = [
    '| phase | on failure | enters | outcome |',
    '|---|---|---|---|',
    ...PHASES.map((p) => {
      const r = rollbackRules[p];
      return `| ${p} | ${cell(r.rule)} | ${r.failedState ? `\`Failed.${r.failedState}\`` : '—'} | ${cell(r.outcome)} |`;
    }),
  ].join('\n');
  const drain = [
    `Packets dropped as \`source-bound\` when sent before the client's ClientReady (\`DEFAULT_SOURCE_BOUND\`):`,
    '',
    DEFAULT_SOURCE_BOUND.map((n) => `\`${n}\``).join(', ') + '.',
    '',
    '| drop rule | meaning |',
    '|---|---|',
    ...Object.entries(dropRuleDocs).map(([rule, meaning]) => `| \`${rule}\` | ${cell(meaning)} |`),
    '',
    `Bounds: per migration ${defaultBufferLimits.maxPackets} packets / ${defaultBufferLimits.maxBytes / 1024} KiB`,
    `(\`defaultBufferLimits\`); shared budget ${defaultGlobalLimits.maxPackets} packets / ${defaultGlobalLimits.maxBytes / 1024 / 1024} MiB`,
    '(`defaultGlobalLimits`, the process-wide `sharedBufferBudget` unless you pass your own `BufferBudget`).',
  ].join('\n');
  return {
    diagram: ['```mermaid', toMermaid(migrationMachine).trimEnd(), '```'].join('\n'),
    deadlines,
    rollback,
    drain,
  };
}

/** Replaces each `<!-- generated:NAME -->` … `<!-- /generated:NAME -->` block of `doc`. */
export function render(doc: string): string {
  let out = doc;
  for (const [name, body] of Object.entries(generatedBlocks())) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`docs/migration.md has no generated:${name} block`);
    out = out.replace(re, (_, open: string, close: string) => `${open}${body}\n${close}`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(docPath, render(readFileSync(docPath, 'utf8')));
  process.stdout.write(`wrote ${docPath}\n`);
}
