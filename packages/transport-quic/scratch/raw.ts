import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import { createDevCa, createSelfSignedCertificate } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e); });
process.on('uncaughtException', (e) => { console.log('UNCAUGHT', (e as Error)?.message ?? e); });
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
const cli = await createSelfSignedCertificate({ commonName: 'player' });
const mode = process.argv[2] ?? 'callback';
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000,
  verifyPeer: true, ...(mode === 'callback' ? { verifyCallback: async () => { await new Promise(r => setTimeout(r, 5)); return undefined; } } : { ca: ca.certPem }),
}});
let streams = 0;
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => {
  const conn = evt.detail;
  console.log('server conn; alpn', Buffer.from(conn.conn.applicationProto()).toString());
  conn.addEventListener(events.EventQUICConnectionStream.name, async (e: any) => {
    streams++; const s = e.detail; console.log('server got stream', s.streamId, s.type);
    const r = s.readable.getReader(); const { value } = await r.read(); console.log('server read', Buffer.from(value ?? []).toString());
  });
});
await server.start({ host: '127.0.0.1', port: 0 });
const clientCert = mode === 'callback' ? cli : await ca.issue({ commonName: 'backend-client' });
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: clientCert.keyPem, cert: clientCert.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true } });
const kind = (process.argv[3] ?? 'bidi') as 'bidi'|'uni';
const s = client.connection.newStream(kind);
const w = s.writable.getWriter(); await w.write(Buffer.from('hello')); 
await new Promise(r => setTimeout(r, 300));
console.log('streams seen by server', streams);
await client.destroy({ force: true }); await server.stop({ force: true });
