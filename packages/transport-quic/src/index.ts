/**
 * `@handoff/transport-quic`: the QUIC adapter of the Handoff transport contract, over
 * `@matrixai/quic` 2.0.9, with ALPN, a client-certificate policy for listeners, the peer's
 * certificate chain and `cnf.x5t#S256` fingerprint on every connection, uni streams from either
 * side, the library's known faults fenced, and certificate helpers for development. ESM-only.
 *
 * @example
 * ```ts
 * import { quic, createDevCa, createSelfSignedCertificate } from '@handoff/transport-quic';
 *
 * const ca = await createDevCa();
 * const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server' });
 * const transport = quic();
 * const listener = await transport.listen({
 *   address: { host: '127.0.0.1', port: 0 },
 *   alpn: ['hytale/2', 'hytale/1'],
 *   certificate: serverCert,
 *   clientCertificate: 'required-any', // a Hytale client's certificate only binds tokens
 * });
 * const client = await transport.dial({
 *   address: listener.address,
 *   alpn: ['hytale/2'],
 *   certificate: await createSelfSignedCertificate({ commonName: 'player' }),
 *   serverTrust: { ca: ca.certPem },
 * });
 * const server = await listener.accept();
 * console.log(server.alpn, server.peerCertificateFingerprint); // 'hytale/2', the client's cnf.x5t#S256
 * await client.close();
 * await listener.close();
 * ```
 */
export { quic } from './quic-transport.js';
export type { QuicTransport } from './quic-transport.js';
export type { QuicListener, QuicListenerStats } from './quic-listener.js';
export type { RefusalReason } from './admission.js';
export type {
  CertificateInit,
  ClientCertificatePolicy,
  QuicDialInit,
  QuicListenInit,
  QuicListenerLimits,
  QuicTuning,
  RateLimit,
  ServerTrust,
} from './options.js';
export { DEFAULT_ALPN, DEFAULT_IDLE_TIMEOUT, SHARED_ADDRESS_LIMITS } from './options.js';
export {
  createDevCa,
  createSelfSignedCertificate,
  certificatesFromPem,
  certificatesToPem,
  parseCertificate,
  loadPemFiles,
  loadCaFile,
} from './certs.js';
export type { CertificateUsage, CertificateWithKey, DevCa, DevCaInit, KeyAlgorithm, LeafInit, PemFiles } from './certs.js';
export { certificateFingerprint } from '@handoff/transport';
export { QuicTransportError, isQuicTransportError, transportQuicErrorCodes } from './errors.js';
export type { QuicErrorCode } from './errors.js';
