import { describe, expect, it } from 'vitest';
import { clientUuidFromBytes, isBackendId, isClientUuid, parseBackendId, parseClientUuid, parsePoolId, parseSessionId } from '@handoff/tickets';

describe('branded ids', () => {
  it('normalises client UUIDs to lowercase and builds them from 16 bytes', () => {
    expect(parseClientUuid('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')).toBe('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    const bytes = Uint8Array.from(Buffer.from('0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d', 'hex'));
    expect(clientUuidFromBytes(bytes)).toBe('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(clientUuidFromBytes(new Uint8Array(20).subarray(2, 18))).toBe('00000000-0000-0000-0000-000000000000');
    expect(isClientUuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBe(true);
    expect(isClientUuid('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D')).toBe(false);
  });

  it.each(['', 'nope', '0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d', '{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}', ' 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'])(
    'refuses %j as a client UUID',
    (value) => {
      expect(() => parseClientUuid(value)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
    },
  );

  it('validates backend ids, pools and session ids', () => {
    expect(parseBackendId('lobby-1.eu:2_a')).toBe('lobby-1.eu:2_a');
    expect(isBackendId('x'.repeat(64))).toBe(true);
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'é']) {
      expect(() => parseBackendId(bad)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
      expect(() => parsePoolId(bad)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
    }
    expect(parseSessionId('s'.repeat(128))).toHaveLength(128);
    expect(() => parseSessionId('s'.repeat(129))).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
    expect(() => clientUuidFromBytes(new Uint8Array(15))).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
  });
});
