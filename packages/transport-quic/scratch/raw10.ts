import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import { createDevCa, createSelfSignedCertificate } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e); });
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
const base = process.getActiveResourcesInfo().length;
console.log('base', process.getActiveResourcesInfo());
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 2000, keepAliveIntervalTime: 500, verifyPeer: true, ca: ca.certPem, initialMaxStreamsBidi: 1 }});
const serverStreams: any[] = [];
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => {
  const c = evt.detail; c.addEventListener(events.EventQUICConnectionStream.name, async (e: any) => { serverStreams.push(e.detail); const r = e.detail.readable.getReader(); while (!(await r.read()).done); await e.detail.writable.close().catch(()=>{}); });
  c.addEventListener(events.EventQUICConnectionError.name, (e: any) => console.log('server conn error event:', e.detail.constructor.name, e.detail.message, JSON.stringify(e.detail.data)));
});
await server.start({ host: '127.0.0.1', port: 0 });
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 2000, keepAliveIntervalTime: 500, verifyPeer: true } });
const conn: any = client.connection;
console.log('left', conn.conn.peerStreamsLeftBidi());
const s1 = conn.newStream('bidi'); console.log('after s1 left', conn.conn.peerStreamsLeftBidi());
try { conn.newStream('bidi'); } catch (e) { console.log('s2', (e as Error).constructor.name, (e as Error).message); }
await s1.writable.close(); const r = s1.readable.getReader(); while (!(await r.read()).done);
await new Promise(r => setTimeout(r, 200));
console.log('after close left', conn.conn.peerStreamsLeftBidi());
try { conn.newStream('bidi'); console.log('s3 ok'); } catch (e) { console.log('s3', (e as Error).constructor.name, (e as Error).message); }
await client.destroy({ isApp: true, errorCode: 0, force: true });
await new Promise(r => setTimeout(r, 100));
await server.stop({ force: true });
await new Promise(r => setTimeout(r, 100));
console.log('after', process.getActiveResourcesInfo());
// failing dial: wrong CA
const other = await createDevCa();
try { await QUICClient.createQUICClient({ host: '127.0.0.1', port: 1, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: { ca: other.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 300, verifyPeer: true } }); } catch (e) { console.log('dial fail', (e as Error).constructor.name); }
await new Promise(r => setTimeout(r, 100));
console.log('after fail', process.getActiveResourcesInfo());
