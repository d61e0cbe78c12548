/**
 * Frame builders for the session tests: real frames, encoded by `@handoff/protocol` and split by its
 * `readFrame`, exactly as a forwarding loop would hand them to a capture tap.
 */
import {
  frameFromPayload,
  getGeneration,
  readFrame,
  type Frame,
  type Generation,
  type PacketInputs,
  type PacketName,
} from '@handoff/protocol';
import {
  parseBackendId,
  parseBackendRef,
  parseClientUuid,
  parseMigrationId,
  parseSessionId,
  type BackendId,
  type BackendRef,
  type MigrationId,
  type SessionId,
} from '@handoff/types';

export const G1 = getGeneration('G1');
export const G2 = getGeneration('G2');
export const G3 = getGeneration('G3');

/** A frame of a modelled packet. */
export function frame<N extends PacketName>(g: Generation, name: N, value: PacketInputs[N]): Frame {
  return readFrame(g.registry, g.packet(name).encodeFrame(value));
}

/** A frame with any id and raw payload bytes (for corrupt and opaque packets). */
export function rawFrame(g: Generation, nameOrId: string | number, payload: Uint8Array): Frame {
  const descriptor = typeof nameOrId === 'number' ? g.registry.byId(nameOrId) : g.registry.byName(nameOrId);
  if (!descriptor) throw new Error(`no packet ${nameOrId} in ${g.id}`);
  return readFrame(g.registry, frameFromPayload(descriptor.id, payload));
}

// Secrets: every test that checks redaction looks for these exact strings / bytes.
export const IDENTITY_TOKEN = 'eyJhbGciOiJFZERTQSJ9.IDENTITY-SECRET-7f3a.c2lnbmF0dXJlLWlkZW50aXR5';
export const ACCESS_TOKEN = 'eyJhbGciOiJFZERTQSJ9.ACCESS-SECRET-91bc.c2lnbmF0dXJlLWFjY2Vzcw';
export const SERVER_AUTH_GRANT = 'SERVER-AUTHORIZATION-GRANT-SECRET-55d1';
export const AUTH_GRANT = 'AUTHORIZATION-GRANT-SECRET-0a9e';
export const SERVER_IDENTITY_TOKEN = 'eyJhbGciOiJFZERTQSJ9.SERVER-IDENTITY-SECRET-33aa.c2ln';
export const SERVER_ACCESS_TOKEN = 'eyJhbGciOiJFZERTQSJ9.SERVER-ACCESS-SECRET-77ef.c2ln';
export const TICKET = 'handoff-ticket.TICKET-SECRET-c0ffee.sig';
export const REFERRAL_DATA = new TextEncoder().encode(TICKET);
export const SECRET_STRINGS = [IDENTITY_TOKEN, ACCESS_TOKEN, SERVER_AUTH_GRANT, AUTH_GRANT, SERVER_IDENTITY_TOKEN, SERVER_ACCESS_TOKEN, TICKET];
/** Fragments that would betray a secret in any encoding a serialiser might pick. */
export const SECRET_MARKERS = [
  'IDENTITY-SECRET',
  'ACCESS-SECRET',
  'AUTHORIZATION-GRANT-SECRET',
  'SERVER-IDENTITY-SECRET',
  'TICKET-SECRET',
  Buffer.from(TICKET).toString('hex'),
  Buffer.from(TICKET).toString('base64'),
  // a Uint8Array printed byte by byte: the first bytes of the ticket as decimals
  Array.from(REFERRAL_DATA.subarray(0, 6)).join(','),
  Array.from(REFERRAL_DATA.subarray(0, 6)).join(', '),
];

export const PLAYER = parseClientUuid('3f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f');
export const OTHER_PLAYER = parseClientUuid('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d');

// The shared vocabulary is branded: tests make their ids through the parsers, as a proxy would.
/** A backend id. */
export const bid = (id: string): BackendId => parseBackendId(id);
/** A backend reference `{ id, pool? }`. */
export const backend = (id: string, pool?: string): BackendRef => parseBackendRef(pool === undefined ? { id } : { id, pool });
/** A session id. */
export const sid = (id: string): SessionId => parseSessionId(id);
/** A migration id. */
export const mid = (id: string): MigrationId => parseMigrationId(id);
export const WORLD_A = '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f';

/** A G2/G3 Connect with every field set (an authenticated client that came by referral). */
export function connectV2(g: Generation = G3, overrides: Record<string, unknown> = {}): Frame {
  const crc = g.identify.protocolCrc!;
  return frame(g, 'Connect', {
    protocolCrc: crc,
    protocolBuildNumber: g.identify.protocolBuildNumber ?? 20,
    clientVersion: '1.0',
    clientType: 'Game',
    uuid: PLAYER,
    username: 'Bob',
    identityToken: IDENTITY_TOKEN,
    language: 'en',
    referralData: REFERRAL_DATA,
    referralSource: { host: 'lobby.example', port: 5520 },
    ...overrides,
  } as never);
}

export function connectV1(overrides: Record<string, unknown> = {}): Frame {
  return frame(G1, 'Connect', {
    protocolHash: G1.identify.protocolHash!,
    clientType: 'Editor',
    uuid: PLAYER,
    language: null,
    identityToken: IDENTITY_TOKEN,
    username: 'Alice',
    referralData: null,
    referralSource: null,
    ...overrides,
  } as never);
}

/** A 64-character asset hash from a small number. */
export function hash(n: number): string {
  return n.toString(16).padStart(64, '0');
}

export function assets(from: number, count: number): Array<{ hash: string; name: string }> {
  return Array.from({ length: count }, (_, i) => ({ hash: hash(from + i), name: `Common/Asset${from + i}.png` }));
}

export function ping(g: Generation, id: number): Frame {
  return frame(g, 'Ping', { id, time: { seconds: 1n, nanos: 0 }, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 });
}

export function pong(g: Generation, id: number, type: 'Raw' | 'Direct' | 'Tick'): Frame {
  return frame(g, 'Pong', { id, time: { seconds: 1n, nanos: 0 }, type, packetQueueSize: 0 });
}

export function setChunk(g: Generation, x: number, y: number, z: number, dataBytes = 64): Frame {
  const data = new Uint8Array(dataBytes).map((_, i) => (i * 7 + x) & 0xff);
  return frame(g, 'SetChunk', { x, y, z, localLight: null, globalLight: null, data });
}

/** A frame with an 8-byte header and no particular validation (for FrameLike consumers). */
export function bytesOf(f: Frame): { id: number; bytes: Uint8Array; descriptor: { name: string } } {
  return { id: f.id, bytes: f.bytes.slice(), descriptor: { name: f.descriptor.name } };
}
