/**
 * The QUIC dialer. We drive a library `QUICConnection` on a socket of our own instead of using
 * `QUICClient`, whose connection-level listeners are attached before any hook can run and re-throw
 * internal errors out of event handlers.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TransportError, certificateFingerprint, throwIfAborted, toTransportError, type Connection } from '@handoff/transport';
import { QUICConnection, QUICConnectionId, QUICSocket, native, type QUICConfig } from '@matrixai/quic';
import { clientDefault } from '@matrixai/quic/config.js';
import { catchEventErrors, connectionMapOf, fenceSocket, internals, sendDatagram, sendQueueDrained, setSocketBuffers } from './fences.js';
import { codeToReason, reasonToCode } from './library-errors.js';
import { libraryLogger } from './library-logger.js';
import {
  checkAddress,
  connectionBudgets,
  socketBufferSize,
  checkCertificate,
  commonConfig,
  pemList,
  type QuicDialInit,
} from './options.js';
import { QuicConnectionAdapter } from './quic-connection.js';

/** TLS alert `bad_certificate` (42) as a QUIC crypto error. */
const BAD_CERTIFICATE = 0x100 + 42;

function dialConfig(init: QuicDialInit): { config: QUICConfig; serverName: string } {
  checkAddress(init.address);
  checkCertificate(init.certificate, 'certificate');
  const config: QUICConfig = { ...clientDefault, ...commonConfig(init) };
  if (init.certificate !== undefined) {
    config.key = init.certificate.keyPem;
    config.cert = init.certificate.certPem;
  }
  const trust = init.serverTrust;
  const defaultName = isIP(init.address.host) === 0 ? init.address.host : 'localhost';
  if (trust === 'insecure-any') {
    config.verifyPeer = false;
    return { config, serverName: defaultName };
  }
  if (typeof trust === 'object' && trust !== null && 'fingerprints' in trust) {
    const pins = new Set(trust.fingerprints);
    if (pins.size === 0) throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'serverTrust.fingerprints is empty');
    config.verifyPeer = true;
    config.verifyCallback = async (certs) => {
      const leaf = certs[0];
      return leaf !== undefined && pins.has(certificateFingerprint(leaf)) ? undefined : (BAD_CERTIFICATE as native.CryptoError);
    };
    return { config, serverName: defaultName };
  }
  if (typeof trust === 'object' && trust !== null && 'ca' in trust) {
    const ca = pemList(trust.ca);
    if (ca.length === 0 || ca.some((pem) => !pem.includes('-----BEGIN CERTIFICATE-----'))) {
      throw new TransportError('ERR_TRANSPORT_INVALID_ARGUMENT', 'serverTrust.ca must hold PEM CA certificates');
    }
    config.verifyPeer = true;
    config.ca = ca;
    return { config, serverName: trust.serverName ?? defaultName };
  }
  throw new TransportError(
    'ERR_TRANSPORT_INVALID_ARGUMENT',
    "serverTrust must be { ca }, { fingerprints } or 'insecure-any'",
  );
}

async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 4 || family === 6) return { address: bare, family };
  try {
    const result = await lookup(bare);
    return { address: result.address, family: result.family === 6 ? 6 : 4 };
  } catch (error) {
    throw toTransportError(error, 'ERR_TRANSPORT_CONNECT_FAILED');
  }
}

/** Dials a QUIC listener; resolves once the handshake is complete. */
export async function dialQuic(init: QuicDialInit): Promise<Connection> {
  throwIfAborted(init.signal);
  const { config, serverName } = dialConfig(init);
  const budgets = connectionBudgets(init);
  const bufferSize = socketBufferSize(init);
  const target = await resolveHost(init.address.host);
  throwIfAborted(init.signal);
  const logger = init.logger;
  const matrixLogger = libraryLogger('QUICClient', logger);
  const socket = new QUICSocket({ logger: matrixLogger.getChild('QUICSocket') });
  let adapter: QuicConnectionAdapter | undefined;
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    // let the last datagrams (a CONNECTION_CLOSE, a TLS alert) leave before the socket closes
    released ??= sendQueueDrained(socket)
      .then(() => socket.stop({ force: true }))
      .catch(() => {});
    return released;
  };
  fenceSocket(
    socket,
    (library) => {
      adapter = new QuicConnectionAdapter(library, {
        direction: 'outbound',
        coalesceWrites: init.coalesceWrites ?? true,
        budgets,
        logger,
        release: async () => {
          connectionMapOf(socket).delete(library.connectionId);
          await release();
        },
      });
    },
    (error) => logger?.warn?.({ err: error }, 'QUIC datagram handling failed'),
  );
  catchEventErrors(socket, (error) => logger?.warn?.({ err: error }, 'QUIC socket failure'));
  try {
    await socket.start({ host: target.family === 6 ? '::' : '0.0.0.0', port: 0 });
  } catch (error) {
    await release();
    throw toTransportError(error instanceof Error && error.cause !== undefined ? error.cause : error, 'ERR_TRANSPORT_CONNECT_FAILED');
  }
  setSocketBuffers(socket, bufferSize, (error) => logger?.debug?.({ err: error }, 'QUIC socket buffer size not applied'));

  const scid = new QUICConnectionId(native.quiche.MAX_CONN_ID_LEN);
  globalThis.crypto.getRandomValues(scid);
  let library: QUICConnection;
  try {
    library = new QUICConnection({
      type: 'client',
      scid,
      serverName,
      socket,
      remoteInfo: { host: target.address as never, port: init.address.port as never },
      config,
      reasonToCode,
      codeToReason,
      logger: matrixLogger.getChild(`QUICConnection ${scid.toString()}`),
    });
  } catch (error) {
    await release();
    throw toTransportError(error, 'ERR_TRANSPORT_INVALID_ARGUMENT');
  }
  // each datagram straight to the socket (the batched-I/O patch); a lost datagram is QUIC's
  // business, and an unreachable peer ends in the idle timeout
  const onSent = (error: Error | null): void => {
    if (error !== null) logger?.debug?.({ err: error }, 'QUIC datagram send failed');
  };
  internals(library).sendDatagram = (msg, port, address) => sendDatagram(socket, msg, port, address, onSent);
  connectionMapOf(socket).set(library.connectionId, library); // the fence creates `adapter` here
  const connection = adapter!;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(init.signal?.reason);
  init.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await library.start(undefined, { signal: abort.signal });
  } catch (error) {
    connectionMapOf(socket).delete(library.connectionId);
    await connection.finishFailedHandshake();
    await release();
    if (init.signal?.aborted === true) {
      throw new TransportError('ERR_TRANSPORT_ABORTED', undefined, { cause: init.signal.reason });
    }
    const failure = await connection.established.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    throw toTransportError(failure ?? error, 'ERR_TRANSPORT_CONNECT_FAILED');
  } finally {
    init.signal?.removeEventListener('abort', onAbort);
  }
  try {
    await connection.established;
  } catch (error) {
    // closed between the end of the handshake and now
    await connection.closed;
    throw error;
  }
  return connection;
}
