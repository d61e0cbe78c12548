/**
 * Logs: JSON lines, and never a secret. An authenticated player (the fake session service), tickets
 * on every join, a backend's ticketed referral, admin calls with a bearer token; then every log line is
 * searched for every one of those secrets, and for anything shaped like a JWS.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getGeneration } from '@handoff/protocol';
import { createSessionService, type SessionService } from '@handoff/testkit';
import { createTicketIssuer, loadKeys } from '@handoff/tickets';
import { parseBackendId } from '@handoff/types';
import { REDACTED, createProxyLogger } from '@handoff/reference-proxy';
import { Harness } from './support/harness.js';

const JWS = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{40,}/;

describe('the logger', () => {
  it('censors every field named like a secret, at the first three levels', () => {
    const lines: string[] = [];
    const logger = createProxyLogger({ destination: { write: (line: string) => void lines.push(line) } });
    logger.info(
      { token: 't1', ticket: 't2', nested: { identityToken: 't3', grant: 't4', deeper: { password: 't5', key: 't6' } }, headers: { authorization: 'Bearer t7' }, clientUuid: 'kept' },
      'hello',
    );
    const line = JSON.parse(lines[0]!) as Record<string, any>;
    expect(line).toMatchObject({ level: 'info', msg: 'hello', name: 'handoff-proxy', clientUuid: 'kept', token: REDACTED, ticket: REDACTED });
    expect(line.nested).toEqual({ identityToken: REDACTED, grant: REDACTED, deeper: { password: REDACTED, key: REDACTED } });
    expect(line.headers.authorization).toBe(REDACTED);
    expect(lines[0]).not.toMatch(/t[1-7]"/);
  });

  it('logs an error as its name, code and message only', () => {
    const lines: string[] = [];
    const logger = createProxyLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const err = Object.assign(new Error('it failed', { cause: { token: 'secret-cause' } }), { code: 'ERR_X', extra: 'secret-extra' });
    logger.warn({ err }, 'failed');
    expect(JSON.parse(lines[0]!).err).toEqual({ name: 'Error', code: 'ERR_X', message: 'it failed' });
    expect(lines[0]).not.toMatch(/secret-/);
  });
});

describe('a proxy under traffic', () => {
  let h: Harness | undefined;
  let service: SessionService | undefined;
  afterAll(async () => {
    await h?.close();
    await service?.close();
  });

  it('writes no token, grant, ticket or key to its logs', async () => {
    service = await createSessionService();
    const server = await service.createServer({ audience: 'proxy.test' });
    const player = await service.createPlayer({ clientUuid: '3f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f', username: 'Alice' });
    const adminToken = 'admin-token-0123456789abcdef';
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'handoff-refproxy-secrets-'));
    writeFileSync(join(dir, 'session-token'), `${server.sessionToken}\n`);
    writeFileSync(join(dir, 'identity-token'), `${server.identityToken}\n`);
    h = await Harness.start({
      backendKeys: true,
      backends: [
        { id: 'a', transport: 'quic', init: { packetLog: 'frames' } },
        { id: 'b', transport: 'tcp', init: { packetLog: 'frames' } },
      ],
      config: {
        clientAuth: {
          mode: 'session-service',
          url: service.url,
          audience: 'proxy.test',
          serverSessionTokenFile: join(dir, 'session-token'),
          serverIdentityTokenFile: join(dir, 'identity-token'),
        },
      },
      env: { HANDOFF_ADMIN_TOKEN: adminToken },
    });
    const client = await h.client({ auth: { sessionService: service.url, credentials: player }, username: 'Alice', clientUuid: player.clientUuid });
    const session = h.session(client);
    expect((await h.api('GET', `/sessions/${client.clientUuid}`, undefined, { authorization: `Bearer ${adminToken}` })).body).toMatchObject({ authenticated: true });

    // a migration by the API, then one by b's ticketed referral
    let result = h.nextResult(session);
    expect((await h.api('POST', `/sessions/${client.clientUuid}/migrate`, { target: 'b' }, { authorization: `Bearer ${adminToken}` })).status).toBe(202);
    expect(await result).toMatchObject({ kind: 'migrated' });
    const referralTicket = await createTicketIssuer({ keyRing: await loadKeys(h.backendKeyDirs.get('b')!), issuer: parseBackendId('b') }).issue({
      clientUuid: client.clientUuid,
      target: parseBackendId('a'),
    });
    result = h.nextResult(session);
    await h.backend('b').referToServer(client.clientUuid, { host: '127.0.0.1', port: h.backend('a').address.port, data: new TextEncoder().encode(referralTicket) });
    expect(await result).toMatchObject({ kind: 'migrated', trigger: 'referral' });
    // a wrong admin token is refused (and not logged either)
    expect((await h.api('GET', '/sessions', undefined, { authorization: 'Bearer wrong-token-that-is-long' })).status).toBe(401);

    // the secrets: the tokens, the key material, every ticket the backends received
    const g = getGeneration('G3');
    const tickets: string[] = [];
    for (const id of ['a', 'b']) {
      for (const packet of h.backend(id).packetLog(client.clientUuid)) {
        if (packet.name !== 'Connect' || !packet.frame) continue;
        const data = g.packet('Connect').decodeFrame(packet.frame).referralData;
        if (data) tickets.push(new TextDecoder().decode(data));
      }
    }
    expect(tickets).toHaveLength(3); // the first join, a→b, b→a
    const privateKey = (dir: string) => (JSON.parse(readFileSync(join(dir, 'signing-key.jwk'), 'utf8')) as { d: string }).d;
    const secrets: Record<string, string> = {
      'player identity token': player.identityToken,
      'player session token': player.sessionToken,
      'proxy identity token': server.identityToken,
      'proxy session token': server.sessionToken,
      'admin token': adminToken,
      'wrong admin token': 'wrong-token-that-is-long',
      "the proxy's private key": privateKey(h.keysDir),
      "b's private key": privateKey(h.backendKeyDirs.get('b')!),
      'the referral ticket': referralTicket,
      ...Object.fromEntries(tickets.map((t, i) => [`ticket ${i + 1}`, t])),
    };

    await client.leave();
    const lines = h.lines;
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const all = lines.join('\n');
    expect(all).toMatch(/"msg":"player joined"/);
    expect(all).toMatch(/"trigger":"referral".*"msg":"migration"/);
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret.length, what).toBeGreaterThan(15);
      expect(all.includes(secret), what).toBe(false);
      // nor any signature of a JWS on its own
      const signature = secret.split('.')[2];
      if (signature !== undefined) expect(all.includes(signature), `${what} (its signature)`).toBe(false);
    }
    expect(all).not.toMatch(JWS);
  }, 60_000);
});
