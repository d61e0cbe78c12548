/**
 * `handoff trace analyze`: reads a proxy trace (JSONL, one record per frame: docs/traces.md) and
 * reports, per session and per migration, which packets the proxy captured into the session record,
 * replayed to the target, suppressed, buffered, injected, rewritten, forwarded and dropped (by rule)
 * around each migration — and, per protocol generation, the packet set a hot handoff took.
 *
 * Pure functions over parsed records: no I/O here.
 */

/** The phases of a migration, in order (`Idle` between migrations). */
const PHASES = ['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup'] as const;
const ACTIONS = ['forwarded', 'rewritten', 'suppressed', 'buffered', 'replayed', 'injected', 'dropped'] as const;
const DIRECTIONS = ['ToServer', 'ToClient'] as const;

/** One record of a trace, as `handoff trace analyze` reads it (the kit's `TraceRecord`). */
export interface TraceLine {
  readonly time: number;
  readonly session: string;
  readonly generation?: string | undefined;
  readonly direction: 'ToServer' | 'ToClient';
  readonly channel: string;
  readonly link?: 'client' | 'backend' | undefined;
  readonly backend?: string | undefined;
  readonly id: number;
  readonly name: string;
  readonly size: number;
  readonly phase: string;
  readonly migrationId?: string | undefined;
  readonly action: (typeof ACTIONS)[number];
  readonly captured?: boolean | undefined;
  readonly rule?: string | undefined;
}

/** A line that is not a trace record: where, and why. */
export interface InvalidLine {
  readonly line: number;
  readonly reason: string;
}

export interface ParsedTrace {
  readonly records: readonly TraceLine[];
  /** Lines that are not records (at most the first 20 are kept; `invalidCount` counts them all). */
  readonly invalid: readonly InvalidLine[];
  readonly invalidCount: number;
}

function check(value: unknown): TraceLine | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  const str = (key: string) => typeof r[key] === 'string' && (r[key] as string).length > 0;
  if (typeof r.time !== 'number' || !Number.isFinite(r.time)) return 'time is not a number';
  if (!str('session')) return 'session is missing';
  if (!DIRECTIONS.includes(r.direction as never)) return 'direction is neither ToServer nor ToClient';
  if (!str('channel')) return 'channel is missing';
  if (!Number.isInteger(r.id) || (r.id as number) < 0) return 'id is not a packet id';
  if (!str('name')) return 'name is missing';
  if (!Number.isInteger(r.size) || (r.size as number) < 0) return 'size is not a byte count';
  if (!str('phase')) return 'phase is missing';
  if (!ACTIONS.includes(r.action as never)) return `action ${JSON.stringify(String(r.action).slice(0, 32))} is not one of ${ACTIONS.join(', ')}`;
  if (r.link !== undefined && r.link !== 'client' && r.link !== 'backend') return 'link is neither client nor backend';
  for (const key of ['generation', 'backend', 'migrationId', 'rule'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'string') return `${key} is not a string`;
  }
  if (r.captured !== undefined && typeof r.captured !== 'boolean') return 'captured is not a boolean';
  return r as unknown as TraceLine;
}

/** Parses JSONL text; blank lines are skipped, every other line that is not a record is reported. */
export function parseTrace(text: string): ParsedTrace {
  const records: TraceLine[] = [];
  const invalid: InvalidLine[] = [];
  let invalidCount = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let parsed: unknown;
    let result: TraceLine | string;
    try {
      parsed = JSON.parse(raw);
      result = check(parsed);
    } catch {
      result = 'not JSON';
    }
    if (typeof result === 'string') {
      invalidCount += 1;
      if (invalid.length < 20) invalid.push({ line: i + 1, reason: result });
    } else records.push(result);
  }
  return { records, invalid, invalidCount };
}

// ------------------------------------------------------------------ the analysis

/** A packet name in a category, how often, and where. */
export interface PacketCount {
  readonly name: string;
  readonly count: number;
  /** The phases it was seen in, in migration order. */
  readonly phases: readonly string[];
  /** Rules (dropped) or steps (suppressed), with counts. */
  readonly rules?: Readonly<Record<string, number>> | undefined;
}

/** The categories of a migration's packets, each a list of packet names in first-seen order. */
export const CATEGORIES = [
  ['capturedFromClient', 'captured from the client (the session record, before the migration)'],
  ['capturedToClient', 'captured on the way to the client (the session record, before the migration)'],
  ['trigger', 'suppressed just before it (what triggered it)'],
  ['replayedToTarget', 'replayed to the target from the record (its link)'],
  ['injectedToTarget', 'injected to the target by the kit (its link)'],
  ['suppressedFromTarget', "suppressed from the target's setup (its link; the client never sees them)"],
  ['bufferedFromTarget', 'held from the target for the cutover (its link)'],
  ['forwardedToSource', 'forwarded from the client to the source while the target was prepared'],
  ['forwardedFromSource', 'forwarded from the source to the client until the cut'],
  ['bufferedFromClient', 'buffered from the client (Freeze until the drain)'],
  ['injectedToClient', 'injected to the client by the kit (the cleanup of the old world)'],
  ['rewrittenToClient', 'rewritten on the way to the client'],
  ['forwardedFromTarget', 'forwarded from the target to the client (its held frames, then live)'],
  ['replayedFromBuffer', 'replayed from the buffer (the drain)'],
  ['forwardedToTarget', 'forwarded from the client to the target'],
  ['suppressedToClient', 'suppressed on the way to the client during the migration'],
  ['dropped', 'dropped by a named rule'],
] as const;

export type CategoryKey = (typeof CATEGORIES)[number][0];

export interface MigrationAnalysis {
  readonly migrationId: string;
  readonly source: string | undefined;
  readonly target: string | undefined;
  /** The target's JoinWorld reached the client: the cut happened. */
  readonly cutover: boolean;
  /** The migration ended with the client on the target (its frames reached the client after the cut). */
  readonly landed: boolean;
  /** Each phase seen, with the span of its records (ms, trace clock: ms resolution). */
  readonly phases: readonly { readonly phase: string; readonly records: number; readonly ms: number }[];
  readonly records: number;
  readonly packets: Readonly<Record<CategoryKey, readonly PacketCount[]>>;
}

export interface SessionAnalysis {
  readonly session: string;
  readonly generation: string | undefined;
  readonly records: number;
  readonly backends: readonly string[];
  /** Records by link, direction and action (e.g. `client ToServer forwarded`). */
  readonly actions: Readonly<Record<string, number>>;
  readonly migrations: readonly MigrationAnalysis[];
}

/** What a generation's hot handoffs took, over every migration of its sessions that reached the cutover. */
export interface GenerationPacketSet {
  readonly generation: string;
  readonly migrations: number;
  readonly packets: Readonly<Record<CategoryKey, readonly PacketCount[]>>;
}

export interface TraceAnalysis {
  readonly records: number;
  readonly sessions: readonly SessionAnalysis[];
  readonly packetSet: readonly GenerationPacketSet[];
  readonly invalidLines?: { readonly count: number; readonly first: readonly InvalidLine[] } | undefined;
}

class Counter {
  readonly #byName = new Map<string, { count: number; phases: string[]; rules: Record<string, number> }>();

  add(r: TraceLine): void {
    let entry = this.#byName.get(r.name);
    if (!entry) {
      entry = { count: 0, phases: [], rules: {} };
      this.#byName.set(r.name, entry);
    }
    entry.count += 1;
    if (!entry.phases.includes(r.phase)) entry.phases.push(r.phase);
    if (r.rule !== undefined) entry.rules[r.rule] = (entry.rules[r.rule] ?? 0) + 1;
  }

  merge(counts: readonly PacketCount[]): void {
    for (const c of counts) {
      let entry = this.#byName.get(c.name);
      if (!entry) {
        entry = { count: 0, phases: [], rules: {} };
        this.#byName.set(c.name, entry);
      }
      entry.count += c.count;
      for (const p of c.phases) if (!entry.phases.includes(p)) entry.phases.push(p);
      for (const [rule, n] of Object.entries(c.rules ?? {})) entry.rules[rule] = (entry.rules[rule] ?? 0) + n;
    }
  }

  list(): PacketCount[] {
    const phaseOrder = (p: string) => {
      const i = (PHASES as readonly string[]).indexOf(p);
      return i < 0 ? -1 : i;
    };
    return [...this.#byName].map(([name, e]) => ({
      name,
      count: e.count,
      phases: [...e.phases].sort((a, b) => phaseOrder(a) - phaseOrder(b)),
      ...(Object.keys(e.rules).length === 0 ? {} : { rules: e.rules }),
    }));
  }
}

function emptyCounters(): Record<CategoryKey, Counter> {
  return Object.fromEntries(CATEGORIES.map(([key]) => [key, new Counter()])) as Record<CategoryKey, Counter>;
}

function lists(counters: Record<CategoryKey, Counter>): Record<CategoryKey, PacketCount[]> {
  return Object.fromEntries(CATEGORIES.map(([key]) => [key, counters[key].list()])) as Record<CategoryKey, PacketCount[]>;
}

const linkOf = (r: TraceLine) => r.link ?? 'client';

/** The most frequent value (first seen wins a tie). */
function mostCommon(values: readonly (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let n = 0;
  for (const [v, c] of counts) if (c > n) [best, n] = [v, c];
  return best;
}

/**
 * One migration: `own` its records (those naming it), `before` the session's records before its first
 * (the record's captures), `idle` those since the previous migration (its trigger), `after` the
 * records that followed it until the target's SetClientId reached the client (the world change done).
 */
function analyzeMigration(
  own: readonly TraceLine[],
  before: readonly TraceLine[],
  idle: readonly TraceLine[],
  after: readonly TraceLine[],
  migrationId: string,
): MigrationAnalysis {
  const c = emptyCounters();
  const linkRecords = own.filter((r) => linkOf(r) === 'backend');
  const rewrittenJoin = own.find((r) => linkOf(r) === 'client' && r.action === 'rewritten' && r.name === 'JoinWorld');
  const target = mostCommon(linkRecords.map((r) => r.backend)) ?? rewrittenJoin?.backend;
  // the source: where the client's frames went, and whose frames reached the client, before the cut
  const beforeCut = own.filter((r) => linkOf(r) === 'client' && (r.phase === 'Prepare' || r.phase === 'Auth' || r.phase === 'Sync' || r.phase === 'Freeze'));
  const lastIdle = [...before].reverse().find((r) => linkOf(r) === 'client' && r.backend !== undefined && r.action === 'forwarded');
  const source = mostCommon(beforeCut.filter((r) => r.backend !== target).map((r) => r.backend)) ?? (lastIdle?.backend !== target ? lastIdle?.backend : undefined);

  for (const r of before) {
    if (linkOf(r) !== 'client' || r.captured !== true) continue;
    (r.direction === 'ToServer' ? c.capturedFromClient : c.capturedToClient).add(r);
  }
  // what triggered it: a frame the kit kept from the client since the previous migration (a ticketed referral)
  for (const r of idle) {
    if (linkOf(r) === 'client' && r.direction === 'ToClient' && r.action === 'suppressed') c.trigger.add(r);
  }

  let cut = false;
  for (const r of [...own, ...after]) {
    const link = linkOf(r);
    if (link === 'backend') {
      if (r.direction === 'ToServer') (r.action === 'injected' ? c.injectedToTarget : c.replayedToTarget).add(r);
      else if (r.action === 'buffered') c.bufferedFromTarget.add(r);
      else c.suppressedFromTarget.add(r);
      continue;
    }
    if (r.action === 'dropped') {
      c.dropped.add(r);
      continue;
    }
    if (r.direction === 'ToServer') {
      if (r.action === 'buffered') c.bufferedFromClient.add(r);
      else if (r.action === 'replayed') c.replayedFromBuffer.add(r);
      else if (r.action === 'injected') c.injectedToTarget.add(r);
      else if (r.backend !== undefined && r.backend === target) c.forwardedToTarget.add(r);
      else c.forwardedToSource.add(r);
      continue;
    }
    // to the client
    if (r.action === 'injected') c.injectedToClient.add(r);
    else if (r.action === 'rewritten') {
      c.rewrittenToClient.add(r);
      if (r.name === 'JoinWorld') cut = true;
    } else if (r.action === 'suppressed') c.suppressedToClient.add(r);
    else if (r.backend !== undefined && r.backend === target) c.forwardedFromTarget.add(r);
    else c.forwardedFromSource.add(r);
  }

  const phases: { phase: string; records: number; ms: number }[] = [];
  for (const phase of [...new Set(own.map((r) => r.phase))]) {
    const of = own.filter((r) => r.phase === phase);
    phases.push({ phase, records: of.length, ms: Math.max(0, of.at(-1)!.time - of[0]!.time) });
  }
  phases.sort((a, b) => (PHASES as readonly string[]).indexOf(a.phase) - (PHASES as readonly string[]).indexOf(b.phase));
  const landed = cut && after.concat(own).some((r) => linkOf(r) === 'client' && r.direction === 'ToClient' && r.action === 'forwarded' && r.backend === target && r.name === 'SetClientId');
  return { migrationId, source, target, cutover: cut, landed, phases, records: own.length, packets: lists(c) };
}

/** Analyses parsed records (any order of sessions; each session's records in the order recorded). */
export function analyzeTrace(parsed: ParsedTrace | readonly TraceLine[]): TraceAnalysis {
  const records = 'records' in parsed ? parsed.records : parsed;
  const bySession = new Map<string, TraceLine[]>();
  for (const r of records) {
    let list = bySession.get(r.session);
    if (!list) bySession.set(r.session, (list = []));
    list.push(r);
  }
  const sessions: SessionAnalysis[] = [];
  for (const [session, list] of bySession) {
    const actions: Record<string, number> = {};
    for (const r of list) {
      const key = `${linkOf(r)} ${r.direction} ${r.action}`;
      actions[key] = (actions[key] ?? 0) + 1;
    }
    // each migration's span of records (first to last naming it)
    const spans: { id: string; first: number; last: number }[] = [];
    for (let i = 0; i < list.length; i++) {
      const id = list[i]!.migrationId;
      if (id === undefined) continue;
      const span = spans.find((x) => x.id === id);
      if (span) span.last = i;
      else spans.push({ id, first: i, last: i });
    }
    const migrations: MigrationAnalysis[] = [];
    for (const [k, span] of spans.entries()) {
      const own = list.filter((r) => r.migrationId === span.id);
      const previousEnd = k === 0 ? 0 : spans[k - 1]!.last + 1;
      const nextStart = spans[k + 1]?.first ?? list.length;
      const target = mostCommon(own.filter((r) => linkOf(r) === 'backend').map((r) => r.backend));
      // after it: until the target's SetClientId reached the client (the client then plays in its world)
      const after: TraceLine[] = [];
      for (let i = span.last + 1; i < nextStart; i++) {
        const r = list[i]!;
        if (r.migrationId !== undefined) continue;
        after.push(r);
        if (linkOf(r) === 'client' && r.direction === 'ToClient' && r.name === 'SetClientId' && r.backend === target) break;
      }
      const done = own.some((r) => linkOf(r) === 'client' && r.direction === 'ToClient' && r.name === 'SetClientId' && r.backend === target);
      migrations.push(
        analyzeMigration(
          own,
          list.slice(0, span.first).filter((r) => r.migrationId !== span.id),
          list.slice(previousEnd, span.first).filter((r) => r.migrationId === undefined),
          done ? [] : after,
          span.id,
        ),
      );
    }
    sessions.push({
      session,
      generation: mostCommon(list.map((r) => r.generation)),
      records: list.length,
      backends: [...new Set(list.map((r) => r.backend).filter((b): b is string => b !== undefined))].sort(),
      actions,
      migrations,
    });
  }
  const byGeneration = new Map<string, { migrations: number; counters: Record<CategoryKey, Counter> }>();
  for (const s of sessions) {
    const generation = s.generation ?? 'unknown';
    let entry = byGeneration.get(generation);
    if (!entry) byGeneration.set(generation, (entry = { migrations: 0, counters: emptyCounters() }));
    for (const m of s.migrations.filter((x) => x.cutover)) {
      entry.migrations += 1;
      for (const [key] of CATEGORIES) entry.counters[key].merge(m.packets[key]);
    }
  }
  const packetSet = [...byGeneration]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([generation, e]) => ({ generation, migrations: e.migrations, packets: lists(e.counters) }));
  const invalid = 'invalid' in parsed && parsed.invalidCount > 0 ? { count: parsed.invalidCount, first: parsed.invalid } : undefined;
  return { records: records.length, sessions, packetSet, ...(invalid ? { invalidLines: invalid } : {}) };
}

// ------------------------------------------------------------------ the report

/** `Name ×n (rule)` lists. */
export function formatCounts(counts: readonly PacketCount[]): string {
  if (counts.length === 0) return '—';
  return counts
    .map((c) => {
      const rules = c.rules ? ` (${Object.entries(c.rules).map(([rule, n]) => (n === c.count ? rule : `${rule} ×${n}`)).join(', ')})` : '';
      return `${c.name}${c.count > 1 ? ` ×${c.count}` : ''}${rules}`;
    })
    .join(', ');
}

/** The readable report. */
export function formatAnalysis(analysis: TraceAnalysis): string[] {
  const out: string[] = [];
  out.push(`${analysis.records} records, ${analysis.sessions.length} session(s)`);
  if (analysis.invalidLines) {
    out.push(`${analysis.invalidLines.count} line(s) are not trace records: ${analysis.invalidLines.first.map((l) => `line ${l.line} (${l.reason})`).join('; ')}`);
  }
  for (const s of analysis.sessions) {
    out.push('');
    out.push(`session ${s.session} (${s.generation ?? 'generation unknown'}): ${s.records} records, backends ${s.backends.join(', ') || '—'}, ${s.migrations.length} migration(s)`);
    for (const [i, m] of s.migrations.entries()) {
      const verdict = m.landed ? 'landed on the target' : m.cutover ? 'cut over' : 'no cutover (rolled back or refused)';
      out.push(`  migration ${i + 1} (${m.migrationId}): ${m.source ?? '?'} → ${m.target ?? '?'}, ${verdict}; ${m.phases.map((p) => `${p.phase} ${p.records}`).join(' · ')} records`);
      for (const [key, title] of CATEGORIES) {
        const counts = m.packets[key];
        if (counts.length === 0) continue;
        out.push(`    ${title}: ${formatCounts(counts)}`);
      }
    }
  }
  for (const g of analysis.packetSet) {
    out.push('');
    out.push(`packet set of ${g.generation} (${g.migrations} migration(s) that reached the cutover):`);
    for (const key of PACKET_SET_KEYS) out.push(`  ${PACKET_SET_TITLES[key]}: ${g.packets[key].map((c) => c.name).join(', ') || '—'}`);
  }
  return out;
}

/** The categories that make the packet set of a hot handoff (everything else is forwarded untouched). */
export const PACKET_SET_KEYS = [
  'capturedFromClient',
  'capturedToClient',
  'replayedToTarget',
  'suppressedFromTarget',
  'bufferedFromTarget',
  'bufferedFromClient',
  'injectedToClient',
  'rewrittenToClient',
  'replayedFromBuffer',
  'dropped',
] as const satisfies readonly CategoryKey[];

export const PACKET_SET_TITLES: Readonly<Record<(typeof PACKET_SET_KEYS)[number], string>> = {
  capturedFromClient: 'captured from the client',
  capturedToClient: 'captured on the way to the client',
  replayedToTarget: 'replayed to the target',
  suppressedFromTarget: "suppressed from the target's setup",
  bufferedFromTarget: 'held from the target for the cutover',
  bufferedFromClient: 'buffered from the client',
  injectedToClient: 'injected to the client',
  rewrittenToClient: 'rewritten',
  replayedFromBuffer: 'replayed from the buffer',
  dropped: 'dropped by rule',
};
