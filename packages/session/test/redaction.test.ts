/**
 * Secrets stay in memory: no way of turning a record (or a tap, an error, a log line) into data shows
 * a token, a grant or the referral data. Every test first checks that the secrets really are in the
 * record (so it cannot pass vacuously), then looks for them in the output.
 */
import { Writable } from 'node:stream';
import { Console } from 'node:console';
import { format, inspect } from 'node:util';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { SessionRecord, createCaptureTap, createSessionStore } from '@handoff/session';
import { SECRET_NAMES } from '@handoff/session/internals';
import {
  ACCESS_TOKEN,
  G3,
  IDENTITY_TOKEN,
  REFERRAL_DATA,
  SECRET_MARKERS,
  SECRET_STRINGS,
  backend,
  sid,
  connectV2,
  frame,
  rawFrame,
} from './support/frames.js';
import { playSession } from './support/scenario.js';

function capturedSession() {
  const lines: unknown[] = [];
  const logger = {
    debug: (o: object, m?: string) => lines.push(['debug', o, m]),
    info: (o: object, m?: string) => lines.push(['info', o, m]),
    warn: (o: object, m?: string) => lines.push(['warn', o, m]),
    error: (o: object, m?: string) => lines.push(['error', o, m]),
  };
  const record = new SessionRecord({ id: sid('redaction'), backend: backend('lobby-1') });
  const tap = createCaptureTap(record, { logger });
  playSession(tap);
  // the secrets are really there
  for (const name of SECRET_NAMES) expect(record.hasSecret(name), name).toBe(true);
  expect(record.secret('identityToken')).toBe(IDENTITY_TOKEN);
  return { record, tap, lines };
}

/** Fails when `text` contains any secret, in plain text or in the encodings a serialiser might use. */
function expectClean(text: string, what: string): void {
  for (const secret of SECRET_STRINGS) expect(text.includes(secret), `${what} contains a secret`).toBe(false);
  for (const marker of SECRET_MARKERS) expect(text.includes(marker), `${what} contains ${marker}`).toBe(false);
}

/** Every string and byte array reachable through own properties (enumerable or not, symbols too). */
function reachable(root: unknown): string {
  const seen = new Set<unknown>();
  const out: string[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (depth > 12 || value === null || value === undefined) return;
    if (typeof value === 'string') return void out.push(value);
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return void out.push(String(value));
    if (typeof value !== 'object' && typeof value !== 'function') return;
    if (seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) return void out.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1'));
    if (value instanceof Map) for (const [k, v] of value) (walk(k, depth + 1), walk(v, depth + 1));
    if (value instanceof Set) for (const v of value) walk(v, depth + 1);
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d && 'value' in d) walk(d.value, depth + 1);
    }
  };
  walk(root, 0);
  return out.join('\n');
}

describe('a record holding every secret', () => {
  it('JSON.stringify, toJSON and snapshot() name the secrets but never show them', () => {
    const { record } = capturedSession();
    const json = JSON.stringify(record);
    expectClean(json, 'JSON.stringify(record)');
    expectClean(JSON.stringify(record.snapshot()), 'snapshot');
    expect(JSON.parse(json).secrets).toEqual([...SECRET_NAMES]);
    expect(JSON.parse(json).connect.username).toBe('Bob'); // the rest is there
  });

  it('util.inspect with any options, console.log and util.format(%o %O %j %s) show no secret', () => {
    const { record } = capturedSession();
    expectClean(inspect(record), 'inspect');
    expectClean(inspect(record, { showHidden: true, depth: Infinity, getters: true }), 'inspect showHidden');
    expectClean(inspect(record, { customInspect: false, showHidden: true, depth: Infinity }), 'inspect customInspect:false');
    expectClean(format('%o %O %j %s', record, record, record, record), 'util.format');
    let printed = '';
    const sink = new Writable({ write: (chunk, _enc, done) => ((printed += String(chunk)), done()) });
    const console = new Console({ stdout: sink, stderr: sink });
    console.log(record);
    console.log('session %o', record);
    console.dir(record, { depth: null, showHidden: true });
    console.error({ nested: { record } });
    console.table([record.snapshot()]);
    expect(printed).toContain('SessionRecord');
    expectClean(printed, 'console output');
  });

  it('structuredClone, v8.serialize, spread, Object.entries and reflection reach no secret', () => {
    const { record } = capturedSession();
    const clone = structuredClone(record);
    expectClean(JSON.stringify(clone) + inspect(clone, { showHidden: true, depth: Infinity }) + reachable(clone), 'structuredClone');
    expectClean(serialize(record).toString('latin1'), 'v8.serialize');
    const spread = { ...record };
    expectClean(inspect(spread, { showHidden: true, depth: Infinity }) + reachable(spread), 'spread');
    expectClean(JSON.stringify(Object.entries(record)), 'Object.entries');
    expectClean(reachable(record), 'own properties');
  });

  it('the tap and the store print no secret either', () => {
    const { record, tap } = capturedSession();
    expectClean(JSON.stringify(tap) + inspect(tap, { showHidden: true, depth: Infinity }) + reachable(tap), 'tap');
    const store = createSessionStore();
    store.add(record);
    expectClean(inspect(store, { showHidden: true, depth: Infinity }) + JSON.stringify([...store.values()]), 'store');
  });

  it('secrets are read only through the explicit accessor, as copies; clearSecrets wipes them', () => {
    const { record } = capturedSession();
    const referral = record.secret('referralData')!;
    expect(referral).toEqual(REFERRAL_DATA);
    referral.fill(0); // a copy: the record is unchanged
    expect(record.secret('referralData')).toEqual(REFERRAL_DATA);
    record.clearSecrets('accessToken');
    expect(record.secret('accessToken')).toBeUndefined();
    expect(record.secretNames()).not.toContain('accessToken');
    record.clearSecrets();
    expect(record.secretNames()).toEqual([]);
  });

  it('deleting a session from the store wipes its secrets', () => {
    const store = createSessionStore();
    const record = store.create({ backend: backend('a') });
    createCaptureTap(record).clientToServer(connectV2());
    expect(record.hasSecret('identityToken')).toBe(true);
    store.delete(record.id);
    expect(record.secretNames()).toEqual([]);
  });
});

describe('errors and log lines', () => {
  it('capture errors over packets carrying secrets, and every log line, show no secret', () => {
    const { tap, lines } = capturedSession();
    // a Connect that carries the identity token but is malformed after it (bad referral offset)
    const connect = connectV2().payload.slice();
    new DataView(connect.buffer).setInt32(58, 0x7fff_0000, true);
    const fresh = createCaptureTap(new SessionRecord(), { logger: { warn: (o, m) => lines.push([o, m]), debug: (o, m) => lines.push([o, m]) } });
    const r1 = fresh.clientToServer(rawFrame(G3, 'Connect', connect));
    expect(r1?.kind).toBe('error');
    // an AuthToken whose grant is cut short after the access token
    const auth = frame(G3, 'AuthToken', { accessToken: ACCESS_TOKEN, serverAuthorizationGrant: 'x'.repeat(40) }).payload;
    const r2 = tap.clientToServer(rawFrame(G3, 'AuthToken', auth.subarray(0, auth.length - 10)));
    expect(r2?.kind).toBe('error');
    const errors = [...tap.errors, ...fresh.errors];
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const error of errors) {
      expectClean(inspect(error, { showHidden: true, depth: Infinity }), 'inspect(error)');
      expectClean(JSON.stringify(error) + String(error) + error.stack, 'error text');
    }
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expectClean(JSON.stringify(lines) + inspect(lines, { depth: Infinity }), 'log lines');
  });
});
