/**
 * Every refusal of the simulated backend, with the server's reason and close: version checks, the
 * outdated ALPN, referral checks, tickets, the password, duplicate logins, shutdown.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { memory } from '@handoff/transport';
import {
  createKeyRing,
  createMemoryReplayStore,
  createTicketIssuer,
  type KeyRing,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid } from '@handoff/types';
import { ManualClock, createBackend, type BackendInit } from '@handoff/testkit';
import { Driver, PLAYER_UUID, connectPacket, join, passwordHash, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function start(extra: Partial<BackendInit> = {}, driverInit: { alpn?: string[]; generation?: string } = {}) {
  const net = memory();
  const backend = await createBackend({ id: 'game-7', transport: net, listen: { host: 'game', port: 1 }, ...extra });
  open.push(backend);
  const driver = await Driver.connect(net, backend, driverInit);
  open.push(driver);
  return { net, backend, driver };
}

const disconnected = (backend: { allPlayers: readonly { closed: Promise<unknown> }[] }, index = 0) => backend.allPlayers[index]!.closed;

describe('protocol version (Connect)', () => {
  it('G3: another CRC gets no Disconnect, only a close with 5 (older client build) and the server version', async () => {
    const { backend, driver } = await start({ server: { version: '2026.02.17-255364b8e' } });
    await driver.send('Connect', connectPacket(driver.generation, { protocolCrc: 1789265863, protocolBuildNumber: 2 }));
    expect(await driver.closed).toMatchObject({ initiator: 'remote', code: 5, reason: '2026.02.17-255364b8e' });
    expect(driver.received).toEqual([]);
    expect(await disconnected(backend)).toMatchObject({ kind: 'incompatible', closeCode: 5 });
  });

  it('G3: a newer client build gets 6', async () => {
    const { driver } = await start();
    await driver.send('Connect', connectPacket(driver.generation, { protocolCrc: 1080406952, protocolBuildNumber: 51 }));
    expect(await driver.closed).toMatchObject({ code: 6 });
  });

  it('G1: another hash gets the "Incompatible protocol!" Disconnect, then code 0', async () => {
    const { driver } = await start({ generation: 'G1' });
    const other = 'f'.repeat(64);
    await driver.send('Connect', connectPacket(driver.generation, { protocolHash: other }));
    const expectedHash = driver.generation.identify.protocolHash;
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: `Incompatible protocol!\nServer: ${expectedHash}\nClient: ${other}`, type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
  });

  it('a G1 Connect (another layout) to a G3 backend is a protocol violation or a version refusal, never a join', async () => {
    const net = memory();
    const backend = await createBackend({ id: 'g3', transport: net, listen: { host: 'g3', port: 1 } });
    open.push(backend);
    const driver = await Driver.connect(net, backend, { generation: 'G1', alpn: ['hytale/2'] });
    open.push(driver);
    await driver.send('Connect', connectPacket(driver.generation));
    const info = await driver.closed;
    expect(info.code === 10 || info.code === 5 || info.code === 6).toBe(true);
    expect(backend.counters.connects).toBe(0);
  });
});

describe('ALPN', () => {
  it('G2/G3 with hytale/1: "Your game client needs to be updated.", then code 5 after 100 ms', async () => {
    const clock = new ManualClock();
    const { backend, driver } = await start({ clock }, { alpn: ['hytale/1'] });
    expect(driver.connection.alpn).toBe('hytale/1');
    await driver.sendRaw(new Uint8Array(0));
    await driver.send('Connect', connectPacket(driver.generation));
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Your game client needs to be updated.', type: 'Disconnect' });
    await clock.advance(99);
    expect(backend.players).toHaveLength(1);
    await clock.advance(1);
    expect(await driver.closed).toMatchObject({ code: 5 });
    expect(await disconnected(backend)).toMatchObject({ kind: 'outdated', closeCode: 5 });
    expect(backend.counters.connects).toBe(0);
  });

  it('a G1 backend offers hytale/1 only', async () => {
    const net = memory();
    const backend = await createBackend({ id: 'g1', transport: net, generation: 'G1', listen: { host: 'g1', port: 1 } });
    open.push(backend);
    await expect(net.dial({ address: backend.address, alpn: ['hytale/2'] })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ALPN_MISMATCH' });
  });
});

describe('Connect checks', () => {
  it('G2+: referralData needs a referralSource, with a host', async () => {
    for (const [source, reason] of [
      [null, 'Referral connections must include source server address'],
      [{ host: '', port: 5520 }, 'Referral source address is invalid'],
    ] as const) {
      const { driver } = await start();
      await driver.send('Connect', connectPacket(driver.generation, { referralData: Uint8Array.of(1, 2), referralSource: source }));
      expect(value(await driver.next('Disconnect'))).toEqual({ reason, type: 'Disconnect' });
      expect(await driver.closed).toMatchObject({ code: 0 });
    }
  });

  it('G1 does not check the referral source', async () => {
    const { backend, driver } = await start({ generation: 'G1' });
    await driver.send('Connect', connectPacket(driver.generation, { referralData: Uint8Array.of(1, 2) }));
    await driver.next('WorldSettings');
    expect(backend.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'unchecked' });
  });

  it('an empty username: "Missing username"', async () => {
    const { driver } = await start();
    await driver.send('Connect', connectPacket(driver.generation, { username: '' }));
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Missing username', type: 'Disconnect' });
  });
});

describe('password', () => {
  it('three wrong answers: two PasswordRejected with a new challenge, then "Too many failed password attempts"', async () => {
    const { backend, driver } = await start({ password: 'right' });
    await driver.send('Connect', connectPacket(driver.generation));
    let challenge = value<{ passwordChallenge: Uint8Array }>(await driver.next('ConnectAccept')).passwordChallenge;
    for (const remaining of [2, 1]) {
      await driver.send('PasswordResponse', { hash: passwordHash(challenge, 'wrong') });
      const rejected = value<{ attemptsRemaining: number; newChallenge: Uint8Array }>(await driver.next('PasswordRejected'));
      expect(rejected.attemptsRemaining).toBe(remaining);
      expect(Buffer.from(rejected.newChallenge)).not.toEqual(Buffer.from(challenge));
      challenge = rejected.newChallenge;
    }
    // the right password against an old challenge is wrong too
    await driver.send('PasswordResponse', { hash: passwordHash(Uint8Array.of(1, 2, 3), 'right') });
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Too many failed password attempts', type: 'Disconnect' });
    expect(await disconnected(backend)).toMatchObject({ kind: 'refused' });
  });

  it('the second attempt may succeed', async () => {
    const { driver } = await start({ password: 'right' });
    await driver.send('Connect', connectPacket(driver.generation));
    const first = value<{ passwordChallenge: Uint8Array }>(await driver.next('ConnectAccept')).passwordChallenge;
    await driver.send('PasswordResponse', { hash: passwordHash(first, 'nope') });
    const { newChallenge } = value<{ newChallenge: Uint8Array }>(await driver.next('PasswordRejected'));
    await driver.send('PasswordResponse', { hash: passwordHash(newChallenge, 'right') });
    await driver.next('PasswordAccepted');
    await driver.next('WorldSettings');
  });

  it('an empty hash: "Invalid password response"; a response nobody asked for: "Protocol error: unexpected PasswordResponse"', async () => {
    const first = await start({ password: 'right' });
    await first.driver.send('Connect', connectPacket(first.driver.generation));
    await first.driver.next('ConnectAccept');
    await first.driver.send('PasswordResponse', { hash: null });
    expect(value(await first.driver.next('Disconnect'))).toMatchObject({ reason: 'Invalid password response' });
    // without a password the backend is in setup at once: a PasswordResponse there is an unexpected packet
    const second = await start();
    await second.driver.send('Connect', connectPacket(second.driver.generation));
    await second.driver.next('ServerInfo');
    await second.driver.send('PasswordResponse', { hash: Uint8Array.of(1) });
    expect(value(await second.driver.next('Disconnect'))).toMatchObject({ reason: 'Protocol error: unexpected packet 15' });
  });
});

describe('tickets', () => {
  const CLIENT = parseClientUuid(PLAYER_UUID);
  const LOBBY = parseBackendId('lobby-1');
  const GAME = parseBackendId('game-7');

  async function keys(): Promise<{ signer: KeyRing; verifier: KeyRing }> {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createKeyRing();
    await signer.add({ kid: 'k1', pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    const verifier = createKeyRing();
    await verifier.add({ kid: 'k1', pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() });
    return { signer, verifier };
  }

  const referral = (ticket: string, host = 'lobby-1') => ({ referralData: new TextEncoder().encode(ticket), referralSource: { host, port: 5520 } });

  it('accepts a ticket bound to this player, its source and this backend, once', async () => {
    const { signer, verifier } = await keys();
    const replayStore = createMemoryReplayStore();
    const ticket = await createTicketIssuer({ keyRing: signer, issuer: LOBBY }).issue({ clientUuid: CLIENT, target: GAME });
    const { backend, driver } = await start({ tickets: { keyRing: verifier, replayStore }, requireTicket: true });
    await join(driver, { connect: referral(ticket) });
    expect(backend.player(PLAYER_UUID)!.ticket).toEqual({ kid: 'k1', source: 'lobby-1', pool: undefined });
    expect(backend.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'accepted', source: 'lobby-1', kid: 'k1' });
    expect(JSON.stringify(backend.events)).not.toContain(ticket);

    // the same ticket again: refused as a plugin cancelling PlayerSetupConnectEvent would
    const net2 = memory();
    const again = await createBackend({ id: 'game-7', transport: net2, listen: { host: 'game', port: 1 }, tickets: { keyRing: verifier, replayStore } });
    open.push(again);
    const replay = await Driver.connect(net2, again);
    open.push(replay);
    await replay.send('Connect', connectPacket(replay.generation, referral(ticket)));
    await replay.next('ConnectAccept');
    expect(value(await replay.next())).toEqual({ reason: 'Migration ticket refused (ERR_TICKET_REPLAYED)', type: 'Disconnect' });
    expect(await replay.closed).toMatchObject({ code: 0 });
    expect(await disconnected(again)).toMatchObject({ kind: 'ticket-refused' });
    expect(again.counters).toMatchObject({ ticketsRefused: 1, ticketsAccepted: 0 });
  });

  it.each([
    ['another target', { target: 'game-8' }, 'ERR_TICKET_TARGET_MISMATCH'],
    ['another player', { client: 'ffffffff-4455-6677-8899-aabbccddeeff' }, 'ERR_TICKET_CLIENT_MISMATCH'],
    ['another source', { host: 'lobby-2' }, 'ERR_TICKET_SOURCE_MISMATCH'],
    ['a signature by another key under the same kid', { otherKey: true }, 'ERR_TICKET_SIGNATURE'],
    ['garbage', { garbage: true }, 'ERR_TICKET_MALFORMED'],
    ['a source that is no backend id', { host: 'not a backend id!' }, 'unknown-referral-source'],
  ])('refuses %s', async (_name, fault: Record<string, unknown>, code) => {
    const { signer, verifier } = await keys();
    const issuer = fault.otherKey ? (await keys()).signer : signer;
    let ticket = await createTicketIssuer({ keyRing: issuer, issuer: LOBBY }).issue({
      clientUuid: parseClientUuid((fault.client as string | undefined) ?? PLAYER_UUID),
      target: parseBackendId((fault.target as string | undefined) ?? 'game-7'),
    });
    if (fault.garbage) ticket = 'not.a.ticket';
    const { backend, driver } = await start({ tickets: { keyRing: verifier } });
    await driver.send('Connect', connectPacket(driver.generation, referral(ticket, (fault.host as string | undefined) ?? 'lobby-1')));
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: `Migration ticket refused (${code})`, type: 'Disconnect' });
    expect(backend.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'refused', code });
  });

  it('refuses an expired ticket (checked on the backend clock)', async () => {
    const { signer, verifier } = await keys();
    const clock = new ManualClock();
    const ticket = await createTicketIssuer({ keyRing: signer, issuer: LOBBY, ttlSeconds: 10, now: () => clock.now() - 16_000 }).issue({
      clientUuid: CLIENT,
      target: GAME,
    });
    const { driver } = await start({ clock, tickets: { keyRing: verifier } });
    await driver.send('Connect', connectPacket(driver.generation, referral(ticket)));
    expect(value(await driver.next('Disconnect'))).toMatchObject({ reason: 'Migration ticket refused (ERR_TICKET_EXPIRED)' });
  });

  it('maps referral sources to backend ids', async () => {
    const { signer, verifier } = await keys();
    const ticket = await createTicketIssuer({ keyRing: signer, issuer: LOBBY }).issue({ clientUuid: CLIENT, target: GAME });
    const { backend, driver } = await start({ tickets: { keyRing: verifier, sources: { '10.0.0.7:5520': 'lobby-1' } } });
    await join(driver, { connect: referral(ticket, '10.0.0.7') });
    expect(backend.player(PLAYER_UUID)!.ticket).toMatchObject({ source: 'lobby-1' });
  });

  it('requireTicket refuses a join without referralData; without it such a join is a development join', async () => {
    const { verifier } = await keys();
    const strict = await start({ tickets: { keyRing: verifier }, requireTicket: true });
    await strict.driver.send('Connect', connectPacket(strict.driver.generation));
    expect(value(await strict.driver.next('Disconnect'))).toEqual({ reason: 'This server only accepts players with a migration ticket', type: 'Disconnect' });
    const lax = await start({ tickets: { keyRing: verifier } });
    await join(lax.driver);
    expect(lax.backend.events.find((e) => e.type === 'ticket')).toMatchObject({ result: 'absent' });
  });

  it('requireTicket without keys is a configuration error', async () => {
    await expect(createBackend({ id: 'x', transport: memory(), requireTicket: true })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
  });
});

describe('one account, one session', () => {
  it('a second login from the same origin kicks the first: "You logged in again with the account!"', async () => {
    const { net, backend, driver } = await start();
    await join(driver);
    const second = await Driver.connect(net, backend);
    open.push(second);
    await join(second);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'You logged in again with the account!', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
    expect(await disconnected(backend, 0)).toMatchObject({ kind: 'duplicate-login' });
    expect(backend.player(PLAYER_UUID)!.key).toBe('p2');
  });
});

describe('shutdown', () => {
  it('close() kicks every player with "Server is shutting down!" and stops listening', async () => {
    const { net, backend, driver } = await start();
    await join(driver);
    await backend.close();
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Server is shutting down!', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
    await expect(net.dial({ address: backend.address, alpn: ['hytale/2'] })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_REFUSED' });
    await backend.close(); // idempotent
    await backend.closed;
  });
});
