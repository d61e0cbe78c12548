/**
 * Tokens and grants never leave their place: not in a log line, an error (message, fields, cause), a
 * violation, a report, the session service's request log, or a test snapshot of any of them.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  connectStrictClient,
  createSessionService,
  sessionServiceClient,
  verifyAccessToken,
  verifyClientTokens,
  type SessionService,
} from '@handoff/testkit';
import type { Logger } from '@handoff/types';
import { scriptedServer } from './support/client-scripted-server.js';

const WORLD = '0a0a0a0a-0000-4000-8000-00000000000a';
const lines: unknown[] = [];
const logger: Logger = {
  debug: (obj, msg) => lines.push([obj, msg]),
  info: (obj, msg) => lines.push([obj, msg]),
  warn: (obj, msg) => lines.push([obj, msg]),
  error: (obj, msg) => lines.push([obj, msg]),
};
let service: SessionService;

beforeAll(async () => {
  service = await createSessionService({ logger });
});

afterAll(async () => {
  await service.close();
});

/** Everything a test could print, serialise or snapshot, as one string. */
function everything(values: unknown[]): string {
  return values.map((v) => `${inspect(v, { depth: 10, showHidden: true, getters: true })}\n${safeJson(v)}\n${String(v)}`).join('\n');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
  } catch {
    return '';
  }
}

it('no token or grant appears in logs, errors, violations, reports or snapshots', async () => {
  const player = await service.createPlayer({ clientUuid: randomUUID(), username: 'Alice' });
  const server = await service.createServer();
  const scripted = await scriptedServer({ generation: 'G3' });
  const shown: unknown[] = [player, server];
  try {
    // a full authenticated join
    const [client, peer] = await Promise.all([
      connectStrictClient({ address: scripted.address, auth: { sessionService: service.url, credentials: player }, logger }),
      scripted.accept(),
    ]);
    await peer.playAuthenticatedJoin({ service, server }, WORLD, scripted.certificateFingerprint);
    await client.inWorld();
    peer.send('WorldSettings', { worldHeight: 320, requiredAssets: [] }); // a violation, to have one in the report
    await client.until(() => client.violations.length > 0);
    shown.push(client.report(), client.violations, client, await client.close());
    const secrets = [...peer.secrets, player.identityToken, player.sessionToken, server.identityToken, server.sessionToken];
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    const [accessToken] = peer.secrets.filter((s) => s.split('.').length === 3 && s !== player.identityToken && s !== server.identityToken);

    // refused tokens and refused exchanges, as errors
    shown.push(
      await verifyAccessToken(accessToken, {
        jwks: service.jwks(),
        audience: 'another-server',
        certificateFingerprint: client.certificateFingerprint,
        clientUuid: player.clientUuid,
        username: 'Alice',
      }).catch((e: unknown) => e),
      await verifyClientTokens({
        identityToken: `${player.identityToken}x`,
        accessToken,
        jwks: service.jwksUrl,
        audience: server.audience,
        certificateFingerprint: client.certificateFingerprint,
        clientUuid: player.clientUuid,
        username: 'Alice',
      }).catch((e: unknown) => e),
      await sessionServiceClient({ url: service.url })
        .exchangeAuthGrant({ authorizationGrant: peer.secrets[1]!, certificateFingerprint: client.certificateFingerprint, sessionToken: player.sessionToken })
        .catch((e: unknown) => e),
      await sessionServiceClient({ url: service.url })
        .requestAuthGrant({ identityToken: player.identityToken, audience: 'x', sessionToken: 'not-a-session' })
        .catch((e: unknown) => e),
    );
    shown.push(service.requests, service.counters, lines);

    expect(shown.filter((v) => v instanceof Error)).toHaveLength(4);
    expect(lines.length).toBeGreaterThan(5);
    const text = everything(shown);
    for (const secret of secrets) {
      expect(text.includes(secret), 'a secret leaked').toBe(false);
      // nor a recognisable piece of one (its signature, its payload)
      for (const piece of secret.split('.').filter((p) => p.length >= 20)) expect(text.includes(piece), 'a piece of a secret leaked').toBe(false);
    }
    expect(safeJson(player)).toContain('[redacted]');
    expect(inspect(server)).toContain('[redacted]');
  } finally {
    await scripted.close();
  }
});
