/**
 * `@handoff/reference-proxy`: the reference Hytale proxy, built only from the public API of the
 * `@handoff/*` packages. `handoff proxy` runs it; docs/operations.md is its manual.
 *
 * @example
 * ```ts
 * import { loadProxyConfig, startProxy } from '@handoff/reference-proxy';
 *
 * const config = await loadProxyConfig({
 *   file: 'proxy.yaml', // optional: the flags' shape works alone
 *   overrides: { listen: { address: '127.0.0.1:5520' }, clientAuth: { mode: 'none' } },
 * });
 * const proxy = await startProxy(config);
 * console.log(proxy.adminUrl); // GET /sessions, POST /sessions/{uuid}/migrate…
 * process.once('SIGTERM', () => void proxy.close());
 * ```
 */
export { AdminError, MAX_BODY_BYTES, type AdminOperations, type AdminReply } from './admin.js';
export type { BackendState } from './backends.js';
export { readConfigFiles, type ConfigFiles } from './config/files.js';
export {
  ADMIN_TOKEN_ENV,
  DEFAULT_ADMIN_ADDRESS,
  DEFAULT_POOL,
  checkProxyConfig,
  keyPath,
  loadProxyConfig,
  mergeConfig,
  parseAddress,
  parseBackendUrl,
  parseConfigText,
  readConfigFile,
  type LoadProxyConfigOptions,
  type RawConfig,
} from './config/load.js';
export { LOG_LEVELS, ProxyConfigSchema, proxyConfigJsonSchema, type ProxyConfig } from './config/schema.js';
export { startDrain, type Drain, type DrainInit, type DrainStatus, type DrainablePlayer } from './drain.js';
export {
  ReferenceProxyError,
  isReferenceProxyError,
  referenceProxyErrorCodes,
  type ConfigIssue,
  type ReferenceProxyErrorCode,
} from './errors.js';
export { REDACTED, REDACTED_KEYS, createProxyLogger, type ProxyLogger, type ProxyLoggerInit } from './logger.js';
export { METRIC_NAMES, ProxyMetrics, TrackedBudget } from './metrics.js';
export {
  DEFAULT_SHUTDOWN_MESSAGE,
  DEFAULT_SHUTDOWN_MS,
  NO_BACKEND_MESSAGE,
  startProxy,
  type BackendView,
  type ReferenceProxy,
  type SessionView,
  type StartProxyOptions,
} from './proxy.js';
