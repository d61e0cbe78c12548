/**
 * `handoff proxy --trace <file>`: every frame of every session as JSONL, readable by `handoff trace
 * analyze`; an unwritable file is one line and status 2.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { connectStrictClient, createBackend, type SimulatedBackend, type StrictClient } from '@handoff/testkit';
import { proxyCommand } from '../src/commands/proxy.js';
import { parseTrace } from '../src/trace/analyze.js';

const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close().catch(() => {});
});

const io = (out: string[], err: string[]) => ({ stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) });

it('records the frames of a player through the proxy; the file is complete once the proxy stopped', async () => {
  const backend: SimulatedBackend = await createBackend({ id: 'a', transport: 'tcp' });
  opened.push(backend);
  const file = join(mkdtempSync(join(tmpdir(), 'handoff-cli-trace-')), 'proxy.trace.jsonl');
  const stop = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  let started!: (address: { host: string; port: number }) => void;
  const listening = new Promise<{ host: string; port: number }>((resolve) => (started = resolve));
  const running = proxyCommand(
    { listen: '127.0.0.1:0', admin: '127.0.0.1:0', backend: [{ id: 'a', url: `tcp://127.0.0.1:${backend.address.port}` }], clientAuth: 'none', logLevel: 'silent', trace: file },
    io(out, err),
    { signal: stop.signal, env: {}, onStarted: (proxy) => started(proxy.address) },
  );
  const client: StrictClient = await connectStrictClient({ address: await listening });
  opened.push(client);
  await client.inWorld();
  client.sendMovement(3);
  await client.movementSent(3);
  await client.leave();
  await backend.waitForEvent((e) => e.type === 'disconnected');
  stop.abort();
  expect(await running).toBe(0);
  expect(err).toEqual([]);

  const trace = parseTrace(await readFile(file, 'utf8'));
  expect(trace.invalidCount).toBe(0);
  const seen = trace.records.map((r) => `${r.direction} ${r.name} ${r.action}`);
  expect(seen).toContain('ToClient JoinWorld forwarded');
  expect(seen).toContain('ToServer PlayerOptions forwarded');
  expect(seen.filter((s) => s === 'ToServer ClientMovement forwarded')).toHaveLength(3);
  expect(new Set(trace.records.map((r) => r.generation))).toEqual(new Set(['G3']));
});

it('a trace file that cannot be written: one line, status 2, nothing started', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const status = await proxyCommand(
    { listen: '127.0.0.1:0', admin: '127.0.0.1:0', backend: [{ id: 'a', url: 'tcp://127.0.0.1:1' }], clientAuth: 'none', trace: join(tmpdir(), 'no-such-dir-handoff', 'x.jsonl') },
    io(out, err),
    { signal: AbortSignal.abort(), env: {} },
  );
  expect(status).toBe(2);
  expect(err).toEqual([expect.stringMatching(/^ERR_CLI_FILE: cannot write the trace to .*x\.jsonl: ENOENT$/)]);
});
