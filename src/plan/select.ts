/** Narrowing the desired state to the profiles in scope (`--target`, `--exclude`, `--shard`). Pure. */
import picomatch from 'picomatch';
import type { DesiredProfile } from '../desired/types.js';
import { shardOf } from './shard.js';

export interface Selection {
  profiles: DesiredProfile[];
  /** Profiles named in the desired state but left out. */
  skipped: number;
}

/**
 * Profiles whose distinct_id matches any `target` glob (all when none given) and no `exclude`
 * glob, in desired order. Globs are picomatch globs matched against the whole id; `*` does not
 * cross `/` (ids rarely hold one, and then it behaves as in paths, like kongctl's selectors).
 */
export function selectProfiles(
  profiles: readonly DesiredProfile[],
  opts: { target?: readonly string[]; exclude?: readonly string[]; shard?: { index: number; count: number }; only?: ReadonlySet<string> },
): Selection {
  const inc = opts.target && opts.target.length > 0 ? picomatch([...opts.target], { dot: true }) : undefined;
  const exc = opts.exclude && opts.exclude.length > 0 ? picomatch([...opts.exclude], { dot: true }) : undefined;
  // A merge source is not a profile of its own here: it is read and merged with its target.
  const shard = opts.shard && opts.shard.count > 1 ? opts.shard : undefined;
  const only = opts.only;
  if (!inc && !exc && !shard && !only) return { profiles: [...profiles], skipped: 0 };
  const out = profiles.filter(
    (p) => (!only || only.has(p.distinct_id)) && (!inc || inc(p.distinct_id)) && !(exc && exc(p.distinct_id)) && (!shard || shardOf(p.distinct_id, shard.count) === shard.index),
  );
  return { profiles: out, skipped: profiles.length - out.length };
}
