/** The planner's library surface (types live in ./types.ts, re-exported by src/index.ts). */
export { buildPlan, summarize, profileAction, groupByProfile, preconditionsFor, type BuildPlanOptions } from './build.js';
export { planOperations, planProfile, type PlannedOperations } from './diff.js';
export { serializePlan, serializePlanChunks, parsePlan, savedPlan, PLAN_SCHEMA_URL } from './plan-file.js';
export { fingerprintSnapshot } from './fingerprint.js';
export { profileDocument, simulateOperations, documentPatch, profileDrift, type ProfileDocument, type DocumentSubject } from './document.js';
export { redactPlan, redactOperation, resolveSecrets, collectSecretCandidates, isSecretRef, type SecretRef, type SecretCandidates } from './secrets.js';
export { selectProfiles, type Selection } from './select.js';
export { OWNERSHIP_PROPERTY } from './ownership.js';
export { renderText, renderJson, renderMarkdown, type RenderTextOptions, type RenderMarkdownOptions, type StyleFn } from './render/index.js';
