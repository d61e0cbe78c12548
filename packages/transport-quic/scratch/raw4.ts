import dgram from 'node:dgram';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, QUICConnection, events } from '@matrixai/quic';
import { createDevCa } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
let unhandled = 0;
process.on('unhandledRejection', (e) => { unhandled++; console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
const P: any = QUICConnection.prototype;
const orig = P.processStreams;
P.processStreams = function () { const ids = [...this.conn.readable()]; if (ids.length) console.log(this.type, 'processStreams readable', ids, 'known', [...this.streamMap.keys()]); return orig.call(this); };
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ca: ca.certPem }});
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => { console.log('server connection announced');
  evt.detail.addEventListener(events.EventQUICConnectionStream.name, (e: any) => console.log('server got stream', e.detail.streamId)); });
await server.start({ host: '127.0.0.1', port: 0 });
// relay: client -> relay -> server, batching client datagrams every 30ms
const relay = dgram.createSocket('udp4');
await new Promise<void>(r => relay.bind(0, '127.0.0.1', () => r()));
let clientAddr: dgram.RemoteInfo | undefined; let held: Buffer[] = [];
relay.on('message', (msg, rinfo) => {
  if (rinfo.port === server.port) { if (clientAddr) relay.send(msg, clientAddr.port, clientAddr.address); }
  else { clientAddr = rinfo; held.push(msg); }
});
const flusher = setInterval(() => { const b = held; held = []; for (const m of b) relay.send(m, server.port, '127.0.0.1'); }, 30);
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: relay.address().port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true } });
console.log('client started');
const s = client.connection.newStream((process.argv[2] ?? 'uni') as any);
void s.writable.getWriter().write(Buffer.from('hello'));
await new Promise(r => setTimeout(r, 300));
clearInterval(flusher);
console.log('unhandled', unhandled);
await client.destroy({ force: true }); await server.stop({ force: true }); relay.close();
