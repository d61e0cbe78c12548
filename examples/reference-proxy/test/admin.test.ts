/**
 * The admin API against a running proxy (simulated backends over QUIC and TCP, a strict client over
 * QUIC): every route and every status code it answers, with the JSON error `{ code, message }`.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droppedByRule, type StrictClient } from '@handoff/testkit';
import { Harness } from './support/harness.js';

/** A gate on backend b's setup: while armed, a join of b waits (the migration stays in flight). */
class Gate {
  armed = false;
  #release: (() => void) | undefined;
  #entered: (() => void) | undefined;
  entered: Promise<void> = Promise.resolve();

  arm(): void {
    this.armed = true;
    this.entered = new Promise((resolve) => (this.#entered = resolve));
  }

  wait(): Promise<undefined> {
    if (!this.armed) return Promise.resolve(undefined);
    this.#entered?.();
    return new Promise((resolve) => (this.#release = () => resolve(undefined)));
  }

  release(): void {
    this.armed = false;
    this.#release?.();
  }
}

const gate = new Gate();
let h: Harness;
let client: StrictClient;

beforeAll(async () => {
  h = await Harness.start({
    backends: [
      { id: 'a', transport: 'quic' },
      { id: 'b', transport: 'tcp', init: { onSetupConnect: () => gate.wait() } },
    ],
  });
  client = await h.client();
  client.startMovement({ intervalMs: 25 });
}, 60_000);

afterAll(async () => {
  client?.stopMovement();
  await h?.close();
});

const error = (code: string) => ({ code, message: expect.any(String) });

describe('reading', () => {
  it('GET /healthz: 200 ok', async () => {
    const reply = await h.api('GET', '/healthz');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'ok', sessions: 1 });
  });

  it('GET /sessions: every player with its backend, phase and connection time', async () => {
    const reply = await h.api('GET', '/sessions');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body.sessions).toEqual([
      {
        clientUuid: client.clientUuid,
        username: 'Player',
        sessionId: expect.any(String),
        backend: 'a',
        pool: 'default',
        phase: 'Idle',
        connectedSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        generation: 'G3',
        authenticated: false,
      },
    ]);
  });

  it('GET /sessions/{uuid}: the dashed form in any case; 400 for another form; 404 for an unknown player', async () => {
    const upper = await h.api('GET', `/sessions/${client.clientUuid.toUpperCase()}`);
    expect(upper.status).toBe(200);
    expect(upper.body).toMatchObject({ clientUuid: client.clientUuid, backend: 'a', migrations: [], stats: { toClient: { frames: expect.any(Number) } } });
    expect((await h.api('GET', `/sessions/${client.clientUuid.replace(/-/g, '')}`)).body).toEqual(error('bad-request'));
    const bad = await h.api('GET', '/sessions/not-a-uuid');
    expect([bad.status, bad.body]).toEqual([400, error('bad-request')]);
    const unknown = await h.api('GET', `/sessions/${randomUUID()}`);
    expect([unknown.status, unknown.body]).toEqual([404, error('unknown-session')]);
  });

  it('GET /backends: state, players and drain of each backend; each pool seamless', async () => {
    const reply = await h.api('GET', '/backends');
    expect(reply.status).toBe(200);
    expect(reply.body.backends).toEqual([
      { id: 'a', pool: 'default', transport: 'quic', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), state: 'up', lastError: null, players: 1, draining: false, drain: null },
      { id: 'b', pool: 'default', transport: 'tcp', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), state: 'unknown', lastError: null, players: 0, draining: false, drain: null },
    ]);
    expect(reply.body.pools).toEqual([{ id: 'default', seamless: true, reason: null, fallback: 'default' }]);
  });

  it('GET /metrics: the Prometheus text format', async () => {
    const reply = await h.api('GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(reply.text).toMatch(/^# HELP handoff_sessions /m);
  });

  it('an unknown route is 404, a wrong method 405 with Allow', async () => {
    expect(await h.api('GET', '/nope').then((r) => [r.status, r.body])).toEqual([404, error('not-found')]);
    const wrong = await h.api('DELETE', '/sessions');
    expect([wrong.status, wrong.body]).toEqual([405, error('method-not-allowed')]);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

describe('POST /sessions/{uuid}/migrate', () => {
  const migrate = (body: unknown, uuid: string = client.clientUuid) => h.api('POST', `/sessions/${uuid}/migrate`, body);

  it.each([
    ['not JSON', '{"target":', 'bad-request'],
    ['not an object', '["b"]', 'bad-request'],
    ['no target', '{}', 'bad-request'],
    ['a target that is not a string', '{"target":7}', 'bad-request'],
    ['an unknown field', '{"target":"b","now":true}', 'bad-request'],
    ['an empty body', '', 'bad-request'],
    ['an unknown backend', '{"target":"zz"}', 'unknown-backend'],
  ])('400 for %s', async (_, body, code) => {
    const reply = await migrate(body);
    expect([reply.status, reply.body]).toEqual([400, error(code)]);
    expect(h.session(client).phase).toBe('Idle');
  });

  it('404 for a player who is not connected', async () => {
    const reply = await migrate({ target: 'b' }, randomUUID());
    expect([reply.status, reply.body]).toEqual([404, error('unknown-session')]);
  });

  it('409 when the player is there already', async () => {
    const reply = await migrate({ target: 'a' });
    expect([reply.status, reply.body]).toEqual([409, error('already-on-backend')]);
  });

  it('202 when started (any case of the UUID); 409 while it runs; the player then is on the target', async () => {
    const session = h.session(client);
    gate.arm();
    const result = h.nextResult(session);
    const started = await migrate({ target: 'b' }, client.clientUuid.toUpperCase());
    expect([started.status, started.body]).toEqual([
      202,
      { status: 'started', clientUuid: client.clientUuid, migrationId: expect.any(String), source: 'a', target: 'b' },
    ]);
    await gate.entered; // b holds the join: the migration is in flight
    const again = await migrate({ target: 'b' });
    expect([again.status, again.body]).toEqual([409, error('already-migrating')]);
    expect((await h.api('GET', `/sessions/${client.clientUuid}`)).body.phase).not.toBe('Idle');
    gate.release();
    expect(await result).toMatchObject({ kind: 'migrated', trigger: 'api', source: { id: 'a' }, target: { id: 'b' } });
    const detail = await h.api('GET', `/sessions/${client.clientUuid}`);
    expect(detail.body).toMatchObject({ backend: 'b', phase: 'Idle', migrations: [expect.objectContaining({ outcome: 'migrated' })] });
    expect(detail.body.lastResults).toEqual([{ outcome: 'migrated', reason: 'none', trigger: 'api', target: 'b', migrationId: started.body.migrationId }]);
  });
});

describe('drains', () => {
  const drain = (id: string, body: unknown) => h.api('POST', `/backends/${id}/drain`, body);

  it('404 for an unknown backend; 400 for a bad body or target', async () => {
    expect(await drain('zz', { to: 'a', rate: 1 }).then((r) => [r.status, r.body])).toEqual([404, error('unknown-backend')]);
    for (const [body, code] of [
      [{ to: 'a' }, 'bad-request'],
      [{ to: 'a', rate: 0 }, 'bad-request'],
      [{ to: 'a', rate: -1 }, 'bad-request'],
      [{ to: 'a', rate: 'fast' }, 'bad-request'],
      [{ to: 'a', rate: 5000 }, 'bad-request'],
      [{ rate: 1 }, 'bad-request'],
      [{ to: 'a', rate: 1, extra: 1 }, 'bad-request'],
      [{ to: 'b', rate: 1 }, 'bad-request'],
      [{ to: 'nowhere', rate: 1 }, 'unknown-target'],
    ] as const) {
      const reply = await drain('b', body);
      expect([reply.status, reply.body], JSON.stringify(body)).toEqual([400, error(code)]);
    }
    expect(h.proxy.backends().find((b) => b.id === 'b')?.draining).toBe(false);
  });

  it('202 starts it; 409 while it runs; a migration into it is 409; the player moves; DELETE ends it (409 when not draining)', async () => {
    const session = h.session(client);
    expect(session.backend.id).toBe('b');
    const moved = h.nextResult(session);
    const started = await drain('b', { to: 'a', rate: 50 });
    expect(started.status).toBe(202);
    expect(started.body.drain).toMatchObject({ backend: 'b', to: 'a', rate: 50, state: 'running' });
    expect(await drain('b', { to: 'a', rate: 1 }).then((r) => [r.status, r.body])).toEqual([409, error('already-draining')]);
    expect(await moved).toMatchObject({ kind: 'migrated', trigger: 'drain', target: { id: 'a' } });
    const into = await h.api('POST', `/sessions/${client.clientUuid}/migrate`, { target: 'b' });
    expect([into.status, into.body]).toEqual([409, error('backend-draining')]);
    await h.until(() => h.proxy.backends().find((b) => b.id === 'b')?.drain?.state === 'done', 'the drain to end');
    const backends = await h.api('GET', '/backends');
    expect(backends.body.backends[1]).toMatchObject({ id: 'b', players: 0, draining: true, drain: { state: 'done', started: 1, moved: 1, failed: 0, remaining: 0 } });
    const ended = await h.api('DELETE', '/backends/b/drain');
    expect([ended.status, ended.body.backend]).toEqual([200, expect.objectContaining({ id: 'b', draining: false })]);
    expect(await h.api('DELETE', '/backends/b/drain').then((r) => [r.status, r.body])).toEqual([409, error('not-draining')]);
    expect(await h.api('DELETE', '/backends/zz/drain').then((r) => [r.status, r.body])).toEqual([404, error('unknown-backend')]);
  });
});

describe('limits', () => {
  it('413 for a body over 16 KiB', async () => {
    const reply = await h.api('POST', `/sessions/${client.clientUuid}/migrate`, JSON.stringify({ target: 'x'.repeat(20_000) }));
    expect([reply.status, reply.body]).toEqual([413, error('payload-too-large')]);
  });
});

describe('a bearer token', () => {
  it('401 without it or with another; /healthz stays open', async () => {
    const token = 'operator-token-0123456789';
    const secured = await Harness.start({ env: { HANDOFF_ADMIN_TOKEN: token } });
    try {
      const none = await secured.api('GET', '/sessions');
      expect([none.status, none.body]).toEqual([401, error('unauthorized')]);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await secured.api('GET', '/metrics', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await secured.api('POST', `/sessions/${randomUUID()}/migrate`, { target: 'b' })).status).toBe(401);
      expect((await secured.api('GET', '/sessions', undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await secured.api('GET', '/healthz')).status).toBe(200);
    } finally {
      await secured.close();
    }
  }, 60_000);
});

describe('shutting down', () => {
  /** A POST whose headers reached the handler (the server sent 100 Continue) and whose body is held back. */
  async function heldPost(url: string, path: string, body: string): Promise<{ finish(): Promise<{ status: number; body: any }> }> {
    const { host, port } = new URL(url);
    const socket = connect({ host: host.split(':')[0]!, port: Number(port) });
    let received = '';
    let wake = () => {};
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      wake();
    });
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise<void>((resolve) => (wake = resolve));
    };
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
    await until(() => received.includes('100 Continue'));
    return {
      async finish() {
        socket.write(body);
        await until(() => /\r\n\r\n[\s\S]*\n$/.test(received.slice(received.indexOf('\r\n\r\n', received.indexOf('100 Continue')) + 4)));
        socket.destroy();
        const response = received.slice(received.indexOf('\r\n\r\n') + 4);
        const status = Number(/HTTP\/1\.1 (\d{3})/.exec(response)![1]);
        return { status, body: JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) };
      },
    };
  }

  it('503 shutting-down for a migration or a drain asked once the shutdown started', async () => {
    const other = await Harness.start();
    const player = await other.client();
    const migrate = await heldPost(other.proxy.adminUrl, `/sessions/${player.clientUuid}/migrate`, '{"target":"b"}');
    const drain = await heldPost(other.proxy.adminUrl, '/backends/a/drain', '{"to":"b","rate":1}');
    const closing = other.proxy.close();
    expect(await migrate.finish()).toEqual({ status: 503, body: error('shutting-down') });
    expect(await drain.finish()).toEqual({ status: 503, body: error('shutting-down') });
    await closing;
    expect((await player.ended).violations).toEqual([expect.objectContaining({ kind: 'disconnected', reason: 'Server is shutting down!' })]);
    await other.close();
  }, 60_000);
});

describe('the player', () => {
  it('moved a→b→a through the API and the drain without a single violation', async () => {
    const session = h.session(client);
    client.stopMovement();
    await client.leave();
    for (const id of ['a', 'b']) {
      await h.backend(id).waitForEvent((e) => e.type === 'disconnected' && e.clientUuid === client.clientUuid);
    }
    // nothing lost without a named rule: a movement sent in a world the player left may be dropped
    // by the kit's `source-bound` rule (docs/migration.md), and each such drop is counted
    let sourceBound = 0;
    client.account([h.backend('a'), h.backend('b')], {
      mayDrop: (packet) => {
        if (droppedByRule(packet)) return true;
        const left = packet.world < client.worlds.filter((w) => w.connection === packet.connection).at(-1)!.index;
        if (left && packet.name === 'ClientMovement') sourceBound += 1;
        return left && packet.name === 'ClientMovement';
      },
    });
    expect(client.violations).toEqual([]);
    expect(sourceBound).toBe(session.stats().droppedToServer['source-bound'] ?? 0);
    expect(client.counters.reconnects).toBe(0);
  });
});
