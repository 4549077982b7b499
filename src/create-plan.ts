/**
 * The only place planning touches the world (STYLE.md, "Pure planner, effectful shell"): read
 * live state for exactly the profiles a desired state names, then hand both to the pure planner.
 * Never prints, never exits.
 */
import { hashFiles } from './desired/files.js';
import type { DriftSpool } from './drift-spool.js';
import { invalidBaseWarning, loadDesiredAtRevision } from './desired/git.js';
import type { LoadOptions } from './desired/load.js';
import type { DesiredProfile, DesiredState } from './desired/types.js';
import { dedupeReads, readLive, type ReadRequest } from './fyno/fetch-actual.js';
import type { DistinctId, FynoApi } from './fyno/types.js';
import { assemblePlan, isNarrowed, plansSuppressions, SummaryTally, suppressionPart } from './plan/build.js';
import { planProfile } from './plan/diff.js';
import { driftRecord, packedDrift, profileDrift } from './plan/document.js';
import { fingerprintSnapshot } from './plan/fingerprint.js';
import { keyedRecord } from './plan/normalize.js';
import { InternalError } from './errors.js';
import { incrementalSelection } from './plan/incremental.js';
import { selectProfiles } from './plan/select.js';
import type { ActualSnapshot, Operation, Plan, PlanIssue, PlanOptions, PlanScope, PlanTarget, ProfileDrift } from './plan/types.js';

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
  /**
   * Return every snapshot read in `CreatedPlan.actual` (default true). With `false` each
   * snapshot is dropped as soon as the profiles that need it are diffed, so a 100,000-profile
   * plan never holds the live state of all of them; `actual` is then empty.
   */
  keepSnapshots?: boolean;
  /**
   * For a caller with no further use of the desired profiles (the `plan` command): each one is
   * let go as soon as it is diffed, and `desired.profiles` is emptied at the start (its profiles
   * are then held only until planned). The operations of a 100,000-profile plan then take the
   * place of the profiles in memory instead of adding to them.
   */
  releaseDesired?: boolean;
  /**
   * Where the desired files' relative paths start: a plan with merges records their content
   * hashes (`source_hashes`), since apply re-plans merged profiles from those files.
   */
  cwd?: string;
  /**
   * Where each profile's JSON Patch is kept until the plan is written (drift-spool.ts): off the
   * heap, for a caller that writes the plan out and is done with it (the `plan` command).
   * Default: in memory, as JSON text (`packedDrift`).
   */
  driftSpool?: DriftSpool;
  /** The desired files' content hashes when the caller has them already (not read again). */
  sourceHashes?: Readonly<Record<string, string>>;
  /**
   * Called with each profile's operations as soon as it and every profile before it are planned,
   * so in plan order (the suppression list's last): concatenated, the calls give exactly the
   * plan's `operations`. `plan --out` writes them to the plan file's scratch copy meanwhile.
   */
  onOperations?: (ops: readonly Operation[]) => void;
  /**
   * With `false` (and `onOperations`), each profile's operations are let go once handed over:
   * the returned `plan.operations` is empty and `plan.summary` still counts them all. For a
   * caller that writes them out as they come (the `plan` command): a 100,000-profile plan then
   * never holds its million operations. Default true.
   */
  keepOperations?: boolean;
  /** `readLive`'s `pace`: holds the next read back (the caller's writer falls behind). */
  pace?: () => Promise<void> | undefined;
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

const NO_OPS: readonly Operation[] = Object.freeze([]);

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

/**
 * Reads live state and plans each profile as soon as its own reads and its merge sources' are
 * complete (`planProfile`, as `buildPlan` does in desired order); a snapshot is dropped once every
 * profile needing it is planned, unless `keepSnapshots`. The plan is the one `buildPlan` makes
 * from the same snapshots.
 */
export async function createPlan(deps: CreatePlanDeps, desired: DesiredState, opts: CreatePlanOptions): Promise<CreatedPlan> {
  const selection = selectProfiles(desired.profiles, opts);
  const skipped = selection.skipped;
  const profiles: (DesiredProfile | undefined)[] = [...selection.profiles];
  const ids = profiles.map((d) => ({ distinct_id: d!.distinct_id }));
  const keep = opts.keepSnapshots ?? true;
  const keepOps = opts.keepOperations ?? true;
  if (!keepOps && !opts.onOperations) throw new InternalError('keepOperations: false needs onOperations');
  const tally = new SummaryTally();
  // planProfile looks up only merge sources (is the source protected?): keep just those.
  const sources = new Set(selection.profiles.flatMap((d) => (d.state === 'present' ? d.merge_from : [])));
  const byId = new Map(desired.profiles.filter((p) => sources.has(p.distinct_id)).map((p) => [p.distinct_id, p] as const));
  const readRequests = readsFor(selection.profiles);
  // What each profile needs read (as readsFor asks for it) and who needs each id.
  const needs = selection.profiles.map((d) => (d.state === 'present' ? [d.distinct_id, ...d.merge_from] : [d.distinct_id]));
  if (opts.releaseDesired) {
    selection.profiles.length = 0;
    desired.profiles.length = 0;
  }
  const waiting = needs.map((ids) => new Set(ids).size);
  const users = new Map<DistinctId, number[]>();
  needs.forEach((ids, i) => {
    for (const id of new Set(ids)) {
      const list = users.get(id);
      if (list) list.push(i);
      else users.set(id, [i]);
    }
  });
  const actual = new Map<DistinctId, ActualSnapshot>();
  const results: ({ ops: readonly Operation[]; issues: readonly PlanIssue[]; drift: [DistinctId, ProfileDrift][] } | undefined)[] = new Array(profiles.length);
  const fingerprints = new Map<DistinctId, string>();
  const unplanned = new Map<DistinctId, number>();
  for (const [id, list] of users) unplanned.set(id, list.length);
  // The first profile whose operations have not been handed to onOperations.
  let handed = 0;
  const handOver = (): void => {
    if (!opts.onOperations) return;
    while (handed < results.length && results[handed] !== undefined) {
      const r = results[handed++]!;
      opts.onOperations(r.ops);
      if (!keepOps) r.ops = NO_OPS;
    }
  };
  const spool = opts.driftSpool;
  const keepDrift = (d: ProfileDrift): ProfileDrift => (spool ? spool.put(d) : packedDrift(d));
  const onSnapshot = (id: DistinctId, snap: ActualSnapshot): void => {
    actual.set(id, snap);
    for (const i of users.get(id) ?? []) {
      waiting[i]! -= 1;
      if (waiting[i] !== 0) continue;
      const diff = planProfile(profiles[i]!, actual, byId);
      // Only what a plan keeps: its operations, issues and JSON Patch (made now, while the
      // snapshots it is computed from are still held).
      results[i] = { ops: diff.ops, issues: diff.issues, drift: profileDrift(diff, actual).map(([id, d]) => [id, keepDrift(d)]) };
      tally.add(diff.ops);
      if (opts.releaseDesired) profiles[i] = undefined;
      for (const need of new Set(needs[i])) {
        if (actual.has(need)) fingerprints.set(need, fingerprintSnapshot(actual.get(need)));
        const left = unplanned.get(need)! - 1;
        unplanned.set(need, left);
        if (left === 0 && !keep) actual.delete(need);
      }
    }
    handOver();
  };
  const reads = await readLive(deps.api, readRequests, {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.pace ? { pace: opts.pace } : {}),
  }, onSnapshot);
  const narrowed = skipped > 0 || opts.scope !== undefined || opts.shard !== undefined;
  const scope: PlanScope | undefined = narrowed
    ? {
        ...(opts.target?.length ? { target: [...opts.target] } : {}),
        ...(opts.exclude?.length ? { exclude: [...opts.exclude] } : {}),
        ...(opts.shard ? { shard: { index: opts.shard.index, count: opts.shard.count } } : {}),
        ...(opts.scope ?? {}),
        skipped: skipped + (opts.scope?.skipped ?? 0),
      }
    : undefined;
  // The suppression list: one read, when the files manage it and the plan is not narrowed.
  let listPart: ReturnType<typeof suppressionPart> | undefined;
  let listReads = 0;
  if (plansSuppressions(desired, narrowed || isNarrowed(opts))) {
    const live = await deps.api.listSuppressions(opts.signal ? { signal: opts.signal } : {});
    listReads = 1;
    listPart = suppressionPart(desired, live);
  }
  const operations: Operation[] = [];
  const issues: PlanIssue[] = [];
  const drift: [DistinctId, ProfileDrift][] = [];
  for (let i = 0; i < results.length; i += 1) {
    const r = results[i];
    // Every profile's reads completed or readLive threw; a gap here is a bug, not a plan.
    if (!r) throw new InternalError(`profile ${ids[i]!.distinct_id} was not planned`);
    for (const op of r.ops) operations.push(op);
    for (const issue of r.issues) issues.push(issue);
    for (const entry of r.drift) drift.push(entry);
    results[i] = undefined;
  }
  if (listPart) {
    if (keepOps) for (const op of listPart.ops) operations.push(op);
    tally.add(listPart.ops);
    opts.onOperations?.(listPart.ops);
  }
  // Keyed by distinct_id: a profile called `__proto__` keeps its precondition (issue #14).
  const preconditions = keyedRecord<string>();
  for (const id of [...fingerprints.keys()].sort()) preconditions[id] = fingerprints.get(id)!;
  const plan = assemblePlan({
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
    ...(listPart ? { suppressionList: listPart.list } : {}),
  }, ids, operations, issues, preconditions, driftRecord(drift), tally);
  const withHashes = (opts.sourceHashes !== undefined || opts.cwd !== undefined) && desired.files.length > 0 && (plan.summary.by_type['profile.merge'] ?? 0) > 0;
  const hashed: Plan = withHashes ? { ...plan, source_hashes: opts.sourceHashes ?? (await hashFiles(desired.files, opts.cwd!)) } : plan;
  // In request order, as fetchActual returns them.
  const snapshots = new Map<DistinctId, ActualSnapshot>();
  if (keep) for (const r of dedupeReads(readRequests)) snapshots.set(r.distinct_id, actual.get(r.distinct_id)!);
  return { plan: hashed, actual: snapshots, reads: reads + listReads };
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
