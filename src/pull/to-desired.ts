/**
 * From a live profile to its desired-state entry (`fyno-sync pull`, issue #6 part 2). Pure.
 *
 * The entry is what a user would write to adopt the profile as it is, so that planning it right
 * away gives no operation:
 * - server-managed fields (`profile_id`, `created_at`, `updated_at`, `country_code`,
 *   `timezone_offset`, `id_list`) are left out: the planner never manages them;
 * - fyno-sync's own ownership record (`fyno_sync_managed`, and any key starting with `fyno_sync`,
 *   which the schema reserves) is left out: the planner keeps it;
 * - push and in-app tokens only on request: they are credentials, and an omitted channel is
 *   unmanaged, so leaving them out keeps the round trip;
 * - preferences only on request, and then only the choices the API shows for channels a user may
 *   choose (topic channels whose `channel_config` is `on`; `all` lists only opted-out channels);
 * - every string that holds `${` gets it escaped as `$${`, so the loader does not read it as an
 *   environment variable.
 * Values a desired-state file cannot hold (a property key outside the schema's pattern, a value
 * that is not a Fyno property value, a number a double cannot hold exactly, a topic id outside
 * the pattern) are left out and reported.
 */
import { escapeEnv } from '../desired/env.js';
import { isReservedProperty } from '../plan/ownership.js';
import { CHANNELS, SINGLE_CHANNELS, type ActualPreferences, type ActualProfile, type PreferenceChannel, type Token } from '../fyno/types.js';
import { keyedRecord } from '../plan/normalize.js';

export interface PullOptions {
  /** Write push/inapp tokens (secrets). Default: the token channels are left unmanaged. */
  includeTokens?: boolean;
  /** Write the preferences read (needs `preferences`). Default: preferences are unmanaged. */
  includePreferences?: boolean;
}

/** A field that was left out because desired state cannot express it. */
export interface PullOmission {
  distinct_id: string;
  field: string;
  reason: string;
}

export interface PulledProfile {
  /** Plain data in the key order it is written: distinct_id, name, status, timezone, channels, preferences, properties. */
  entry: Record<string, unknown>;
  omitted: PullOmission[];
}

// Same patterns as schemas/desired-state.schema.json (properties.propertyNames, preferences.propertyNames).
const PROPERTY_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const TOPIC_RE = /^(?:all|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$/;


function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function propertyValue(v: unknown): unknown {
  if (isScalar(v)) return typeof v === 'string' ? escapeEnv(v) : v;
  // List items are strings or numbers (schema propertyListItem).
  if (Array.isArray(v) && v.every((x) => isScalar(x) && typeof x !== 'boolean')) return v.map((x) => (typeof x === 'string' ? escapeEnv(x) : x));
  return undefined;
}

function tokenEntry(t: Token): Record<string, unknown> {
  return {
    token: escapeEnv(t.token),
    ...(t.integration_id !== undefined ? { integration_id: escapeEnv(t.integration_id) } : {}),
    // 1 (active) is the default, so only inactive tokens carry a status (normalize.ts tokenKey).
    ...(t.status === 0 ? { status: 'inactive' } : {}),
  };
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function pullPreferences(prefs: ActualPreferences): Record<string, Record<string, string>> {
  // Topic ids and property keys are Fyno's: keyed records keep `constructor` or `__proto__` as data.
  const out = keyedRecord<Record<string, string>>();
  const all: Record<string, string> = {};
  for (const ch of Object.keys(prefs.all).sort(byKey) as PreferenceChannel[]) {
    const status = prefs.all[ch];
    if (status) all[ch] = status;
  }
  if (Object.keys(all).length > 0) out.all = all;
  for (const topic of [...prefs.topics].sort((a, b) => byKey(a.subscription_id, b.subscription_id))) {
    const chosen: Record<string, string> = {};
    for (const ch of Object.keys(topic.preference).sort(byKey) as PreferenceChannel[]) {
      const status = topic.preference[ch];
      // `required` and `off` channels are not the user's choice (diff-preferences.ts).
      if (status && topic.channel_config[ch] === 'on') chosen[ch] = status;
    }
    if (Object.keys(chosen).length > 0) out[topic.subscription_id] = chosen;
  }
  return out;
}

/** The desired-state entry for one live profile. `prefs` is used only with `includePreferences`. */
export function profileToDesired(profile: ActualProfile, prefs?: ActualPreferences, o: PullOptions = {}): PulledProfile {
  const id = profile.distinct_id;
  const omitted: PullOmission[] = [];
  const entry: Record<string, unknown> = { distinct_id: escapeEnv(id) };
  if (profile.name !== undefined && profile.name !== '') entry.name = escapeEnv(profile.name);
  entry.status = profile.status;
  if (profile.timezone !== undefined && profile.timezone !== '') entry.timezone = profile.timezone;

  const channels: Record<string, unknown> = {};
  for (const ch of CHANNELS) {
    if ((SINGLE_CHANNELS as readonly string[]).includes(ch)) {
      const v = profile.channels[ch as (typeof SINGLE_CHANNELS)[number]];
      if (typeof v === 'string' && v !== '') channels[ch] = escapeEnv(v);
    } else if (o.includeTokens) {
      const tokens = profile.channels[ch as 'push' | 'inapp'];
      if (tokens && tokens.length > 0) channels[ch] = tokens.map(tokenEntry);
    }
  }
  if (Object.keys(channels).length > 0) entry.channels = channels;

  if (o.includePreferences && prefs) {
    for (const topic of prefs.topics) {
      if (!TOPIC_RE.test(topic.subscription_id)) {
        omitted.push({ distinct_id: id, field: `preferences.${topic.subscription_id}`, reason: 'topic id is not one desired state can name' });
      }
    }
    const p = pullPreferences({ ...prefs, topics: prefs.topics.filter((t) => TOPIC_RE.test(t.subscription_id)) });
    if (Object.keys(p).length > 0) entry.preferences = p;
  }

  const properties = keyedRecord<unknown>();
  for (const key of Object.keys(profile.properties).sort(byKey)) {
    if (isReservedProperty(key)) continue; // fyno-sync's own ownership record (src/plan/ownership.ts)
    const numeral = profile.inexact?.[key];
    if (numeral !== undefined) {
      omitted.push({ distinct_id: id, field: `properties.${key}`, reason: `Fyno holds the number ${numeral}, which a file cannot hold exactly (it would read as ${JSON.stringify(profile.properties[key])})` });
      continue;
    }
    if (!PROPERTY_KEY_RE.test(key)) {
      omitted.push({ distinct_id: id, field: `properties.${key}`, reason: 'key is not one desired state can name (a letter or _ then letters, digits, _ . -)' });
      continue;
    }
    const v = propertyValue(profile.properties[key]);
    if (v === undefined) {
      omitted.push({ distinct_id: id, field: `properties.${key}`, reason: 'value is not one desired state can hold (a string, number, boolean, or a list of strings and numbers)' });
      continue;
    }
    properties[key] = v;
  }
  if (Object.keys(properties).length > 0) entry.properties = properties;
  return { entry, omitted };
}
