import { Socket, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { isTransportError, type BidiStream, type Connection, type Listener } from '@handoff/transport';
import { activeResources, isPending, patternBytes, readAll, readExactly, settleResources, within } from '@handoff/transport/compliance';
import { tcp, type TcpTransportInit } from '@handoff/transport-tcp';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const local = { host: '127.0.0.1', port: 0 };

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function pair(
  init: TcpTransportInit = {},
  sides: { listen?: { idleTimeout?: number }; dial?: { idleTimeout?: number } } = {},
): Promise<{
  listener: Listener;
  client: Connection;
  server: Connection;
  stream: BidiStream;
  peer: BidiStream;
}> {
  const transport = tcp(init);
  const listener = await transport.listen({ address: local, ...sides.listen });
  const [client, server] = await Promise.all([transport.dial({ address: listener.address, ...sides.dial }), listener.accept()]);
  cleanup.push(() => listener.close(), () => client.close(), () => server.close());
  const stream = await client.openStream();
  const peer = (await server.acceptStream()) as BidiStream;
  return { listener, client, server, stream, peer };
}

/** A raw `net` server standing in for a Hytale backend run with `--transport TCP`. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port };
}

describe('tcp: close mapping', () => {
  test('close({ code, reason }) sends FIN after the data: the peer reads everything, then a clean end; the code stays local', async () => {
    const { client, server, stream, peer } = await pair();
    const data = patternBytes(1024 * 1024, 3);
    const writer = stream.writable.getWriter();
    void writer.write(data).catch(() => {});
    const reading = readAll(peer.readable);
    await client.close({ code: 4, reason: 'timeout' });
    const received = await reading;
    expect(Buffer.compare(Buffer.from(received), Buffer.from(data))).toBe(0);
    expect(await client.closed).toEqual({ initiator: 'local', code: 4, reason: 'timeout' });
    await server.close();
    expect(await server.closed).toEqual({ initiator: 'remote' });
  });

  test('stream.abort() resets the connection (RST): the peer sees ERR_TRANSPORT_CONNECTION_LOST, never a clean close', async () => {
    const { client, server, stream, peer } = await pair();
    const reading = peer.readable.getReader().read();
    stream.abort({ code: 1 });
    await expect(reading).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECTION_LOST' });
    expect(await server.closed).toMatchObject({ initiator: 'remote', error: { code: 'ERR_TRANSPORT_CONNECTION_LOST' } });
    expect(await client.closed).toMatchObject({ initiator: 'local', error: { code: 'ERR_TRANSPORT_ABORTED' } });
  });

  test('writable.abort() resets the connection too', async () => {
    const { server, stream } = await pair();
    await stream.writable.abort(new Error('give up'));
    expect((await server.closed).error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
  });

  test('a peer that resets (crash) is ERR_TRANSPORT_CONNECTION_LOST with initiator remote', async () => {
    let raw: Socket | undefined;
    const { port } = await rawServer((socket) => {
      raw = socket;
    });
    const client = await tcp().dial({ address: { host: '127.0.0.1', port } });
    cleanup.push(() => client.close());
    const stream = await client.openStream();
    await within(
      (async () => {
        while (raw === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      5_000,
      'raw accept',
    );
    raw!.resetAndDestroy();
    await expect(stream.readable.getReader().read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECTION_LOST' });
    expect(await client.closed).toMatchObject({ initiator: 'remote', error: { code: 'ERR_TRANSPORT_CONNECTION_LOST' } });
  });

  test('a backend that closes fully (Netty-style FIN) ends the stream cleanly; our close then reports the peer as initiator', async () => {
    const { port } = await rawServer((socket) => {
      socket.end(Buffer.from('Disconnect frame'));
    });
    const client = await tcp().dial({ address: { host: '127.0.0.1', port } });
    const stream = await client.openStream();
    expect(dec(await readAll(stream.readable))).toBe('Disconnect frame');
    await client.close();
    expect(await client.closed).toEqual({ initiator: 'remote' });
  });
});

describe('tcp: idle and half-open', () => {
  test('with no keep-alive frames, a silent (but live) peer is an idle timeout; the timed-out side resets', async () => {
    const transport = tcp();
    const listener = await transport.listen({ address: local, idleTimeout: 200 });
    cleanup.push(() => listener.close());
    const [client, server] = await Promise.all([transport.dial({ address: listener.address, idleTimeout: 60_000 }), listener.accept()]);
    cleanup.push(() => client.close());
    expect(await server.closed).toMatchObject({ initiator: 'transport', error: { code: 'ERR_TRANSPORT_IDLE_TIMEOUT' } });
    expect(await client.closed).toMatchObject({ initiator: 'remote', error: { code: 'ERR_TRANSPORT_CONNECTION_LOST' } });
  });

  test('a peer that takes our data is not idle even when it sends nothing', async () => {
    const { client, server, stream, peer } = await pair({}, { dial: { idleTimeout: 400 }, listen: { idleTimeout: 60_000 } });
    const writer = stream.writable.getWriter();
    const reader = peer.readable.getReader();
    // the client only writes (for 3+ idle periods); the server only reads
    for (let i = 0; i < 60; i++) {
      await writer.write(enc('tick'));
      await reader.read();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await isPending(client.closed)).toBe(true);
    expect(await isPending(server.closed)).toBe(true);
  });

  test('the idle timer does not run while we are not reading (backpressure is not silence)', async () => {
    // (only the reader's timer is under test: the blocked writer cannot tell a paused reader from a vanished one on TCP)
    const { client, server, stream, peer } = await pair({ highWaterMark: 1024 }, { dial: { idleTimeout: 300 }, listen: { idleTimeout: 60_000 } });
    // fill our read queue past its mark; the socket pauses, and we do not read for several idle periods
    const writer = peer.writable.getWriter();
    const data = patternBytes(8 * 1024 * 1024, 9);
    const writing = writer.write(data).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await isPending(client.closed)).toBe(true);
    expect(await isPending(server.closed)).toBe(true);
    const received = await readExactly(stream.readable, data.byteLength);
    expect(received.byteLength).toBe(data.byteLength);
    await writing;
  });

  test('a half-open connection (peer FIN, we stay silent) is finished cleanly after the idle timeout', async () => {
    const { client, server, stream, peer } = await pair({}, { listen: { idleTimeout: 200 }, dial: { idleTimeout: 10_000 } });
    await stream.writable.close();
    expect(await readAll(peer.readable)).toHaveLength(0);
    // the server neither writes nor closes: after 200 ms of silence its side is ended for it
    expect(await within(server.closed, 5_000, 'server.closed')).toEqual({ initiator: 'remote' });
    expect(await within(client.closed, 5_000, 'client.closed')).toEqual({ initiator: 'local' });
  });
});

describe('tcp: write coalescing', () => {
  for (const coalesceWrites of [true, false]) {
    test(`1000 small frames arrive intact and in order (coalesceWrites: ${coalesceWrites})`, async () => {
      const { stream, peer } = await pair({ coalesceWrites });
      const frames = Array.from({ length: 1000 }, (_, i) => patternBytes(100, i + 1));
      // count the socket-level write calls (each is one syscall attempt): `_write` and `_writev` are
      // the Writable implementer hooks of net.Socket
      const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
      const single = vi.spyOn(proto, '_write');
      const vectored = vi.spyOn(proto, '_writev');
      const writer = stream.writable.getWriter();
      for (const frame of frames) void writer.write(frame);
      const closing = writer.close();
      await writer.closed;
      const socketWrites = single.mock.calls.length + vectored.mock.calls.length;
      single.mockRestore();
      vectored.mockRestore();
      const chunks: Uint8Array[] = [];
      const reader = peer.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      await closing;
      expect(Buffer.compare(Buffer.concat(chunks), Buffer.concat(frames))).toBe(0);
      if (coalesceWrites) expect(socketWrites).toBeLessThanOrEqual(50); // the writes of one turn leave as one writev
      else expect(socketWrites).toBeGreaterThan(50);
    });
  }
});

describe('tcp: errors and resources', () => {
  test('listening on a taken port fails with ERR_TRANSPORT_LISTEN_FAILED; bad ports are invalid arguments', async () => {
    const transport = tcp();
    const listener = await transport.listen({ address: local });
    cleanup.push(() => listener.close());
    await expect(transport.listen({ address: listener.address })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN_FAILED' });
    await expect(transport.listen({ address: { host: '127.0.0.1', port: 70_000 } })).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_INVALID_ARGUMENT',
    });
    await expect(transport.dial({ address: { host: '127.0.0.1', port: -1 } })).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_INVALID_ARGUMENT',
    });
  });

  test('a non-Uint8Array write is a typed error and resets the connection', async () => {
    const { server, stream } = await pair();
    const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<unknown>;
    const error = await writer.write('text').catch((e: unknown) => e);
    expect(isTransportError(error, 'ERR_TRANSPORT_INVALID_ARGUMENT')).toBe(true);
    expect((await server.closed).error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
  });

  test('after close no socket, server or timer is left, including the linger', async () => {
    const baseline = activeResources();
    const transport = tcp({ lingerTimeout: 300, idleTimeout: 500 });
    const listener = await transport.listen({ address: local });
    const [client, server] = await Promise.all([transport.dial({ address: listener.address }), listener.accept()]);
    const stream = await client.openStream();
    await stream.writable.getWriter().write(enc('x'));
    // the server never closes: the client's linger gives up on its FIN and destroys the socket
    await client.close();
    await listener.close();
    await within(server.closed, 10_000, 'server.closed');
    expect(await settleResources(baseline, 10_000)).toEqual([]);
  });
});
