/**
 * `--shard K/N`: a deterministic split of the desired profiles so that N independent runners (a
 * CI matrix) each plan and apply 1/N of them. Pure.
 *
 * A profile belongs to shard `1 + (fnv1a(distinct_id) mod N)`. Its `merge_from` sources are not
 * profiles of their own here: they are read and merged as part of their target, so they always go
 * with it. A source that is also declared as a profile of its own (rare, and usually a mistake)
 * would be planned in its own shard; the loader rejects a profile merged into itself or into two
 * targets, which rules out the conflicting cases.
 */
import { FynoSyncError } from '../errors.js';
import type { DesiredProfile } from '../desired/types.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parses `K/N` (1 ≤ K ≤ N ≤ 10,000). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > 10_000 || index < 1 || index > count) {
    throw new FynoSyncError('config.invalid', `--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/8), got '${text}'`, { option: '--shard' });
  }
  return { index, count };
}

/** FNV-1a, 32 bit, over the UTF-16 code units: fast, stable across platforms and versions. */
export function shardHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function shardOf(id: string, count: number): number {
  return 1 + (shardHash(id) % count);
}

/** The profiles of one shard, in desired order, and how many were left to other shards. */
export function selectShard(profiles: readonly DesiredProfile[], shard: Shard): { profiles: DesiredProfile[]; skipped: number } {
  if (shard.count === 1) return { profiles: [...profiles], skipped: 0 };
  const out = profiles.filter((p) => shardOf(p.distinct_id, shard.count) === shard.index);
  return { profiles: out, skipped: profiles.length - out.length };
}
