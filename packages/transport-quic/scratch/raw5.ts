import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICServer, QUICConnection, events } from '@matrixai/quic';
import { createDevCa } from '../src/certs.js';
import { serverCrypto } from '../src/crypto-ops.js';
let unhandled = 0;
process.on('unhandledRejection', (e) => { unhandled++; console.log('UNHANDLED REJECTION', (e as Error)?.message ?? e, (e as any)?.cause?.message); });
const P: any = QUICConnection.prototype;
const orig = P.processStreams;
P.processStreams = function () { const ids = [...this.conn.readable()]; if (ids.length) console.log(this.type, 'processStreams readable', ids, 'known', [...this.streamMap.keys()]); return orig.call(this); };
const quiet = new Logger('q', LogLevel.SILENT, []);
const ca = await createDevCa();
const srv = await ca.issue({ commonName: 'localhost' });
const cc = await ca.issue({ commonName: 'c' });
writeFileSync('/tmp/qg/ca.pem', ca.certPem); writeFileSync('/tmp/qg/c.pem', cc.certPem); writeFileSync('/tmp/qg/c.key', cc.keyPem);
const mode = process.argv[2] ?? 'ca';
const server = new QUICServer({ crypto: serverCrypto(), logger: quiet, config: {
  key: srv.keyPem, cert: srv.certPem, applicationProtos: ['hytale/2'], maxIdleTimeout: 5000, verifyPeer: true, ...(mode === 'ca' ? { ca: ca.certPem } : { verifyCallback: async () => undefined }) }});
server.addEventListener(events.EventQUICServerConnection.name, (evt: any) => { console.log('server connection announced');
  evt.detail.addEventListener(events.EventQUICConnectionStream.name, async (e: any) => { const s = e.detail; console.log('server got stream', s.streamId);
    if (s.type === 'bidi') { const r = s.readable.getReader(); const w = s.writable.getWriter(); const { value } = await r.read(); await w.write(value); await w.close(); } }); });
await server.start({ host: '127.0.0.1', port: 0 });
const { spawn } = await import('node:child_process');
for (let i = 0; i < Number(process.argv[3] ?? 5); i++) {
  const res = await new Promise<string>((resolve) => { const p = spawn('/tmp/qg/quic-peer', ['-mode', 'client', '-addr', `127.0.0.1:${server.port}`, '-ca', '/tmp/qg/ca.pem', '-cert', '/tmp/qg/c.pem', '-key', '/tmp/qg/c.key', '-uni-first', '-idle', '3s']); let o = ''; p.stdout.on('data', d => o += d); p.on('exit', () => resolve(o)); });
  console.log(res.trim());
}
console.log('unhandled', unhandled);
await server.stop({ force: true });
