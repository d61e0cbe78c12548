import { transportCompliance } from '@handoff/transport/compliance';
import { quic } from '@handoff/transport-quic';
import { fixtures } from './helpers/fixtures.js';

const transport = quic();
const certs = await fixtures();

transportCompliance('quic', {
  capabilities: {
    bidiStreams: 100,
    listenerOpensBidi: true,
    uniStreams: true,
    streamLimits: true,
    alpn: true,
    certificates: true,
    closeCodes: true,
    streamReset: true,
    keepAlive: true,
    connectRefused: false, // UDP: nothing refuses; a dial to a dead port ends with the idle timeout
  },
  listen: (init) => transport.listen({ ...init, certificate: certs.server, clientCertificate: 'required-any' }),
  dial: (init) => transport.dial({ ...init, certificate: certs.player, serverTrust: { ca: certs.ca.certPem } }),
  vanish: 'udp-relay',
});
