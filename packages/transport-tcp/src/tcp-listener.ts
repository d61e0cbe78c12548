import type { Server } from 'node:net';
import { TransportError, raceSignal, throwIfAborted, type AbortOptions, type Address, type Connection, type Listener } from '@handoff/transport';
import type { TcpConnection } from './tcp-connection.js';

/** A `net.Server` presented as a {@link Listener}. */
export class TcpListener implements Listener {
  readonly address: Address;
  readonly #server: Server;
  readonly #ready: TcpConnection[] = [];
  readonly #waiters = new Set<{ resolve: (connection: Connection) => void; reject: (error: unknown) => void }>();
  #closed = false;

  constructor(server: Server, address: Address) {
    this.#server = server;
    this.address = address;
  }

  /** A connection arrived. */
  deliver(connection: TcpConnection): void {
    const [waiter] = this.#waiters;
    if (waiter !== undefined) {
      this.#waiters.delete(waiter);
      waiter.resolve(connection);
      return;
    }
    this.#ready.push(connection);
    // forget it if it ends before anyone accepts it
    void connection.closed.then(() => {
      const index = this.#ready.indexOf(connection);
      if (index >= 0) this.#ready.splice(index, 1);
    });
  }

  accept(options: AbortOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal);
    const next = this.#ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed'));
    let waiter!: { resolve: (connection: Connection) => void; reject: (error: unknown) => void };
    const pending = new Promise<Connection>((resolve, reject) => {
      waiter = { resolve, reject };
      this.#waiters.add(waiter);
    });
    return raceSignal(pending, options.signal, () => this.#waiters.delete(waiter));
  }

  async close(options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed');
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    // stop listening now (the port is released at once; `server.close`'s callback would also wait
    // for the accepted connections, which stay open)
    const released = new Promise<void>((resolve) => {
      this.#server.close();
      setImmediate(resolve);
    });
    const pending = this.#ready.splice(0);
    await Promise.all([released, ...pending.map((connection) => connection.close({ reason: 'listener closed', ...options }))]);
  }
}
