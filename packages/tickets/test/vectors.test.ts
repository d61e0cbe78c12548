/**
 * docs/tickets-vectors.json is the cross-language contract. These tests keep it and the code in step:
 * the file is exactly what the generator produces, and every vector verifies (or fails) in the code
 * exactly as the file says, with keys imported from the file itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import {
  TicketError,
  checkTicketState,
  createKeyRing,
  createMemoryReplayStore,
  createTicketVerifier,
  type VerifiedTicket,
} from '@handoff/tickets';
import { parseBackendId, parseClientUuid } from '@handoff/types';
import { buildVectors, serializeVectors, type Vector, type VectorFile } from './support/vectors.js';
import { checkRaw } from './support/raw-sign.js';
import { decodeToken } from './support/fixtures.js';

const path = fileURLToPath(new URL('../../../docs/tickets-vectors.json', import.meta.url));
const text = readFileSync(path, 'utf8');
const file = JSON.parse(text) as VectorFile;

async function verifierFor(vector: Vector) {
  const now = () => vector.now * 1000;
  const ring = createKeyRing({ now });
  for (const key of file.keys) {
    const jwk = (key.alg === 'EdDSA' ? key.publicJwk : key.jwk) as JWK;
    await ring.add({ kid: key.kid as string, jwk });
  }
  return createTicketVerifier({
    keyRing: ring,
    replayStore: createMemoryReplayStore({ now }),
    maxTtlSeconds: file.verifier.maxTtlSeconds,
    clockToleranceSeconds: file.verifier.clockToleranceSeconds,
    now,
  });
}

const binding = {
  clientUuid: parseClientUuid(file.binding.clientUuid),
  source: parseBackendId(file.binding.source),
  target: parseBackendId(file.binding.target),
};

describe('docs/tickets-vectors.json', () => {
  it('is exactly what the generator produces (regenerate with test/support/generate-vectors.ts)', async () => {
    expect(serializeVectors(await buildVectors())).toBe(text);
  });

  it('covers every case the spec names', () => {
    const names = new Set(file.vectors.map((v) => v.name));
    for (const name of [
      'valid-eddsa', 'valid-hs256', 'valid-state-inline', 'valid-state-reference', 'state-reference-hash-mismatch',
      'tampered-header', 'tampered-payload', 'tampered-signature', 'alg-none', 'alg-hs256-with-eddsa-kid',
      'alg-eddsa-with-hs256-kid', 'expired', 'not-yet-valid', 'ttl-over-maximum', 'replay', 'client-mismatch',
      'source-mismatch', 'target-mismatch', 'too-large',
    ]) {
      expect(names, name).toContain(name);
    }
    expect(file.keys.every((k) => String(k.label).startsWith('TEST ONLY'))).toBe(true);
  });

  describe.each(file.vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    it('verifies in the code exactly as the file says', async () => {
      const verifier = await verifierFor(vector);
      let ticket: VerifiedTicket | undefined;
      for (const [i, expected] of vector.verifications.entries()) {
        let outcome: { ok: true; ticket: VerifiedTicket } | { ok: false; error: unknown };
        try {
          outcome = { ok: true, ticket: await verifier.verify(vector.token, binding) };
        } catch (error) {
          outcome = { ok: false, error };
        }
        if (expected.ok) {
          expect(outcome.ok, `verification ${i}: ${outcome.ok ? '' : String((outcome as { error: unknown }).error)}`).toBe(true);
          ticket = (outcome as { ticket: VerifiedTicket }).ticket;
          const claims = expected.claims;
          expect(ticket.clientUuid).toBe(claims.sub);
          expect(ticket.source).toBe(claims.iss);
          expect(ticket.target).toBe(claims.aud);
          expect(ticket.issuedAt).toBe(claims.iat);
          expect(ticket.expiresAt).toBe(claims.exp);
          expect(ticket.pool).toBe(claims.pool);
          expect(ticket.sessionId).toBe(claims.sid);
          expect(ticket.kid).toBe(expected.header.kid);
          expect(ticket.alg).toBe(expected.header.alg);
          const st = claims.st as { in?: string; ref?: string; len?: number; sha256?: string } | undefined;
          if (st === undefined) expect(ticket.state).toBeUndefined();
          else if (st.in !== undefined) expect(ticket.state).toEqual({ kind: 'inline', bytes: new Uint8Array(Buffer.from(st.in, 'base64url')) });
          else expect(ticket.state).toEqual({ kind: 'reference', ref: st.ref, length: st.len, sha256: st.sha256 });
        } else {
          expect(outcome.ok, `verification ${i} should fail with ${expected.code}`).toBe(false);
          const error = (outcome as { error: unknown }).error;
          expect(error).toBeInstanceOf(TicketError);
          expect((error as TicketError).code).toBe(expected.code);
        }
      }
      if (vector.state !== undefined) {
        expect(ticket).toBeDefined();
        const fetched = new Uint8Array(Buffer.from(vector.state.fetched, 'base64url'));
        if (vector.state.result.ok) expect(checkTicketState(ticket!, fetched)).toEqual(fetched);
        else expect(() => checkTicketState(ticket!, fetched)).toThrow(expect.objectContaining({ code: vector.state.result.code }));
      }
    });

    const first = vector.verifications[0]!;
    if (first.ok) {
      it('decodes to the listed header and claims, and its signature checks with node:crypto alone', () => {
        const { header, claims } = decodeToken(vector.token);
        expect(header).toEqual(first.header);
        expect(claims).toEqual(first.claims);
        const key = file.keys.find((k) => k.kid === header.kid)!;
        const check =
          key.alg === 'EdDSA'
            ? { ed25519: key.publicJwk as JWK }
            : { hmac: new Uint8Array(Buffer.from((key.jwk as JWK).k!, 'base64url')) };
        expect(checkRaw(vector.token, check)).toBe(true);
        // canonical member order, no whitespace (so a Java issuer can reproduce tokens byte for byte)
        expect(Buffer.from(vector.token.split('.')[1]!, 'base64url').toString('utf8')).toBe(JSON.stringify(first.claims));
      });
    }
  });
});
