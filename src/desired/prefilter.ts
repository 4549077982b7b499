/**
 * Profiles a caller of `loadDesired` has no use for, let go where they are built (on the worker
 * thread that read them) instead of being sent to the caller's thread first (issue #17: apply of
 * a saved plan of 100,000 profiles). A prefilter is named, not a function: the name crosses to
 * the workers. Every profile is still validated; the ids let go are reported.
 */
import type { DesiredProfile } from './types.js';

export const PREFILTERS = {
  /**
   * What a saved plan may need of a desired profile beyond checking it: protected, merged into,
   * or holding secrets (values from `${VAR}`, push and in-app tokens) the plan has placeholders of.
   */
  'saved-plan': (d: DesiredProfile): boolean =>
    d.protected || d.merge_from.length > 0 || d.sensitive.length > 0 || (d.channels !== undefined && Object.values(d.channels).some((v) => Array.isArray(v))),
} as const satisfies Record<string, (d: DesiredProfile) => boolean>;

export type Prefilter = keyof typeof PREFILTERS;

/** The profiles of `r` the prefilter keeps, the ids of the others added to `letGo`. */
export function prefiltered<T extends { profiles: DesiredProfile[] }>(r: T, name: Prefilter | undefined, letGo: Set<string> | string[]): T {
  if (name === undefined) return r;
  const keep = PREFILTERS[name];
  const kept: DesiredProfile[] = [];
  for (const p of r.profiles) {
    if (keep(p)) kept.push(p);
    else if (Array.isArray(letGo)) letGo.push(p.distinct_id);
    else letGo.add(p.distinct_id);
  }
  r.profiles = kept;
  return r;
}
