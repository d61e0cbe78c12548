/**
 * A throwaway `redis-server` on a free loopback port, for tests and benchmarks.
 * `scripts/services.sh` installs Debian's `redis-server`; `HANDOFF_REDIS_SERVER` names another binary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something on `port` answers Redis's PING. */
export function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => done(false));
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** (Re)starts the server on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, or SIGKILL to simulate a crash); resolves once the process has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Starts a private redis-server; fails with a clear message when the binary is missing or mute. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const bin = process.env.HANDOFF_REDIS_SERVER ?? 'redis-server';
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      let spawnError: Error | undefined;
      child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
        stdio: 'ignore',
      });
      child.once('error', (error) => {
        spawnError = error;
      });
      const deadline = Date.now() + 10_000;
      while (!(await pingRedis(port))) {
        if (spawnError) throw new Error(`could not start ${bin} (run scripts/services.sh to install it): ${spawnError.message}`);
        if (Date.now() > deadline) throw new Error(`${bin} did not answer PING on 127.0.0.1:${port} within 10 s`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop(signal = 'SIGTERM') {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill(signal);
      });
    },
  };
  await server.start();
  return server;
}

/** `HANDOFF_REDIS_URL` when set (nothing to stop), otherwise a private server. */
export async function redisForBenchmark(): Promise<{ url: string; stop(): Promise<void> }> {
  const external = process.env.HANDOFF_REDIS_URL;
  if (external) return { url: external, stop: async () => {} };
  const server = await startRedisServer();
  return { url: server.url, stop: () => server.stop() };
}
