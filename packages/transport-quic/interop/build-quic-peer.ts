/**
 * Builds the quic-go interop peer (`interop/quic-peer/main.go`) offline against Debian's
 * `golang-github-lucas-clemente-quic-go-dev` (quic-go 0.29, GOPATH mode; no module download), into
 * a cache directory keyed by the source's hash. Used by the tests' globalSetup and by the bench.
 *
 * Needs `go` and the Debian package (`scripts/services.sh` installs both). `GOPATH` can be
 * overridden with HANDOFF_GOPATH.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sourceDir = join(dirname(fileURLToPath(import.meta.url)), 'quic-peer');

/** Returns the path of the built peer, building it when the source changed. */
export async function buildQuicPeer(cacheDir = join(tmpdir(), 'handoff-quic-peer')): Promise<string> {
  const source = await readFile(join(sourceDir, 'main.go'));
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(cacheDir, `quic-peer-${hash}`);
  if (existsSync(binary)) return binary;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await run('go', ['build', '-o', partial, '.'], {
      cwd: sourceDir,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: process.env.HANDOFF_GOPATH ?? '/usr/share/gocode',
        GOFLAGS: '',
        GOCACHE: join(cacheDir, 'go-build'),
        CGO_ENABLED: '0',
      },
      timeout: 300_000,
    });
  } catch (error) {
    const detail = error instanceof Error && 'stderr' in error ? String((error as { stderr: unknown }).stderr) : String(error);
    throw new Error(
      `could not build the quic-go interop peer (needs go and golang-github-lucas-clemente-quic-go-dev; run scripts/services.sh):\n${detail}`,
    );
  }
  await rename(partial, binary);
  return binary;
}
