import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import { createDevCa } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
let unhandled = 0;
process.on('unhandledRejection', (e) => { unhandled++; console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ca: ca.certPem }});
let sconn: any;
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => { sconn = evt.detail; });
await server.start({ host: '127.0.0.1', port: 0 });
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true } });
const b = client.connection.newStream('bidi'); const bw = b.writable.getWriter(); await bw.write(Buffer.from('x'));
await new Promise(r => setTimeout(r, 50));
const stopP = sconn.stop({ force: false }); // graceful: waits for the open bidi stream
await new Promise(r => setTimeout(r, 20));
const u = client.connection.newStream(process.argv[2] === 'bidi' ? 'bidi' : 'uni'); void u.writable.getWriter().write(Buffer.from('late')).catch(() => {});
await new Promise(r => setTimeout(r, 200));
console.log('unhandled', unhandled);
sconn.destroyStreams(); await stopP; await client.destroy({ force: true }); await server.stop({ force: true });
