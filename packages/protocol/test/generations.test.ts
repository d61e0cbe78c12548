import { describe, expect, test } from 'vitest';
import { ProtocolError, decodeFrame, detectGeneration, fromHex, getGeneration, toHex } from '@handoff/protocol';
import { code } from './support/errors.js';


// docs/protocol.md, "A worked Connect frame" (G3 values, referral to "lb":5520)
const WORKED_CONNECT =
  '51000000000000000684ef2baf14000000312e30000000000000000000000000000000000000001122334455667788' +
  '99aabbccddeeff00000000ffffffff04000000070000000a00000003426f6202656e02aabb9015026c62';

describe('generations', () => {
  test('the worked Connect example encodes byte for byte', () => {
    const g3 = getGeneration('G3');
    const frame = g3.packet('Connect').encodeFrame({
      protocolCrc: -1356075132,
      protocolBuildNumber: 20,
      clientVersion: '1.0',
      clientType: 'Game',
      uuid: '00112233-4455-6677-8899-aabbccddeeff',
      username: 'Bob',
      language: 'en',
      referralData: Uint8Array.of(0xaa, 0xbb),
      referralSource: { host: 'lb', port: 5520 },
    });
    expect(toHex(frame)).toBe(WORKED_CONNECT);
    expect(detectGeneration(frame).id).toBe('G3');
  });

  test('the G1 worked example: a 109-byte payload', () => {
    const g1 = getGeneration('G1');
    const payload = g1.packet('Connect').encode({
      protocolHash: '6708f121966c1c443f4b0eb525b2f81d0a8dc61f5003a692a8fa157e5e02cea9',
      clientType: 'Game',
      uuid: '00112233-4455-6677-8899-aabbccddeeff',
      username: 'Bob',
      language: 'en',
    });
    expect(payload.length).toBe(109);
    expect(toHex(payload.subarray(82))).toBe('00000000' + 'ffffffff' + '03000000' + 'ffffffff' + 'ffffffff' + '02656e' + '03426f62');
    expect(detectGeneration(payload, { payload: true }).id).toBe('G1');
  });

  test('the Disconnect example of §2.6', () => {
    expect(toHex(getGeneration('G2').packet('Disconnect').encodeFrame({ reason: 'Bye', type: 'Disconnect' }))).toBe('060000000100000001000342796' + '5');
  });

  test('G2 and G3 share a layout and are told apart by the CRC alone', () => {
    const value = { protocolCrc: 1789265863, protocolBuildNumber: 2, clientVersion: 'x', clientType: 'Game', uuid: '00000000-0000-0000-0000-000000000001', username: 'a', language: 'en' } as const;
    expect(detectGeneration(getGeneration('G2').packet('Connect').encodeFrame(value)).id).toBe('G2');
    const unknown = getGeneration('G2').packet('Connect').encodeFrame({ ...value, protocolCrc: 1080406952 });
    const e = (() => {
      try {
        detectGeneration(unknown);
      } catch (error) {
        return error as ProtocolError;
      }
      throw new Error('detected');
    })();
    expect(e.code).toBe('ERR_PROTOCOL_UNKNOWN_GENERATION');
    expect(e.message).toContain('1080406952');
  });

  test('detectGeneration refuses what is not a Connect', () => {
    expect(code(() => detectGeneration(fromHex('04000000200000000c000000')))).toBe('ERR_PROTOCOL_INVALID_VALUE');
    expect(code(() => detectGeneration(fromHex('0000')))).toBe('ERR_PROTOCOL_TRUNCATED');
  });

  test('WorldLoadProgress: a string in G1/G2, a FormattedMessage in G3', () => {
    const g2 = getGeneration('G2').packet('WorldLoadProgress');
    const frame = g2.encodeFrame({ status: 'loadingWorld', percentComplete: 50, percentCompleteSubitem: 0 });
    expect(toHex(frame)).toBe('16000000150000000132000000000000000c6c6f6164696e67576f726c64');
    const g3 = getGeneration('G3').packet('WorldLoadProgress');
    const message = {
      rawText: null, messageId: 'loadingWorld', children: null, params: new Map([['pct', { type: 'Int' as const, value: 50 }]]),
      messageParams: null, color: null, bold: 'True' as const, italic: 'Null' as const, monospace: 'Null' as const,
      underlined: 'False' as const, link: null, markupEnabled: false,
    };
    const decoded = g3.decodeFrame(g3.encodeFrame({ status: message, percentComplete: 50, percentCompleteSubitem: 1 }));
    expect(decoded).toEqual({ status: message, percentComplete: 50, percentCompleteSubitem: 1 });
    expect(g3.toJson(decoded)).toMatchObject({ status: { params: { pct: { type: 'Int', value: 50 } }, bold: 'True' } });
  });

  test('opaque packets keep their name, direction, channel, compression and maxSize', () => {
    const g3 = getGeneration('G3');
    const frame = fromHex('0d0000009200000001efe96d690000000015cd5b07'); // UpdateTime (146)
    const decoded = decodeFrame(g3, frame);
    expect(decoded.modelled).toBe(false);
    expect(decoded.descriptor).toMatchObject({ name: 'UpdateTime', direction: 'ToClient', channel: 'Default', compressed: false, maxSize: 13 });
    expect(code(() => g3.packet('UpdateTime' as never))).toBe('ERR_PROTOCOL_NOT_MODELLED');
  });
});
