import { describe, expect, test } from 'vitest';
import { MAX_PACKET_SIZE, generations, getGeneration } from '@handoff/protocol';

describe.each(generations.map((g) => [g.id, g] as const))('%s registry and layouts', (_id, generation) => {
  const modelled = generation.modelled.map((name) => [name] as const);

  test.each(modelled)('%s: fixed block size matches the registry', (name) => {
    const codec = generation.packet(name as never);
    expect(codec.layout.fixedBlockSize).toBe(codec.descriptor.fixedBlockSize);
  });

  test.each(modelled)('%s: worst-case size matches the registry maxSize', (name) => {
    const codec = generation.packet(name as never);
    expect(codec.schema.maxSize()).toBe(codec.descriptor.maxSize);
  });

  test('ids are unique and names resolve back to their ids', () => {
    for (const d of generation.registry.packets) {
      expect(generation.registry.byId(d.id)).toBe(d);
      expect(generation.registry.byName(d.name)).toBe(d);
    }
  });
});

test('every packet the issue names is modelled wherever the registry has it', () => {
  const required = [
    'Connect', 'Disconnect', 'Ping', 'Pong', 'Status', 'AuthGrant', 'AuthToken', 'ServerAuthToken', 'ConnectAccept',
    'PasswordResponse', 'PasswordAccepted', 'PasswordRejected', 'ClientReferral', 'WorldSettings', 'WorldLoadProgress',
    'WorldLoadFinished', 'RequestAssets', 'AssetInitialize', 'AssetPart', 'AssetFinalize', 'ViewRadius', 'PlayerOptions',
    'ServerTags', 'ServerInfo', 'SetClientId', 'JoinWorld', 'ClientReady', 'UnloadChunk', 'SetChunk', 'ClearWorldMap',
    'AddToServerPlayerList', 'RemoveFromServerPlayerList', 'ResetUserInterfaceState', 'UpdateLanguage',
  ];
  for (const generation of generations) {
    for (const name of required) {
      if (generation.registry.byName(name)) expect(generation.isModelled(name), `${generation.id} ${name}`).toBe(true);
    }
  }
  expect(getGeneration('G3').registry.byName('Status')).toBeUndefined();
  expect(getGeneration('G2').isModelled('Status')).toBe(true);
});

test('G3 carries directions and channels; older registries carry neither', () => {
  const g3 = getGeneration('G3').registry;
  expect(g3.byName('SetChunk')).toMatchObject({ id: 131, channel: 'Chunks', direction: 'ToClient', compressed: true });
  expect(g3.byName('ClearWorldMap')).toMatchObject({ id: 242, channel: 'WorldMap' });
  expect(g3.byName('RequestAssets')).toMatchObject({ direction: 'ToServer', compressed: true });
  const g1 = getGeneration('G1').registry;
  expect(g1.byName('SetChunk')).toMatchObject({ channel: 'Default', direction: undefined });
});

test('the layouts that changed between generations are the ones docs/protocol.md names', () => {
  expect(getGeneration('G1').packet('Connect').layout.variableBlockStart).toBe(102);
  expect(getGeneration('G2').packet('Connect').layout.variableBlockStart).toBe(66);
  expect(getGeneration('G2').packet('WorldLoadProgress').descriptor.maxSize).toBe(16384014);
  expect(getGeneration('G3').packet('WorldLoadProgress').descriptor.maxSize).toBe(MAX_PACKET_SIZE);
});
