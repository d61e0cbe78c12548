import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { CliError, cliErrorCodes, isCliError, main } from '@handoff/cli';
import { publicVectors } from '@handoff/protocol';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

describe('handoff decode', () => {
  test('prints {"packet","id","value"} in the JSON mapping', async () => {
    const r = await run('decode', '--protocol', 'G1', '1d000000020000000107000000efe96d690000000015cd5b070f0000000c00000003000000');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[0]!)).toEqual({
      packet: 'Ping',
      id: 2,
      value: { id: 7, time: { seconds: '1768810991', nanos: 123456789 }, lastPingValueRaw: 15, lastPingValueDirect: 12, lastPingValueTick: 3 },
    });
  });

  test('a bad frame prints one line with the error code on stderr and exits 1', async () => {
    for (const frame of ['0400000020000000', 'ffffffff20000000', 'zz', '0000000099990000']) {
      const r = await run('decode', '--protocol', 'G3', frame);
      expect(r.code).toBe(1);
      expect(r.out).toEqual([]);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^ERR_[A-Z_]+(:| at )/);
      expect(r.err[0]).not.toMatch(/\n|    at /);
    }
  });

  test('opaque packets are named and their payload shown', async () => {
    const r = await run('decode', '-p', 'G3', '000000001e0100000');
    expect(r.code).toBe(1); // odd hex
    const ok = await run('decode', '-p', 'G3', '00000000e7000000');
    expect(JSON.parse(ok.out[0]!)).toEqual({ packet: 'ResetUserInterfaceState', id: 231, value: {} });
    const opaque = await run('decode', '-p', 'G3', '000000001c000000');
    expect(JSON.parse(opaque.out[0]!)).toEqual({ packet: 'RequestCommonAssetsRebuild', id: 28, opaque: true, value: 'hex:' });
  });
});

describe('handoff encode', () => {
  test('prints the frame as hex, compressed where the registry says so', async () => {
    const r = await run('encode', '--protocol', 'G3', '--packet', 'JoinWorld', '{"clearWorld":true,"fadeInOut":true,"worldUuid":"0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f"}');
    expect(r.out).toEqual(['120000006800000001010b1e4c2a7d3f4e5a9c8b1a2b3c4d5e6f']);
    const ws = await run('encode', '-p', 'G3', '-k', 'WorldSettings', '{"worldHeight":256,"requiredAssets":[]}');
    expect(ws.out[0]!.slice(16, 24)).toBe('28b52ffd');
    const back = await run('decode', '-p', 'G3', ws.out[0]!);
    expect(JSON.parse(back.out[0]!).value).toEqual({ worldHeight: 256, requiredAssets: [] });
  });

  test('missing nullable fields encode as null; bad values are one-line errors', async () => {
    expect((await run('encode', '-p', 'G2', '-k', 'Disconnect', '{"type":"Crash"}')).out).toEqual(['0200000001000000' + '0001']);
    const bad = await run('encode', '-p', 'G2', '-k', 'Disconnect', '{"type":"Explode"}');
    expect(bad).toMatchObject({ code: 1, out: [] });
    expect(bad.err[0]).toMatch(/^ERR_PROTOCOL_INVALID_ENUM at Disconnect\.type: /);
    expect((await run('encode', '-p', 'G2', '-k', 'Disconnect', '{nope')).err[0]).toMatch(/^ERR_CLI_BAD_JSON: /);
    expect((await run('encode', '-p', 'G2', '-k', 'Nope', '{}')).err[0]).toMatch(/^ERR_PROTOCOL_UNKNOWN_PACKET/);
    expect((await run('encode', '-p', 'G2', '-k', 'UpdateTime', '{}')).err[0]).toMatch(/^ERR_PROTOCOL_NOT_MODELLED/);
    expect((await run('encode', '-p', 'G2', '-k', 'Disconnect', '{"type":"Crash","extra":1}')).err[0]).toMatch(/^ERR_PROTOCOL_INVALID_VALUE/);
  });
});

describe('handoff vectors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-cli-'));

  test('the public vectors pass and the summary line ends the output', async () => {
    const file = join(dir, 'public.json');
    writeFileSync(file, JSON.stringify(publicVectors));
    const r = await run('vectors', file);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe(`${(publicVectors as unknown[]).length} passed, 0 failed`);
  });

  test('a failing vector fails the run', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ kind: 'varint', name: 'X', hex: '01', expect: 'roundtrip', value: 2 }, { kind: 'varint', name: 'Y', hex: '01', expect: 'roundtrip', value: 1 }]));
    const r = await run('vectors', file);
    expect(r.code).toBe(1);
    expect(r.out.at(-1)).toBe('1 passed, 1 failed');
    expect(r.out[0]).toMatch(/^FAIL X: /);
  });

  test('an unreadable file is a one-line error', async () => {
    const r = await run('vectors', join(dir, 'missing.json'));
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^ERR_CLI_FILE: /);
  });
});

test('usage errors are one line too', async () => {
  expect((await run('frobnicate')).err).toEqual([expect.stringMatching(/^ERR_CLI_USAGE: /)]);
  expect((await run('decode', '00')).err).toEqual([expect.stringMatching(/^ERR_CLI_USAGE: .*--protocol/)]);
});

test('handoff vectors without a file decodes every public vector readably', async () => {
  const r = await run('vectors');
  expect(r.code).toBe(0);
  expect(r.out.at(-1)).toBe(`${(publicVectors as unknown[]).length} passed, 0 failed`);
  expect(r.out.join('\n')).toContain('"worldUuid": "0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f"');
  const quiet = await run('vectors', '--quiet');
  expect(quiet.out).toEqual([`${(publicVectors as unknown[]).length} passed, 0 failed`]);
});

describe('errors', () => {
  test('every code carries the package prefix and says what to do', () => {
    for (const [code, meaning] of Object.entries(cliErrorCodes)) {
      expect(code).toMatch(/^ERR_CLI_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(40);
    }
  });

  test('isCliError recognises a CliError of a second installed copy; the cause is kept', async () => {
    vi.resetModules();
    const copy = await import('@handoff/cli');
    vi.resetModules();
    const cause = new SyntaxError('Unexpected token');
    const foreign = new copy.CliError('ERR_CLI_BAD_JSON', 'the value is not JSON', { cause });
    expect(foreign).not.toBeInstanceOf(CliError);
    expect(isCliError(foreign)).toBe(true);
    expect(isCliError(foreign, 'ERR_CLI_BAD_JSON')).toBe(true);
    expect(isCliError(foreign, 'ERR_CLI_FILE')).toBe(false);
    expect(foreign.cause).toBe(cause);
    expect(isCliError(Object.assign(new Error('x'), { code: 'ERR_CLI_USAGE' }))).toBe(false);
    expect(new CliError('ERR_CLI_USAGE').message).toBe(cliErrorCodes.ERR_CLI_USAGE);
  });
});
