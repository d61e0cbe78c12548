import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import type { Address } from '../connection.js';

/**
 * A forwarding relay between a dialer and a listener that can be black-holed: from `blackhole()` on,
 * nothing passes in either direction and nothing is closed or reset, so both ends see a peer that
 * vanished. Used by the compliance suite's idle-timeout test; handy in adapter tests too.
 */
export interface Relay {
  /** Dial this instead of the listener. */
  readonly address: Address;
  blackhole(): void;
  /** Closes every socket of the relay. */
  close(): Promise<void>;
}

/** A TCP relay to `target`. */
export async function tcpRelay(target: Address): Promise<Relay> {
  const sockets = new Set<Socket>();
  let holed = false;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = createServer((downstream) => {
    track(downstream);
    const upstream = connect({ host: target.host, port: target.port });
    track(upstream);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (!holed) to.write(chunk);
      });
      from.on('end', () => {
        if (!holed) to.end();
      });
      from.on('close', () => {
        if (!holed) to.destroy();
      });
    };
    forward(downstream, upstream);
    forward(upstream, downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('relay has no TCP address');
  return {
    address: { host: '127.0.0.1', port: bound.port },
    blackhole() {
      holed = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A UDP relay to `target` (for QUIC): one upstream socket per downstream peer. */
export async function udpRelay(target: Address): Promise<Relay> {
  const family = target.host.includes(':') ? 'udp6' : 'udp4';
  const front = createSocket(family);
  const upstreams = new Map<string, UdpSocket>();
  let holed = false;
  front.on('message', (message: Buffer, from: RemoteInfo) => {
    if (holed) return;
    const peerKey = `${from.address}:${from.port}`;
    let upstream = upstreams.get(peerKey);
    if (upstream === undefined) {
      const socket = createSocket(family);
      upstreams.set(peerKey, socket);
      socket.on('message', (reply: Buffer) => {
        if (!holed) front.send(reply, from.port, from.address);
      });
      socket.on('error', () => {});
      upstream = socket;
    }
    upstream.send(message, target.port, target.host);
  });
  front.on('error', () => {});
  await new Promise<void>((resolve) => front.bind(0, family === 'udp6' ? '::1' : '127.0.0.1', () => resolve()));
  return {
    address: { host: family === 'udp6' ? '::1' : '127.0.0.1', port: front.address().port },
    blackhole() {
      holed = true;
    },
    async close() {
      await Promise.all(
        [front, ...upstreams.values()].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
      );
      upstreams.clear();
    },
  };
}
