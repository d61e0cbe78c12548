import { transportCompliance } from '@handoff/transport/compliance';
import { tcp } from '@handoff/transport-tcp';

const transport = tcp({ lingerTimeout: 1_000 });

transportCompliance('tcp', {
  // one bidi stream per socket, no uni streams, no TLS, no ALPN, no close codes on the wire, no keep-alive frames
  capabilities: {
    bidiStreams: 1,
    listenerOpensBidi: false,
    uniStreams: false,
    streamLimits: false,
    alpn: false,
    certificates: false,
    closeCodes: false,
    streamReset: false,
    keepAlive: false,
    connectRefused: true,
  },
  listen: (init) => transport.listen(init),
  dial: (init) => transport.dial(init),
  vanish: 'tcp-relay',
});
