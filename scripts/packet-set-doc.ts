/**
 * Regenerates the observed parts of `docs/handoff-packet-set.md`: runs `handoff demo` once per
 * generation (G3, G2, G1) with its trace kept in memory, analyses each trace as `handoff trace
 * analyze` does, and rewrites the document's generated blocks. The demo test checks the blocks of a
 * fresh run against the document.
 *
 *   pnpm docs:packet-set            # rewrite docs/handoff-packet-set.md
 *   node --conditions=source --import tsx scripts/packet-set-doc.ts --check   # exit 1 when stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDemo, type DemoTraceRecord } from '../packages/cli/src/demo/scenario.js';
import { analyzeTrace, type GenerationPacketSet, type TraceLine } from '../packages/cli/src/trace/analyze.js';
import { blockOf, renderGeneration, renderObserved, replaceBlock } from '../packages/cli/src/trace/packet-set-doc.js';

const doc = fileURLToPath(new URL('../docs/handoff-packet-set.md', import.meta.url));
const GENERATIONS = ['G3', 'G2', 'G1'] as const;

const sets: GenerationPacketSet[] = [];
for (const generation of GENERATIONS) {
  const records: DemoTraceRecord[] = [];
  const summary = await runDemo({ generation, trace: { record: (entry) => void records.push(entry) } });
  if (!summary.seamless) {
    console.error(`the ${generation} demo was not seamless (${summary.failure ?? `${summary.violations.length} violations`}): the document is left as it is`);
    process.exit(1);
  }
  const set = analyzeTrace(records as unknown as TraceLine[]).packetSet.find((s) => s.generation === generation);
  if (!set) throw new Error(`no ${generation} session in the trace`);
  sets.push(set);
}

let text = readFileSync(doc, 'utf8');
let stale = false;
for (const set of sets) {
  const block = renderGeneration(set);
  if (blockOf(text, set.generation) !== block) stale = true;
  text = replaceBlock(text, set.generation, block);
}
text = replaceBlock(text, 'observed', renderObserved(sets));

if (process.argv.includes('--check')) {
  console.log(stale ? 'docs/handoff-packet-set.md is stale: run pnpm docs:packet-set' : 'docs/handoff-packet-set.md is up to date');
  process.exit(stale ? 1 : 0);
}
writeFileSync(doc, text);
console.log(`docs/handoff-packet-set.md written (${sets.map((s) => `${s.generation}: ${s.migrations} migrations`).join(', ')})`);
