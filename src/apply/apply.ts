/**
 * `applyPlan`: executes a plan's operations as given — it groups, limits, retries refused
 * requests and settles unknown outcomes, but never decides what to change (STYLE.md, "obedient
 * applier"). Outcomes are values in the summary and events; nothing is printed.
 *
 * The parts, each readable alone: scheduling (runner.ts), sending one request group
 * (send-group.ts), settling unknown outcomes (settler.ts), journaling and counting (ledger.ts).
 * The whole lifecycle around it — lock, journal, freshness, secrets — is src/apply-lifecycle.ts.
 */
import { isFynoSyncError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import { Runner } from './runner.js';
import { checkPlanSafety } from './safety.js';
import type { ApplyDeps, ApplyOptions, ApplySummary } from './types.js';

/**
 * Apply `plan` (secrets already resolved). Throws `FynoSyncError` only for refusals before any
 * write (`plan.conflict`, `plan.target_mismatch`, `apply.delete_refused`, `plan.stale`,
 * `apply.interrupted` during the staleness check); every later outcome is in the summary. The
 * journal, when given, is closed when it returns or throws.
 */
export async function applyPlan(plan: Plan, deps: ApplyDeps, opts: ApplyOptions): Promise<ApplySummary> {
  try {
    checkPlanSafety(plan, deps.api.target, opts);
    return await new Runner(plan, deps, opts).run();
  } finally {
    await deps.journal?.close();
  }
}

/** For callers that want to tell a refusal from an unexpected failure. */
export function isRefusal(e: unknown): boolean {
  return isFynoSyncError(e) && ['plan.conflict', 'plan.target_mismatch', 'apply.delete_refused', 'plan.stale'].includes(e.code);
}
