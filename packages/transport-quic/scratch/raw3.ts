import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, QUICConnection, events } from '@matrixai/quic';
import { createDevCa, createSelfSignedCertificate } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
const P: any = QUICConnection.prototype;
const orig = P.processStreams;
P.processStreams = function () { const ids = [...this.conn.readable()]; if (ids.length) console.log(this.type, 'processStreams readable', ids, 'known', [...this.streamMap.keys()], 'established', this.secureEstablished); try { return orig.call(this); } catch (e) { console.log('processStreams threw', (e as Error).message); throw e; } };
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cli = await createSelfSignedCertificate({ commonName: 'player' });
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000,
  verifyPeer: true, verifyCallback: async () => { await new Promise(r => setTimeout(r, Number(process.argv[3] ?? 0))); return undefined; } }});
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => { console.log('server connection announced');
  evt.detail.addEventListener(events.EventQUICConnectionStream.name, (e: any) => console.log('server got stream', e.detail.streamId)); });
await server.start({ host: '127.0.0.1', port: 0 });
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cli.keyPem, cert: cli.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true } });
console.log('client started');
const s = client.connection.newStream((process.argv[2] ?? 'uni') as any);
void s.writable.getWriter().write(Buffer.from('hello'));
await new Promise(r => setTimeout(r, 300));
await client.destroy({ force: true }); await server.stop({ force: true });
