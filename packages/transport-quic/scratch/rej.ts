import { quic, createDevCa, createSelfSignedCertificate } from '../src/index.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED', (e as Error).message); });
const ca = await createDevCa(); const other = await createDevCa();
const server = await ca.issue({ commonName: 'localhost' });
const player = await createSelfSignedCertificate({ commonName: 'p' });
const stranger = await other.issue({ commonName: 's' });
const t = quic();
const mode = process.argv[2];
const l = await t.listen({ address: { host: '127.0.0.1', port: 0 }, certificate: server, idleTimeout: 3000,
  clientCertificate: mode === 'any' ? 'required-any' : { policy: 'required-and-verified', ca: ca.certPem },
  onHandshakeError: (e, a) => console.log('listener handshake error', e.code, e.message, a) });
const cert = process.argv[3] === 'none' ? undefined : process.argv[3] === 'stranger' ? stranger : player;
const serverTrust = process.argv[4] === 'pin' ? { fingerprints: [server.fingerprint] } : { ca: ca.certPem };
const t0 = Date.now();
try { const c = await t.dial({ address: l.address, certificate: cert, serverTrust, idleTimeout: 3000 }); console.log('dial ok', c.alpn); const s = await l.accept(); console.log('accepted', s.peerCertificateFingerprint); await c.close(); }
catch (e) { console.log('dial failed', (e as any).code, (e as Error).message, Date.now() - t0, 'ms'); }
await l.close();
