/**
 * The soak benchmark's processes and how they talk: the benchmark forks the proxy and the backends,
 * each a process of its own (so that each one's memory, CPU and event-loop delay are its own, and the
 * three use both cores), and calls them over IPC: every request carries an id, every answer echoes it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** A process's resources at one moment. */
export interface ProcessSample {
  /** ms since the process started serving. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** CPU time (user + system) since the previous sample, as a share of the wall time between them (1 = one core). */
  readonly cpu: number;
  /** Event-loop delay since the previous sample (ms): how late timers and I/O callbacks ran. */
  readonly loopDelayP99: number;
  readonly loopDelayMax: number;
}

type Handler = (request: any) => unknown;

/**
 * The child's side: answers each request with its handler's value (or its error's message). `sample`
 * is built in (with `{ gc: true }` a GC runs first: the process is forked with --expose-gc); after
 * `stop` the process lets go of its IPC channel and ends once its handles are closed.
 */
export function serve(handlers: Readonly<Record<string, Handler>>): void {
  const startedAt = performance.now();
  let cpuBefore = process.cpuUsage();
  let cpuAt = startedAt;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const sample = (gc: boolean): ProcessSample => {
    if (gc) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const now = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const share = (cpu.user + cpu.system) / 1000 / Math.max(1, now - cpuAt);
    cpuBefore = process.cpuUsage();
    cpuAt = now;
    const delay = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    loopDelay.reset();
    return {
      at: Math.round(now - startedAt),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      cpu: Math.round(share * 100) / 100,
      loopDelayP99: Math.round(delay.p99 * 10) / 10,
      loopDelayMax: Math.round(delay.max * 10) / 10,
    };
  };
  // the benchmark process is gone (it failed, or was killed): nothing may outlive it
  process.once('disconnect', () => process.exit(0));
  process.on('message', (request: { readonly id: number; readonly type: string }) => {
    void (async () => {
      try {
        const handler: Handler | undefined = request.type === 'sample' ? (r: { gc?: boolean }) => sample(r.gc === true) : handlers[request.type];
        if (!handler) throw new Error(`no handler for ${request.type}`);
        process.send!({ id: request.id, ok: true, value: await handler(request) });
      } catch (error) {
        process.send!({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) });
      }
      if (request.type === 'stop') {
        process.removeAllListeners('disconnect');
        process.disconnect();
      }
    })();
  });
}

/** The benchmark's side: a forked process, called by request type. */
export class SoakProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  readonly exited: Promise<number | null>;

  /**
   * Forks `script` (a file next to this one) with tsx, the source condition and --expose-gc; its stdout
   * goes to our stderr. With `HANDOFF_SOAK_PROFILE=<dir>` in the environment, it writes a CPU profile
   * there when it exits (`--cpu-prof`).
   */
  constructor(readonly name: string, script: string) {
    const profile = process.env.HANDOFF_SOAK_PROFILE;
    this.#child = fork(new URL(script, import.meta.url), [], {
      execArgv: ['--conditions=source', '--import', 'tsx', '--expose-gc', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${name}.cpuprofile`] : [])],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.#child.stdout!.pipe(process.stderr); // nothing of a child's reaches the JSON on stdout
    this.#child.on('message', (answer: { id: number; ok: boolean; value?: unknown; message?: string }) => {
      const pending = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (answer.ok) pending?.resolve(answer.value);
      else pending?.reject(new Error(`the ${name} process: ${answer.message}`));
    });
    // a send to a process that already died fails its call (below), never the benchmark
    this.#child.on('error', () => {});
    this.exited = new Promise((resolve) => this.#child.once('exit', resolve));
    void this.exited.then((code) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`the ${name} process exited (${code})`));
      this.#pending.clear();
    });
  }

  call<T>(type: string, payload: Readonly<Record<string, unknown>> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null || !this.#child.connected) {
        reject(new Error(`the ${this.name} process has exited`));
        return;
      }
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...payload, id, type }, (error) => {
        if (!error) return;
        this.#pending.delete(id);
        reject(new Error(`the ${this.name} process: ${error.message}`));
      });
    });
  }

  sample(gc = false): Promise<ProcessSample> {
    return this.call('sample', { gc });
  }

  /** Asks the process to close what it runs, and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    await this.call('stop').catch(() => {});
    await this.exited;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}
