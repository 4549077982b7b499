/**
 * Seeding (admin `POST /_emulator/seed`, `--seed-file`): profiles, topics, preferences, declared
 * events and OTPs loaded in one call,
 * through the same handlers as the API so that seeded data obeys the same rules.
 */
import { CHANNELS, PREFERENCE_CHANNELS, type ChannelName, type PropertyValue } from '../types.js';
import { isObject, type Reply } from './api-common.js';
import { handleApi } from './core.js';
import { sameSuppression, suppressionKey } from './api-misc.js';
import { applyPropertyOp, checkAction } from './api-properties.js';
import { issueOtp } from './api-verify.js';
import type { Env, EventDef, FynoStore, OtpRecord, TopicDef } from './store.js';

/**
 * `profiles`: bodies of `POST /profiles` (version_profiles_body) plus an optional `properties`
 * object, applied at once (no delay). A profile that exists is replaced. `topics` replace the
 * space's topics. `preferences`: distinct_id → `user_preference` as in `PUT
 * /subscriptions/preference`.
 */
export interface SeedInput {
  workspace?: string;
  env?: Env;
  profiles?: unknown[];
  topics?: unknown[];
  preferences?: Record<string, unknown>;
  /**
   * The space's notification events, replacing any declared before: names or `{name,
   * channels?}`. Once declared, other event names get 400 EventNameDoesNotExist; `null` goes
   * back to accepting any name.
   */
  events?: unknown[] | null;
  /** OTPs to validate with `POST /verify/validate`: `{otp, destination?, request_id?}`. */
  otps?: unknown[];
  /**
   * Suppression list entries of the workspace: bodies of `POST /{WSID}/suppressions`
   * (add_suppression_list), each with an optional `expiry_ts` (ISO 8601), which the API cannot
   * set but `fetch_suppression_list` shows: an entry past it is no longer listed.
   */
  suppressions?: unknown[];
}

const CONFIGS = new Set(['on', 'off', 'required']);
const PREF_CHANNELS = new Set<string>(PREFERENCE_CHANNELS);
const CHANNEL_NAMES = new Set<string>(CHANNELS);

function parseTopic(raw: unknown, i: number): TopicDef {
  const where = `topics[${i}]`;
  if (!isObject(raw)) throw new Error(`${where} must be an object`);
  const id = raw.subscription_id;
  if (typeof id !== 'string' || id === '' || id === 'all') throw new Error(`${where}.subscription_id must be a non-empty string other than 'all'`);
  const cfg = raw.channel_config ?? {};
  if (!isObject(cfg)) throw new Error(`${where}.channel_config must be an object`);
  for (const [ch, v] of Object.entries(cfg)) {
    if (!PREF_CHANNELS.has(ch)) throw new Error(`${where}.channel_config: unknown channel '${ch}'`);
    if (typeof v !== 'string' || !CONFIGS.has(v)) throw new Error(`${where}.channel_config.${ch} must be on, off or required`);
  }
  const events = Array.isArray(raw.notification_events) ? raw.notification_events : [];
  return {
    subscription_id: id,
    name: typeof raw.name === 'string' ? raw.name : id,
    section: typeof raw.section === 'string' && raw.section !== '' ? raw.section : 'Section1',
    description: typeof raw.description === 'string' ? raw.description : '',
    channel_config: cfg as TopicDef['channel_config'],
    notification_events: events.filter(isObject).map((e) => ({ event_id: String(e.event_id ?? ''), event_name: String(e.event_name ?? '') })),
  };
}

function parseEvent(raw: unknown, i: number): EventDef {
  const where = `events[${i}]`;
  if (typeof raw === 'string' && raw !== '') return { name: raw };
  if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '') throw new Error(`${where} must be an event name or {name, channels?}`);
  if (raw.channels === undefined) return { name: raw.name };
  if (!Array.isArray(raw.channels) || !raw.channels.every((c) => typeof c === 'string' && CHANNEL_NAMES.has(c))) {
    throw new Error(`${where}.channels must be a list of channels (${[...CHANNEL_NAMES].join(', ')})`);
  }
  return { name: raw.name, channels: raw.channels as ChannelName[] };
}

function parseOtp(raw: unknown, i: number, now: string): OtpRecord {
  const where = `otps[${i}]`;
  if (!isObject(raw)) throw new Error(`${where} must be an object {otp, destination?, request_id?}`);
  const otp = typeof raw.otp === 'number' && Number.isFinite(raw.otp) ? String(raw.otp) : raw.otp;
  if (typeof otp !== 'string' || otp === '') throw new Error(`${where}.otp must be a non-empty string or a number`);
  const rec: OtpRecord = { otp, issued_at: now };
  for (const k of ['destination', 'request_id'] as const) {
    if (raw[k] === undefined) continue;
    if (typeof raw[k] !== 'string' || raw[k] === '') throw new Error(`${where}.${k} must be a non-empty string`);
    rec[k] = raw[k];
  }
  if (rec.destination === undefined && rec.request_id === undefined) throw new Error(`${where} needs a destination or a request_id`);
  return rec;
}

function check(reply: Reply, what: string): void {
  if (reply.status >= 400) {
    const msg = isObject(reply.body) && typeof reply.body._message === 'string' ? reply.body._message : `status ${reply.status}`;
    throw new Error(`${what}: ${msg}`);
  }
}

/** Apply a seed to the store. Throws an Error whose message names the bad item. */
export function seedStore(store: FynoStore, input: SeedInput, now: string, defaultWorkspace: string | undefined): { profiles: number } {
  if (!isObject(input as unknown)) throw new Error('seed body must be a JSON object');
  if (input.workspace !== undefined && (typeof input.workspace !== 'string' || input.workspace === '')) throw new Error('workspace must be a non-empty string');
  const workspace: string = input.workspace ?? defaultWorkspace ?? 'FYEMULATOR';
  const env: Env = input.env ?? 'live';
  if (env !== 'live' && env !== 'test') throw new Error("env must be 'live' or 'test'");
  const space = store.space(workspace, env);
  if (input.topics !== undefined) {
    if (!Array.isArray(input.topics)) throw new Error('topics must be an array');
    const topics = input.topics.map(parseTopic);
    const ids = new Set<string>();
    for (const t of topics) {
      if (ids.has(t.subscription_id)) throw new Error(`duplicate topic '${t.subscription_id}'`);
      ids.add(t.subscription_id);
    }
    space.topics = topics;
    store.touch();
  }
  let n = 0;
  if (input.profiles !== undefined) {
    if (!Array.isArray(input.profiles)) throw new Error('profiles must be an array');
    input.profiles.forEach((raw, i) => {
      if (!isObject(raw)) throw new Error(`profiles[${i}] must be an object`);
      const { properties, ...body } = raw;
      // Checked before anything of the item is written, as `$set` checks them (a null or an
      // object reached applyPropertyOp and failed there with a TypeError, the profile created).
      if (properties !== undefined) {
        if (!isObject(properties)) throw new Error(`profiles[${i}].properties must be an object`);
        const bad = Object.keys(properties).length > 0 ? checkAction('$set', properties) : null;
        if (bad) throw new Error(`profiles[${i}].properties: ${String((bad.body as { _message?: unknown })._message)}`);
      }
      const id = body.distinct_id;
      if (typeof id === 'string') {
        space.profiles.delete(id);
        space.preferences.delete(id);
      }
      check(handleApi(store, { method: 'POST', segments: [workspace, env, 'profiles'], query: {}, body }, now), `profiles[${i}]`);
      if (properties !== undefined) {
        applyPropertyOp(
          store,
          { request_id: 'seed', workspace, env, accepted_at: now, items: [{ distinct_id: id as string, action: { $set: properties as Record<string, PropertyValue> } }] },
          now,
        );
      }
      n += 1;
    });
  }
  if (input.preferences !== undefined) {
    if (!isObject(input.preferences)) throw new Error('preferences must be an object of distinct_id: user_preference');
    for (const [id, up] of Object.entries(input.preferences)) {
      const req = { method: 'PUT', segments: [workspace, env, 'subscriptions', 'preference'], query: { distinct_id: id }, body: { user_preference: up } };
      check(handleApi(store, req, now), `preferences.${id}`);
    }
  }
  if (input.events !== undefined) {
    if (input.events === null) space.declaredEvents = undefined;
    else if (!Array.isArray(input.events)) throw new Error('events must be an array of event names or {name, channels?}');
    else space.declaredEvents = input.events.map(parseEvent);
    store.touch();
  }
  if (input.otps !== undefined) {
    if (!Array.isArray(input.otps)) throw new Error('otps must be an array of {otp, destination?, request_id?}');
    for (const o of input.otps.map((raw, i) => parseOtp(raw, i, now))) issueOtp(space, o);
    store.touch();
  }
  if (input.suppressions !== undefined) {
    if (!Array.isArray(input.suppressions)) throw new Error('suppressions must be an array of {channel, destination | distinct_id, description?, expiry_ts?}');
    input.suppressions.forEach((raw, i) => {
      if (!isObject(raw)) throw new Error(`suppressions[${i}] must be an object`);
      const { expiry_ts, ...body } = raw;
      if (expiry_ts !== undefined && (typeof expiry_ts !== 'string' || Number.isNaN(Date.parse(expiry_ts)))) throw new Error(`suppressions[${i}].expiry_ts must be an ISO 8601 date-time`);
      check(handleApi(store, { method: 'POST', segments: [workspace, 'suppressions'], query: {}, body }, now), `suppressions[${i}]`);
      if (typeof expiry_ts === 'string') {
        // The entry the body names (as the add found or made it: distinct_id wins), which is not
        // the last of the list when it existed already.
        sameSuppression(store.suppressionList(workspace), String(body.channel), suppressionKey(body)!)!.expiry_ts = expiry_ts;
      }
    });
  }
  return { profiles: n };
}
