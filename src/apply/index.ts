export { applyPlan, isRefusal } from './apply.js';
export { openJournal, planHash, JOURNAL_FILE, type Journal, type OpenJournalOptions } from './journal.js';
export { checkPlanSafety, checkFreshness, type SafetyOptions, type SnapshotReader } from './safety.js';
export { opSatisfied, mergeSettled, divergenceReason, fieldOf } from './settle.js';
export { verifyConvergence, type VerifyOptions } from './verify.js';
export { stepsForProfile, propertyItems, stepRequest, routeKey, type KeyedOp, type Step } from './groups.js';
export { planRequests } from './dry-run.js';
export type * from './types.js';
