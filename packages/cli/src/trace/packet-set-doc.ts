/**
 * The generated parts of docs/handoff-packet-set.md: per generation, the packet set a hot handoff took
 * in the demo's trace (`analyzeTrace(...).packetSet`), as a table. Only what does not depend on
 * timing is in a generation's block (packet names and phases, never counts), so that a fresh run
 * renders the same block and a test can tell a stale document; what the client happened to send
 * during the short Freeze goes in a separate, unchecked block.
 */
import type { CategoryKey, GenerationPacketSet, PacketCount } from './analyze.js';

/** Rows of a generation's block: the category, what the row says the proxy does, whether the order is the wire's. */
const ROWS: readonly { readonly key: CategoryKey; readonly what: string; readonly ordered: boolean }[] = [
  { key: 'capturedFromClient', what: 'captured from the client into the session record (before a migration)', ordered: false },
  { key: 'capturedToClient', what: 'captured on the way to the client into the session record', ordered: false },
  { key: 'replayedToTarget', what: "replayed to the target from the record, on the target's link", ordered: true },
  { key: 'injectedToTarget', what: 'injected to the target by the kit', ordered: true },
  { key: 'suppressedFromTarget', what: "suppressed from the target's handshake and setup (the client never sees them)", ordered: true },
  { key: 'bufferedFromTarget', what: 'held from the target until the cutover', ordered: true },
  { key: 'injectedToClient', what: 'injected to the client at the cutover (the old world cleaned up)', ordered: true },
  { key: 'rewrittenToClient', what: 'rewritten on the way to the client', ordered: true },
  { key: 'forwardedFromTarget', what: 'forwarded from the target in the cutover (the frames it sent before its JoinWorld, released ahead of it)', ordered: true },
];

/** Categories that depend on when the client's packets fall (not checked for staleness). */
const OBSERVED: readonly { readonly key: CategoryKey; readonly what: string }[] = [
  { key: 'trigger', what: 'suppressed just before a migration (its trigger)' },
  { key: 'forwardedToSource', what: 'forwarded from the client to the source while the target was prepared' },
  { key: 'bufferedFromClient', what: 'buffered from the client during Freeze' },
  { key: 'replayedFromBuffer', what: 'replayed from the buffer by the drain' },
  { key: 'forwardedToTarget', what: 'forwarded from the client to the target' },
  { key: 'forwardedFromTarget', what: 'forwarded from the target to the client until its SetClientId' },
  { key: 'dropped', what: 'dropped by a named rule' },
];

const PHASE_ORDER = ['Idle', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup'];

function packetText(c: PacketCount): string {
  const rules = c.rules ? ` (${Object.keys(c.rules).sort().join(', ')})` : '';
  return `\`${c.name}\`${rules}`;
}

function phasesOf(counts: readonly PacketCount[]): string {
  const phases = new Set(counts.flatMap((c) => c.phases));
  return PHASE_ORDER.filter((p) => phases.has(p)).join(', ') || '—';
}

function sorted(counts: readonly PacketCount[], ordered: boolean): readonly PacketCount[] {
  return ordered ? counts : [...counts].sort((a, b) => a.name.localeCompare(b.name));
}

/** Marker lines of a generated block. */
export function markers(name: string): { readonly begin: string; readonly end: string } {
  return { begin: `<!-- packet-set:${name}:begin (generated: pnpm docs:packet-set) -->`, end: `<!-- packet-set:${name}:end -->` };
}

/** A generation's block: one row per thing the proxy does, the packets it did it to, the phases. */
export function renderGeneration(set: GenerationPacketSet): string {
  const lines = [
    `${set.migrations} migrations reached the cutover in this generation's run.`,
    '',
    '| what the proxy does | packets | phases |',
    '|---|---|---|',
  ];
  for (const row of ROWS) {
    const all = set.packets[row.key];
    // of what the target sent on, only the cutover's release is the handoff's; the rest is live play
    const counts = row.key === 'forwardedFromTarget' ? all.filter((c) => c.phases.includes('Cutover')).map((c) => ({ ...c, phases: ['Cutover'] })) : all;
    if (counts.length === 0 && !row.ordered) continue;
    const phases = row.key === 'capturedFromClient' || row.key === 'capturedToClient' ? 'before the migration' : phasesOf(counts);
    lines.push(`| ${row.what} | ${sorted(counts, row.ordered).map(packetText).join(', ') || '—'} | ${counts.length === 0 ? '—' : phases} |`);
  }
  return lines.join('\n');
}

/** The timing-dependent observations of every generation (not checked). */
export function renderObserved(sets: readonly GenerationPacketSet[]): string {
  const lines = ['| generation | what the proxy did | packets |', '|---|---|---|'];
  for (const set of sets) {
    for (const row of OBSERVED) {
      const counts = set.packets[row.key];
      if (counts.length === 0) continue;
      lines.push(`| ${set.generation} | ${row.what} | ${sorted(counts, false).map((c) => `${packetText(c)} ×${c.count}`).join(', ')} |`);
    }
  }
  return lines.join('\n');
}

/** The text between a block's markers, or undefined when the document has no such block. */
export function blockOf(doc: string, name: string): string | undefined {
  const { begin, end } = markers(name);
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) return undefined;
  return doc.slice(from + begin.length, to).trim();
}

/** `doc` with the block `name` replaced by `content` (the markers must exist). */
export function replaceBlock(doc: string, name: string, content: string): string {
  const { begin, end } = markers(name);
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no block ${name} (${begin} … ${end})`);
  return `${doc.slice(0, from + begin.length)}\n${content}\n${doc.slice(to)}`;
}
