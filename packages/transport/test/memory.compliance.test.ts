import { faultsOf, memory } from '@handoff/transport';
import { transportCompliance } from '@handoff/transport/compliance';

const transport = memory();
const certificates = [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x2a])]; // a fake "DER" chain: memory never parses it

transportCompliance('memory', {
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
    connectRefused: true,
  },
  listen: (init) => transport.listen({ ...init, certificates }),
  dial: (init) => transport.dial({ ...init, certificates }),
  vanish: (connection) => faultsOf(connection).blackhole(),
});
