import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICClient, QUICConnection, events } from '@matrixai/quic';
import { createDevCa } from '../src/certs.js';
import { clientCrypto } from '../src/crypto-ops.js';
let unhandled = 0;
process.on('unhandledRejection', (e) => { unhandled++; console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e); });
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
writeFileSync('/tmp/qg/ca.pem', ca.certPem); writeFileSync('/tmp/qg/s.pem', srv.certPem); writeFileSync('/tmp/qg/s.key', srv.keyPem);
const p = spawn('/tmp/qg/quic-peer', ['-mode', 'server', '-cert', '/tmp/qg/s.pem', '-key', '/tmp/qg/s.key', '-ca', '/tmp/qg/ca.pem', '-client-auth', 'any', '-early-uni', '2']);
const port = await new Promise<number>((res) => p.stdout.once('data', (d) => res(JSON.parse(String(d).split('\n')[0]!).port)));
// relay: server long-header datagrams are delayed 30ms, short-header ones pass at once
const relay = dgram.createSocket('udp4'); await new Promise<void>(r => relay.bind(0, '127.0.0.1', () => r()));
let client: dgram.RemoteInfo | undefined;
// relay: the server's first datagram (its handshake flight) is held until its first 1-RTT
// datagram arrives, and both go out as ONE datagram (RFC 9000 §12.2 coalescing)
let heldLong: Buffer | undefined; let timer: NodeJS.Timeout | undefined; let done = false;
relay.on('message', (msg, from) => {
  if (from.port !== port) { client = from; relay.send(msg, port, '127.0.0.1'); return; }
  const send = (m: Buffer) => relay.send(m, client!.port, client!.address);
  if (done) { send(msg); return; }
  const long = (msg[0]! & 0x80) !== 0;
  if (heldLong === undefined && long) { heldLong = msg; timer = setTimeout(() => { done = true; console.log('sent long alone'); send(heldLong!); }, 50); return; }
  if (heldLong !== undefined && !long) { clearTimeout(timer); done = true; console.log('coalesced', heldLong.length, msg.length); send(Buffer.concat([heldLong, msg])); return; }
  send(msg);
});
const c = await QUICClient.createQUICClient({ host: '127.0.0.1', port: relay.address().port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 3000, verifyPeer: true } });
let seen = 0;
c.connection.addEventListener(events.EventQUICConnectionStream.name, () => { seen++; });
await new Promise(r => setTimeout(r, 300));
console.log('unhandled', unhandled, 'streams seen', seen);
await c.destroy({ force: true }); p.kill(); relay.close();
