/**
 * `@handoff/proxy-kit`: compose a Hytale full proxy that moves players between backends without a
 * reconnect. Listen with a transport, accept a client, join its first backend, hand both to a proxy
 * session, and call `session.migrate(target)`.
 */
export type { AcceptedClient, BackendConfig, BackendEnd, BackendLink, ChannelName, HeldWorld } from './contracts.js';
export { frameSink, frameSource, type FrameSink, type FrameSource } from './frames.js';
export { ProxyError, isProxyError, proxyKitErrorCodes, type ProxyErrorCode, type ProxyErrorOptions } from './errors.js';
