/**
 * `plan --json`: exactly the document a saved plan holds (plan-file.ts, schemas/plan.schema.json),
 * secrets redacted, so machines read one shape whichever way they get a plan.
 */
import { serializePlan, serializePlanChunks } from '../plan-file.js';
import type { Plan } from '../types.js';

export function renderJson(plan: Plan): string {
  return serializePlan(plan);
}

/** `renderJson` in pieces (`serializePlanChunks`): for writing a big plan without one string of it. */
export function renderJsonChunks(plan: Plan): Generator<string> {
  return serializePlanChunks(plan);
}
