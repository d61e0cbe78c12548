import type { TestProject } from 'vitest/node';
import { buildQuicPeer } from '../interop/build-quic-peer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the built quic-go peer, or the build error. */
    quicPeer: { readonly path: string } | { readonly error: string };
  }
}

export default async function setup(project: TestProject): Promise<void> {
  try {
    project.provide('quicPeer', { path: await buildQuicPeer() });
  } catch (error) {
    project.provide('quicPeer', { error: error instanceof Error ? error.message : String(error) });
  }
}
