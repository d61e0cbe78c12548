/**
 * The session's trace over a real migration (QUIC client, G3 and G2 backends over QUIC and TCP): every
 * frame on the client's connection and on the target's backend link, with the generation, the
 * migration in flight, what the kit did with it and whether the capture tap took data from it; names
 * and sizes only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryTraceRecorder, type TraceRecord } from '@handoff/proxy-kit';
import { connectStrictClient } from '@handoff/testkit';
import { Closers, account, backend, configOf, leaveAndSettle, network, proxy } from './support/harness.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

/** Every field a record may have: nothing else (no payload, no ticket, no token) ever appears. */
const FIELDS = new Set(['time', 'session', 'generation', 'direction', 'channel', 'link', 'backend', 'id', 'name', 'size', 'phase', 'migrationId', 'action', 'captured', 'rule']);

const line = (r: TraceRecord) => `${r.direction} ${r.name} ${r.action}${r.rule ? ` (${r.rule})` : ''}`;

describe.each([
  ['G3', 'quic'],
  ['G2', 'tcp'],
] as const)('%s, target over %s', (generation, transport) => {
  it('records the target setup on its link, the cutover on the client, the migration and the captures', async () => {
    const net = await network(closers);
    const a = await backend(net, { id: 'game-a', transport: 'quic', generation });
    const b = await backend(net, { id: 'game-b', transport, generation });
    const trace = memoryTraceRecorder();
    const p = await proxy(net, { generation, backends: [await configOf(a), await configOf(b)], session: { trace } });
    const client = closers.add(await connectStrictClient({ address: p.address, generation }), (c) => c.close());
    await client.inWorld();
    const session = await p.session(client.clientUuid);
    client.sendMovement(5);
    const result = await session.migrate('game-b');
    expect(result.kind).toBe('migrated');
    await client.worldsEntered(2);
    client.sendMovement(5);
    await leaveAndSettle(client, [a, b]);
    account(client, [a, b]);
    expect(client.violations).toEqual([]);

    const records = trace.records;
    for (const r of records) {
      expect(Object.keys(r).filter((k) => !FIELDS.has(k))).toEqual([]);
      expect(r).toMatchObject({ generation, session: session.id });
      expect(['client', 'backend']).toContain(r.link);
    }
    // the migration names every record of its phases, and only those
    const inFlight = records.filter((r) => r.phase !== 'Idle');
    expect(inFlight.length).toBeGreaterThan(0);
    for (const r of inFlight) expect(r.migrationId).toBe(result.migrationId);
    for (const r of records.filter((x) => x.phase === 'Idle')) expect(r.migrationId).toBeUndefined();

    // the target's link: the client's setup replayed from the record, B's setup kept from the client, its world held
    const link = records.filter((r) => r.link === 'backend');
    for (const r of link) expect(r.backend).toBe('game-b');
    expect(link.map(line)).toEqual([
      'ToServer Connect replayed',
      'ToClient ConnectAccept suppressed (handshake)',
      'ToClient WorldSettings suppressed (setup)',
      'ToServer RequestAssets replayed', // as soon as WorldSettings names the assets
      'ToClient ServerInfo suppressed (setup)',
      'ToClient WorldLoadProgress suppressed (loading)',
      'ToClient WorldLoadFinished suppressed (loading)',
      'ToServer ViewRadius replayed',
      'ToServer PlayerOptions replayed',
      'ToClient AddToServerPlayerList buffered',
      'ToClient ServerTags buffered',
      'ToClient JoinWorld buffered',
    ]);
    expect(link.find((r) => r.name === 'Connect')!.phase).toBe('Prepare');
    expect(link.find((r) => r.name === 'ConnectAccept')!.phase).toBe('Auth');
    expect(link.find((r) => r.name === 'JoinWorld')!.phase).toBe('Sync');

    // the client's connection: the cutover, then B's world
    const cutover = records.filter((r) => r.link === 'client' && r.phase === 'Cutover' && r.direction === 'ToClient').map(line);
    expect(cutover).toContain('ToClient UnloadChunk injected');
    expect(cutover).toContain('ToClient JoinWorld rewritten');
    expect(cutover.indexOf('ToClient UnloadChunk injected')).toBeLessThan(cutover.indexOf('ToClient JoinWorld rewritten'));

    // captures: the client's setup and the worlds' JoinWorld feed the record; movement never does
    const captured = (name: string, phase?: string) => records.filter((r) => r.name === name && r.link === 'client' && (phase === undefined || r.phase === phase)).map((r) => r.captured === true);
    expect(captured('PlayerOptions', 'Idle')).toEqual([true]);
    expect(captured('JoinWorld').every(Boolean)).toBe(true);
    expect(captured('ClientMovement').some(Boolean)).toBe(false);
    expect(records.filter((r) => r.link === 'backend' && r.captured)).toEqual([]);
  });
});
