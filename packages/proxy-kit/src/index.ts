/**
 * `@handoff/proxy-kit`: compose a Hytale full proxy that moves players between backends without a
 * reconnect. Listen with a transport, accept a client, join its first backend, hand both to a proxy
 * session, and call `session.migrate(target)` (the package README has a whole proxy; the guide is
 * docs/proxy-kit.md).
 *
 * @example
 * ```ts
 * import { acceptClient, createProxySession, joinBackend, noClientAuth } from '@handoff/proxy-kit';
 *
 * const client = await acceptClient(await listener.accept(), { auth: noClientAuth() });
 * const link = await joinBackend(lobby, { client, proxyAddress, tickets });
 * const session = await createProxySession({ client, backend: link, backends, proxyAddress, tickets });
 * const result = await session.migrate('game-7'); // migrated | rolled-back | referred | disconnected | refused
 * ```
 */
export type { AcceptedClient, BackendConfig, BackendEnd, BackendLink, ChannelName, HeldWorld } from './contracts.js';
export { frameSink, frameSource, type FrameSink, type FrameSource } from './frames.js';
export { ProxyError, isProxyError, proxyKitErrorCodes, type ProxyErrorCode, type ProxyErrorOptions } from './errors.js';
// client side: the proxy as a Hytale server (handshake, client auth, bad input)
export {
  DEFAULT_CLIENT_RATE_LIMIT,
  DEFAULT_CLIENT_TIMEOUTS,
  G1_CLIENT_TIMEOUTS,
  PROTOCOL_VIOLATION_CLOSE,
  acceptClient,
  type AcceptClientInit,
  type ClientRateLimit,
  type ClientTimeouts,
} from './client/accept-client.js';
export {
  CLIENT_AUTH_CHECKS,
  CLIENT_SCOPES,
  HYTALE_TOKEN_ISSUER,
  JWKS_REFRESH_INTERVAL_MS,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  noClientAuth,
  sessionServiceAuth,
  type AuthenticatedClientAuth,
  type ClientAuth,
  type ClientAuthCallOptions,
  type ClientAuthCheck,
  type DevelopmentClientAuth,
  type SessionServiceAuthInit,
} from './client/client-auth.js';
export {
  HYTALE_SESSION_SERVICE_URL,
  SESSION_SERVICE_ROUTES,
  httpSessionService,
  type HttpSessionServiceInit,
  type SessionServiceCallOptions,
  type SessionServiceClient,
} from './client/session-service.js';
export { CLIENT_CLOSE_REASONS, createClientCounters, type ClientCloseReason, type ClientCounters } from './client/counters.js';
export { systemClientClock, type ClientClock, type ClientClockTimer } from './client/clock.js';
// backend side: the connector, ticket trust, the setup driver
export {
  DEFAULT_CHANNEL_HIGH_WATER_MARK,
  alpnFor,
  connectBackend,
  type BackendLinkStats,
  type ConnectBackendOptions,
  type ConnectedBackend,
} from './backend/connector.js';
export { DEFAULT_LANGUAGE, buildConnectFrame, type ConnectFrameInit } from './backend/connect-frame.js';
export type { DemuxStats } from './backend/channels.js';
export {
  createTicketPolicy,
  type ProxyTicketInput,
  type ReferralContext,
  type ReferralDecision,
  type ReferralForward,
  type ReferralForwardReason,
  type ReferralMigrate,
  type TicketPolicy,
  type TicketPolicyCounters,
  type TicketPolicyInit,
} from './backend/ticket-policy.js';
export {
  ASSET_POLICIES,
  BackendDisconnectedError,
  DEFAULT_MAX_HELD_BYTES,
  createSetupDriver,
  passwordHash,
  type AssetPolicy,
  type AssetReport,
  type AuthResult,
  type SetupDriver,
  type SetupDriverInit,
  type SetupFailureCode,
  type SetupStepOptions,
  type SyncResult,
} from './backend/setup-driver.js';
// forwarding, the proxy session, the cutover, failover, traces
export {
  backendJoiner,
  createProxySession,
  type BackendJoiner,
  type BackendJoinerInit,
  type BackendLoss,
  type FailoverPolicy,
  type MigrationTrigger,
  type ProxyMigrationResult,
  type ProxyRefusalCode,
  type ProxySession,
  type ProxySessionEvents,
  type ProxySessionHooks,
  type ProxySessionInit,
  type ProxySessionStats,
  type SessionEnd,
  type SessionMigrationOptions,
} from './proxy-session.js';
export { joinBackend, refuseClient, type JoinBackendOptions } from './join-backend.js';
export {
  dropPacket,
  forwardPacket,
  rewritePacket,
  type PacketDecision,
  type PacketDirection,
  type PacketHook,
  type PacketHookContext,
} from './forward/hooks.js';
export { cleanupWrites, rewriteJoinWorld, type CutoverWrite } from './cutover.js';
export { jsonlTraceRecorder, memoryTraceRecorder, type TraceAction, type TraceRecord, type TraceRecorder } from './trace.js';
export { allow, deny, disconnect, redirect, refer } from '@handoff/migration';
