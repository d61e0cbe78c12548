import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/compliance/index.ts'],
  format: ["esm", "cjs"],
  dts: true,
  external: ['vitest'],
  clean: true,
  sourcemap: true,
  target: 'node20',
});
