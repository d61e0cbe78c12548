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
const origRecv = P.recv;
P.recv = async function (data: Buffer, ri: any) { const len = data.length; const wasEst = this.conn.isEstablished(); const r = await origRecv.call(this, data, ri); if (this.type === 'server') console.log('server recv', len, 'est', wasEst, '->', this.conn.isEstablished(), 'readable', [...this.conn.readable()]); return r; };
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
const mode = process.argv[3] ?? 'ca';
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ...(mode === 'ca' ? { ca: ca.certPem } : { verifyCallback: async () => undefined }) }});
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => { console.log('server connection announced');
  evt.detail.addEventListener(events.EventQUICConnectionStream.name, (e: any) => console.log('server got stream', e.detail.streamId)); });
await server.start({ host: '127.0.0.1', port: 0 });
const relay = dgram.createSocket('udp4');
await new Promise<void>(r => relay.bind(0, '127.0.0.1', () => r()));
let clientAddr: dgram.RemoteInfo | undefined; let longs = 0; let heldFin: Buffer | undefined; let coalesced = false;
relay.on('message', (msg, rinfo) => {
  if (rinfo.port === server.port) { if (clientAddr) relay.send(msg, clientAddr.port, clientAddr.address); return; }
  clientAddr = rinfo;
  const long = (msg[0]! & 0x80) !== 0;
  console.log('c->s', msg.length, long ? 'long' : 'short');
  if (coalesced) { relay.send(msg, server.port, '127.0.0.1'); return; }
  if (long) { longs++; if (longs >= 3) { heldFin = msg; return; } relay.send(msg, server.port, '127.0.0.1'); return; }
  if (!heldFin) { relay.send(msg, server.port, '127.0.0.1'); return; }
  if (msg.length < 100) return; // drop small 1-RTT packets (acks); QUIC recovers
  coalesced = true; console.log('sending coalesced', heldFin.length + msg.length);
  relay.send(Buffer.concat([heldFin, msg]), server.port, '127.0.0.1');
});
const flusher = setInterval(() => {}, 1000);
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: relay.address().port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true } });
console.log('client started');
const s = client.connection.newStream((process.argv[2] ?? 'uni') as any);
void s.writable.getWriter().write(Buffer.alloc(200, 0x61));
await new Promise(r => setTimeout(r, 300));
clearInterval(flusher);
console.log('unhandled', unhandled);
await client.destroy({ force: true }); await server.stop({ force: true }); relay.close();
