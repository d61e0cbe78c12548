import { raceSignal, throwIfAborted, type AbortOptions } from '../abort.js';
import type { Address, Connection } from '../connection.js';
import { deferred, type Deferred } from '../deferred.js';
import { TransportError } from '../errors.js';
import type { Listener } from '../listener.js';
import type { MemoryConnection } from './memory-connection.js';
import type { MemoryListenInit } from './memory-transport.js';

/** A memory listener: a named slot in its transport's network. */
export class MemoryListener implements Listener {
  readonly address: Address;
  readonly init: MemoryListenInit;
  readonly #ready: MemoryConnection[] = [];
  readonly #waiters: Deferred<Connection>[] = [];
  readonly #unregister: () => void;
  #closed = false;

  constructor(address: Address, init: MemoryListenInit, unregister: () => void) {
    this.address = address;
    this.init = init;
    this.#unregister = unregister;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** A dialled connection has completed its handshake on this side. */
  deliver(connection: MemoryConnection): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(connection);
    else this.#ready.push(connection);
  }

  handshakeFailed(error: TransportError, remoteAddress: Address): void {
    this.init.onHandshakeError?.(error, remoteAddress);
  }

  accept(options: AbortOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal);
    // skip connections that ended while they waited to be accepted
    let next = this.#ready.shift();
    while (next !== undefined && next.state === 'closed') next = this.#ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed'));
    const waiter = deferred<Connection>();
    this.#waiters.push(waiter);
    return raceSignal(waiter.promise, options.signal, () => {
      const index = this.#waiters.indexOf(waiter);
      if (index >= 0) this.#waiters.splice(index, 1);
    });
  }

  async close(_options: AbortOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unregister();
    const error = new TransportError('ERR_TRANSPORT_CLOSED', 'the listener is closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    const pending = this.#ready.splice(0);
    await Promise.all(pending.map((connection) => connection.close({ code: 0, reason: 'listener closed' })));
  }
}
