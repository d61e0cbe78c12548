/** A whole client session through a capture tap: handshake, setup, world entry, gameplay. */
import type { Generation } from '@handoff/protocol';
import type { CaptureTap } from '@handoff/session';
import {
  ACCESS_TOKEN,
  AUTH_GRANT,
  G3,
  OTHER_PLAYER,
  PLAYER,
  SERVER_ACCESS_TOKEN,
  SERVER_AUTH_GRANT,
  SERVER_IDENTITY_TOKEN,
  WORLD_A,
  assets,
  bid,
  connectV2,
  frame,
  ping,
  setChunk,
} from './frames.js';

export const SKIN = { haircut: 'Haircut.Short', eyes: 'Eyes.Blue', cape: null };

/** Taps a full session on backend `lobby-1`; returns nothing, the record holds the result. */
export function playSession(tap: CaptureTap, g: Generation = G3): void {
  const from = bid('lobby-1');
  const required = assets(0, 50);
  tap.clientToServer(connectV2(g));
  tap.serverToClient(frame(g, 'AuthGrant', { authorizationGrant: AUTH_GRANT, serverIdentityToken: SERVER_IDENTITY_TOKEN }), from);
  tap.clientToServer(frame(g, 'AuthToken', { accessToken: ACCESS_TOKEN, serverAuthorizationGrant: SERVER_AUTH_GRANT }));
  tap.serverToClient(frame(g, 'ServerAuthToken', { serverAccessToken: SERVER_ACCESS_TOKEN, passwordChallenge: null }), from);
  tap.serverToClient(frame(g, 'WorldSettings', { worldHeight: 320, requiredAssets: required }), from);
  tap.serverToClient(frame(g, 'ServerInfo', { serverName: 'Lobby', motd: 'Welcome', maxPlayers: 100 }), from);
  tap.clientToServer(frame(g, 'ViewRadius', { value: 192 }));
  tap.clientToServer(frame(g, 'RequestAssets', { assets: required.slice(0, 5) }));
  for (const asset of required.slice(0, 5)) tap.serverToClient(frame(g, 'AssetInitialize', { asset, size: 10 }), from);
  tap.clientToServer(frame(g, 'PlayerOptions', { skin: SKIN }));
  tap.serverToClient(frame(g, 'JoinWorld', { clearWorld: false, fadeInOut: false, worldUuid: WORLD_A }), from);
  tap.serverToClient(frame(g, 'ViewRadius', { value: 384 }), from);
  tap.serverToClient(frame(g, 'SetClientId', { clientId: 42 }), from);
  tap.serverToClient(
    frame(g, 'AddToServerPlayerList', {
      players: [
        { uuid: PLAYER, username: 'Bob', worldUuid: WORLD_A, ping: 10 },
        { uuid: OTHER_PLAYER, username: 'Eve', worldUuid: null, ping: 30 },
      ],
    }),
    from,
  );
  for (let x = -1; x <= 1; x++) for (let z = -1; z <= 1; z++) for (let y = 0; y < 2; y++) tap.serverToClient(setChunk(g, x, y, z), from);
  tap.clientToServer(frame(g, 'UpdateLanguage', { language: 'fr' }));
  tap.serverToClient(ping(g, 1234), from);
}
