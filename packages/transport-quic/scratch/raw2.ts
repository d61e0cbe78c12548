import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import { createDevCa, createSelfSignedCertificate } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
process.on('uncaughtException', (e) => { console.log('UNCAUGHT', (e as Error)?.message ?? e); });
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
const cli = await createSelfSignedCertificate({ commonName: 'player' });
const mode = process.argv[2] ?? 'callback';
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000,
  verifyPeer: mode !== 'noverify', ...(mode === 'callback' ? { verifyCallback: async () => undefined } : { ca: ca.certPem }),
}});
server.addEventListener(events.EventQUICServerConnection.name, async (evt: any) => {
  const conn = evt.detail;
  for (let i = 0; i < 2; i++) { const s = conn.newStream('uni'); const w = s.writable.getWriter(); void w.write(Buffer.from('chan' + i)); }
});
await server.start({ host: '127.0.0.1', port: 0 });
const clientCert = mode === 'callback' ? cli : await ca.issue({ commonName: 'backend-client' });
let seen = 0;
const clientP = QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: clientCert.keyPem, cert: clientCert.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ...(process.argv[3]==='ccb' ? { verifyCallback: async () => { await new Promise(r => setTimeout(r, 20)); return undefined; } } : {}) } });
const client = await clientP;
client.connection.addEventListener(events.EventQUICConnectionStream.name, (e: any) => { seen++; console.log('client got stream', e.detail.streamId); });
await new Promise(r => setTimeout(r, 300));
console.log('streams seen by client', seen);
await client.destroy({ force: true }); await server.stop({ force: true });
