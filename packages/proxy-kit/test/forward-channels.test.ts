/**
 * The client's channels: on G3 the two uni streams a server opens (Chunks first, then WorldMap: the
 * client names them by that order), opened once and only when asked; writes to them wait until they
 * are open. Before G3 every channel is the one bidi stream.
 */
import { describe, expect, it } from 'vitest';
import type { Connection, SendStream } from '@handoff/transport';
import { isProxyError } from '../src/errors.js';
import { clientChannels } from '../src/forward/client-channels.js';
import { frameSink } from '../src/frames.js';
import { G2, G3, settle, unload } from './forward-support.js';

function fakeConnection(fail = false) {
  const opened: Array<{ channel: string; chunks: Uint8Array[] }> = [];
  const connection = {
    async openStream(options: { kind: 'uni'; channel: string }) {
      if (fail) throw new Error('the peer allows no uni stream');
      const entry = { channel: options.channel, chunks: [] as Uint8Array[] };
      opened.push(entry);
      return { writable: new WritableStream<Uint8Array>({ write: (c) => void entry.chunks.push(c) }) } as unknown as SendStream;
    },
  } as unknown as Connection;
  return { connection, opened };
}

const defaultSink = (into: Uint8Array[]) => frameSink(new WritableStream<Uint8Array>({ write: (c) => void into.push(c) }));

describe('client channels', () => {
  it('G3: Chunks then WorldMap, opened once on open(); a write before that waits for it', async () => {
    const { connection, opened } = fakeConnection();
    const channels = clientChannels(connection, G3, defaultSink([]));
    expect(channels.names).toEqual(['Default', 'Chunks', 'WorldMap']);
    const early = channels.write('Chunks', unload(G3, 1));
    await settle();
    expect(opened).toEqual([]);
    await Promise.all([channels.open(), channels.open()]);
    await early;
    expect(opened.map((o) => o.channel)).toEqual(['Chunks', 'WorldMap']);
    expect(opened[0]!.chunks).toHaveLength(1);
  });

  it('G2: every channel is the bidi stream, nothing is opened', async () => {
    const { connection, opened } = fakeConnection();
    const into: Uint8Array[] = [];
    const channels = clientChannels(connection, G2, defaultSink(into));
    expect(channels.names).toEqual(['Default']);
    await channels.open();
    await channels.write('Chunks', unload(G2, 1));
    expect(opened).toEqual([]);
    expect(into).toHaveLength(1);
  });

  it('a client that refuses the streams fails the writes with ERR_PROXY_CLIENT_GONE; closed channels with ERR_PROXY_CLOSED', async () => {
    const channels = clientChannels(fakeConnection(true).connection, G3, defaultSink([]));
    const write = channels.write('WorldMap', unload(G3, 1));
    await expect(channels.open()).rejects.toSatisfy((e) => isProxyError(e, 'ERR_PROXY_CLIENT_GONE'));
    await expect(write).rejects.toSatisfy((e) => isProxyError(e, 'ERR_PROXY_CLIENT_GONE'));
    await channels.close();
    await expect(channels.write('Default', unload(G3, 1))).rejects.toSatisfy((e) => isProxyError(e, 'ERR_PROXY_CLOSED'));
  });
});
