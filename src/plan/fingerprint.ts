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
import type { ActualPreferences, ActualProfile, PropertyValue, Token } from '../fyno/types.js';
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
  const channels: unknown[] = [];
  const ch = p.channels as Record<string, string | Token[] | undefined>;
  for (const k of definedKeys(ch)) {
    const v = ch[k]!;
    channels.push(k, Array.isArray(v) ? sortStrings(v.map(tokenKey)) : v);
  }
  const properties: unknown[] = [];
  for (const k of definedKeys(p.properties)) {
    const v: PropertyValue = p.properties[k]!;
    properties.push(k, Array.isArray(v) && v.length > 1 ? sortedScalars(v) : v);
  }
  return [p.distinct_id, p.name ?? null, p.status, p.timezone ?? null, channels, properties];
}

const NOTHING: readonly unknown[] = [];

function flat(o: Readonly<Record<string, unknown>>): readonly unknown[] {
  const keys = definedKeys(o);
  if (keys.length === 0) return NOTHING;
  const out: unknown[] = [];
  for (const k of keys) out.push(k, o[k]);
  return out;
}

function normalisePreferences(p: ActualPreferences): unknown {
  const topics = inOrder(p.topics, compareTopics);
  const out: unknown[] = [flat(p.all)];
  for (const t of topics) out.push(t.subscription_id, flat(t.channel_config), flat(t.preference));
  return out;
}
