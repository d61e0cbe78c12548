/**
 * The receiving end of the two-process throughput measurements (`bench/index.ts` spawns it).
 * `peer.ts quic|tls`: reads `{ ca, server }` PEMs as JSON on stdin, listens on 127.0.0.1, prints
 * `{"port": n}`. Per connection: the first stream (QUIC) or the socket (TLS) starts with the number
 * of bytes that follow (8 bytes, big-endian); once they are in, the peer answers with this
 * process's CPU time (ms, JSON) spent from the first byte to the last.
 */
import { text } from 'node:stream/consumers';
import { createServer } from 'node:tls';
import type { BidiStream } from '@handoff/transport';
import { quic } from '../src/index.js';

const role = process.argv[2];
const { ca, server } = JSON.parse(await text(process.stdin)) as { ca: string; server: { certPem: string; keyPem: string } };
const encoder = new TextEncoder();

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

if (role === 'quic') {
  const listener = await quic().listen({
    address: { host: '127.0.0.1', port: 0 },
    certificate: server,
    clientCertificate: { policy: 'required-and-verified', ca },
    limits: { datagramRate: { perSecond: 1e9, burst: 1e9 } }, // bulk uploads
  });
  process.stdout.write(`${JSON.stringify({ port: listener.address.port })}\n`);
  for (;;) {
    const connection = await listener.accept();
    void (async () => {
      const stream = (await connection.acceptStream()) as BidiStream;
      const reader = stream.readable.getReader();
      let cpu: NodeJS.CpuUsage | undefined;
      let expected = Infinity;
      let got = 0;
      while (got < expected) {
        const { done, value } = await reader.read();
        if (done) return;
        if (cpu === undefined) {
          cpu = process.cpuUsage();
          expected = Number(Buffer.from(value.buffer, value.byteOffset, 8).readBigUInt64BE()) + 8;
        }
        got += value.byteLength;
      }
      const writer = stream.writable.getWriter();
      await writer.write(encoder.encode(JSON.stringify({ cpuMs: cpuMs(cpu!) })));
      await writer.close();
    })().catch(() => {});
  }
} else if (role === 'tls') {
  const tls = createServer({ key: server.keyPem, cert: server.certPem, ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
    let cpu: NodeJS.CpuUsage | undefined;
    let expected = Infinity;
    let got = 0;
    socket.on('data', (data: Buffer) => {
      if (cpu === undefined) {
        cpu = process.cpuUsage();
        expected = Number(data.readBigUInt64BE(0)) + 8;
      }
      got += data.byteLength;
      if (got >= expected) socket.end(JSON.stringify({ cpuMs: cpuMs(cpu) }));
    });
    socket.on('error', () => {});
  });
  tls.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (tls.address() as { port: number }).port })}\n`);
  });
} else {
  process.stderr.write('usage: peer.ts quic|tls\n');
  process.exit(2);
}
