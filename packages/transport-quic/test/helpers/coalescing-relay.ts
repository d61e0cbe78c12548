import { createSocket, type RemoteInfo } from 'node:dgram';

/**
 * A UDP relay that makes a server's first stream data reach the client *inside* the datagram that
 * completes the client's handshake: it holds the server's first long-header datagram (its
 * handshake flight) until the server's first short-header (1-RTT) datagram, and forwards the two
 * as one coalesced datagram (RFC 9000 §12.2). Servers that send 0.5-RTT data (quic-go with
 * `ListenAddrEarly`) sometimes pack it that way themselves; this makes it happen every time.
 */
export async function coalescingRelay(serverPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  let client: RemoteInfo | undefined;
  let held: Buffer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const toClient = (message: Buffer): void => {
    if (client !== undefined) socket.send(message, client.port, client.address);
  };
  socket.on('message', (message, from) => {
    if (from.port !== serverPort) {
      client = from;
      socket.send(message, serverPort, '127.0.0.1');
      return;
    }
    if (done) return toClient(message);
    const long = (message[0]! & 0x80) !== 0;
    if (held === undefined && long) {
      held = message;
      // the flight may already carry the 1-RTT data; then it goes out alone
      timer = setTimeout(() => {
        done = true;
        toClient(held!);
      }, 50);
      return;
    }
    if (held !== undefined && !long) {
      clearTimeout(timer);
      done = true;
      toClient(Buffer.concat([held, message]));
      return;
    }
    toClient(message);
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: socket.address().port,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(timer);
        socket.close(() => resolve());
      }),
  };
}
