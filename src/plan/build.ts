/**
 * From desired state and what was read to a whole `Plan`: operations and issues (diff.ts), the
 * summary counts, and the preconditions (one fingerprint per profile read) that apply of a saved
 * plan checks before any write. Pure: no I/O, no clock (`createdAt` is passed in), no randomness.
 */
import type { DesiredProfile, DesiredState } from '../desired/types.js';
import type { DistinctId, Suppression } from '../fyno/types.js';
import { fingerprintSuppressions, planSuppressions } from './suppressions.js';
import { planProfile } from './diff.js';
import { driftRecord, profileDrift } from './document.js';
import { keyedRecord } from './normalize.js';
import { fingerprintSnapshot } from './fingerprint.js';
import { selectProfiles } from './select.js';
import { compareStrings } from './sort.js';
import {
  PLAN_FORMAT_VERSION,
  type ActualSnapshot,
  type Operation,
  type Plan,
  type PlanOptions,
  type PlanScope,
  type PlanSummary,
  type PlanIssue,
  type PlanTarget,
  type ProfileAction,
  type ProfileDrift,
  type ProfileOperation,
  isSuppressionOp,
} from './types.js';

export interface BuildPlanOptions {
  /** ISO 8601 instant from the caller's clock. */
  createdAt: string;
  target: PlanTarget;
  /** Desired-state paths the plan was computed from. */
  sources: readonly string[];
  /** `--target` / `--exclude` narrowing. */
  select?: PlanOptions;
  /** Recorded as is when the caller narrowed the desired state (shards, incremental plans). */
  scope?: PlanScope;
  /**
   * The suppression list as read, when the desired state manages it (`buildPlan` plans it), or
   * its fingerprint once planned (`assemblePlan`, the operations already among the others).
   */
  suppressions?: readonly Suppression[];
  suppressionList?: { fingerprint: string; read: number };
}

/**
 * Whether a plan takes the suppression list in: when the files manage it and the plan is not
 * narrowed to some profiles (`--target`, `--exclude`, `--shard`, `--changed-since`), so that the
 * N plans of a sharded run never add or remove the same entry N times.
 */
export function plansSuppressions(desired: DesiredState, narrowed: boolean): boolean {
  return desired.suppressions !== undefined && !narrowed;
}

/** The operations and fingerprint of the suppression list part of a plan. */
export function suppressionPart(desired: DesiredState, live: readonly Suppression[]): { ops: Operation[]; list: { fingerprint: string; read: number } } {
  return { ops: planSuppressions(desired.suppressions!, live), list: { fingerprint: fingerprintSuppressions(live), read: live.length } };
}

/** The plan for `desired` against `actual`. Arguments are never modified. */
export function buildPlan(desired: DesiredState, actual: ReadonlyMap<DistinctId, ActualSnapshot>, opts: BuildPlanOptions): Plan {
  const select = opts.select ?? {};
  const { profiles } = selectProfiles(desired.profiles, select);
  // As planOperations, profile by profile, with each profile's JSON Patch (document.ts).
  const byId = new Map(desired.profiles.map((p) => [p.distinct_id, p] as const));
  const operations: Operation[] = [];
  const issues: PlanIssue[] = [];
  const drift: [DistinctId, ProfileDrift][] = [];
  const read: [DistinctId, string][] = [];
  for (const d of profiles) {
    const diff = planProfile(d, actual, byId);
    operations.push(...diff.ops);
    issues.push(...diff.issues);
    drift.push(...profileDrift(diff, actual));
    // Fingerprinted here rather than in a second pass over every snapshot: the profile's data
    // is still in the CPU caches (issue #17).
    addPreconditions(read, d, actual);
  }
  let o = opts;
  if (opts.suppressions && plansSuppressions(desired, isNarrowed(select) || opts.scope !== undefined)) {
    const part = suppressionPart(desired, opts.suppressions);
    operations.push(...part.ops);
    o = { ...opts, suppressionList: part.list };
  }
  return assemblePlan(o, profiles, operations, issues, preconditionRecord(read), driftRecord(drift));
}

/** `--target`, `--exclude`, `--shard` or an `only` set narrows a plan to some profiles. */
export function isNarrowed(o: PlanOptions): boolean {
  return (o.target?.length ?? 0) > 0 || (o.exclude?.length ?? 0) > 0 || o.shard !== undefined || o.only !== undefined;
}

/**
 * The `Plan` document from its parts, as `buildPlan` makes it; for callers that diff profile by
 * profile as live state arrives (create-plan.ts) and so never hold every snapshot at once.
 * `preconditions` must already be sorted by id.
 */
export function assemblePlan(
  opts: BuildPlanOptions,
  profiles: readonly Pick<DesiredProfile, 'distinct_id'>[],
  operations: Operation[],
  issues: Plan['issues'],
  preconditions: Record<DistinctId, string>,
  /** `plan.profiles` (`driftRecord`): the JSON Patch of each profile whose document changes. */
  drift: Record<DistinctId, ProfileDrift>,
  /** The operations' summary when the caller counted them (`SummaryTally`); else of `operations`. */
  tally?: SummaryTally,
): Plan {
  return {
    format_version: PLAN_FORMAT_VERSION,
    created_at: opts.createdAt,
    target: { ...opts.target },
    sources: [...opts.sources],
    preconditions,
    ...(opts.suppressionList ? { suppression_list: { ...opts.suppressionList } } : {}),
    summary: (tally ?? SummaryTally.of(operations)).summary(profiles.map((p) => p.distinct_id), opts.suppressionList !== undefined),
    operations,
    issues,
    ...(opts.scope ? { scope: structuredClone(opts.scope) } : {}),
    profiles: drift,
  };
}

/**
 * A fingerprint for every profile the plan depends on: each selected profile and each of its
 * `merge_from` sources that was read (`absent` when it did not exist). Sorted by id so that the
 * plan is byte-stable.
 */
export function preconditionsFor(profiles: readonly DesiredProfile[], actual: ReadonlyMap<DistinctId, ActualSnapshot>): Record<DistinctId, string> {
  const read: [DistinctId, string][] = [];
  for (const d of profiles) addPreconditions(read, d, actual);
  return preconditionRecord(read);
}

/** Appends the fingerprint of each snapshot `d` is planned from: its own and its merge sources'. */
function addPreconditions(read: [DistinctId, string][], d: DesiredProfile, actual: ReadonlyMap<DistinctId, ActualSnapshot>): void {
  const snap = actual.get(d.distinct_id);
  if (snap !== undefined || actual.has(d.distinct_id)) read.push([d.distinct_id, fingerprintSnapshot(snap)]);
  if (d.state !== 'present') return;
  for (const src of d.merge_from) {
    const s = actual.get(src);
    if (s !== undefined || actual.has(src)) read.push([src, fingerprintSnapshot(s)]);
  }
}

/** The preconditions record: sorted by id, an id read twice (same snapshot, same fingerprint) once. */
function preconditionRecord(read: [DistinctId, string][]): Record<DistinctId, string> {
  read.sort((a, b) => compareStrings(a[0], b[0]));
  const out = keyedRecord<string>();
  for (let i = 0; i < read.length; i += 1) {
    const [id, fingerprint] = read[i]!;
    if (i === 0 || id !== read[i - 1]![0]) out[id] = fingerprint;
  }
  return out;
}

/** How significant each action is: a profile's action is that of its most significant operation. */
export const PROFILE_ACTION_RANK: Readonly<Record<ProfileAction, number>> = { noop: 0, update: 1, create: 2, merge: 3, delete: 4 };

/**
 * The one action of a profile in the summary line. A profile is counted once, by its most
 * significant operation: delete, then merge (a merge usually brings updates along), then create,
 * then update (any other operation).
 */
export function profileAction(ops: readonly Operation[]): ProfileAction {
  let action: ProfileAction = 'noop';
  for (const op of ops) {
    const a = operationAction(op);
    if (PROFILE_ACTION_RANK[a] > PROFILE_ACTION_RANK[action]) action = a;
  }
  return action;
}

/** The action one operation makes of its profile. */
function operationAction(op: Operation): ProfileAction {
  return op.type === 'profile.delete' ? 'delete' : op.type === 'profile.merge' ? 'merge' : op.type === 'profile.create' ? 'create' : 'update';
}

/** Profile operations grouped by distinct_id, in first-seen order (the suppression list's are left out). */
export function groupByProfile(operations: readonly Operation[]): Map<DistinctId, ProfileOperation[]> {
  const out = new Map<DistinctId, ProfileOperation[]>();
  for (const op of operations) {
    if (isSuppressionOp(op)) continue;
    const list = out.get(op.distinct_id);
    if (list) list.push(op);
    else out.set(op.distinct_id, [op]);
  }
  return out;
}

/** Counts per profile action and per operation type. `profileIds` are the profiles in scope. */
export function summarize(profileIds: readonly DistinctId[], operations: readonly Operation[], suppressionsManaged = false): PlanSummary {
  return SummaryTally.of(operations).summary(profileIds, suppressionsManaged);
}

/**
 * `summarize` as operations come, in any grouping and order, without keeping them: a plan whose
 * operations are written out as each profile is planned (the `plan` command, issue #17) counts
 * them here instead.
 */
export class SummaryTally {
  /** Each profile's action so far, by its most significant operation (`profileAction`). */
  readonly #actions = new Map<DistinctId, ProfileAction>();
  readonly #byType = new Map<string, number>();
  #operations = 0;

  static of(operations: readonly Operation[]): SummaryTally {
    const tally = new SummaryTally();
    tally.add(operations);
    return tally;
  }

  add(operations: readonly Operation[]): void {
    for (const op of operations) {
      this.#operations += 1;
      this.#byType.set(op.type, (this.#byType.get(op.type) ?? 0) + 1);
      if (isSuppressionOp(op)) continue;
      const a = operationAction(op);
      const had = this.#actions.get(op.distinct_id);
      if (had === undefined || PROFILE_ACTION_RANK[a] > PROFILE_ACTION_RANK[had]) this.#actions.set(op.distinct_id, a);
    }
  }

  summary(profileIds: readonly DistinctId[], suppressionsManaged = false): PlanSummary {
    const summary: PlanSummary = { create: 0, update: 0, merge: 0, delete: 0, unchanged: 0, operations: this.#operations, by_type: {} };
    const seen = new Set<DistinctId>();
    for (const id of profileIds) {
      if (seen.has(id)) continue;
      seen.add(id);
      const action = this.#actions.get(id) ?? 'noop';
      if (action === 'noop') summary.unchanged += 1;
      else summary[action] += 1;
    }
    // Operations of an id outside `profileIds` cannot happen with planOperations; counted anyway.
    for (const [id, action] of this.#actions) if (!seen.has(id) && action !== 'noop') summary[action] += 1;
    for (const t of [...this.#byType.keys()].sort()) (summary.by_type as Record<string, number>)[t] = this.#byType.get(t)!;
    if (suppressionsManaged) summary.suppressions = { add: this.#byType.get('suppression.add') ?? 0, remove: this.#byType.get('suppression.remove') ?? 0 };
    return summary;
  }
}
