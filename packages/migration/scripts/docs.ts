/**
 * Regenerates the generated blocks of `docs/migration.md` from the code: the state diagram and the
 * actor table (from the machine definition), the deadline table, the rollback rules, the
 * drain-policy defaults and the drop rules. `test/docs.test.ts` fails when the committed doc is stale.
 *
 *   pnpm --filter @handoff/migration docs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AnyStateNode } from 'xstate';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PHASES } from '@handoff/types';
import { toMermaid } from '../src/diagram.js';
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
  rollbackRules,
  type DeadlineName,
  type MigrationActorName,
} from '../src/index.js';

export const docPath = fileURLToPath(new URL('../../../docs/migration.md', import.meta.url));

const ms = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`);
const cell = (s: string) => s.replace(/\|/g, '\\|');

/**
 * What each actor does when `createMigrator` provides it. A `Record` over the machine's actors: a new
 * actor without a line here fails the type-check.
 */
const actorDocs: Record<MigrationActorName, string> = {
  beforeMigrate: 'the awaited `beforeMigrate` hook (default `allow()`); B is not read meanwhile',
  prepare: 'the `prepare` step: open B, send `Connect` with the ticket',
  auth: "the `auth` step: B's `ConnectAccept` (and the password exchange)",
  sync: "the `sync` step: play the client to B until B's `JoinWorld`",
  openBuffer: "opens the migration's buffer: from now on `clientFrame()` buffers the client's packets instead of forwarding them to A",
  freeze: 'the optional `freeze` step',
  stopSource: "`barrier.stop()`: every A→client stream stops at a frame boundary (the next A frame waits in its gate)",
  cutBarrier: "`barrier.cut()`: closes A's gates (A's remaining frames are dropped) and releases B's writers; gates made from now on forward B",
  cutover: "the `cutover` step: the client's cleanup, then B's `JoinWorld` rewritten to `clearWorld=true`",
  drainToTarget: 'delivers the buffer to B, in order, by the drain policy (`sendToTarget` per packet; drops by named rule)',
  resume: "the optional `resume` step: until the client's ClientReady reached B",
  cleanup: 'the `cleanup` step: the safe window, then close A',
  closeTarget: 'the `closeTarget` step: close B (a failure is logged; the migration still rolls back)',
  drainToSource: 'delivers every buffered packet to A, in order (`sendToSource` per packet)',
  resumeSource: "`barrier.resume()`: A's streams go on; the held A frames are written",
  decideFailure: 'the awaited `onFailure` hook (default: `refer()` when a `sendReferral` step exists, else `disconnect()`)',
  failOver: 'drops what is still buffered (`session-ended`) and closes the barrier (B writers waiting on `whenCut()` are rejected)',
  sendReferral: 'the `sendReferral` step (`ERR_MIGRATION_ACTOR_NOT_PROVIDED` when there is none)',
  sendDisconnect: 'the `sendDisconnect` step, with the message the hook chose',
};

const FALLBACK_INPUT: ReadonlySet<string> = new Set(['decideFailure', 'failOver', 'sendReferral', 'sendDisconnect']);
const OUTPUT: Readonly<Record<string, string>> = { beforeMigrate: '`HookDecision`', decideFailure: '`FailureDecision`' };

/** Every actor, in the order the machine invokes them, with the states that invoke it. */
function actorTable(): string {
  const invokedIn = new Map<string, string[]>();
  const walk = (node: AnyStateNode) => {
    for (const invoke of node.invoke) {
      const src = String(invoke.src);
      invokedIn.set(src, [...(invokedIn.get(src) ?? []), `\`${node.path.join('.')}\``]);
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(migrationMachine.root);
  return [
    '| actor | invoked in | input | output | what `createMigrator` provides |',
    '|---|---|---|---|---|',
    ...[...invokedIn].map(([actor, states]) => {
      const input = FALLBACK_INPUT.has(actor) ? '`FallbackActorInput`' : '`StepActorInput`';
      return `| \`${actor}\` | ${states.join(', ')} | ${input} | ${OUTPUT[actor] ?? '—'} | ${cell(actorDocs[actor as MigrationActorName])} |`;
    }),
  ].join('\n');
}

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
    actors: actorTable(),
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
