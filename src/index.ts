/** The library surface of fyno-sync. Never imports src/cli. */
export * from './errors.js';
export * from './fyno/types.js';
export * from './fyno/errors.js';
export * from './desired/types.js';
export { formatIssue, loadDesired, type LoadOptions, type LoadResult } from './desired/load.js';
export * from './plan/types.js';
export * from './apply/index.js';
export { runApplyLifecycle, type ApplyRequest, type ApplySource, type ApplyLifecycleDeps, type ApplyOutcome, type LifecycleEvent, type DryRunRequest } from './apply-lifecycle.js';
