/**
 * `apply --dry-run` (issue #5 part 4): every request the applier would send for a plan, in
 * order, built by the same grouping and wire builders it uses, and sending nothing. Property
 * batches are cut per `batchSize` profiles in plan order, apart for the profiles whose actions
 * are idempotent and those with one that is not (`$append`…), as the batcher keeps them; a live
 * run may cut them elsewhere (profiles reach their property step at different times) but sends
 * no more of them.
 * Bodies hold the plan's values: mask them before printing (src/plan/secrets.ts).
 */
import type { DistinctId, Target } from '../fyno/types.js';
import * as wire from '../fyno/wire.js';
import { isSuppressionOp, type Plan } from '../plan/types.js';
import { itemsIdempotent, propertyItems, stepRequest, stepsForProfile, suppressionRequest, type KeyedOp } from './groups.js';

export function planRequests(plan: Plan, target: Target, o: { batchSize?: number } = {}): wire.RequestSpec[] {
  const size = Math.max(1, o.batchSize ?? 100);
  const byProfile = new Map<DistinctId, KeyedOp[]>();
  const deletes: DistinctId[] = [];
  const suppressions: wire.RequestSpec[] = [];
  plan.operations.forEach((op, i) => {
    if (isSuppressionOp(op)) suppressions.push(suppressionRequest(target, op));
    else if (op.type === 'profile.delete') deletes.push(op.distinct_id);
    else byProfile.set(op.distinct_id, [...(byProfile.get(op.distinct_id) ?? []), { key: `p:${i}`, op }]);
  });
  const out: wire.RequestSpec[] = [];
  const props: KeyedOp[][] = [];
  const prefs: wire.RequestSpec[] = [];
  for (const [id, ops] of byProfile) {
    for (const step of stepsForProfile(ops)) {
      if (step.kind === 'properties') props.push(step.ops);
      else if (step.kind === 'preferences') prefs.push(stepRequest(target, id, step));
      else if (step.kind !== 'delete') out.push(stepRequest(target, id, step));
    }
  }
  // Two queues, as in batcher.ts: a batch with a non-idempotent item is settled, not retried.
  for (const idempotent of [true, false]) {
    const queue = props.filter((ops) => itemsIdempotent(propertyItems(ops)) === idempotent);
    for (let i = 0; i < queue.length; i += size) out.push(wire.buildBatchProperties(target, propertyItems(queue.slice(i, i + size).flat())));
  }
  out.push(...prefs);
  for (let i = 0; i < deletes.length; i += size) out.push(wire.buildDeleteProfiles(target, deletes.slice(i, i + size)));
  // The suppression list after every profile (runner.ts).
  out.push(...suppressions);
  return out;
}
