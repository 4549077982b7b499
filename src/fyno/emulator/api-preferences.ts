/**
 * Subscription topics and user preferences (fyno-notification-events-openapi.yml, tag
 * "Manage User Subscriptions & Preferences"; split copy:
 * fyno-manage-user-subscriptions-preferences-api-openapi.yml).
 */
import { PREFERENCE_CHANNELS, type PreferenceChannel, type PreferenceStatus } from '../types.js';
import { fail, isObject, MSG, type ApiRequest, type Ctx, type Params, type Reply } from './api-common.js';
import { keyedRecord, ownValue } from '../../plan/normalize.js';
import type { PrefEntry, TopicDef, UserPrefs } from './store.js';

const PREF_CHANNELS = new Set<string>(PREFERENCE_CHANNELS);

/**
 * Topics used when none were seeded. Section and topic names follow the spec's own
 * placeholders (`Section1` is *required* by PrefProfileFetched.result, `SXXXXXXXXX` by
 * SubscriptionUpdated), so the spec's examples and schemas work unchanged (README, "Topics").
 */
export const DEFAULT_TOPICS: readonly TopicDef[] = [
  {
    subscription_id: 'SXXXXXXXXX',
    name: 'Order updates',
    section: 'Section1',
    description: 'Order confirmations and delivery status',
    channel_config: { sms: 'on', whatsapp: 'on', email: 'required', push: 'on', inapp: 'on', voice: 'off' },
    notification_events: [{ event_id: 'EXXXXXXXX1', event_name: 'order_shipped' }],
  },
  {
    subscription_id: 'S000000002',
    name: 'Account security',
    section: 'Section1',
    description: 'Logins, password changes and OTPs',
    channel_config: { sms: 'required', email: 'on', push: 'on', whatsapp: 'on' },
    notification_events: [{ event_id: 'EXXXXXXXX2', event_name: 'login_alert' }],
  },
  {
    subscription_id: 'S000000003',
    name: 'Offers and news',
    section: 'Section2',
    description: 'Promotions, newsletters and product news',
    channel_config: { sms: 'on', whatsapp: 'on', email: 'on', push: 'on', inapp: 'on', slack: 'off', webpush: 'on' },
    notification_events: [{ event_id: 'EXXXXXXXX3', event_name: 'weekly_digest' }],
  },
];

export function topicsOf(ctx: Ctx): readonly TopicDef[] {
  return ctx.space.topics ?? DEFAULT_TOPICS;
}

function statusOf(prefs: UserPrefs | undefined, topic: string, ch: PreferenceChannel): PrefEntry | undefined {
  return prefs ? ownValue(prefs.topics, topic)?.[ch] : undefined;
}

/** A topic's effective preference: required channels are always opted-in; `off` channels are hidden. */
function topicPreference(t: TopicDef, prefs: UserPrefs | undefined): Partial<Record<PreferenceChannel, PreferenceStatus>> {
  const out: Partial<Record<PreferenceChannel, PreferenceStatus>> = {};
  for (const [ch, cfg] of Object.entries(t.channel_config) as [PreferenceChannel, string][]) {
    if (cfg === 'off') continue;
    out[ch] = cfg === 'required' ? 'opted-in' : (statusOf(prefs, t.subscription_id, ch)?.status ?? 'opted-in');
  }
  return out;
}

/**
 * GET /{WSID}/{version}/subscriptions/preference?distinct_id= (PrefProfileFetched). An unknown
 * distinct_id gets 200 with every default (README, "Preferences of unknown users").
 */
export function getPreferences(ctx: Ctx, req: ApiRequest): Reply {
  const id = req.query.distinct_id;
  if (!id) return fail(400, MSG.prefDistinctIdRequired);
  const prefs = ctx.space.preferences.get(id);
  const withEvents = req.query.event_list === 'true';
  const allPref: Partial<Record<PreferenceChannel, 'opted-out'>> = {};
  const allUpdated: Partial<Record<PreferenceChannel, string>> = {};
  const globalOut: Partial<Record<PreferenceChannel, true>> = {};
  for (const [ch, e] of Object.entries(prefs?.all ?? {}) as [PreferenceChannel, PrefEntry][]) {
    allUpdated[ch] = e.updated_at;
    if (e.status === 'opted-out') {
      allPref[ch] = 'opted-out';
      globalOut[ch] = true;
    }
  }
  const result = keyedRecord<unknown[]>();
  for (const t of topicsOf(ctx)) {
    const updated: Partial<Record<PreferenceChannel, string>> = {};
    for (const [ch, e] of Object.entries((prefs && ownValue(prefs.topics, t.subscription_id)) ?? {}) as [PreferenceChannel, PrefEntry][]) updated[ch] = e.updated_at;
    const isGlobal: Partial<Record<PreferenceChannel, true>> = {};
    for (const ch of Object.keys(t.channel_config) as PreferenceChannel[]) if (globalOut[ch]) isGlobal[ch] = true;
    (result[t.section] ??= []).push({
      subscription_id: t.subscription_id,
      name: t.name,
      description: t.description,
      channel_config: { ...t.channel_config },
      preference: topicPreference(t, prefs),
      is_global_opted_out: isGlobal,
      notification_events: withEvents ? t.notification_events.map((e) => ({ ...e })) : [],
      updated_at: updated,
    });
  }
  return { status: 200, body: { meta: { all: { preference: allPref, updated_at: allUpdated } }, result } };
}

type Change = { topic: string; channel: PreferenceChannel; status: PreferenceStatus };

/** Validate one `{channel: status}` map for a topic id or `all`; refusals name the reason. */
function collectChanges(ctx: Ctx, topicId: string, map: unknown, out: Change[]): Reply | null {
  const topic = topicId === 'all' ? undefined : topicsOf(ctx).find((t) => t.subscription_id === topicId);
  if (topicId !== 'all' && !topic) return fail(400, `Invalid subscription id '${topicId}'`);
  if (!isObject(map)) return fail(400, `Preference of '${topicId}' must be an object of channel: status`);
  for (const [ch, st] of Object.entries(map)) {
    if (!PREF_CHANNELS.has(ch)) return fail(400, `Invalid channel '${ch}'`);
    if (st !== 'opted-in' && st !== 'opted-out') return fail(400, `Invalid status '${String(st)}', allowed values are opted-in or opted-out`);
    if (topic) {
      const cfg = topic.channel_config[ch as PreferenceChannel];
      // The spec: "If the channel configuration for a subscription topic is set to 'required',
      // then the user preference for the channel cannot be updated" (PUT .../subscriptions/preference).
      if (cfg === 'required') return fail(400, `Channel '${ch}' is required for subscription '${topicId}' and cannot be updated`);
      if (cfg === undefined || cfg === 'off') return fail(400, `Channel '${ch}' is not enabled for subscription '${topicId}'`);
    }
    out.push({ topic: topicId, channel: ch as PreferenceChannel, status: st });
  }
  return null;
}

function applyChanges(ctx: Ctx, id: string, changes: Change[]): void {
  let prefs = ctx.space.preferences.get(id);
  if (!prefs) {
    // Topic ids are keys of a keyed record: a topic `constructor` is not Object's (issue #14).
    prefs = { all: {}, topics: keyedRecord() };
    ctx.space.preferences.set(id, prefs);
  }
  for (const c of changes) {
    const target = c.topic === 'all' ? prefs.all : (prefs.topics[c.topic] ??= {});
    target[c.channel] = { status: c.status, updated_at: ctx.now };
  }
  ctx.store.touch();
}

/**
 * The SubscriptionUpdated body: every topic → its effective channel preferences, plus `all`
 * when it was touched. Every topic, not only the touched ones: the schema *requires* the key
 * `SXXXXXXXXX` (its placeholder id, a default topic here), so answering only touched keys would
 * break the contract whenever another topic is changed (README, "Ambiguities and choices").
 */
function updatedBody(ctx: Ctx, id: string, touched: string[]): Record<string, unknown> {
  const prefs = ctx.space.preferences.get(id);
  const body = keyedRecord<unknown>();
  const keys = [...topicsOf(ctx).map((t) => t.subscription_id), ...(touched.includes('all') ? ['all'] : [])];
  for (const k of keys) {
    if (k === 'all') {
      const all: Record<string, PreferenceStatus> = {};
      for (const [ch, e] of Object.entries(prefs?.all ?? {})) all[ch] = (e as PrefEntry).status;
      body.all = all;
    } else {
      const t = topicsOf(ctx).find((x) => x.subscription_id === k)!;
      body[k] = topicPreference(t, prefs);
    }
  }
  return body;
}

/**
 * PUT /{WSID}/{version}/subscriptions/preference?distinct_id= {user_preference: {id|all: {...}}}.
 * All-or-nothing: one refused channel (required, unknown topic/channel) refuses the request.
 */
export function putPreferences(ctx: Ctx, req: ApiRequest): Reply {
  const id = req.query.distinct_id;
  if (!id) return fail(400, MSG.distinctIdRequired);
  const b = req.body;
  if (!isObject(b) || !isObject(b.user_preference)) return fail(400, 'user_preference is required!');
  const changes: Change[] = [];
  const keys = Object.keys(b.user_preference);
  if (keys.length === 0) return fail(400, 'user_preference is required!');
  for (const k of keys) {
    const err = collectChanges(ctx, k, b.user_preference[k], changes);
    if (err) return err;
  }
  applyChanges(ctx, id, changes);
  return { status: 200, body: updatedBody(ctx, id, keys) };
}

/** POST /{WSID}/{version}/subscriptions/list/{subscription_id}/user (update_subscription_single). */
export function postPreference(ctx: Ctx, req: ApiRequest, params: Params): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.distinct_id !== 'string' || b.distinct_id === '') return fail(400, MSG.distinctIdRequired);
  if (typeof b.channel !== 'string') return fail(400, 'channel is required!');
  if (typeof b.status !== 'string') return fail(400, 'status is required!');
  const topicId = params.subscription_id!;
  const changes: Change[] = [];
  const err = collectChanges(ctx, topicId, { [b.channel]: b.status }, changes);
  if (err) return err;
  applyChanges(ctx, b.distinct_id, changes);
  return { status: 200, body: updatedBody(ctx, b.distinct_id, [topicId]) };
}

/**
 * Preferences follow a profile through rename and merge: on merge the target's explicit
 * choices win and the source's fill the gaps (README, "Merge").
 */
export function movePreferences(ctx: Ctx, fromId: string, toId: string): void {
  const from = ctx.space.preferences.get(fromId);
  if (!from) return;
  ctx.space.preferences.delete(fromId);
  const to = ctx.space.preferences.get(toId);
  if (!to) {
    ctx.space.preferences.set(toId, from);
    return;
  }
  for (const [ch, e] of Object.entries(from.all)) if (!(ch in to.all)) (to.all as Record<string, PrefEntry>)[ch] = e;
  for (const [topic, map] of Object.entries(from.topics)) {
    const dst = (to.topics[topic] ??= {}) as Record<string, PrefEntry>;
    for (const [ch, e] of Object.entries(map)) if (!(ch in dst)) dst[ch] = e as PrefEntry;
  }
}
