/**
 * Preferences (fyno-manage-user-subscriptions-preferences-api-openapi.yml). Only the topics and
 * channels named are managed. Defaults: `preference_channels` declares `default: opted-in` for
 * every channel, and `meta.all.preference` lists only opted-out channels, so an absent entry reads
 * as `opted-in` both for a topic and for `all`. A channel whose `channel_config` is `required`
 * "cannot be updated": asking to change it is a `PlanIssue`, not an operation.
 */
import type { ActualPreferences, PreferenceChannel, PreferenceStatus } from '../fyno/types.js';
import { addIssue, refOf, type ProfileDiff } from './diff-context.js';
import type { OwnershipRecord } from './ownership.js';
import { sortedKeys, sortStrings } from './sort.js';

const DEFAULT_STATUS: PreferenceStatus = 'opted-in';

/** Live status of a channel for a topic id or `all`; `undefined` when the topic is unknown. */
export function liveStatus(prefs: ActualPreferences, topic: string, channel: PreferenceChannel): PreferenceStatus | undefined {
  if (topic === 'all') return prefs.all[channel] ?? DEFAULT_STATUS;
  const t = prefs.topics.find((x) => x.subscription_id === topic);
  return t ? (t.preference[channel] ?? DEFAULT_STATUS) : undefined;
}

function isRequired(prefs: ActualPreferences, topic: string, channel: PreferenceChannel): boolean {
  if (topic === 'all') return false;
  return prefs.topics.find((x) => x.subscription_id === topic)?.channel_config[channel] === 'required';
}

/**
 * A channel a topic does not offer (`channel_config` `off` or absent) cannot be set either: Fyno
 * hides it from the topic's preferences and refuses an update of it.
 */
function isEnabled(prefs: ActualPreferences, topic: string, channel: PreferenceChannel): boolean {
  if (topic === 'all') return true;
  const cfg = prefs.topics.find((x) => x.subscription_id === topic)?.channel_config[channel];
  return cfg === 'on' || cfg === 'required';
}

/**
 * Emits one `preference.set` per (topic, channel) whose live status differs. With exact
 * management on, an owned preference the file no longer names goes back to the default
 * (`opted-in`), and the returned set holds the `topic:channel` pairs the record should hold.
 */
export function diffPreferences(diff: ProfileDiff, live: ActualPreferences | undefined, record: OwnershipRecord): Set<string> | undefined {
  const d = diff.desired;
  const named = d.preferences ?? {};
  // Kept only under exact management, the one use of it.
  const owned = d.exact.preferences ? new Set<string>() : undefined;
  const topics = sortedKeys(named);
  const needsLive = topics.length > 0 || (d.exact.preferences && record.preferences.size > 0);
  if (!live) {
    if (needsLive) addIssue(diff, 'preferences', 'preferences were not read for this profile; cannot plan them');
    return d.exact.preferences ? new Set(record.preferences) : undefined;
  }
  for (const topic of topics) {
    const channels = named[topic] ?? {};
    for (const channel of sortedKeys(channels)) {
      const want = channels[channel];
      if (want === undefined) continue;
      const have = liveStatus(live, topic, channel);
      if (have === undefined) {
        addIssue(diff, `preferences.${topic}.${channel}`, `unknown subscription topic ${topic} (not in the workspace's topics)`);
        continue;
      }
      if (have === want) {
        owned?.add(`${topic}:${channel}`);
        continue;
      }
      if (isRequired(live, topic, channel)) {
        if (record.preferences.has(`${topic}:${channel}`)) owned?.add(`${topic}:${channel}`);
        addIssue(diff, `preferences.${topic}.${channel}`, `channel ${channel} is required for topic ${topic}; its preference cannot be changed`);
        continue;
      }
      if (!isEnabled(live, topic, channel)) {
        addIssue(diff, `preferences.${topic}.${channel}`, `channel ${channel} is not enabled for topic ${topic} (channel_config); its preference cannot be set`);
        continue;
      }
      owned?.add(`${topic}:${channel}`);
      diff.ops.push({ distinct_id: d.distinct_id, at: refOf(d, `preferences.${topic}.${channel}`), type: 'preference.set', topic, channel, status: want, before: have, idempotent: true });
    }
  }
  if (!owned) return undefined;
  for (const pair of sortStrings([...record.preferences])) {
    if (owned.has(pair)) continue;
    const sep = pair.lastIndexOf(':');
    const topic = pair.slice(0, sep);
    const channel = pair.slice(sep + 1) as PreferenceChannel;
    if (Object.hasOwn(named, topic) && named[topic]?.[channel] !== undefined) continue; // named but not plannable (an issue)
    const have = liveStatus(live, topic, channel);
    // A topic that no longer exists, or a required channel, just leaves the record.
    if (have === undefined || have === DEFAULT_STATUS || isRequired(live, topic, channel) || !isEnabled(live, topic, channel)) continue;
    diff.ops.push({ distinct_id: d.distinct_id, at: refOf(d, 'preferences'), type: 'preference.set', topic, channel, status: DEFAULT_STATUS, before: have, idempotent: true });
  }
  return owned;
}
