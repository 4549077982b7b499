/**
 * Fyno responses → domain types. Liberal in what it accepts: the spec's own examples miss
 * fields its schemas require (fyno-api/README.md), so every field is optional here, unknown
 * fields are ignored, and values of an unexpected type are dropped rather than thrown on.
 * Spec: ../shared/fyno-api/fyno-notification-events-openapi.yml (`components/responses`).
 */
import type {
  Accepted,
  ActualPreferences,
  ActualProfile,
  ChannelConfig,
  Channels,
  PreferenceChannel,
  PreferenceStatus,
  ProfileStatus,
  PropertyScalar,
  PropertyValue,
  Suppression,
  Token,
  Topic,
} from './types.js';
import { PREFERENCE_CHANNELS, SINGLE_CHANNELS, TOKEN_CHANNELS } from './types.js';
import { keyedRecord, parseJsonExact } from '../plan/normalize.js';

/** A number in a response that a double does not hold as Fyno wrote it (issue #14). */
export class InexactNumeral {
  constructor(
    readonly numeral: string,
    readonly value: number,
  ) {}
}

// ---- wire shapes received (all optional: see header) ------------------------------------------

/** `ProfileFetched`. `properties` and `channel_raw` are required by the schema but undeclared. */
export interface ProfileResponse {
  distinct_id?: string;
  name?: string | null;
  status?: 0 | 1 | string | boolean | null;
  timezone?: string | null;
  timezone_offset?: string | null;
  country_code?: string | null;
  created_at?: string;
  updated_at?: string;
  profile_id?: string;
  id_list?: unknown[];
  version?: string;
  channel?: Record<string, unknown>;
  channel_raw?: unknown;
  properties?: Record<string, unknown> | null;
}

/** One item of a section in `PrefProfileFetched.result`. */
export interface TopicResponse {
  subscription_id?: string;
  name?: string;
  description?: string;
  channel_config?: Record<string, string>;
  preference?: Record<string, string>;
  is_global_opted_out?: Record<string, boolean>;
  notification_events?: unknown[];
  updated_at?: Record<string, string>;
}

/** `PrefProfileFetched`: `result` maps a section name to its topics. */
export interface PreferencesResponse {
  meta?: { all?: { preference?: Record<string, string>; updated_at?: Record<string, string> } };
  result?: Record<string, TopicResponse[]> | TopicResponse[];
}

/** `PropertyUpdateRequestAccepted` / `…Bulk`. */
export interface AcceptedResponse {
  request_id?: string;
  batch?: Record<string, string>[];
}

/** `fetch_suppression_list` items. */
export type SuppressionResponse = Partial<Record<keyof Suppression, unknown>>;

/** Error bodies (`APIKeyInvalid`, `DistinctIDDoesNotExist`, …): `{ _message, status: 'error' }`. */
export interface ErrorResponse {
  _message?: string;
  status?: string;
}

// ---- small readers -----------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function isPreferenceChannel(k: string): k is PreferenceChannel {
  return (PREFERENCE_CHANNELS as readonly string[]).includes(k);
}

/** Profile and token status: 1/0 per spec; also tolerates "1", "active", true and friends. */
export function statusFromWire(v: unknown): ProfileStatus {
  if (v === 0 || v === '0' || v === false || v === 'inactive') return 'inactive';
  // Absent or null: the spec's default is 1 (`version_profiles_body.status`).
  return 'active';
}

function tokenStatus(v: unknown): 0 | 1 | undefined {
  if (v === undefined || v === null) return undefined;
  return statusFromWire(v) === 'active' ? 1 : 0;
}

function parseToken(v: unknown): Token | undefined {
  if (typeof v === 'string') return v === '' ? undefined : { token: v };
  if (!isRecord(v)) return undefined;
  const token = str(v.token);
  if (token === undefined) return undefined;
  const out: Token = { token };
  // `integration_id` null means "all integrations" (spec `inline_response_200_channel_push`).
  const integration = str(v.integration_id);
  if (integration !== undefined) out.integration_id = integration;
  const status = tokenStatus(v.status);
  if (status !== undefined) out.status = status;
  return out;
}

/**
 * A single destination. The spec sends a string; fyno-user-profile-schema.json describes
 * `{ channel_data: { number | email } }` objects, so those are read too.
 */
function parseDestination(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (!isRecord(v)) return undefined;
  const inner = isRecord(v.channel_data) ? v.channel_data : v;
  for (const k of ['number', 'email', 'value', 'destination', 'id', 'user_id']) {
    const s = str(inner[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Wire `channel` → domain `channels`. Unknown channel names are ignored. */
export function channelsFromWire(raw: unknown): Channels {
  const out: Channels = {};
  if (!isRecord(raw)) return out;
  for (const name of SINGLE_CHANNELS) {
    const v = parseDestination(raw[name]);
    if (v !== undefined) out[name] = v;
  }
  for (const name of TOKEN_CHANNELS) {
    const v = raw[name];
    // Tolerate a single token object or string where a list is documented.
    const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
    const tokens = list.map(parseToken).filter((t): t is Token => t !== undefined);
    if (tokens.length > 0) out[name] = tokens;
  }
  return out;
}

function propertyScalar(v: unknown): PropertyScalar | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof InexactNumeral) return v.value;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/**
 * Properties as stored. `null` means unset (`/profiles/properties/unset` "nullifies"), so it
 * is dropped; nested objects are not a Fyno property type and are dropped too. The result has no
 * prototype: a property named `constructor` or `__proto__` is data like any other (issue #14).
 */
export function propertiesFromWire(raw: unknown, inexact?: Record<string, string>): Record<string, PropertyValue> {
  const out = keyedRecord<PropertyValue>();
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    const odd = Array.isArray(v) ? v.find((x) => x instanceof InexactNumeral) : v;
    if (inexact && odd instanceof InexactNumeral) inexact[k] = odd.numeral;
    if (Array.isArray(v)) {
      out[k] = v.map(propertyScalar).filter((x): x is PropertyScalar => x !== undefined);
      continue;
    }
    const s = propertyScalar(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

// ---- parsers -----------------------------------------------------------------------------------

/**
 * `GET /profiles/{distinct_id}` 200 body → `ActualProfile`. `requestedId` fills in a missing
 * `distinct_id`. Reads `channel` (spec), falling back to `channels`.
 */
export function parseProfile(body: unknown, requestedId: string): ActualProfile {
  const b: Record<string, unknown> = isRecord(body) ? body : {};
  const inexact = keyedRecord<string>();
  const profile: ActualProfile = {
    distinct_id: str(b.distinct_id) ?? requestedId,
    status: statusFromWire(b.status),
    channels: channelsFromWire(b.channel ?? b.channels),
    properties: propertiesFromWire(b.properties, inexact),
    server: {},
  };
  if (Object.keys(inexact).length > 0) profile.inexact = inexact;
  const name = str(b.name);
  if (name !== undefined) profile.name = name;
  const timezone = str(b.timezone);
  if (timezone !== undefined) profile.timezone = timezone;
  const server = profile.server;
  const profileId = str(b.profile_id);
  if (profileId !== undefined) server.profile_id = profileId;
  const created = str(b.created_at);
  if (created !== undefined) server.created_at = created;
  const updated = str(b.updated_at);
  if (updated !== undefined) server.updated_at = updated;
  const country = str(b.country_code);
  if (country !== undefined) server.country_code = country;
  const offset = str(b.timezone_offset);
  if (offset !== undefined) server.timezone_offset = offset;
  if (Array.isArray(b.id_list)) server.id_list = b.id_list.map(str).filter((x): x is string => x !== undefined);
  return profile;
}

function statusMap(raw: unknown): Partial<Record<PreferenceChannel, PreferenceStatus>> {
  const out: Partial<Record<PreferenceChannel, PreferenceStatus>> = {};
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (isPreferenceChannel(k) && (v === 'opted-in' || v === 'opted-out')) out[k] = v;
  }
  return out;
}

function configMap(raw: unknown): Partial<Record<PreferenceChannel, ChannelConfig>> {
  const out: Partial<Record<PreferenceChannel, ChannelConfig>> = {};
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (isPreferenceChannel(k) && (v === 'on' || v === 'off' || v === 'required')) out[k] = v;
  }
  return out;
}

function parseTopic(raw: unknown, section: string): Topic | undefined {
  if (!isRecord(raw)) return undefined;
  const id = str(raw.subscription_id) ?? str(raw.id);
  if (id === undefined) return undefined;
  const topic: Topic = {
    subscription_id: id,
    name: str(raw.name) ?? id,
    section,
    channel_config: configMap(raw.channel_config),
    preference: statusMap(raw.preference),
  };
  const description = str(raw.description);
  if (description !== undefined) topic.description = description;
  return topic;
}

/**
 * `GET /subscriptions/preference` 200 body → `ActualPreferences`. `result` is an object of
 * sections (the schema names one `Section1`); each section's topics get `section` set.
 * A bare array of topics is accepted with section `''`.
 */
export function parsePreferences(body: unknown): ActualPreferences {
  const b: Record<string, unknown> = isRecord(body) ? body : {};
  const meta = isRecord(b.meta) ? b.meta : {};
  const all = isRecord(meta.all) ? statusMap(meta.all.preference) : {};
  const topics: Topic[] = [];
  const result = b.result;
  const sections: [string, unknown][] = Array.isArray(result) ? [['', result]] : isRecord(result) ? Object.entries(result) : [];
  for (const [section, list] of sections) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const t = parseTopic(raw, section);
      if (t !== undefined) topics.push(t);
    }
  }
  return { all, topics };
}

/** 202 body of the property endpoints. A missing `request_id` becomes `''` (accepted all the same). */
export function parseAccepted(body: unknown): Accepted {
  const id = isRecord(body) ? str(body.request_id) : undefined;
  return { request_id: id ?? '' };
}

/** `GET /{WSID}/suppressions` 200: an array (spec); `{ data | suppressions | result: [...] }` tolerated. */
export function parseSuppressions(body: unknown): Suppression[] {
  let list: unknown = body;
  if (isRecord(body)) list = body.data ?? body.suppressions ?? body.result;
  if (!Array.isArray(list)) return [];
  const out: Suppression[] = [];
  for (const raw of list) {
    if (!isRecord(raw)) continue;
    const id = str(raw._id);
    if (id === undefined) continue;
    const s: Suppression = { _id: id, channel: str(raw.channel) ?? '' };
    for (const k of ['distinct_id', 'destination', 'description', 'created_at', 'expiry_ts'] as const) {
      const v = str(raw[k]);
      if (v !== undefined) s[k] = v;
    }
    out.push(s);
  }
  return out;
}

/**
 * Fyno's human message from an error body (`_message`; `message`/`error` tolerated), or a
 * one-line excerpt of a non-JSON body. Always a single line.
 */
export function parseErrorMessage(body: unknown): string | undefined {
  let msg: string | undefined;
  if (isRecord(body)) msg = str(body._message) ?? str(body.message) ?? str(body.error);
  else if (typeof body === 'string') msg = body;
  if (msg === undefined) return undefined;
  const line = msg.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/**
 * Whether an error answer to `GET /profiles/{distinct_id}` means "no such profile". Fyno
 * answers 400 `incorrect/non existing distinct_id provided` (spec `DistinctIDDoesNotExist`),
 * not 404; 404 is accepted too. A 400 with another message is a real error.
 */
export function isMissingProfileAnswer(status: number, fynoMessage: string | undefined): boolean {
  if (status === 404) return true;
  if (status !== 400) return false;
  if (fynoMessage === undefined) return true;
  return /non[- ]?existing|does ?n[o']t exist|not exist|not found|incorrect.*distinct_?id/i.test(fynoMessage);
}

/**
 * Parse a response body text: JSON when it is JSON, the text otherwise, `undefined` when empty.
 * A number a double does not hold as sent becomes an `InexactNumeral` (its nearest double and
 * its text), so that it is reported instead of silently rounded (issue #14).
 */
export function parseBodyText(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseJsonExact(text, (numeral, value) => new InexactNumeral(numeral, value));
  } catch {
    return text;
  }
}
