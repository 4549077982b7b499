/**
 * Profile fields: validation of incoming channel data, derived fields, and the GET rendering.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { SINGLE_CHANNELS, TOKEN_CHANNELS, type Token } from '../types.js';
import { fail, hasOwn, isObject, type Reply } from './api-common.js';
import { MAX_STRING, MAX_TOKEN } from './limits.js';
import type { Env, ProfileRecord, StoredChannels } from './store.js';

const SINGLE = new Set<string>(SINGLE_CHANNELS);
const TOKENS = new Set<string>(TOKEN_CHANNELS);

/**
 * Validate a `channel` object (version_profiles_body.channel, distinct_id_channel_body.channel).
 * Single channels take a string; push/inapp an array of `{token, integration_id?, status?}`
 * (WSIDversionprofiles_channel_push). An empty string means "no destination" (README).
 */
export function parseChannels(input: unknown): StoredChannels | Reply {
  if (!isObject(input)) return fail(400, 'channel must be an object');
  const out: StoredChannels = {};
  for (const [name, value] of Object.entries(input)) {
    if (SINGLE.has(name)) {
      if (value === null || value === '') continue;
      if (typeof value !== 'string' || value.length > MAX_STRING) return fail(400, `Invalid channel data for '${name}'`);
      (out as Record<string, string>)[name] = value;
    } else if (TOKENS.has(name)) {
      if (value === null) continue;
      if (!Array.isArray(value)) return fail(400, `Invalid channel data for '${name}'`);
      const tokens: Token[] = [];
      for (const t of value) {
        const parsed = parseToken(t);
        if (!parsed) return fail(400, `Invalid channel data for '${name}'`);
        upsertToken(tokens, parsed);
      }
      (out as Record<string, Token[]>)[name] = tokens;
    } else {
      return fail(400, `Invalid channel '${name}'`);
    }
  }
  return out;
}

function parseToken(t: unknown): Token | null {
  if (!isObject(t) || typeof t.token !== 'string' || t.token === '' || t.token.length > MAX_TOKEN) return null;
  const tok: Token = { token: t.token };
  if (hasOwn(t, 'integration_id') && t.integration_id !== null) {
    if (typeof t.integration_id !== 'string' || t.integration_id.length > MAX_STRING) return null;
    tok.integration_id = t.integration_id;
  }
  if (hasOwn(t, 'status') && t.status !== null) {
    if (t.status !== 0 && t.status !== 1) return null;
    tok.status = t.status;
  }
  return tok;
}

/**
 * Insert a token, or update it in place: a token already present is not duplicated, its entry
 * is replaced by the request's token, which omits what takes the spec's default (no
 * integration_id = all integrations, no status = 1) (README, "Token insert and update").
 */
export function upsertToken(list: Token[], t: Token): void {
  const i = list.findIndex((x) => x.token === t.token);
  if (i < 0) list.push({ ...t });
  else list[i] = { ...t };
}

export function isReply(x: unknown): x is Reply {
  return isObject(x) && typeof x.status === 'number' && hasOwn(x, 'body');
}

/**
 * ISO country of the SMS number (ProfileFetched.country_code: "automatically determined based on
 * the number provided in the SMS channel"); numbers without `+` are read as international digits.
 * `""` when there is no SMS number or it does not parse.
 */
export function deriveCountryCode(sms: string | undefined): string {
  if (!sms) return '';
  const s = sms.trim().replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(s.startsWith('+') ? s : `+${s}`);
  return parsed?.country ?? '';
}

const offsetCache = new Map<string, string>();

/**
 * `+05:30`-style offset of a timezone (ProfileFetched.timezone_offset) at `at`, via Intl.
 * `null` when the timezone is unknown to Intl.
 */
export function deriveTimezoneOffset(tz: string, at: Date): string | null {
  const cacheKey = `${tz}|${at.toISOString().slice(0, 13)}`;
  const hit = offsetCache.get(cacheKey);
  if (hit !== undefined) return hit;
  let name: string | undefined;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value;
  } catch {
    return null;
  }
  if (name === undefined) return null;
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  const offset = m ? `${m[1]}:${m[2] ?? '00'}` : '+00:00';
  if (offsetCache.size > 10_000) offsetCache.clear();
  offsetCache.set(cacheKey, offset);
  return offset;
}

/** Recompute the derived fields after a write. */
export function refreshDerived(p: ProfileRecord, now: string): void {
  p.country_code = deriveCountryCode(p.channels.sms);
  p.timezone_offset = p.timezone ? (deriveTimezoneOffset(p.timezone, new Date(now)) ?? '') : '';
}

/**
 * `channel_raw` is required by ProfileFetched but undocumented; we render each channel as
 * `{ channel_data }`, the form of fyno-user-profile-schema.json (README, "channel_raw").
 */
function renderChannelRaw(c: StoredChannels): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  if (c.sms !== undefined) raw.sms = { channel_data: { number: c.sms } };
  if (c.whatsapp !== undefined) raw.whatsapp = { channel_data: { number: c.whatsapp } };
  if (c.voice !== undefined) raw.voice = { channel_data: { number: c.voice } };
  if (c.email !== undefined) raw.email = { channel_data: { email: c.email } };
  if (c.slack !== undefined) raw.slack = { channel_data: { id: c.slack } };
  if (c.discord !== undefined) raw.discord = { channel_data: { id: c.discord } };
  if (c.teams !== undefined) raw.teams = { channel_data: { id: c.teams } };
  if (c.push !== undefined) raw.push = { channel_data: c.push.map(renderToken) };
  if (c.inapp !== undefined) raw.inapp = { channel_data: c.inapp.map(renderToken) };
  return raw;
}

function renderToken(t: Token): Token {
  const out: Token = { token: t.token };
  if (t.integration_id !== undefined) out.integration_id = t.integration_id;
  out.status = t.status ?? 1;
  return out;
}

/** The body of `GET /{WSID}/{version}/profiles/{distinct_id}` (components/responses/ProfileFetched). */
export function renderProfile(p: ProfileRecord, env: Env): Record<string, unknown> {
  const channel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.channels)) {
    if (v === undefined) continue;
    channel[k] = Array.isArray(v) ? v.map(renderToken) : v;
  }
  const body: Record<string, unknown> = {
    distinct_id: p.distinct_id,
    profile_id: p.profile_id,
    status: p.status,
    timezone: p.timezone ?? '',
    timezone_offset: p.timezone_offset,
    country_code: p.country_code,
    created_at: p.created_at,
    updated_at: p.updated_at,
    channel,
    channel_raw: renderChannelRaw(p.channels),
    properties: structuredClone(p.properties),
    id_list: [...p.id_list],
    version: env,
  };
  if (p.name !== undefined) body.name = p.name;
  return body;
}

export function isValidTimezone(tz: string): boolean {
  return deriveTimezoneOffset(tz, new Date(0)) !== null;
}
