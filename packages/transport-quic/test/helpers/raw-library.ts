/**
 * The raw `@matrixai/quic` API as an application would use it without this package's fences:
 * used only to show that each fenced fault is real (test/faults.test.ts) and by the benchmark.
 */
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICClient, QUICServer, events, type QUICConfig, type QUICConnection } from '@matrixai/quic';
import type { CertificateWithKey } from '@handoff/transport-quic';
import { clientCrypto, serverCrypto } from '../../src/crypto-ops.js';

export const silent = (): Logger => new Logger('raw', LogLevel.SILENT, []);

export async function rawServer(
  certificate: CertificateWithKey,
  config: Partial<QUICConfig> = {},
): Promise<{ server: QUICServer; port: number; connections: QUICConnection[] }> {
  const server = new QUICServer({
    crypto: serverCrypto(),
    logger: silent(),
    config: { key: certificate.keyPem, cert: certificate.certPem, applicationProtos: ['hytale/2'], ...config },
  });
  const connections: QUICConnection[] = [];
  server.addEventListener(events.EventQUICServerConnection.name, (evt: Event) => {
    connections.push((evt as events.EventQUICServerConnection).detail);
  });
  await server.start({ host: '127.0.0.1', port: 0 });
  return { server, port: server.port, connections };
}

export function rawClient(port: number, config: Partial<QUICConfig>): Promise<QUICClient> {
  return QUICClient.createQUICClient({
    host: '127.0.0.1',
    port,
    serverName: 'localhost',
    crypto: clientCrypto(),
    logger: silent(),
    config: { applicationProtos: ['hytale/2'], ...config },
  });
}
