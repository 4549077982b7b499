/** Shared helpers of the per-profile diff modules. Pure. */
import { fieldRef, type DesiredProfile, type SourceRef } from '../desired/types.js';
import type { ActualSnapshot, ProfileOperation as Operation, PlanIssue } from './types.js';

/** Collects the operations and issues of one desired profile. */
export interface ProfileDiff {
  readonly desired: DesiredProfile;
  readonly ops: Operation[];
  readonly issues: PlanIssue[];
  /**
   * What the operations other than merges start from: the profile as read, or as predicted after
   * its merges (`profile: null` before a create). Unset when the profile could not be planned.
   */
  baseline?: ActualSnapshot;
}

/** The source position of a dotted field path, falling back to its parents, then the profile. */
export function refOf(d: DesiredProfile, path: string): SourceRef {
  let p = path;
  for (;;) {
    const r = fieldRef(d.refs, p);
    if (r) return r;
    const dot = p.lastIndexOf('.');
    if (dot < 0) return d.at;
    p = p.slice(0, dot);
  }
}

export function isSensitive(d: DesiredProfile, path: string): boolean {
  return d.sensitive.includes(path);
}

export function addIssue(diff: ProfileDiff, field: string, message: string): void {
  diff.issues.push({ distinct_id: diff.desired.distinct_id, at: refOf(diff.desired, field), field, message });
}
