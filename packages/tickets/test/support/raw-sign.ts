/**
 * An independent compact-JWS signer and checker built on node:crypto only (not jose, not the package),
 * used to craft hostile tickets and to cross-check issued ones the way a Java plugin would.
 */
import { createHmac, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { JWK } from 'jose';

export type RawKey = { readonly ed25519: JWK } | { readonly hmac: Uint8Array } | { readonly none: true };

export function b64u(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** Signs `header.payload` (given as objects, serialised with JSON.stringify, or as raw JSON text). */
export function signRaw(header: object | string, payload: object | string, key: RawKey): string {
  const h = b64u(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64u(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  let signature: Buffer;
  if ('none' in key) signature = Buffer.alloc(0);
  else if ('hmac' in key) signature = createHmac('sha256', key.hmac).update(input).digest();
  else signature = sign(null, input, createPrivateKey({ key: key.ed25519 as import('node:crypto').JsonWebKey, format: 'jwk' }));
  return `${h}.${p}.${b64u(signature)}`;
}

/** Checks a compact token's signature with node:crypto (Ed25519 public JWK or HMAC secret). */
export function checkRaw(token: string, key: { readonly ed25519: JWK } | { readonly hmac: Uint8Array }): boolean {
  const [h, p, s] = token.split('.') as [string, string, string];
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  const signature = Buffer.from(s, 'base64url');
  if ('hmac' in key) return createHmac('sha256', key.hmac).update(input).digest().equals(signature);
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.ed25519.x } as import('node:crypto').JsonWebKey, format: 'jwk' });
  return verify(null, input, pub, signature);
}
