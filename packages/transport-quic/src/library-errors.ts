/**
 * Normalises `@matrixai/quic` errors into the contract's `CloseInfo` and `TransportError`.
 *
 * The library reports *every* end of a connection as an error event, a clean application close
 * included (fault 5). Here an application close by either side becomes a clean `CloseInfo`
 * (no `error`), and only real failures carry a `TransportError`.
 */
import { TransportError, isTransportError, type CloseInfo, type TransportErrorCode } from '@handoff/transport';
import { errors as quicErrors, native } from '@matrixai/quic';

/** TLS alert `no_application_protocol` (120) as a QUIC crypto error (0x100 + alert). */
export const NO_APPLICATION_PROTOCOL = 0x100 + 120;

const decoder = new TextDecoder('utf-8', { fatal: false });

function reasonText(reason: Uint8Array | undefined): string {
  return reason === undefined || reason.byteLength === 0 ? '' : decoder.decode(reason);
}

function isCryptoCode(code: number): boolean {
  return code >= native.quiche.CRYPTO_ERROR_START && code <= native.quiche.CRYPTO_ERROR_STOP;
}

function cryptoCode(code: number): TransportErrorCode {
  return code === NO_APPLICATION_PROTOCOL ? 'ERR_TRANSPORT_ALPN_MISMATCH' : 'ERR_TRANSPORT_TLS';
}

/** The TLS alert name of a crypto error code, for messages (`CertificateRequired`, …). */
function alertName(code: number): string {
  const names = native.CryptoError as unknown as Record<number, string | undefined>;
  return names[code] ?? `alert ${code - 0x100}`;
}

function transportCodeFor(code: number): TransportErrorCode {
  if (isCryptoCode(code)) return cryptoCode(code);
  switch (code) {
    case native.ConnectionErrorCode.ConnectionRefused:
      return 'ERR_TRANSPORT_CONNECT_REFUSED';
    case native.ConnectionErrorCode.InternalError:
    case native.ConnectionErrorCode.ApplicationError: // the peer gave up during its handshake
      return 'ERR_TRANSPORT_CONNECTION_LOST';
    default:
      return 'ERR_TRANSPORT_PROTOCOL';
  }
}

function describe(code: number): string {
  if (isCryptoCode(code)) return `TLS ${alertName(code)}`;
  return native.ConnectionErrorCode[code] ?? `transport error 0x${code.toString(16)}`;
}

/**
 * How a connection ended, from the error the library dispatched. `localClose` is set when we
 * closed it ourselves (`Connection.close`), so our own application close is reported as such.
 */
export function closeInfoFromLibraryError(
  error: unknown,
  localClose: { readonly code: number; readonly reason: string } | undefined,
): CloseInfo {
  if (error instanceof quicErrors.ErrorQUICConnectionIdleTimeout) {
    return {
      initiator: 'transport',
      error: new TransportError('ERR_TRANSPORT_IDLE_TIMEOUT', 'nothing heard from the peer for the idle timeout', { cause: error }),
    };
  }
  // ErrorQUICConnectionPeerTLS extends ErrorQUICConnectionLocal: test it first
  if (error instanceof quicErrors.ErrorQUICConnectionPeerTLS) {
    const code = error.data.errorCode;
    return {
      initiator: 'remote',
      error: new TransportError(cryptoCode(code), `the peer rejected the TLS handshake (${describe(code)})`, { cause: error }),
    };
  }
  if (error instanceof quicErrors.ErrorQUICConnectionPeer) {
    const { isApp, errorCode } = error.data;
    const reason = reasonText(error.data.reason);
    if (isApp || errorCode === native.ConnectionErrorCode.NoError) {
      return { initiator: 'remote', code: errorCode, reason };
    }
    return {
      initiator: 'remote',
      error: new TransportError(transportCodeFor(errorCode), `the peer closed the connection with ${describe(errorCode)}`, {
        cause: error,
      }),
    };
  }
  if (error instanceof quicErrors.ErrorQUICConnectionLocalTLS) {
    const code = error.data.errorCode;
    return {
      initiator: 'transport',
      error: new TransportError(cryptoCode(code), `the TLS handshake failed (${describe(code)})`, { cause: error }),
    };
  }
  if (error instanceof quicErrors.ErrorQUICConnectionLocal) {
    // a handshake we abandoned ourselves (a listener limit): the reason is ours
    if (isTransportError(error.cause)) return { initiator: 'transport', error: error.cause };
    const { isApp, errorCode } = error.data;
    if (localClose !== undefined && isApp) {
      return { initiator: 'local', code: localClose.code, reason: localClose.reason };
    }
    if (isCryptoCode(errorCode)) {
      return {
        initiator: 'transport',
        error: new TransportError(cryptoCode(errorCode), `the TLS handshake failed (${describe(errorCode)})`, { cause: error }),
      };
    }
    return {
      initiator: 'transport',
      error: new TransportError(
        errorCode === native.ConnectionErrorCode.InternalError ? 'ERR_TRANSPORT_FAILED' : 'ERR_TRANSPORT_PROTOCOL',
        `the connection failed locally (${describe(errorCode)})`,
        { cause: error },
      ),
    };
  }
  return {
    initiator: 'transport',
    error: new TransportError('ERR_TRANSPORT_FAILED', 'the QUIC library failed', { cause: error }),
  };
}

/** The error pending calls see once a connection has ended as `info` says. */
export function errorForClose(info: CloseInfo): TransportError {
  if (info.error !== undefined) return info.error;
  if (info.initiator === 'local') return new TransportError('ERR_TRANSPORT_CLOSED', 'the connection was closed locally');
  return new TransportError(
    'ERR_TRANSPORT_PEER_CLOSED',
    `the peer closed the connection (code ${info.code ?? 0}${info.reason ? `: ${info.reason}` : ''})`,
    { closeCode: info.code ?? 0, reason: info.reason ?? '' },
  );
}

/** A local stream abort: carries the application code sent in RESET_STREAM / STOP_SENDING. */
export class StreamAbortReason {
  constructor(
    readonly code: number,
    readonly error: TransportError,
  ) {}
}

/** The library's `reasonToCode`: our abort reasons carry their code; anything else is 0. */
export function reasonToCode(_type: 'read' | 'write', reason?: unknown): number {
  if (reason instanceof StreamAbortReason) return reason.code;
  if (isTransportError(reason) && reason.closeCode !== undefined) return reason.closeCode;
  return 0;
}

/** The library's `codeToReason`: what a peer's RESET_STREAM / STOP_SENDING errors our halves with. */
export function codeToReason(type: 'read' | 'write', code: number): TransportError {
  return new TransportError(
    'ERR_TRANSPORT_STREAM_RESET',
    type === 'read' ? `the peer reset the stream (code ${code})` : `the peer stopped reading the stream (code ${code})`,
    { closeCode: code },
  );
}

/** Any error a stream half was failed with, as a TransportError. */
export function streamError(reason: unknown): TransportError {
  if (isTransportError(reason)) return reason;
  if (reason instanceof StreamAbortReason) return reason.error;
  if (reason instanceof quicErrors.ErrorQUICStreamPeerRead || reason instanceof quicErrors.ErrorQUICStreamPeerWrite) {
    const code = (reason.data as { code?: number }).code ?? 0;
    return new TransportError('ERR_TRANSPORT_STREAM_RESET', `the peer reset the stream (code ${code})`, { closeCode: code, cause: reason });
  }
  if (reason instanceof quicErrors.ErrorQUICStreamLocalRead || reason instanceof quicErrors.ErrorQUICStreamLocalWrite) {
    return reason.cause === undefined
      ? new TransportError('ERR_TRANSPORT_ABORTED', 'the stream was aborted locally', { cause: reason })
      : streamError(reason.cause);
  }
  return new TransportError('ERR_TRANSPORT_FAILED', 'the stream failed', { cause: reason });
}
