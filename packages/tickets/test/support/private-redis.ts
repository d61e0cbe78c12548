/**
 * A private redis-server for tests that must stop and restart it (the shared one from the global
 * setup is never disturbed). Fails with a clear message when redis-server is missing.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { freePort, startRedisServer, type RedisServer } from '../../../../test/support/redis-server.js';

export { freePort };
export type PrivateRedis = RedisServer;

/** A private redis-server this test may stop (crash: SIGKILL) and restart on the same port. */
export async function privateRedis(): Promise<PrivateRedis> {
  const server = await startRedisServer();
  return { port: server.port, url: server.url, start: () => server.start(), stop: () => server.stop('SIGKILL') };
}

/** A TCP server that accepts connections and never answers (a hung Redis). */
export async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
