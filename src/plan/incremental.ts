/**
 * Incremental plans (`--changed-since REF`, issue #8): which profiles of the working tree's
 * desired state differ from the desired state at a base revision. Pure.
 *
 * Profiles are compared by a canonical form that leaves out where they are written (`at`,
 * `refs`): moving a profile to another file, splitting a file or reordering it changes nothing.
 * Anything else the loader keeps — fields, `state`, `protected`, `merge_from`, `exact`, which
 * values came from `${VAR}` — is part of the comparison.
 */
import type { DesiredProfile, DesiredState } from '../desired/types.js';
import type { DistinctId } from '../fyno/types.js';
import { stableStringify } from './normalize.js';
import type { PlanScope } from './types.js';

/** A profile's desired content without its source positions, as a stable string. */
export function canonicalProfile(p: DesiredProfile): string {
  const { at: _at, refs: _refs, ...content } = p;
  return stableStringify(content);
}

export interface DesiredChanges {
  /** Profiles of `head` that are new or whose content differs from `base`, in `head` order. */
  changed: DistinctId[];
  /** Profiles of `head` equal to their `base` version: not planned. */
  unchanged: number;
  /** Profiles of `base` that `head` no longer names: unmanaged from now on, nothing to do. */
  removed: number;
}

/**
 * `sameFiles`: files of `head` known to be byte-identical in the base, whose profiles `base` leaves
 * out (not loaded twice): their profiles are unchanged. An id of another `head` file cannot be in
 * one of them (it would be a duplicate id in `head`, which the loader rejects).
 */
export function diffDesired(base: DesiredState, head: DesiredState, sameFiles: ReadonlySet<string> = new Set()): DesiredChanges {
  const before = new Map<DistinctId, string>();
  for (const p of base.profiles) before.set(p.distinct_id, canonicalProfile(p));
  const changed: DistinctId[] = [];
  const named = new Set<DistinctId>();
  let unchanged = 0;
  for (const p of head.profiles) {
    named.add(p.distinct_id);
    if (sameFiles.has(p.at.file) || before.get(p.distinct_id) === canonicalProfile(p)) unchanged += 1;
    else changed.push(p.distinct_id);
  }
  let removed = 0;
  for (const id of before.keys()) if (!named.has(id)) removed += 1;
  return { changed, unchanged, removed };
}

/** What `createPlan` needs for an incremental plan: the profiles to plan and the scope to record. */
export function incrementalSelection(
  base: DesiredState,
  head: DesiredState,
  since: string,
  revision: string,
  sameFiles: ReadonlySet<string> = new Set(),
): { only: Set<DistinctId>; scope: { incremental: NonNullable<PlanScope['incremental']> } } {
  const d = diffDesired(base, head, sameFiles);
  return {
    only: new Set(d.changed),
    scope: { incremental: { since, revision, skipped: d.unchanged, removed: d.removed } },
  };
}
