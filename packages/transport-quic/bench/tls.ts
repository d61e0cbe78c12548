/**
 * node:tls over TCP on loopback, with the same certificates: the machine's practical ceiling for
 * an encrypted byte stream in Node, measured in the same run as QUIC. Plain socket API (no web
 * streams), so it is the ceiling, not a like-for-like adapter.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import type { CertificateWithKey, DevCa } from '../src/index.js';

export interface TlsPair {
  readonly server: Server;
  readonly client: TLSSocket;
  readonly accepted: TLSSocket;
  close(): Promise<void>;
}

export async function tlsServer(ca: DevCa, server: CertificateWithKey, onSocket: (socket: TLSSocket) => void): Promise<Server> {
  const tls = createServer({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, onSocket);
  tls.listen(0, '127.0.0.1');
  await once(tls, 'listening');
  return tls;
}

export async function tlsDial(ca: DevCa, client: CertificateWithKey, port: number): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', key: client.keyPem, cert: client.certPem, ca: ca.certPem });
  await once(socket, 'secureConnect');
  socket.setNoDelay(true);
  return socket;
}

export async function tlsPair(ca: DevCa, server: CertificateWithKey, client: CertificateWithKey): Promise<TlsPair> {
  let resolveAccepted!: (socket: TLSSocket) => void;
  const acceptedP = new Promise<TLSSocket>((resolve) => {
    resolveAccepted = resolve;
  });
  const tls = await tlsServer(ca, server, (socket) => {
    socket.setNoDelay(true);
    resolveAccepted(socket);
  });
  const port = (tls.address() as { port: number }).port;
  const clientSocket = await tlsDial(ca, client, port);
  const accepted = await acceptedP;
  return {
    server: tls,
    client: clientSocket,
    accepted,
    async close() {
      clientSocket.destroy();
      accepted.destroy();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    },
  };
}

/** Writes `total` bytes in `chunkSize` writes (respecting backpressure) and resolves when sent. */
export async function writeAll(socket: TLSSocket, total: number, chunkSize: number): Promise<void> {
  const chunk = Buffer.alloc(chunkSize, 1);
  for (let sent = 0; sent < total; sent += chunkSize) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
}

/** Resolves once `total` bytes arrived on `socket`. */
export function readCount(socket: TLSSocket, total: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (data: Buffer): void => {
      got += data.byteLength;
      if (got >= total) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
}

/** One-way throughput: bytes/ms and CPU ms of this process. */
export async function tlsOneWay(pair: TlsPair, total: number, chunkSize: number): Promise<{ bytesPerMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const reading = readCount(pair.accepted, total);
  await writeAll(pair.client, total, chunkSize);
  await reading;
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { bytesPerMs: total / elapsed, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * 100-byte frames: `coalesce` corks the socket for each synchronous burst (what the QUIC adapter's
 * `coalesceWrites` does per event-loop turn); otherwise one `write` per frame.
 */
export async function tlsFrames(pair: TlsPair, frames: number, frameSize: number, coalesce: boolean): Promise<number> {
  const frame = Buffer.alloc(frameSize, 2);
  const start = performance.now();
  const reading = readCount(pair.accepted, frames * frameSize);
  const burst = 640; // 64 KiB of frames, then wait for the socket to drain
  for (let sent = 0; sent < frames; ) {
    if (coalesce) pair.client.cork();
    let ok = true;
    for (let i = 0; i < burst && sent < frames; i++, sent++) ok = pair.client.write(frame);
    if (coalesce) pair.client.uncork();
    if (!ok) await once(pair.client, 'drain');
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await reading;
  return (frames / (performance.now() - start)) * 1000;
}

/** Round trips of `size` bytes echoed by the peer: per-round ms. */
export async function tlsRoundTrips(pair: TlsPair, rounds: number, size: number): Promise<number[]> {
  pair.accepted.on('data', (data: Buffer) => pair.accepted.write(data));
  const message = Buffer.alloc(size, 7);
  const samples: number[] = [];
  for (let r = 0; r < rounds + rounds / 10; r++) {
    const start = performance.now();
    const reply = readCount(pair.client, size);
    pair.client.write(message);
    await reply;
    if (r >= rounds / 10) samples.push(performance.now() - start);
  }
  pair.accepted.removeAllListeners('data');
  return samples;
}
