import { expect, test } from 'vitest';
import { captureTap } from '../../examples/capture-tap/src/capture-tap.js';

test('the capture-tap recipe splits, taps and forwards every frame', async () => {
  const lines: string[] = [];
  await captureTap((line) => lines.push(line));
  expect(lines.slice(0, 4).map((l) => l.split(' ')[0])).toEqual(['JoinWorld', 'SetClientId', 'SetChunk', 'Ping']);
  expect(lines).toContain('captured: world 0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f, client id 42, chunk columns [{"x":3,"z":-2}]');
  expect(lines.at(-1)).toBe("the client's Pong for ping 1 goes to backend-a");
});
