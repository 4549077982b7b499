/**
 * The only place planning touches the world (STYLE.md, "Pure planner, effectful shell"): read
 * live state for exactly the profiles a desired state names, then hand both to the pure planner.
 * Never prints, never exits.
 */
import { invalidBaseWarning, loadDesiredAtRevision } from './desired/git.js';
import type { LoadOptions } from './desired/load.js';
import type { DesiredProfile, DesiredState } from './desired/types.js';
import { fetchActual, type ReadRequest } from './fyno/fetch-actual.js';
import type { DistinctId, FynoApi } from './fyno/types.js';
import { buildPlan } from './plan/build.js';
import { incrementalSelection } from './plan/incremental.js';
import { selectProfiles } from './plan/select.js';
import type { ActualSnapshot, Plan, PlanOptions, PlanScope, PlanTarget } from './plan/types.js';

export interface CreatePlanDeps {
  api: FynoApi;
  now: () => Date;
}

export interface CreatePlanOptions extends PlanOptions {
  /** Where the plan is for (recorded in it; apply refuses another target). */
  destination: PlanTarget;
  /** Reads in flight at once (the request rate is the client's business). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Set by narrowing beyond `--target`/`--exclude` (shards, incremental plans). */
  scope?: Omit<PlanScope, 'skipped' | 'target' | 'exclude'> & { skipped?: number };
}

export interface CreatedPlan {
  plan: Plan;
  /** What was read, by distinct_id: apply uses it to resolve secrets and to re-plan after merges. */
  actual: Map<DistinctId, ActualSnapshot>;
  /** Requests sent to read live state. */
  reads: number;
}

/** Whether a profile's preferences must be read to plan it. */
export function managesPreferences(d: DesiredProfile): boolean {
  return d.state === 'present' && (d.preferences !== undefined || d.exact.preferences);
}

/**
 * The reads a set of desired profiles needs: each profile once, its preferences when managed,
 * and its `merge_from` sources (with preferences when the target manages them, since a merge
 * carries the source's preferences over).
 */
export function readsFor(profiles: readonly DesiredProfile[]): ReadRequest[] {
  const reads: ReadRequest[] = [];
  for (const d of profiles) {
    const prefs = managesPreferences(d);
    reads.push({ distinct_id: d.distinct_id, preferences: prefs });
    if (d.state === 'present') for (const src of d.merge_from) reads.push({ distinct_id: src, preferences: prefs });
  }
  return reads;
}

export async function createPlan(deps: CreatePlanDeps, desired: DesiredState, opts: CreatePlanOptions): Promise<CreatedPlan> {
  const selection = selectProfiles(desired.profiles, opts);
  const { snapshots, reads } = await fetchActual(deps.api, readsFor(selection.profiles), {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const narrowed = selection.skipped > 0 || opts.scope !== undefined || opts.shard !== undefined;
  const scope: PlanScope | undefined = narrowed
    ? {
        ...(opts.target?.length ? { target: [...opts.target] } : {}),
        ...(opts.exclude?.length ? { exclude: [...opts.exclude] } : {}),
        ...(opts.shard ? { shard: { index: opts.shard.index, count: opts.shard.count } } : {}),
        ...(opts.scope ?? {}),
        skipped: selection.skipped + (opts.scope?.skipped ?? 0),
      }
    : undefined;
  const plan = buildPlan(desired, snapshots, {
    createdAt: deps.now().toISOString(),
    target: opts.destination,
    sources: desired.files,
    select: {
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.exclude ? { exclude: opts.exclude } : {}),
      ...(opts.shard ? { shard: opts.shard } : {}),
      ...(opts.only ? { only: opts.only } : {}),
    },
    ...(scope ? { scope } : {}),
  });
  return { plan, actual: snapshots, reads };
}

/**
 * `--changed-since REF`: the narrowing of an incremental plan. Loads the desired state `paths`
 * describe at git revision `ref` (from git, no checkout; same loader and validation) and keeps the
 * profiles of `desired` that are new or differ. Throws `git.error` without a repository or for an
 * unknown revision, before any request. When the state at `ref` is invalid it could never have
 * been applied, so every profile is planned (`skipped: 0`) and `warning` says why.
 */
export async function changedSince(
  desired: DesiredState,
  paths: readonly string[],
  ref: string,
  load: LoadOptions,
): Promise<Required<Pick<CreatePlanOptions, 'only' | 'scope'>> & { warning?: string }> {
  const base = await loadDesiredAtRevision(paths, ref, load, desired.files);
  const selection = incrementalSelection(base.state, desired, ref, base.revision, new Set(base.identical));
  if (base.issues.length === 0) return selection;
  return {
    only: new Set(desired.profiles.map((p) => p.distinct_id)),
    scope: { incremental: { ...selection.scope.incremental, skipped: 0 } },
    warning: invalidBaseWarning(ref, base.revision, base.issues),
  };
}
