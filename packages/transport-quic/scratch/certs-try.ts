import { createDevCa, createSelfSignedCertificate, certificatesFromPem, parseCertificate } from '../src/certs.js';
const ca = await createDevCa({ algorithm: 'Ed25519' });
const leaf = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
console.log(ca.subject, leaf.subject, leaf.fingerprint, leaf.keyPem.split('\n')[0]);
const ss = await createSelfSignedCertificate({ commonName: 'client' });
console.log(ss.fingerprint, certificatesFromPem(ss.certPem).length, parseCertificate(ss.der).issuer);
import { writeFileSync } from 'node:fs';
writeFileSync('/tmp/ca.pem', ca.certPem); writeFileSync('/tmp/leaf.pem', leaf.certPem);
