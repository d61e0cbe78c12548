import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICClient, QUICConnection, events } from '@matrixai/quic';
import { createDevCa } from '../src/certs.js';
import { serverCrypto, clientCrypto } from '../src/crypto-ops.js';
let unhandled = 0;
process.on('unhandledRejection', (e) => { unhandled++; console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
const P: any = QUICConnection.prototype;
const orig = P.processStreams;
const sym = (o: any, d: string) => { let p = o; while (p) { const s = Object.getOwnPropertySymbols(p).find(s => s.description === d); if (s) return s; p = Object.getPrototypeOf(p);} };
P.processStreams = function () { const ids = [...this.conn.readable()]; if (ids.length) console.log(this.type, 'processStreams readable', ids, 'known', [...this.streamMap.keys()], 'running', this[sym(this,'running')!], 'status', this[sym(this,'status')!]); return orig.call(this); };
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ca: ca.certPem }});
server.addEventListener(events.EventQUICServerConnection.name, async (evt: any) => {
  const conn = evt.detail;
  for (let i = 0; i < 2; i++) { const s = conn.newStream('uni'); const w = s.writable.getWriter(); void w.write(Buffer.alloc(20000, i)).catch(() => {}); }
});
await server.start({ host: '127.0.0.1', port: 0 });
let seen = 0;
const client = await QUICClient.createQUICClient({ host: '127.0.0.1', port: server.port, serverName: 'localhost', crypto: clientCrypto(), logger: quiet, config: {
  key: cc.keyPem, cert: cc.certPem, ca: ca.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true,
  verifyCallback: async () => { await new Promise(r => setTimeout(r, Number(process.argv[2] ?? 50))); return undefined; } } });
client.connection.addEventListener(events.EventQUICConnectionStream.name, (e: any) => { seen++; console.log('client got stream', e.detail.streamId); });
await new Promise(r => setTimeout(r, 300));
console.log('streams seen by client', seen, 'unhandled', unhandled);
await client.destroy({ force: true }); await server.stop({ force: true });
