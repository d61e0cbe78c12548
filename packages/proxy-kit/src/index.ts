/**
 * `@handoff/proxy-kit`: compose a Hytale full proxy that moves players between backends without a
 * reconnect. Listen with a transport, accept a client, join its first backend, hand both to a proxy
 * session, and call `session.migrate(target)`.
 */
export type { AcceptedClient, BackendConfig, BackendEnd, BackendLink, ChannelName, HeldWorld } from './contracts.js';
export { frameSink, frameSource, type FrameSink, type FrameSource } from './frames.js';
export { ProxyError, isProxyError, proxyKitErrorCodes, type ProxyErrorCode, type ProxyErrorOptions } from './errors.js';
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
