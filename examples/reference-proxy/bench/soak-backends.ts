/**
 * The backends process of the soak benchmark (`soak.ts` forks it): two simulated Hytale servers
 * (`@handoff/testkit`), both insisting on the proxy's tickets, their packet logs in `count` mode (a
 * soak keeps no per-packet record).
 *
 * Requests: `start { keys, transports }` → the backends (id, transport, port, certificate
 * fingerprint); `sample { gc }`; `stop`.
 */
import { createBackend, type SimulatedBackend } from '@handoff/testkit';
import { loadKeys } from '@handoff/tickets';
import { serve } from './soak-ipc.js';

/** One backend, as the proxy's config needs it. */
export interface SoakBackend {
  readonly id: string;
  readonly transport: 'quic' | 'tcp';
  readonly port: number;
  readonly certificateFingerprint: string | undefined;
}

const backends: SimulatedBackend[] = [];
/** Why the backends closed players themselves (a handler's error, a protocol violation), by message and detail. */
const closes: Record<string, number> = {};
const logger = {
  debug(fields: Record<string, unknown>, message: string): void {
    if (message !== 'handler failed' && message !== 'protocol violation: closing') return;
    const detail = String(fields.err ?? fields.detail ?? '');
    // a Pong's id mismatch names the id: one key for all of them
    const key = `${fields.backend} ${message}: ${/^-?\d+$/.test(detail) ? 'Pong for another Ping' : detail}`;
    closes[key] = (closes[key] ?? 0) + 1;
  },
};

serve({
  async start({ keys, transports }: { readonly keys: string; readonly transports: readonly ('quic' | 'tcp')[] }): Promise<SoakBackend[]> {
    // the proxy's public keys; its Connects come from 127.0.0.1, which stands for the issuer `proxy`
    const tickets = { keyRing: await loadKeys(keys, { publicOnly: true }), sources: { '127.0.0.1': 'proxy' } };
    for (const [i, transport] of transports.entries()) {
      backends.push(await createBackend({ id: `game-${'abcdefgh'[i]}`, transport, tickets, requireTicket: true, packetLog: 'count', logger }));
    }
    return backends.map((b) => ({ id: b.id, transport: b.transport as 'quic' | 'tcp', port: b.address.port, certificateFingerprint: b.certificateFingerprint }));
  },
  /** Why the backends closed players themselves, counted by message. */
  closes: () => closes,
  /** Players connected now, per backend. */
  players: () => Object.fromEntries(backends.map((b) => [b.id, b.players.length])),
  stop: () => Promise.all(backends.map((b) => b.close())),
});
