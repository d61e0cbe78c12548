/**
 * Recipe: the read side of a forwarding loop. A simulated backend writes a few G3 frames on a stream
 * of the in-memory transport; the proxy side splits the bytes into frames (no copy), hands each frame
 * to a session capture tap, and would forward `frame.bytes` to the client unchanged.
 */
import { createFrameStream, getGeneration, readFrame, zstdReady, type PacketInputs, type PacketName } from '@handoff/protocol';
import { createCaptureTap, createSessionStore } from '@handoff/session';
import { memory } from '@handoff/transport';
import { parseBackendRef } from '@handoff/types';

export async function captureTap(log: (line: string) => void): Promise<void> {
  await zstdReady;
  const g3 = getGeneration('G3');
  const encode = <N extends PacketName>(name: N, value: PacketInputs[N]) => g3.packet(name).encodeFrame(value);

  const net = memory();
  const listener = await net.listen({ address: { host: 'backend-a', port: 5520 } });
  const [proxySide, backendSide] = await Promise.all([net.dial({ address: listener.address }), listener.accept()]);

  // the backend: world entry, a chunk, a ping, one stream
  const toClient = await backendSide.openStream({ kind: 'bidi' });
  const writer = toClient.writable.getWriter();
  const sent = [
    encode('JoinWorld', { clearWorld: false, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' }),
    encode('SetClientId', { clientId: 42 }),
    encode('SetChunk', { x: 3, y: 4, z: -2, data: new Uint8Array(512) }),
    encode('Ping', { id: 1, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 }),
  ];
  const all = Buffer.concat(sent);
  // cut the stream anywhere: the splitter does not care
  await writer.write(all.subarray(0, 13));
  await writer.write(all.subarray(13));
  await writer.close();

  // the proxy: split, tap, forward
  const backendA = parseBackendRef({ id: 'backend-a' });
  const record = createSessionStore().create({ backend: backendA });
  const tap = createCaptureTap(record, { generation: g3 }); // the Connect would tell it; this recipe starts after it
  const fromBackend = await proxySide.acceptStream();
  const frames = fromBackend.readable!.pipeThrough(createFrameStream(g3.registry, { direction: 'ToClient' }));
  for await (const frame of frames) {
    tap.serverToClient(frame, backendA);
    log(`${frame.descriptor.name.padEnd(12)} ${String(frame.bytes.length).padStart(4)} bytes, channel ${frame.descriptor.channel}: forwarded unchanged`);
  }

  log(`captured: world ${record.joinWorld?.worldUuid}, client id ${record.clientId}, chunk columns ${JSON.stringify(record.chunks.toArray())}`);
  // the client's Pong, as the client-side splitter would hand it over (its id is the generation's, read from the frame)
  const pong = readFrame(g3.registry, g3.packet('Pong').encodeFrame({ id: 1, type: 'Raw', packetQueueSize: 0 }));
  log(`the client's Pong for ping 1 goes to ${record.pings.backendOf(pong)}`);
  await proxySide.close();
  await listener.close();
}
