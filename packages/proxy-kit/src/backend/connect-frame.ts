/**
 * The `Connect` the proxy sends a backend in the player's name: the player's uuid, username and
 * language and the version fields of the client's generation, all from the session record; the
 * client's identity token (a secret of the record), so that a backend plugin may check identity
 * itself; the ticket in `referralData` and the proxy's address in `referralSource`.
 */
import { isHandoffError, type Logger } from '@handoff/types';
import { portToWire, type Generation } from '@handoff/protocol';
import type { SessionRecord } from '@handoff/session';
import type { Address } from '@handoff/transport';
import { ProxyError } from '../errors.js';

/** What goes into the Connect besides the record. */
export interface ConnectFrameInit {
  /** The ticket for `referralData` (a compact JWS, ASCII). */
  readonly ticket?: string | undefined;
  /** The proxy's address, for `referralSource`. */
  readonly proxyAddress: Address;
  /** Put the client's identity token in (default true). */
  readonly forwardIdentityToken?: boolean | undefined;
  readonly logger?: Logger | undefined;
}

/** The language a G2+ server assumes when a Connect has none (it is required from G2 on). */
export const DEFAULT_LANGUAGE = 'en-US';

/**
 * Encodes the Connect for a backend of `generation` from `record`.
 * @throws {ProxyError} `ERR_PROXY_SETUP_INCOMPLETE_RECORD` without a captured Connect (reason
 * `no-connect`) or when the record's generation is another (`generation`); `ERR_PROXY_INVALID_ARGUMENT`
 * when a field does not fit the packet (a ticket over 4096 bytes, a bad address).
 */
export function buildConnectFrame(record: SessionRecord, generation: Generation, init: ConnectFrameInit): Uint8Array {
  const info = record.connect;
  if (info === undefined) {
    throw new ProxyError('ERR_PROXY_SETUP_INCOMPLETE_RECORD', 'the session record has no Connect: accept the client (capture its Connect) first', {
      reason: 'no-connect',
    });
  }
  if (info.generation !== generation.id) {
    throw new ProxyError(
      'ERR_PROXY_SETUP_INCOMPLETE_RECORD',
      `the client speaks ${info.generation}, the backend was to be joined with ${generation.id}: a proxy and its backends run one generation`,
      { reason: 'generation' },
    );
  }
  const { proxyAddress } = init;
  if (typeof proxyAddress?.host !== 'string' || proxyAddress.host.length === 0 || !Number.isInteger(proxyAddress.port) || proxyAddress.port < 0 || proxyAddress.port > 0xffff) {
    // G2+ servers refuse referral data without a referralSource host
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'proxyAddress must be { host: a non-empty string, port: 0–65535 }', { reason: 'proxy-address' });
  }
  const referralData = init.ticket === undefined ? null : new TextEncoder().encode(init.ticket);
  const identityToken = init.forwardIdentityToken === false ? null : (record.secret('identityToken') ?? null);
  const common = {
    clientType: info.clientType,
    uuid: info.clientUuid,
    username: info.username,
    identityToken,
    referralData,
    referralSource: { host: proxyAddress.host, port: portToWire(proxyAddress.port) },
  };
  const identify = generation.identify;
  const value =
    identify.protocolHash !== undefined
      ? { ...common, protocolHash: info.protocolHash ?? identify.protocolHash, language: record.language ?? null }
      : {
          ...common,
          protocolCrc: info.protocolCrc ?? identify.protocolCrc!,
          protocolBuildNumber: info.protocolBuildNumber ?? identify.protocolBuildNumber!,
          clientVersion: info.clientVersion ?? '',
          language: record.language ?? DEFAULT_LANGUAGE,
        };
  try {
    return generation.packet('Connect').encodeFrame(value as never);
  } catch (error) {
    // the codec's message names the field and its limit, never the value (the token and ticket stay out)
    const code = isHandoffError(error) ? error.code : 'error';
    const message = error instanceof Error ? error.message : 'unencodable';
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `the Connect for the backend cannot be encoded (${code}): ${message}`, { reason: 'connect' });
  }
}
