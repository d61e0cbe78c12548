/**
 * `@handoff/testkit`: simulated Hytale peers for testing a proxy end to end over real sockets —
 * a backend that behaves like the server (handshake, assets, pings, timeouts, referrals), a strict
 * client oracle that reports every way a migration was not seamless, and a fake session service
 * that issues EdDSA identity and access tokens.
 */
export * from './backend/index.js';
export * from './client/index.js';
export * from './session-service/index.js';
