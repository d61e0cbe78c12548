/**
 * `GET /metrics` after real traffic: a migration by the admin API, a backend's ticketed referral, a
 * referral whose ticket fails, a client of another generation. The values are the counts of what
 * happened; every metric the Grafana dashboard charts is exported.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStrictClient, type StrictClient } from '@handoff/testkit';
import { createTicketIssuer, loadKeys } from '@handoff/tickets';
import { parseBackendId } from '@handoff/types';
import { METRIC_NAMES } from '@handoff/reference-proxy';
import { Harness } from './support/harness.js';

const dashboardFile = fileURLToPath(new URL('../../../docs/grafana-dashboard.json', import.meta.url));
let h: Harness;
let client: StrictClient;
let text: string;

/** The value of one sample line, `undefined` when absent. */
function sample(name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = inside === '' ? [] : inside.split(/,(?=[a-z_]+=")/);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  h = await Harness.start({ backendKeys: true });
  client = await h.client({ followReferrals: false });
  client.startMovement({ intervalMs: 25 });
  const session = h.session(client);

  // 1. by the admin API, a → b
  let result = h.nextResult(session);
  expect((await h.api('POST', `/sessions/${client.clientUuid}/migrate`, { target: 'b' })).status).toBe(202);
  expect(await result).toMatchObject({ kind: 'migrated' });

  // 2. b refers the player with a ticket that is not one: an ordinary referral, a failed verification
  const a = h.backend('a').address;
  const forwarded = new Promise<void>((resolve) => {
    const off = session.on('referral', ({ action }) => {
      if (action === 'forward') {
        off();
        resolve();
      }
    });
  });
  await h.backend('b').referToServer(client.clientUuid, { host: '127.0.0.1', port: a.port, data: new TextEncoder().encode('not-a-ticket') });
  await forwarded;

  // 3. b refers the player with a ticket it signed: a seamless migration b → a
  const issuer = createTicketIssuer({ keyRing: await loadKeys(h.backendKeyDirs.get('b')!), issuer: parseBackendId('b') });
  const ticket = await issuer.issue({ clientUuid: client.clientUuid, target: parseBackendId('a') });
  result = h.nextResult(session);
  await h.backend('b').referToServer(client.clientUuid, { host: '127.0.0.1', port: a.port, data: new TextEncoder().encode(ticket) });
  expect(await result).toMatchObject({ kind: 'migrated', trigger: 'referral', target: { id: 'a' } });

  // 4. a client of another generation: refused as the server refuses it
  const old = await connectStrictClient({ address: h.proxy.address, generation: 'G2' }).catch(() => undefined);
  await old?.ended.catch(() => {});
  await h.until(() => h.proxy.metrics.sources.clientCounters.closed['wrong-generation'] === 1, 'the refusal to be counted');

  client.stopMovement();
  text = (await h.api('GET', '/metrics')).text;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('GET /metrics after real traffic', () => {
  it('migrations by outcome, reason and trigger', () => {
    expect(sample('handoff_migrations_total', { outcome: 'migrated', reason: 'none', trigger: 'api' })).toBe(1);
    expect(sample('handoff_migrations_total', { outcome: 'migrated', reason: 'none', trigger: 'referral' })).toBe(1);
    expect(sample('handoff_migration_duration_seconds_count', { outcome: 'migrated' })).toBe(2);
  });

  it('a duration per phase of each migration, and one client-visible stall each', () => {
    for (const phase of ['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup']) {
      expect(sample('handoff_migration_phase_duration_seconds_count', { phase }), phase).toBe(2);
    }
    expect(sample('handoff_client_stall_seconds_count')).toBe(2);
    expect(sample('handoff_client_stall_seconds_sum')).toBeGreaterThan(0);
    expect(sample('handoff_migration_buffered_packets_count')).toBe(2);
    expect(sample('handoff_migration_buffer_high_water_packets')).toBeGreaterThanOrEqual(0);
  });

  it('referrals by action and reason, ticket verification failures by code', () => {
    expect(sample('handoff_referrals_total', { action: 'forward', reason: 'ticket-invalid' })).toBe(1);
    expect(sample('handoff_referrals_total', { action: 'migrate', reason: 'none' })).toBe(1);
    expect(sample('handoff_ticket_verification_failures_total', { code: 'ERR_TICKET_MALFORMED' })).toBe(1);
    // the first join, the API migration and the referral's fresh ticket
    expect(sample('handoff_tickets_issued_total')).toBe(3);
  });

  it('clients accepted and refused by reason', () => {
    expect(sample('handoff_clients_accepted_total')).toBe(1);
    expect(sample('handoff_client_refusals_total', { reason: 'wrong-generation' })).toBe(1);
    expect(sample('handoff_client_refusals_total', { reason: 'rate-limited' })).toBe(0);
  });

  it('traffic per direction: what the session counted', () => {
    const stats = h.session(client).stats();
    // the scrape came first: the session has counted at least as much since
    expect(sample('handoff_frames_total', { direction: 'to_server' })).toBeGreaterThan(0);
    expect(sample('handoff_frames_total', { direction: 'to_server' })).toBeLessThanOrEqual(stats.toServer.frames);
    expect(sample('handoff_frames_total', { direction: 'to_client' })).toBeLessThanOrEqual(stats.toClient.frames);
    expect(sample('handoff_bytes_total', { direction: 'to_client' })).toBeGreaterThan(0);
    expect(sample('handoff_bytes_total', { direction: 'to_server' })).toBeGreaterThan(0);
  });

  it('sessions, backends and pools now', () => {
    expect(sample('handoff_sessions', { backend: 'a', phase: 'Idle' })).toBe(1);
    expect(sample('handoff_backend_players', { backend: 'a', pool: 'default' })).toBe(1);
    expect(sample('handoff_backend_players', { backend: 'b', pool: 'default' })).toBe(0);
    expect(sample('handoff_backend_up', { backend: 'a' })).toBe(1);
    expect(sample('handoff_backend_up', { backend: 'b' })).toBe(1);
    expect(sample('handoff_backend_draining', { backend: 'a' })).toBe(0);
    expect(sample('handoff_pool_seamless', { pool: 'default' })).toBe(1);
    expect(sample('handoff_replay_store_up')).toBe(1);
  });

  it('every metric of METRIC_NAMES is exported, with its help', () => {
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    expect(METRIC_NAMES.filter((name) => !families.has(name))).toEqual([]);
    for (const name of METRIC_NAMES) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
  });
});

describe('docs/grafana-dashboard.json', () => {
  it('is a dashboard whose every panel queries metrics the proxy exports', () => {
    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { title: string; panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    expect(dashboard.title).toBe('Handoff reference proxy');
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const charted = new Set<string>();
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const names = [...target.expr.matchAll(/\bhandoff_[a-z_]+/g)].map((m) => m[0]);
        expect(names.length, target.expr).toBeGreaterThan(0);
        for (const name of names) {
          const family = name.replace(/_(bucket|sum|count)$/, '');
          expect(families.has(family) ? family : name, `${panel.title}: ${target.expr}`).toBe(family);
          expect(families.has(family), `${panel.title}: ${name}`).toBe(true);
          charted.add(family);
        }
      }
    }
    // the dashboard charts every metric the proxy exports
    expect(METRIC_NAMES.filter((name) => !charted.has(name))).toEqual([]);
  });
});
