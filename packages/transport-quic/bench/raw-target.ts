/**
 * The raw `@matrixai/quic` behind the smallest shim the shared measurements need (`listen`,
 * `accept`, `dial`, `openStream`, `acceptStream`, `close`): the library's own web streams are
 * handed out untouched, so what is measured is the library. Same TLS policy (client certificate
 * verified against a CA, no verifyCallback), idle timeout and keep-alive as the adapter target.
 */
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICClient, QUICServer, events, type QUICConfig, type QUICConnection, type QUICStream } from '@matrixai/quic';
import type { Connection, Listener } from '@handoff/transport';
import type { BenchTarget } from '../../transport/bench/measure.js';
import type { CertificateWithKey, DevCa } from '../src/index.js';
import { clientCrypto, serverCrypto } from '../src/crypto-ops.js';

const silent = (): Logger => new Logger('raw', LogLevel.SILENT, []);

/** A FIFO with waiters. */
class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  shift(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

function rawConnection(connection: QUICConnection, close: () => Promise<void>): Connection {
  const incoming = new Queue<QUICStream>();
  connection.addEventListener(events.EventQUICConnectionStream.name, (evt: Event) => {
    incoming.push((evt as events.EventQUICConnectionStream).detail);
  });
  const shim = {
    openStream: async () => Object.assign(connection.newStream('bidi'), { kind: 'bidi' }),
    acceptStream: async () => incoming.shift(),
    close,
  };
  return shim as unknown as Connection;
}

export function rawTarget(ca: DevCa, server: CertificateWithKey, client: CertificateWithKey): BenchTarget {
  const common: Partial<QUICConfig> = { applicationProtos: ['hytale/2'], maxIdleTimeout: 30_000, keepAliveIntervalTime: 10_000, enableEarlyData: false };
  return {
    name: 'raw @matrixai/quic',
    address: { host: '127.0.0.1', port: 0 },
    async listen(): Promise<Listener> {
      const quicServer = new QUICServer({
        crypto: serverCrypto(),
        logger: silent(),
        config: { ...common, key: server.keyPem, cert: server.certPem, verifyPeer: true, ca: ca.certPem },
      });
      const accepted = new Queue<Connection>();
      quicServer.addEventListener(events.EventQUICServerConnection.name, (evt: Event) => {
        const connection = (evt as events.EventQUICServerConnection).detail;
        accepted.push(rawConnection(connection, () => connection.stop({ force: true })));
      });
      await quicServer.start({ host: '127.0.0.1', port: 0 });
      const listener = {
        address: { host: '127.0.0.1', port: quicServer.port },
        accept: () => accepted.shift(),
        close: () => quicServer.stop({ force: true }),
      };
      return listener as unknown as Listener;
    },
    async dial(init): Promise<Connection> {
      const quicClient = await QUICClient.createQUICClient({
        host: init.address.host,
        port: init.address.port,
        serverName: 'localhost',
        crypto: clientCrypto(),
        logger: silent(),
        config: { ...common, key: client.keyPem, cert: client.certPem, ca: ca.certPem, verifyPeer: true },
      });
      return rawConnection(quicClient.connection, () => quicClient.destroy({ force: true }));
    },
  };
}
