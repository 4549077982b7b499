/**
 * Checks made before any write (issue #5 part 3, PRODUCT.md "Commands" and "Applying"):
 * a plan with issues, deletes without `--allow-delete` or above `--max-deletes`, a protected
 * profile deleted or merged away, a plan for another target, and — for saved plans — drift of
 * any profile since the plan was computed. Each refusal throws before a single request is sent.
 */
import { FynoSyncError } from '../errors.js';
import type { DistinctId, Suppression, Target } from '../fyno/types.js';
import { fingerprintSuppressions } from '../plan/suppressions.js';
import { fingerprintSnapshot } from '../plan/fingerprint.js';
import { isSuppressionOp, type ActualSnapshot, type Operation, type Plan } from '../plan/types.js';
import { forEachLimited } from '../fyno/pool.js';

export interface SafetyOptions {
  allowDelete: boolean;
  maxDeletes: number;
  protectedIds?: readonly DistinctId[];
}

function normalBase(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return u.replace(/\/+$/, '');
  }
}

/** Refuses (`plan.target_mismatch`) a plan made for another base URL, workspace or env. */
export function checkPlanTarget(t: Plan['target'], target: Target): void {
  if (t.workspace !== target.workspace || t.env !== target.env || normalBase(t.base_url) !== normalBase(target.baseUrl)) {
    throw new FynoSyncError(
      'plan.target_mismatch',
      `the plan is for ${t.base_url} workspace ${t.workspace} (${t.env}), not ${target.baseUrl} workspace ${target.workspace} (${target.env}); nothing was written`,
      { plan_target: t, target: { base_url: target.baseUrl, workspace: target.workspace, env: target.env } },
    );
  }
}

/**
 * The operations `checkPlanSafety` looks at besides the plan's head (deletes, merges, suppression
 * removals): a plan read from its file is checked with only these kept (apply-lifecycle.ts).
 */
export function concernsSafety(op: Operation): boolean {
  return op.type === 'profile.delete' || op.type === 'profile.merge' || op.type === 'suppression.remove';
}

/** Throws the first refusal that applies; never touches the network. */
export function checkPlanSafety(plan: Plan, target: Target, o: SafetyOptions): void {
  if (plan.issues.length > 0) {
    const first = plan.issues[0]!;
    throw new FynoSyncError(
      'plan.conflict',
      `the plan has ${plan.issues.length} issue(s) and cannot be applied; first: ${first.distinct_id} ${first.field}: ${first.message}`,
      { issues: plan.issues.length, distinct_id: first.distinct_id, field: first.field },
    );
  }
  checkPlanTarget(plan.target, target);
  const protectedIds = new Set(o.protectedIds ?? []);
  const deletes = plan.operations.filter((op) => op.type === 'profile.delete');
  for (const op of plan.operations) {
    const victim = op.type === 'profile.delete' ? op.distinct_id : op.type === 'profile.merge' ? op.from : undefined;
    if (victim !== undefined && protectedIds.has(victim)) {
      throw new FynoSyncError(
        'apply.delete_refused',
        `profile ${victim} is protected and is never ${op.type === 'profile.delete' ? 'deleted' : 'merged away'}; nothing was written`,
        { distinct_id: victim, op: op.type },
      );
    }
  }
  if (deletes.length > 0 && !o.allowDelete) {
    throw new FynoSyncError('apply.delete_refused', `the plan deletes ${deletes.length} profile(s); pass --allow-delete to apply it; nothing was written`, {
      deletes: deletes.length,
    });
  }
  // Removing a do-not-contact entry lets messages reach someone again: as risky as a delete.
  const unsuppress = plan.operations.filter((op) => op.type === 'suppression.remove').length;
  if (unsuppress > 0 && !o.allowDelete) {
    throw new FynoSyncError('apply.delete_refused', `the plan removes ${unsuppress} suppression list entr${unsuppress === 1 ? 'y' : 'ies'}; pass --allow-delete to apply it; nothing was written`, {
      suppression_removals: unsuppress,
    });
  }
  if (deletes.length > o.maxDeletes) {
    throw new FynoSyncError(
      'apply.delete_refused',
      `the plan deletes ${deletes.length} profile(s), more than --max-deletes ${o.maxDeletes}; nothing was written`,
      { deletes: deletes.length, max_deletes: o.maxDeletes },
    );
  }
}

/** What an earlier run of the same plan may have written: operations done, started or uncertain. */
export type EarlierRun = { done: ReadonlySet<string>; started?: ReadonlySet<string>; uncertain?: ReadonlySet<string> };

/**
 * What plan operation `index` touched in an earlier run: its profiles (a merge's source too), or
 * `list` for the suppression list; nothing when that run did not write (or start) it.
 */
export function touchedBy(op: Operation, index: number, earlier: EarlierRun): DistinctId[] | 'list' | undefined {
  const key = `p:${index}`;
  if (!earlier.done.has(key) && !earlier.started?.has(key) && !earlier.uncertain?.has(key)) return undefined;
  if (isSuppressionOp(op)) return 'list';
  return op.type === 'profile.merge' ? [op.distinct_id, op.from] : [op.distinct_id];
}

/**
 * Profiles an earlier run of the same plan already wrote to (operations done or started, merge
 * sources included): they changed by our own hand, so they are not checked for drift.
 */
export function touchedProfiles(plan: Plan, earlier: EarlierRun | undefined): Set<DistinctId> {
  const out = new Set<DistinctId>();
  if (!earlier) return out;
  plan.operations.forEach((op, i) => {
    const t = touchedBy(op, i, earlier);
    if (Array.isArray(t)) for (const id of t) out.add(id);
  });
  return out;
}

/** Whether an earlier run of the same plan already wrote (or may have written) to the suppression list. */
export function touchedSuppressionList(plan: Plan, earlier: EarlierRun | undefined): boolean {
  if (!earlier) return false;
  return plan.operations.some((op, i) => touchedBy(op, i, earlier) === 'list');
}

/** Reads one profile's snapshot; `withPreferences` adds its preferences. */
export type SnapshotReader = (id: DistinctId, withPreferences: boolean) => Promise<ActualSnapshot>;

/**
 * Saved plans: re-read every profile of `plan.preconditions` and throw `plan.stale` naming each
 * that drifted. A fingerprint includes preferences only when the planner read them, so the
 * profile is compared first alone and, when that differs, with its preferences.
 */
export async function checkFreshness(
  plan: Plan,
  read: SnapshotReader,
  o: {
    concurrency: number;
    skip?: ReadonlySet<DistinctId>;
    signal?: AbortSignal;
    /** Reads the suppression list, for a plan that recorded its fingerprint (issue #18). */
    readSuppressions?: () => Promise<Suppression[]>;
    /** An earlier run of this plan wrote to the list: it changed by our own hand, not checked. */
    listTouched?: boolean;
    /** The profiles the plan creates, when `plan.operations` does not hold them (a plan read from its file). */
    created?: ReadonlySet<DistinctId>;
  },
): Promise<number> {
  // The list first: one read, and a stale list refuses as a stale profile does.
  const list = plan.suppression_list;
  if (list && o.readSuppressions && !o.listTouched) {
    const now = fingerprintSuppressions(await o.readSuppressions());
    if (now !== list.fingerprint) {
      throw new FynoSyncError('plan.stale', 'the suppression list changed since the plan was made; nothing was written — plan again', { suppression_list: true });
    }
  }
  const drifted: DistinctId[] = [];
  // A profile the plan creates is checked by its create (Fyno refuses an id that exists, and
  // apply then names it drifted and writes nothing of it): no read (PRODUCT.md, apply).
  const created = o.created ?? new Set(plan.operations.filter((op) => op.type === 'profile.create').map((op) => op.distinct_id));
  const ids = Object.keys(plan.preconditions).filter((id) => !o.skip?.has(id) && !(created.has(id) && plan.preconditions[id] === 'absent'));
  await forEachLimited(ids, o.concurrency, async (id) => {
    if (o.signal?.aborted) return;
    const expected = plan.preconditions[id]!;
    const bare = await read(id, false);
    if (fingerprintSnapshot(bare) === expected) return;
    if (bare.profile && expected !== 'absent') {
      const full = await read(id, true);
      if (fingerprintSnapshot(full) === expected) return;
    }
    drifted.push(id);
  });
  if (o.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted while checking the plan against live state; nothing was written');
  if (drifted.length > 0) {
    drifted.sort();
    const shown = drifted.slice(0, 20).join(', ');
    throw new FynoSyncError(
      'plan.stale',
      `live state changed since the plan was made for ${drifted.length} profile(s): ${shown}${drifted.length > 20 ? ', …' : ''}; nothing was written — plan again`,
      { drifted },
    );
  }
  return ids.length;
}
