export { DEFAULT_PULL_FILE_SIZE, parseIdsFile, pullProfiles, renderPullFiles, type PulledFile, type PullProfilesOptions, type PullResult } from './pull.js';
export { escapeEnv } from '../desired/env.js';
export { profileToDesired, type PulledProfile, type PullOmission, type PullOptions } from './to-desired.js';
export { writePulled } from './write.js';
export { pullSuppressions, SUPPRESSIONS_FILE, type PulledSuppressions, type SuppressionOmission } from './suppressions.js';
