/**
 * Fingerprints of what was read, stored as a saved plan's preconditions: apply of a saved plan
 * re-reads each profile and refuses to write when a fingerprint differs (PRODUCT.md, "Commands":
 * "a per-profile check that the live state still matches what the plan was computed from").
 *
 * Only what the planner looks at goes in: server-managed fields (`created_at`, `updated_at`,
 * `profile_id`, `country_code`, `timezone_offset`, `id_list`) are left out, since they change
 * without the plan changing (updated_at on every write). Sets are sorted so that Fyno returning
 * tokens, list values or topics in another order does not count as drift.
 */
import { hash } from 'node:crypto';
import type { ActualPreferences, ActualProfile, PropertyScalar, PropertyValue, Token } from '../fyno/types.js';
import { sortedScalars, tokenKey } from './normalize.js';
import { compareTopics, inOrder, sortStrings } from './sort.js';
import type { ActualSnapshot } from './types.js';

/** `sha256:<hex>` of the normalised snapshot, or `absent` when the profile does not exist. */
export function fingerprintSnapshot(snapshot: ActualSnapshot | undefined): string {
  if (!snapshot?.profile) return 'absent';
  // A fixed-order array document serialised by the native JSON.stringify: hot for 100,000
  // profiles, where a generic sorted-keys walk costs more than the hashing.
  const doc = [normaliseProfile(snapshot.profile), snapshot.preferences ? normalisePreferences(snapshot.preferences) : null];
  // One-shot `hash` (Node ≥ 20.12): the same digest as createHash().update().digest() without a
  // Hash stream object per profile, which cost more than the hashing itself.
  return `sha256:${hash('sha256', JSON.stringify(doc), 'hex')}`;
}

/** Sorted own keys of a record whose value is defined (this runs several times per profile read). */
function definedKeys(o: Readonly<Record<string, unknown>>): string[] {
  const keys = Object.keys(o);
  for (const k of keys) if (o[k] === undefined) return sortStrings(keys.filter((x) => o[x] !== undefined));
  return sortStrings(keys);
}

function normaliseProfile(p: ActualProfile): unknown {
  return [p.distinct_id, p.name ?? null, p.status, p.timezone ?? null, flat(p.channels, channelValue), flat(p.properties, propertyValue)];
}

/** A channel as fingerprints hold it: a token list as the sorted set of its tokens' keys. */
function channelValue(v: unknown): unknown {
  return Array.isArray(v) ? sortStrings((v as Token[]).map(tokenKey)) : v;
}

/** A property as fingerprints hold it: a list as a set, sorted by canonical key. */
function propertyValue(v: unknown): unknown {
  return Array.isArray(v) && v.length > 1 ? sortedScalars(v as PropertyScalar[]) : v;
}

const NOTHING: readonly unknown[] = [];

/** Up to this many keys, `flat` puts each pair in place; beyond, it sorts the keys once. */
const IN_PLACE = 16;

/**
 * `[k1, v1, k2, v2, …]` for the defined values of `o` (through `value`), by key, in an array
 * allocated once at its size. A record of a few keys (channels, preference records) is put in
 * order pair by pair, without a key list to sort: fingerprints build ten of them per profile.
 */
function flat(o: Readonly<Record<string, unknown>>, value?: (v: unknown) => unknown): readonly unknown[] {
  let n = 0;
  for (const k in o) if (o[k] !== undefined && Object.hasOwn(o, k)) n += 2;
  if (n === 0) return NOTHING;
  const out = new Array<unknown>(n);
  if (n > 2 * IN_PLACE) {
    let i = 0;
    for (const k of definedKeys(o)) {
      out[i++] = k;
      out[i++] = value ? value(o[k]) : o[k];
    }
    return out;
  }
  let filled = 0;
  for (const k in o) {
    const raw = o[k];
    if (raw === undefined || !Object.hasOwn(o, k)) continue;
    const v = value ? value(raw) : raw;
    let i = filled;
    for (; i > 0 && (out[i - 2] as string) > k; i -= 2) {
      out[i] = out[i - 2];
      out[i + 1] = out[i - 1];
    }
    out[i] = k;
    out[i + 1] = v;
    filled += 2;
  }
  return out;
}

function normalisePreferences(p: ActualPreferences): unknown {
  const topics = inOrder(p.topics, compareTopics);
  const out: unknown[] = [flat(p.all)];
  for (const t of topics) out.push(t.subscription_id, flat(t.channel_config), flat(t.preference));
  return out;
}
