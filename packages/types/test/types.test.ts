import { describe, expect, it } from 'vitest';
import {
  HandoffError,
  PHASES,
  TypesError,
  redactUrl,
  backendRef,
  clientUuidFromBytes,
  clientUuidToBytes,
  handoffErrorPackage,
  isBackendId,
  isClientUuid,
  isHandoffError,
  isPhase,
  isTypesError,
  parseBackendId,
  parseBackendRef,
  parseClientUuid,
  parseMigrationId,
  parsePhase,
  parsePoolId,
  parseSessionId,
  sameBackend,
  typesErrorCodes,
  type TypesErrorCode,
} from '@handoff/types';

const UUID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';

describe('ids', () => {
  it('parses a UUID in any case to its canonical lowercase form', () => {
    expect(parseClientUuid(UUID.toUpperCase())).toBe(UUID);
    expect(isClientUuid(UUID)).toBe(true);
    expect(isClientUuid(UUID.toUpperCase())).toBe(false);
  });

  it.each([
    ['client uuid', parseClientUuid, ['', 'x', `${UUID}0`, UUID.replace(/-/g, ''), 42, null, undefined]],
    ['backend id', parseBackendId, ['', 'a b', 'a/b', 'x'.repeat(65), 7, null]],
    ['pool id', parsePoolId, ['', 'é', 'x'.repeat(65), {}]],
    ['session id', parseSessionId, ['', 'a b', 'x'.repeat(129), []]],
    ['migration id', parseMigrationId, ['', 'a\nb', 'x'.repeat(129)]],
  ] as const)('refuses a bad %s with a typed error that does not echo the value', (kind, parse, bad) => {
    for (const value of bad) {
      let thrown: unknown;
      try {
        (parse as (v: unknown) => unknown)(value);
      } catch (error) {
        thrown = error;
      }
      expect(isTypesError(thrown, 'ERR_TYPES_INVALID_ID')).toBe(true);
      expect((thrown as TypesError).kind).toBe(kind);
      if (typeof value === 'string' && value.length > 2) expect((thrown as Error).message).not.toContain(value);
    }
  });

  it('accepts the documented grammars at their length limits', () => {
    expect(parseBackendId('a'.repeat(64))).toHaveLength(64);
    expect(parseBackendId('Game-7.eu_west:2')).toBe('Game-7.eu_west:2');
    expect(parsePoolId('lobby')).toBe('lobby');
    expect(parseSessionId('s'.repeat(128))).toHaveLength(128);
    expect(parseMigrationId('0b6c…'.replace('…', ''))).toBe('0b6c');
    expect(isBackendId('x'.repeat(65))).toBe(false);
  });

  it('converts a UUID to and from its 16 big-endian bytes', () => {
    const bytes = clientUuidToBytes(parseClientUuid(UUID));
    expect(Buffer.from(bytes).toString('hex')).toBe(UUID.replace(/-/g, ''));
    expect(clientUuidFromBytes(bytes)).toBe(UUID);
    expect(() => clientUuidFromBytes(new Uint8Array(15))).toThrow(TypesError);
  });
});

describe('refs and phases', () => {
  it('parses a backend ref from untrusted input, dropping other fields', () => {
    const ref = parseBackendRef({ id: 'game-7', pool: 'games', secret: 'x' });
    expect(ref).toEqual({ id: 'game-7', pool: 'games' });
    expect(Object.isFrozen(ref)).toBe(true);
    expect(parseBackendRef({ id: 'a' })).toEqual({ id: 'a' });
    for (const bad of [null, 'a', {}, { id: '' }, { id: 'a', pool: '' }, { id: 'a', pool: 3 }]) {
      expect(() => parseBackendRef(bad)).toThrow(TypesError);
    }
  });

  it('copies a ref and compares backends by id', () => {
    const a = parseBackendRef({ id: 'a', pool: 'p' });
    expect(backendRef({ ...a, extra: 1 } as typeof a)).toEqual(a);
    expect(sameBackend(a, parseBackendRef({ id: 'a' }))).toBe(true);
    expect(sameBackend(a, parseBackendRef({ id: 'b', pool: 'p' }))).toBe(false);
  });

  it('knows exactly the nine phases', () => {
    expect(PHASES).toEqual(['Idle', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Failed']);
    for (const p of PHASES) expect(parsePhase(p)).toBe(p);
    expect(isPhase('idle')).toBe(false);
    expect(() => parsePhase('Paused')).toThrow(expect.objectContaining({ code: 'ERR_TYPES_INVALID_PHASE' }));
  });
});

describe('error brand', () => {
  it('recognises an error by package and code, even from another copy of the class', () => {
    class TicketErrorCopy extends HandoffError<'ERR_TICKET_EXPIRED'> {}
    const error = new TicketErrorCopy('tickets', 'ERR_TICKET_EXPIRED', 'expired', { cause: new Error('inner') });
    expect(isHandoffError(error)).toBe(true);
    expect(isHandoffError(error, 'tickets')).toBe(true);
    expect(isHandoffError(error, 'tickets', 'ERR_TICKET_EXPIRED')).toBe(true);
    expect(isHandoffError(error, 'session')).toBe(false);
    expect(isHandoffError(error, 'tickets', 'ERR_TICKET_MALFORMED')).toBe(false);
    expect(handoffErrorPackage(error)).toBe('tickets');
    expect((error.cause as Error).message).toBe('inner');

    // what a second installed copy of the package produces: another class, the same global symbol
    const foreign = Object.assign(new Error('expired'), { code: 'ERR_TICKET_EXPIRED' });
    Object.defineProperty(foreign, Symbol.for('@handoff/error'), { value: 'tickets' });
    expect(foreign instanceof HandoffError).toBe(false);
    expect(isHandoffError(foreign, 'tickets', 'ERR_TICKET_EXPIRED')).toBe(true);
  });

  it('does not mistake plain errors or look-alikes for branded ones', () => {
    for (const v of [new Error('x'), { code: 'ERR_TYPES_INVALID_ID' }, null, undefined, 'ERR', 0]) {
      expect(isHandoffError(v)).toBe(false);
      expect(handoffErrorPackage(v)).toBeUndefined();
    }
  });

  it('hides the brand from JSON and enumeration', () => {
    const error = new TypesError('ERR_TYPES_INVALID_ID', 'backend id');
    expect(Object.keys(error)).not.toContain(Symbol.for('@handoff/error'));
    expect(JSON.stringify(error)).not.toContain('types"');
  });

  it('reaches every error code of the package through its public API', () => {
    const scenarios: Record<TypesErrorCode, () => unknown> = {
      ERR_TYPES_INVALID_ID: () => parseBackendId('no spaces'),
      ERR_TYPES_INVALID_PHASE: () => parsePhase('Nope'),
    };
    for (const [code, run] of Object.entries(scenarios)) {
      expect(run).toThrow(expect.objectContaining({ code }));
    }
    expect(Object.keys(scenarios).sort()).toEqual(Object.keys(typesErrorCodes).sort());
  });
});

describe('redactUrl', () => {
  it('removes the user name and password of a URL, and never echoes what is not one', () => {
    expect(redactUrl('redis://user:s3cret@10.0.0.9:6379/0')).toBe('redis://10.0.0.9:6379/0');
    expect(redactUrl('rediss://:s3cret@cache.example:6380')).toBe('rediss://cache.example:6380');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url with s3cret')).toBe('<invalid url>');
  });
});
