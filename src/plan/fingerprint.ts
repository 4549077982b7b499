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
import { createHash } from 'node:crypto';
import type { ActualPreferences, ActualProfile, PropertyValue } from '../fyno/types.js';
import { scalarKey, stableStringify, tokenKey } from './normalize.js';
import type { ActualSnapshot } from './types.js';

/** `sha256:<hex>` of the normalised snapshot, or `absent` when the profile does not exist. */
export function fingerprintSnapshot(snapshot: ActualSnapshot | undefined): string {
  if (!snapshot?.profile) return 'absent';
  const doc = {
    profile: normaliseProfile(snapshot.profile),
    ...(snapshot.preferences ? { preferences: normalisePreferences(snapshot.preferences) } : {}),
  };
  return `sha256:${createHash('sha256').update(stableStringify(doc)).digest('hex')}`;
}

function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

function normaliseProfile(p: ActualProfile): unknown {
  const channels: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.channels)) {
    channels[k] = Array.isArray(v) ? [...v].sort(byKey(tokenKey)) : v;
  }
  const properties: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(p.properties)) properties[k] = Array.isArray(v) ? [...v].sort(byKey(scalarKey)) : v;
  return { distinct_id: p.distinct_id, name: p.name, status: p.status, timezone: p.timezone, channels, properties };
}

function normalisePreferences(p: ActualPreferences): unknown {
  return {
    all: p.all,
    topics: [...p.topics]
      .sort(byKey((t) => t.subscription_id))
      .map((t) => ({ subscription_id: t.subscription_id, channel_config: t.channel_config, preference: t.preference })),
  };
}
