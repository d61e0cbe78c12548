import { describe, expect, test } from 'vitest';
import { faultsOf, memory, isTransportError, type Connection, type Listener, type BidiStream } from '@handoff/transport';
import { activeResources, isPending, readAll, readExactly, settleResources, within } from '@handoff/transport/compliance';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function setup(
  options: { listen?: Parameters<ReturnType<typeof memory>['listen']>[0] extends infer T ? Partial<T> : never; dial?: Record<string, unknown>; transport?: Parameters<typeof memory>[0] } = {},
): Promise<{ listener: Listener; client: Connection; server: Connection; stream: BidiStream; peer: BidiStream }> {
  const transport = memory(options.transport);
  const listener = await transport.listen({ address: { host: 'backend', port: 0 }, ...options.listen });
  const [client, server] = await Promise.all([
    transport.dial({ address: listener.address, ...options.dial }),
    listener.accept(),
  ]);
  const stream = await client.openStream();
  const writer = stream.writable.getWriter();
  await writer.write(enc('hi'));
  writer.releaseLock();
  const peer = (await server.acceptStream()) as BidiStream;
  expect(dec(await readExactly(peer.readable, 2))).toBe('hi');
  return { listener, client, server, stream, peer };
}

describe('memory: latency', () => {
  test('latency applies per direction: the slow direction is delivered after the fast one', async () => {
    const { client, server, stream, peer } = await setup({ dial: { latency: 60 } });
    const order: string[] = [];
    const start = performance.now();
    const slow = readExactly(peer.readable, 4).then((b) => {
      order.push(dec(b));
      return performance.now() - start;
    });
    const fast = readExactly(stream.readable, 4).then((b) => {
      order.push(dec(b));
    });
    const w1 = stream.writable.getWriter();
    const w2 = peer.writable.getWriter();
    await Promise.all([w1.write(enc('slow')), w2.write(enc('fast'))]);
    const elapsed = await slow;
    await fast;
    expect(order).toEqual(['fast', 'slow']);
    expect(elapsed).toBeGreaterThanOrEqual(55);
    await client.close();
    await server.closed;
  });

  test('setLatency changes the delay from then on and never reorders a stream', async () => {
    const { client, stream, peer } = await setup();
    const writer = stream.writable.getWriter();
    faultsOf(client).setLatency(80);
    await writer.write(enc('a'));
    faultsOf(client).setLatency(0);
    await writer.write(enc('b'));
    await writer.close();
    expect(dec(await readAll(peer.readable))).toBe('ab');
    await client.close();
  });

  test('a dial takes at least one round trip when both sides have latency', async () => {
    const transport = memory();
    const listener = await transport.listen({ address: { host: 'b', port: 1 }, latency: 30 });
    const start = performance.now();
    const client = await transport.dial({ address: listener.address, latency: 30 });
    expect(performance.now() - start).toBeGreaterThanOrEqual(55);
    const server = await listener.accept();
    await client.close();
    await server.closed;
    await listener.close();
  });
});

describe('memory: stalled stream', () => {
  test('writes are accepted but nothing is delivered until release, then everything arrives in order', async () => {
    const { client, stream, peer } = await setup();
    const stall = faultsOf(client).stall(stream);
    const writer = stream.writable.getWriter();
    await writer.write(enc('one '));
    await writer.write(enc('two '));
    await writer.write(enc('three'));
    const reading = readExactly(peer.readable, 13);
    expect(await isPending(reading, 50)).toBe(true);
    stall.release();
    expect(dec(await reading)).toBe('one two three');
    await client.close();
  });

  test('a stalled stream applies backpressure once the flow-control window is full', async () => {
    const { client, stream } = await setup({ transport: { streamWindow: 1024, writeHighWaterMark: 1024 } });
    faultsOf(client).stall(stream);
    const writer = stream.writable.getWriter();
    let accepted = 0;
    while (accepted < 1024 * 1024 && !(await isPending(writer.ready, 10))) {
      void writer.write(new Uint8Array(256)).catch(() => {});
      accepted += 256;
    }
    expect(accepted).toBeLessThanOrEqual(4096);
    await client.close();
  });

  test('other streams keep flowing while one is stalled', async () => {
    const { client, server, stream } = await setup();
    faultsOf(client).stall(stream);
    const other = await client.openStream();
    const w = other.writable.getWriter();
    await w.write(enc('other'));
    const incoming = (await server.acceptStream()) as BidiStream;
    expect(dec(await readExactly(incoming.readable, 5))).toBe('other');
    await client.close();
  });
});

describe('memory: dropped connection', () => {
  test('the peer sees an abrupt failure mid-stream, never a clean close', async () => {
    const { client, server, stream, peer } = await setup();
    const writer = stream.writable.getWriter();
    await writer.write(enc('partial'));
    const received = readExactly(peer.readable, 7);
    expect(dec(await received)).toBe('partial');
    const reader = peer.readable.getReader();
    const pendingRead = reader.read();
    faultsOf(client).drop();
    await expect(pendingRead).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECTION_LOST' });
    const remote = await server.closed;
    expect(remote.initiator).toBe('remote');
    expect(remote.error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
    const local = await client.closed;
    expect(local.initiator).toBe('transport');
    expect(local.error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
    await expect(writer.write(enc('more'))).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECTION_LOST' });
    expect((await peer.closed).error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
  });

  test('data in flight when the connection drops is lost', async () => {
    const { client, server, stream, peer } = await setup({ dial: { latency: 50 } });
    const writer = stream.writable.getWriter();
    await writer.write(enc('in flight'));
    faultsOf(client).drop();
    await expect(peer.readable.getReader().read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECTION_LOST' });
    await server.closed;
  });
});

describe('memory: vanished peer', () => {
  test('a black-holed connection fails on both sides with ERR_TRANSPORT_IDLE_TIMEOUT (smaller idle timeout wins)', async () => {
    const { client, server } = await setup({ listen: { idleTimeout: 200 }, dial: { idleTimeout: 60_000 } });
    const start = performance.now();
    faultsOf(server).blackhole();
    const [a, b] = await Promise.all([client.closed, server.closed]);
    expect(performance.now() - start).toBeGreaterThanOrEqual(190);
    for (const info of [a, b]) {
      expect(info.initiator).toBe('transport');
      expect(info.error?.code).toBe('ERR_TRANSPORT_IDLE_TIMEOUT');
    }
  });

  test('a dial to an unresponsive listener hangs until the idle timeout', async () => {
    const transport = memory();
    const listener = await transport.listen({ address: { host: 'silent', port: 1 }, unresponsive: true });
    const start = performance.now();
    await expect(transport.dial({ address: listener.address, idleTimeout: 150 })).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_IDLE_TIMEOUT',
    });
    expect(performance.now() - start).toBeGreaterThanOrEqual(140);
    await listener.close();
  });

  test('aborting such a dial leaves no timer behind', async () => {
    const baseline = activeResources();
    const transport = memory();
    const listener = await transport.listen({ address: { host: 'silent', port: 1 }, unresponsive: true });
    const controller = new AbortController();
    const dialing = transport.dial({ address: listener.address, idleTimeout: 60_000, signal: controller.signal });
    controller.abort();
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ABORTED' });
    await listener.close();
    expect(await settleResources(baseline, 2_000)).toEqual([]);
  });

  test('without faults no timer runs, however long the idle timeout', async () => {
    const baseline = activeResources();
    const { client, server, listener } = await setup({ listen: { idleTimeout: 1_000 } });
    expect(await settleResources(baseline, 1_000)).toEqual([]);
    await client.close();
    await server.closed;
    await listener.close();
  });
});

describe('memory: handshake', () => {
  test('ALPN on one side only is a mismatch, reported on both sides', async () => {
    const transport = memory();
    const errors: string[] = [];
    const listener = await transport.listen({
      address: { host: 'x', port: 1 },
      alpn: ['hytale/2'],
      onHandshakeError: (error) => errors.push(error.code),
    });
    await expect(transport.dial({ address: listener.address })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ALPN_MISMATCH' });
    expect(errors).toEqual(['ERR_TRANSPORT_ALPN_MISMATCH']);
    await listener.close();
  });

  test('requireCertificate: a dialer without a certificate fails with ERR_TRANSPORT_TLS on both sides', async () => {
    const transport = memory();
    const errors: string[] = [];
    const listener = await transport.listen({
      address: { host: 'x', port: 1 },
      requireCertificate: true,
      onHandshakeError: (error) => errors.push(error.code),
    });
    await expect(transport.dial({ address: listener.address })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_TLS' });
    expect(errors).toEqual(['ERR_TRANSPORT_TLS']);
    const client = await transport.dial({ address: listener.address, certificates: [new Uint8Array([1, 2, 3])] });
    const server = await listener.accept();
    expect(server.peerCertificates).toHaveLength(1);
    expect(client.peerCertificates).toEqual([]);
    expect(client.peerCertificateFingerprint).toBeUndefined();
    await client.close();
    await listener.close();
  });

  test('listening twice on one address fails with ERR_TRANSPORT_LISTEN_FAILED; bad addresses are invalid arguments', async () => {
    const transport = memory();
    const listener = await transport.listen({ address: { host: 'x', port: 7 } });
    await expect(transport.listen({ address: { host: 'x', port: 7 } })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN_FAILED' });
    await expect(transport.listen({ address: { host: 'x', port: 70_000 } })).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_INVALID_ARGUMENT',
    });
    await expect(transport.dial({ address: { host: 'x', port: 7 }, idleTimeout: -1 })).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_INVALID_ARGUMENT',
    });
    await listener.close();
  });

  test('connections not yet accepted are closed with the listener', async () => {
    const transport = memory();
    const listener = await transport.listen({ address: { host: 'x', port: 1 } });
    const client = await transport.dial({ address: listener.address });
    await listener.close();
    expect(await client.closed).toMatchObject({ initiator: 'remote', code: 0 });
    await expect(listener.accept()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
  });
});

describe('memory: streams', () => {
  test('Hytale server limits: 1 bidi, 0 uni from the client', async () => {
    const { client } = await setup({ listen: { maxStreams: { bidi: 1, uni: 0 } } });
    await expect(client.openStream({ kind: 'uni' })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_STREAM_LIMIT' });
    await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_STREAM_LIMIT' });
    await client.close();
  });

  test('stream ids follow QUIC numbering and server uni streams are labelled Chunks then WorldMap', async () => {
    const { client, server, stream } = await setup();
    expect(stream.id).toBe(0);
    expect((await client.openStream()).id).toBe(4);
    const s1 = await server.openStream({ kind: 'uni' });
    const s2 = await server.openStream({ kind: 'uni' });
    const s3 = await server.openStream({ kind: 'uni' });
    expect([s1.id, s2.id, s3.id]).toEqual([3, 7, 11]);
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const incoming = await client.acceptStream();
      seen.push([incoming.id, incoming.channel]);
    }
    expect(seen).toEqual([
      [3, 'Chunks'],
      [7, 'WorldMap'],
      [11, undefined],
    ]);
    await client.close();
  });

  test('data received before the peer closed stays readable, then the read fails with ERR_TRANSPORT_PEER_CLOSED', async () => {
    const { client, server, stream, peer } = await setup();
    const writer = peer.writable.getWriter();
    await writer.write(enc('Disconnect packet'));
    await server.close({ code: 0, reason: 'kicked' });
    await client.closed;
    const reader = stream.readable.getReader();
    expect(dec((await reader.read()).value!)).toBe('Disconnect packet');
    const error = await reader.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTransportError(error, 'ERR_TRANSPORT_PEER_CLOSED')).toBe(true);
    expect((await stream.closed).error?.code).toBe('ERR_TRANSPORT_PEER_CLOSED');
  });

  test('a stream the peer finished cleanly stays clean when the connection closes afterwards', async () => {
    const { client, server, stream, peer } = await setup();
    await peer.writable.close();
    await stream.writable.close();
    expect(await readAll(peer.readable)).toHaveLength(0);
    await server.close();
    await client.closed;
    expect(await readAll(stream.readable)).toHaveLength(0);
    expect(await stream.closed).toEqual({});
  });

  test('after a local close, reads and writes fail with ERR_TRANSPORT_CLOSED', async () => {
    const { client, stream } = await setup();
    const writer = stream.writable.getWriter();
    await client.close();
    await expect(writer.write(enc('x'))).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    await expect(stream.readable.getReader().read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
  });

  test('readable.cancel() makes the peer\'s writes fail with ERR_TRANSPORT_STREAM_RESET', async () => {
    const { client, stream, peer } = await setup();
    await peer.readable.cancel('not interested');
    const writer = stream.writable.getWriter();
    await within(
      (async () => {
        for (;;) {
          try {
            await writer.write(enc('x'));
          } catch (error) {
            expect(isTransportError(error, 'ERR_TRANSPORT_STREAM_RESET')).toBe(true);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })(),
      2_000,
      'write failure',
    );
    await client.close();
  });

  test('writing something that is not a Uint8Array is an invalid argument', async () => {
    const { client, stream } = await setup();
    const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<unknown>;
    await expect(writer.write('text')).rejects.toMatchObject({ code: 'ERR_TRANSPORT_INVALID_ARGUMENT' });
    await client.close();
  });

  test('written chunks are copied: reusing a buffer after write does not change what the peer reads', async () => {
    const { client, stream, peer } = await setup({ dial: { latency: 20 } });
    const buffer = enc('AAAA');
    const writer = stream.writable.getWriter();
    await writer.write(buffer);
    buffer.fill(0x42);
    expect(dec(await readExactly(peer.readable, 4))).toBe('AAAA');
    await client.close();
  });

  test('close with latency waits for delivery and then leaves no timers', async () => {
    const baseline = activeResources();
    const { client, server, listener } = await setup({ dial: { latency: 30 }, listen: { latency: 30 } });
    await client.close({ code: 4, reason: 'timeout' });
    expect(await server.closed).toMatchObject({ initiator: 'remote', code: 4, reason: 'timeout' });
    await listener.close();
    expect(await settleResources(baseline, 2_000)).toEqual([]);
  });
});
