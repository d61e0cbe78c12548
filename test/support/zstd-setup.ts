/** Vitest setup file: zstd (WebAssembly) is loaded before any test decodes a compressed packet. */
import { zstdReady } from '@handoff/protocol';

await zstdReady;
