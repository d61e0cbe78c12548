import type { StreamKind } from '../stream.js';

/** What one memory endpoint sends the other: a tiny model of QUIC frames. */
export type WireEvent =
  | { readonly t: 'open'; readonly id: number; readonly kind: StreamKind }
  | { readonly t: 'data'; readonly id: number; readonly chunk: Uint8Array }
  | { readonly t: 'fin'; readonly id: number }
  | { readonly t: 'reset'; readonly id: number; readonly code: number }
  | { readonly t: 'stop'; readonly id: number; readonly code: number }
  | { readonly t: 'credit'; readonly id: number; readonly consumed: number }
  | { readonly t: 'close'; readonly code: number; readonly reason: string };
