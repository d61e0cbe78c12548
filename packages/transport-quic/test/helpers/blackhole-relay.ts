import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** A UDP relay to a local port that can be black-holed: from then on nothing passes either way. */
export async function blackholeRelay(targetPort: number): Promise<{ port: number; blackhole(): void; close(): Promise<void> }> {
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  let holed = false;
  front.on('message', (message: Buffer, from: RemoteInfo) => {
    if (holed) return;
    const key = `${from.address}:${from.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      upstream = createSocket('udp4');
      upstream.on('message', (reply: Buffer) => {
        if (!holed) front.send(reply, from.port, from.address);
      });
      upstream.on('error', () => {});
      upstreams.set(key, upstream);
    }
    upstream.send(message, targetPort, '127.0.0.1');
  });
  front.on('error', () => {});
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: front.address().port,
    blackhole() {
      holed = true;
    },
    async close() {
      await Promise.all([front, ...upstreams.values()].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
