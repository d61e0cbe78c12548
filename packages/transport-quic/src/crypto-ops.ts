/**
 * The crypto operations `@matrixai/quic` requires from its caller.
 *
 * The server signs and verifies its stateless-retry tokens and derives connection ids with
 * `sign(key, data)`; we use HMAC-SHA-256 under a per-listener random key (node:crypto, which is
 * synchronous and several times faster than WebCrypto's promise round trip on this hot path).
 * The client only needs random bytes for its connection id.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { QUICClientCrypto, QUICServerCrypto } from '@matrixai/quic';

function hmac(key: ArrayBuffer, data: ArrayBuffer): Buffer {
  return createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
}

/** Server crypto: a fresh 32-byte HMAC key per listener plus sign/verify over it. */
export function serverCrypto(): QUICServerCrypto {
  const key = new Uint8Array(32);
  globalThis.crypto.getRandomValues(key);
  return {
    key: key.buffer,
    ops: {
      async sign(k: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer> {
        return new Uint8Array(hmac(k, data)).buffer;
      },
      async verify(k: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer): Promise<boolean> {
        const expected = hmac(k, data);
        const given = Buffer.from(sig);
        return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
      },
    },
  };
}

/** Client crypto: fills buffers with CSPRNG output. */
export function clientCrypto(): QUICClientCrypto {
  return {
    ops: {
      async randomBytes(data: ArrayBuffer): Promise<void> {
        globalThis.crypto.getRandomValues(new Uint8Array(data));
      },
    },
  };
}
