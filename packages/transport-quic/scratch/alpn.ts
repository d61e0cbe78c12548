import { quic, createDevCa, createSelfSignedCertificate } from '../src/index.js';
const ca = await createDevCa(); const other = await createDevCa();
const server = await ca.issue({ commonName: 'localhost' });
const player = await createSelfSignedCertificate({ commonName: 'p' });
const t = quic();
let t0 = Date.now();
const l = await t.listen({ address: { host: '127.0.0.1', port: 0 }, certificate: server, idleTimeout: 5000, alpn: ['hytale/2'], clientCertificate: 'required-any',
  onHandshakeError: (e) => console.log('listener handshake error', e.code, Date.now() - t0, 'ms') });
const trust = process.argv[2] === 'ca' ? { ca: other.certPem } : { ca: ca.certPem };
const alpn = process.argv[2] === 'ca' ? ['hytale/2'] : ['hytale/3'];
t0 = Date.now();
try { await t.dial({ address: l.address, alpn, certificate: player, serverTrust: trust, idleTimeout: 5000 }); console.log('dial ok'); }
catch (e) { console.log('dial failed', (e as any).code, (e as Error).message, Date.now() - t0, 'ms'); }
t0 = Date.now(); await l.close(); console.log('listener closed', Date.now() - t0);
