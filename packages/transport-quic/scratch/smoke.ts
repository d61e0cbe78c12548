import { quic, createDevCa, createSelfSignedCertificate } from '../src/index.js';
process.on('unhandledRejection', (e) => { console.log('UNHANDLED', e); });
const ca = await createDevCa();
const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server' });
const t = quic();
const listener = await t.listen({ address: { host: '127.0.0.1', port: 0 }, alpn: ['hytale/2', 'hytale/1'], certificate: serverCert, clientCertificate: 'required-any', idleTimeout: 5000 });
console.log('listening', listener.address);
const clientCert = await createSelfSignedCertificate({ commonName: 'player' });
const [client, server] = await Promise.all([
  t.dial({ address: listener.address, alpn: ['hytale/2'], certificate: clientCert, serverTrust: { ca: ca.certPem }, idleTimeout: 5000 }),
  listener.accept(),
]);
console.log('alpn', client.alpn, server.alpn, 'fp ok', server.peerCertificateFingerprint === clientCert.fingerprint, client.peerCertificateFingerprint === serverCert.fingerprint);
const s = await client.openStream();
const w = s.writable.getWriter(); await w.write(new TextEncoder().encode('hello'));
const ss = await server.acceptStream();
const r = ss.readable!.getReader(); const { value } = await r.read(); console.log('server read', new TextDecoder().decode(value));
const sw = ss.writable!.getWriter(); await sw.write(new TextEncoder().encode('echo')); 
const cr = s.readable.getReader(); console.log('client read', new TextDecoder().decode((await cr.read()).value));
const u1 = await server.openStream({ kind: 'uni', channel: 'Chunks' }); const u2 = await server.openStream({ kind: 'uni', channel: 'WorldMap' });
const uw = u1.writable.getWriter(); await uw.write(new Uint8Array([1,2,3])); await uw.close();
const uw2 = u2.writable.getWriter(); await uw2.write(new Uint8Array([4])); await uw2.close();
const a = await client.acceptStream(); const b = await client.acceptStream();
console.log('client accepted', a.id, a.kind, a.channel, b.id, b.channel);
await server.close({ code: 4, reason: 'bye' });
console.log('server closed', await server.closed);
console.log('resources after server closed', process.getActiveResourcesInfo());
console.log('client closed', await client.closed);
console.log('resources after client closed', process.getActiveResourcesInfo());
await listener.close();
console.log('resources', process.getActiveResourcesInfo());
await new Promise(r => setTimeout(r, 200));
console.log('resources later', process.getActiveResourcesInfo());
