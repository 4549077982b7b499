/** The Fyno side of fyno-sync: the `FynoApi` port, its HTTP client, dry run and target resolution. */
export * from './types.js';
export * from './errors.js';
export { HttpFynoClient, DEFAULT_TIMEOUT_MS, DEFAULT_USER_AGENT, type HttpFynoClientOptions, type RequestInfo } from './http-client.js';
export { DEFAULT_RETRY, type RetryPolicy } from './http-retry.js';
export { resolveTarget, createFynoClient, checkBaseUrl, isLoopbackHost, DEFAULT_BASE_URL, type TargetFlags, type ResolvedTarget } from './target.js';
export { DryRunFyno, formatRequest, formatRequests, maskRequest, MASK, DRY_RUN_REQUEST_ID, type DryRunOptions } from './dry-run.js';
export type { RequestSpec, HttpMethod } from './wire.js';
