import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CertificateWithKey } from '@handoff/transport-quic';
import { quicPeerPath } from './fixtures.js';

export type PeerEvent = Record<string, unknown> & { readonly event: string };

/** Writes PEM material to a temp dir for the Go peer. */
export class PemDir {
  private constructor(readonly dir: string) {}

  static async create(): Promise<PemDir> {
    return new PemDir(await mkdtemp(join(tmpdir(), 'handoff-quic-interop-')));
  }

  async write(name: string, pem: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, pem, { mode: 0o600 });
    return path;
  }

  async certificate(name: string, cert: CertificateWithKey): Promise<string[]> {
    return ['-cert', await this.write(`${name}.pem`, cert.certPem), '-key', await this.write(`${name}.key`, cert.keyPem)];
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A running quic-go peer with its JSON-line events. */
export class GoPeer {
  readonly events: PeerEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters: { match: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = [];
  #stderr = '';

  constructor(args: readonly string[]) {
    this.#child = spawn(quicPeerPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      let event: PeerEvent;
      try {
        event = JSON.parse(line) as PeerEvent;
      } catch {
        return;
      }
      this.events.push(event);
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(event)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
    });
    this.#child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first event (past or future) with this name, or a rejection after `ms`. */
  waitFor(name: string, ms = 10_000): Promise<PeerEvent> {
    const past = this.events.find((e) => e.event === name);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`quic-peer: no "${name}" event within ${ms} ms; events: ${JSON.stringify(this.events)} stderr: ${this.#stderr}`)), ms);
      this.#waiters.push({
        match: (e) => e.event === name,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    await this.exited;
  }
}

/** Starts a Go server and returns it with its port. */
export async function goServer(args: readonly string[]): Promise<{ peer: GoPeer; port: number }> {
  const peer = new GoPeer(['-mode', 'server', '-addr', '127.0.0.1:0', ...args]);
  const listening = await peer.waitFor('listening');
  return { peer, port: listening.port as number };
}

/** Runs a Go client to completion (or `ms`). */
export async function goClient(args: readonly string[], ms = 20_000): Promise<{ events: PeerEvent[]; code: number | null }> {
  const peer = new GoPeer(['-mode', 'client', ...args]);
  const timer = setTimeout(() => void peer.kill(), ms);
  const code = await peer.exited;
  clearTimeout(timer);
  return { events: peer.events, code };
}
