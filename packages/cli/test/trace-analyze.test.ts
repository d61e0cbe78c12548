/**
 * `handoff trace analyze` on a recorded trace (fixtures/demo-g3.trace.jsonl: `handoff demo --trace`,
 * G3, a → b by the admin API, b → a and a → b by ticketed referrals, b's crash → a) and on small
 * hand-made traces for the edges: a migration that never cut over, a trace from before the
 * migration fields existed, lines that are not records.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '@handoff/cli';
import { analyzeTrace, parseTrace, type TraceLine } from '../src/trace/analyze.js';

const FIXTURE = new URL('./fixtures/demo-g3.trace.jsonl', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'handoff-trace-'));

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

const names = (counts: readonly { name: string }[]) => counts.map((c) => c.name);

describe('the demo trace (G3)', async () => {
  const parsed = parseTrace(await readFile(FIXTURE, 'utf8'));
  const analysis = analyzeTrace(parsed);
  const [session] = analysis.sessions;

  test('every line is a record of one G3 session with four migrations between a and b', () => {
    expect(parsed.invalidCount).toBe(0);
    expect(analysis.records).toBe(parsed.records.length);
    expect(analysis.sessions).toHaveLength(1);
    expect(session).toMatchObject({ generation: 'G3', backends: ['a', 'b'] });
    expect(session!.migrations.map((m) => [m.source, m.target, m.cutover, m.landed])).toEqual([
      ['a', 'b', true, true],
      ['b', 'a', true, true],
      ['a', 'b', true, true],
      ['b', 'a', true, true],
    ]);
  });

  test('each migration: the client setup replayed to the target, its setup suppressed, its world held, the cleanup injected, JoinWorld rewritten', () => {
    for (const m of session!.migrations) {
      expect(names(m.packets.replayedToTarget)).toEqual(['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions']);
      expect(m.packets.suppressedFromTarget.map((c) => [c.name, Object.keys(c.rules ?? {})])).toEqual([
        ['ConnectAccept', ['handshake']],
        ['WorldSettings', ['setup']],
        ['ServerInfo', ['setup']],
        ['WorldLoadProgress', ['loading']],
        ['WorldLoadFinished', ['loading']],
      ]);
      expect(names(m.packets.bufferedFromTarget)).toEqual(['AddToServerPlayerList', 'ServerTags', 'JoinWorld']);
      expect(names(m.packets.injectedToClient)).toEqual(['UnloadChunk', 'RemoveFromServerPlayerList', 'ResetUserInterfaceState']);
      expect(m.packets.rewrittenToClient).toEqual([{ name: 'JoinWorld', count: 1, phases: ['Cutover'] }]);
      // the target's SetClientId reaches the client as the target sent it: the new world's id
      expect(names(m.packets.forwardedFromTarget)).toContain('SetClientId');
      // the held frames come out in the cutover, in order, before anything live
      expect(names(m.packets.forwardedFromTarget).slice(0, 2)).toEqual(['AddToServerPlayerList', 'ServerTags']);
    }
  });

  test('the referrals that triggered migrations 2 and 3 never reached the client', () => {
    expect(session!.migrations.map((m) => names(m.packets.trigger))).toEqual([[], ['ClientReferral'], ['ClientReferral'], []]);
  });

  test('captures: the client setup and the world state the cleanup and the ping routing need; never movement', () => {
    const first = session!.migrations[0]!;
    expect(names(first.packets.capturedFromClient)).toEqual(expect.arrayContaining(['RequestAssets', 'ViewRadius', 'PlayerOptions']));
    expect(names(first.packets.capturedToClient)).toEqual(expect.arrayContaining(['JoinWorld', 'SetClientId', 'SetChunk', 'AddToServerPlayerList', 'Ping']));
    for (const m of session!.migrations) expect(names(m.packets.capturedFromClient)).not.toContain('ClientMovement');
  });

  test('the packet set of G3 is the union over the migrations that cut over', () => {
    expect(analysis.packetSet).toHaveLength(1);
    const g3 = analysis.packetSet[0]!;
    expect(g3).toMatchObject({ generation: 'G3', migrations: 4 });
    expect(names(g3.packets.replayedToTarget)).toEqual(['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions']);
    expect(g3.packets.replayedToTarget[0]!.count).toBe(4);
    expect(names(g3.packets.rewrittenToClient)).toEqual(['JoinWorld']);
  });

  test('handoff trace analyze prints the report; --json one object with the same analysis', async () => {
    const text = await run('trace', 'analyze', FIXTURE.pathname);
    expect(text.code).toBe(0);
    expect(text.out[0]).toBe(`${parsed.records.length} records, 1 session(s)`);
    expect(text.out).toContain('  rewritten: JoinWorld');
    expect(text.out.filter((l) => /^ {2}migration \d/.test(l))).toHaveLength(4);
    const json = await run('trace', 'analyze', '--json', FIXTURE.pathname);
    expect(json.out).toHaveLength(1);
    expect(JSON.parse(json.out[0]!)).toEqual(JSON.parse(JSON.stringify(analysis)));
  });
});

const base = { session: 's-1', generation: 'G2', channel: 'Default', link: 'client', size: 10, id: 1 } as const;
const rec = (time: number, fields: Partial<TraceLine> & Pick<TraceLine, 'direction' | 'name' | 'phase' | 'action'>): TraceLine => ({ ...base, time, ...fields }) as TraceLine;

describe('edges', () => {
  test('a migration that never cut over (the target refused the ticket) is reported, and left out of the packet set', () => {
    const m = 'm-1';
    const records = [
      rec(1, { direction: 'ToServer', name: 'PlayerOptions', phase: 'Idle', action: 'forwarded', backend: 'a', captured: true }),
      rec(2, { direction: 'ToServer', name: 'Connect', phase: 'Prepare', action: 'replayed', backend: 'b', link: 'backend', migrationId: m }),
      rec(3, { direction: 'ToClient', name: 'Disconnect', phase: 'Auth', action: 'suppressed', rule: 'refusal', backend: 'b', link: 'backend', migrationId: m }),
      rec(4, { direction: 'ToServer', name: 'ClientMovement', phase: 'Auth', action: 'forwarded', backend: 'a', migrationId: m }),
      rec(5, { direction: 'ToServer', name: 'ClientMovement', phase: 'Idle', action: 'forwarded', backend: 'a' }),
    ];
    const analysis = analyzeTrace(records);
    const [migration] = analysis.sessions[0]!.migrations;
    expect(migration).toMatchObject({ source: 'a', target: 'b', cutover: false, landed: false, records: 3 });
    expect(migration!.packets.suppressedFromTarget).toEqual([{ name: 'Disconnect', count: 1, phases: ['Auth'], rules: { refusal: 1 } }]);
    expect(names(migration!.packets.forwardedToSource)).toEqual(['ClientMovement']);
    expect(analysis.packetSet).toEqual([expect.objectContaining({ generation: 'G2', migrations: 0 })]);
  });

  test('a trace without the migration fields (an older recorder) is read: no migration, no crash', () => {
    const old = [{ time: 1, session: 's', direction: 'ToClient', channel: 'Default', backend: 'a', id: 20, name: 'WorldSettings', size: 9, phase: 'Idle', action: 'forwarded' }];
    const analysis = analyzeTrace(parseTrace(old.map((r) => JSON.stringify(r)).join('\n')));
    expect(analysis.sessions).toEqual([expect.objectContaining({ generation: undefined, records: 1, migrations: [] })]);
    expect(analysis.packetSet).toEqual([expect.objectContaining({ generation: 'unknown', migrations: 0 })]);
  });

  test('lines that are not records are counted and named; the rest is analysed', async () => {
    const good = JSON.stringify(rec(1, { direction: 'ToServer', name: 'Pong', phase: 'Idle', action: 'forwarded', backend: 'a' }));
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, [good, '{not json', JSON.stringify({ ...JSON.parse(good), action: 'teleported' }), '', '[1,2]', good.slice(0, 40)].join('\n'));
    const r = await run('trace', 'analyze', file);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe('1 records, 1 session(s)');
    expect(r.out[1]).toBe(
      '4 line(s) are not trace records: line 2 (not JSON); line 3 (action "teleported" is not one of forwarded, rewritten, suppressed, buffered, replayed, injected, dropped); line 5 (not a JSON object); line 6 (not JSON)',
    );
  });

  test('a file without a record, or no file: one line, ERR_CLI_FILE, exit 1', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '\n\n');
    expect(await run('trace', 'analyze', empty)).toMatchObject({ code: 1, out: [], err: [`ERR_CLI_FILE: ${empty} holds no trace record (it is empty)`] });
    const garbage = join(dir, 'garbage.jsonl');
    writeFileSync(garbage, 'hello\n');
    expect((await run('trace', 'analyze', garbage)).err).toEqual([`ERR_CLI_FILE: ${garbage} holds no trace record (line 1: not JSON)`]);
    expect((await run('trace', 'analyze', join(dir, 'missing.jsonl'))).err).toEqual([expect.stringMatching(/^ERR_CLI_FILE: cannot read the trace .*missing\.jsonl: ENOENT$/)]);
    expect((await run('trace', 'analyze')).code).toBe(2);
  });
});
