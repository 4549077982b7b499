/**
 * Fyno's wire format: one pure request builder per `FynoApi` method, and the wire shapes
 * (`…Body`) they send. Response parsers (wire → domain) live in wire-parse.ts and are
 * re-exported here, so callers import one module.
 *
 * Every rule cites ../shared/fyno-api/fyno-notification-events-openapi.yml (the "spec").
 * Nothing here does I/O: http-client.ts sends these specs, dry-run.ts records them.
 */
import type {
  ChannelName,
  Channels,
  DistinctId,
  PreferenceChannel,
  PreferenceStatus,
  PreferenceUpdate,
  ProfileCreate,
  ProfileStatus,
  ProfileUpdate,
  PropertyActions,
  PropertyBatchItem,
  PropertyScalar,
  PropertyValue,
  SuppressionAdd,
  SuppressionDelete,
  Target,
  Token,
} from './types.js';
import { SINGLE_CHANNELS, TOKEN_CHANNELS } from './types.js';

export * from './wire-parse.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP request, described without sending it. */
export interface RequestSpec {
  method: HttpMethod;
  /** Relative to the base URL, path segments percent-encoded, e.g. `/FY1/live/profiles/cust%201`. */
  path: string;
  /** The spec's path template, e.g. `/{WSID}/{version}/profiles/{distinct_id}` (metrics, logs). */
  route: string;
  query?: Record<string, string>;
  body?: unknown;
  /**
   * Repeating the request leaves Fyno in the same state as sending it once. Reads always are.
   * Advisory for callers deciding `CallOptions.idempotent`; the client itself retries a write
   * only when the caller says so.
   */
  idempotentByNature: boolean;
}

// ---- wire shapes sent (spec `components/schemas`) -------------------------------------------

/** `WSIDversionprofiles_channel_push` / `…_inapp`: `status` is 1 (active, default) or 0. */
export interface TokenBody {
  token: string;
  integration_id?: string;
  status?: 0 | 1;
}

/** `WSIDversionprofiles_channel`: the wire name is `channel` (singular), domain `channels`. */
export interface ChannelBody {
  sms?: string;
  whatsapp?: string;
  voice?: string;
  email?: string;
  slack?: string;
  discord?: string;
  teams?: string;
  push?: TokenBody[];
  inapp?: TokenBody[];
}

/** `version_profiles_body` (POST /profiles). */
export interface ProfileCreateBody {
  distinct_id: string;
  name?: string;
  status?: 0 | 1;
  timezone?: string;
  channel?: ChannelBody;
}

/** `profiles_distinct_id_body` without `channel` (which replaces every channel) or `distinct_id`. */
export interface ProfileUpdateBody {
  name?: string;
  status?: 0 | 1;
  timezone?: string;
}

/** `profiles_delete_body`. */
export interface ProfilesDeleteBody {
  distinct_id: string[];
}

/** `distinct_id_channel_body` (PATCH /profiles/{distinct_id}/channel). */
export interface ChannelPatchBody {
  channel: ChannelBody;
}

/**
 * `channel_delete_body` is a `oneOf`: option 1 `{channel: [...]}` deletes whole channels;
 * option 2 requires *both* `push` and `inapp` arrays (fyno-api/README.md), so the unused one
 * is sent empty.
 */
export type ChannelDeleteBody = { channel: ChannelName[] } | { push: string[]; inapp: string[] };

/** `update_subscription_multiple`: keys are subscription ids or `all`. */
export interface PreferenceUpdateBody {
  user_preference: PreferenceUpdate;
}

/** `update_subscription_single`. */
export interface PreferenceSingleBody {
  distinct_id: string;
  channel: PreferenceChannel;
  status: PreferenceStatus;
}

/** Bodies of the single property endpoints: `set_user_property`, `…_once`, `increment_…`, … */
export type PropertyBody = { distinct_id: string } & PropertyActions;

/** `user_property_bulk`. */
export interface PropertyBatchBody {
  batch: PropertyBatchItem[];
}

/** `add_suppression_list` (a `oneOf` on `distinct_id` | `destination`). */
export type SuppressionAddBody = SuppressionAdd;

// ---- helpers ---------------------------------------------------------------------------------

/**
 * Percent-encode one path segment. Beyond `encodeURIComponent`, RFC 3986 sub-delims are
 * encoded too. `.` and `..` cannot be addressed at all: URL parsers collapse them (also in
 * `%2E` form), so such an id is refused rather than silently sent to another path.
 */
export function encodeSegment(s: string): string {
  if (s === '' || s === '.' || s === '..') {
    throw new RangeError(`'${s}' cannot be used as a path segment`);
  }
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function versionBase(t: Target): string {
  return `/${encodeSegment(t.workspace)}/${t.env}`;
}

export function statusToWire(s: ProfileStatus): 0 | 1 {
  return s === 'active' ? 1 : 0;
}

function tokenToWire(t: Token): TokenBody {
  const out: TokenBody = { token: t.token };
  if (t.integration_id !== undefined) out.integration_id = t.integration_id;
  if (t.status !== undefined) out.status = t.status;
  return out;
}

/** Domain `channels` → wire `channel`; keys in a fixed order so bodies are stable. */
export function channelsToWire(c: Channels): ChannelBody {
  const out: ChannelBody = {};
  for (const name of SINGLE_CHANNELS) {
    const v = c[name];
    if (v !== undefined) out[name] = v;
  }
  for (const name of TOKEN_CHANNELS) {
    const v = c[name];
    if (v !== undefined) out[name] = v.map(tokenToWire);
  }
  return out;
}

function hasTokens(c: Channels): boolean {
  return TOKEN_CHANNELS.some((n) => (c[n]?.length ?? 0) > 0);
}

// ---- profiles ----------------------------------------------------------------------------------

/** GET /{WSID}/{version}/profiles/{distinct_id}. */
export function buildGetProfile(t: Target, id: DistinctId): RequestSpec {
  return {
    method: 'GET',
    path: `${versionBase(t)}/profiles/${encodeSegment(id)}`,
    route: '/{WSID}/{version}/profiles/{distinct_id}',
    idempotentByNature: true,
  };
}

/** POST /{WSID}/{version}/profiles. A repeat answers 400 "already exists": not idempotent. */
export function buildCreateProfile(t: Target, p: ProfileCreate): RequestSpec {
  const body: ProfileCreateBody = { distinct_id: p.distinct_id };
  if (p.name !== undefined) body.name = p.name;
  if (p.status !== undefined) body.status = statusToWire(p.status);
  if (p.timezone !== undefined) body.timezone = p.timezone;
  if (p.channels !== undefined) body.channel = channelsToWire(p.channels);
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles`,
    route: '/{WSID}/{version}/profiles',
    body,
    idempotentByNature: false,
  };
}

/**
 * PUT /{WSID}/{version}/profiles/{distinct_id}. Never sends `channel`: the spec says a
 * `channel` object replaces all channel data (`WSIDversionprofilesdistinct_id_channel`).
 */
export function buildUpdateProfile(t: Target, id: DistinctId, f: ProfileUpdate): RequestSpec {
  const body: ProfileUpdateBody = {};
  if (f.name !== undefined) body.name = f.name;
  if (f.status !== undefined) body.status = statusToWire(f.status);
  if (f.timezone !== undefined) body.timezone = f.timezone;
  return {
    method: 'PUT',
    path: `${versionBase(t)}/profiles/${encodeSegment(id)}`,
    route: '/{WSID}/{version}/profiles/{distinct_id}',
    body,
    idempotentByNature: true,
  };
}

/** POST /{WSID}/{version}/profiles/delete. A repeat answers 400 "Cannot delete non existing user". */
export function buildDeleteProfiles(t: Target, ids: DistinctId[]): RequestSpec {
  const body: ProfilesDeleteBody = { distinct_id: [...ids] };
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles/delete`,
    route: '/{WSID}/{version}/profiles/delete',
    body,
    idempotentByNature: false,
  };
}

/** PATCH /{WSID}/{version}/profiles/{source}/merge/{target}: the spec defines no request body. */
export function buildMergeProfile(t: Target, source: DistinctId, target: DistinctId): RequestSpec {
  return {
    method: 'PATCH',
    path: `${versionBase(t)}/profiles/${encodeSegment(source)}/merge/${encodeSegment(target)}`,
    route: '/{WSID}/{version}/profiles/{source_distinct_id}/merge/{target_distinct_id}',
    idempotentByNature: false,
  };
}

// ---- channels ----------------------------------------------------------------------------------

/**
 * PATCH /{WSID}/{version}/profiles/{distinct_id}/channel: an update for single-destination
 * channels, an *insert* for push/inapp tokens (spec description) — so idempotent only
 * without tokens.
 */
export function buildUpsertChannels(t: Target, id: DistinctId, channels: Channels): RequestSpec {
  const body: ChannelPatchBody = { channel: channelsToWire(channels) };
  return {
    method: 'PATCH',
    path: `${versionBase(t)}/profiles/${encodeSegment(id)}/channel`,
    route: '/{WSID}/{version}/profiles/{distinct_id}/channel',
    body,
    idempotentByNature: !hasTokens(channels),
  };
}

/** POST …/channel/delete, option 1 (`channel_delete_body`): whole channels. */
export function buildDeleteChannels(t: Target, id: DistinctId, channels: ChannelName[]): RequestSpec {
  const body: ChannelDeleteBody = { channel: [...channels] };
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles/${encodeSegment(id)}/channel/delete`,
    route: '/{WSID}/{version}/profiles/{distinct_id}/channel/delete',
    body,
    idempotentByNature: false,
  };
}

/** POST …/channel/delete, option 2: specific tokens; both arrays are required by the spec. */
export function buildDeleteTokens(t: Target, id: DistinctId, tokens: { push?: string[]; inapp?: string[] }): RequestSpec {
  const body: ChannelDeleteBody = { push: [...(tokens.push ?? [])], inapp: [...(tokens.inapp ?? [])] };
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles/${encodeSegment(id)}/channel/delete`,
    route: '/{WSID}/{version}/profiles/{distinct_id}/channel/delete',
    body,
    idempotentByNature: false,
  };
}

// ---- preferences -------------------------------------------------------------------------------

/** GET /{WSID}/{version}/subscriptions/preference?distinct_id= (a query parameter, not a path one). */
export function buildGetPreferences(t: Target, id: DistinctId): RequestSpec {
  return {
    method: 'GET',
    path: `${versionBase(t)}/subscriptions/preference`,
    route: '/{WSID}/{version}/subscriptions/preference',
    query: { distinct_id: id },
    idempotentByNature: true,
  };
}

/** PUT /{WSID}/{version}/subscriptions/preference?distinct_id= with `user_preference`. */
export function buildSetPreferences(t: Target, id: DistinctId, update: PreferenceUpdate): RequestSpec {
  const body: PreferenceUpdateBody = { user_preference: update };
  return {
    method: 'PUT',
    path: `${versionBase(t)}/subscriptions/preference`,
    route: '/{WSID}/{version}/subscriptions/preference',
    query: { distinct_id: id },
    body,
    idempotentByNature: true,
  };
}

/** POST /{WSID}/{version}/subscriptions/list/{subscription_id}/user (`all` = global). */
export function buildSetPreference(
  t: Target,
  id: DistinctId,
  topic: string,
  channel: PreferenceChannel,
  status: PreferenceStatus,
): RequestSpec {
  const body: PreferenceSingleBody = { distinct_id: id, channel, status };
  return {
    method: 'POST',
    path: `${versionBase(t)}/subscriptions/list/${encodeSegment(topic)}/user`,
    route: '/{WSID}/{version}/subscriptions/list/{subscription_id}/user',
    body,
    idempotentByNature: true,
  };
}

// ---- properties --------------------------------------------------------------------------------

/** Per action: endpoint suffix, and whether a repeat is harmless (PRODUCT.md: $add/$append are not). */
const PROPERTY_ENDPOINTS = {
  $set: { suffix: 'set', idempotent: true },
  $once: { suffix: 'set-once', idempotent: true },
  $add: { suffix: 'numerical-add', idempotent: false },
  $append: { suffix: 'list-append', idempotent: false },
  $remove: { suffix: 'list-remove', idempotent: true },
  $unset: { suffix: 'unset', idempotent: true },
} as const satisfies Record<keyof PropertyActions, { suffix: string; idempotent: boolean }>;

function buildProperty<K extends keyof PropertyActions>(
  t: Target,
  id: DistinctId,
  action: K,
  value: NonNullable<PropertyActions[K]>,
): RequestSpec {
  const { suffix, idempotent } = PROPERTY_ENDPOINTS[action];
  // distinct_id first: the spec's examples order it so, and it reads well in dry-run output.
  const body = { distinct_id: id, [action]: value } as PropertyBody;
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles/properties/${suffix}`,
    route: `/{WSID}/{version}/profiles/properties/${suffix}`,
    body,
    idempotentByNature: idempotent,
  };
}

/** POST …/profiles/properties/set (`$set`). Answers 202: applied asynchronously. */
export function buildSetProperties(t: Target, id: DistinctId, values: Record<string, PropertyValue>): RequestSpec {
  return buildProperty(t, id, '$set', values);
}
/** POST …/profiles/properties/set-once (`$once`). */
export function buildSetPropertiesOnce(t: Target, id: DistinctId, values: Record<string, PropertyValue>): RequestSpec {
  return buildProperty(t, id, '$once', values);
}
/** POST …/profiles/properties/numerical-add (`$add`). Not idempotent. */
export function buildAddToProperties(t: Target, id: DistinctId, values: Record<string, number>): RequestSpec {
  return buildProperty(t, id, '$add', values);
}
/** POST …/profiles/properties/list-append (`$append`, one value per key). Not idempotent. */
export function buildAppendToProperties(t: Target, id: DistinctId, values: Record<string, PropertyScalar>): RequestSpec {
  return buildProperty(t, id, '$append', values);
}
/** POST …/profiles/properties/list-remove (`$remove`, one value per key). */
export function buildRemoveFromProperties(t: Target, id: DistinctId, values: Record<string, PropertyScalar>): RequestSpec {
  return buildProperty(t, id, '$remove', values);
}
/** POST …/profiles/properties/unset (`$unset`: an array of keys). */
export function buildUnsetProperties(t: Target, id: DistinctId, keys: string[]): RequestSpec {
  return buildProperty(t, id, '$unset', [...keys]);
}

/** POST …/profiles/properties/batch; idempotent unless some action is `$add` or `$append`. */
export function buildBatchProperties(t: Target, items: PropertyBatchItem[]): RequestSpec {
  const body: PropertyBatchBody = { batch: items.map((i) => ({ distinct_id: i.distinct_id, action: i.action })) };
  const idempotent = items.every((i) => i.action.$add === undefined && i.action.$append === undefined);
  return {
    method: 'POST',
    path: `${versionBase(t)}/profiles/properties/batch`,
    route: '/{WSID}/{version}/profiles/properties/batch',
    body,
    idempotentByNature: idempotent,
  };
}

// ---- suppressions (workspace-wide: no `{version}` segment in the spec's paths) ---------------

/** GET /{WSID}/suppressions. */
export function buildListSuppressions(t: Target): RequestSpec {
  return {
    method: 'GET',
    path: `/${encodeSegment(t.workspace)}/suppressions`,
    route: '/{WSID}/suppressions',
    idempotentByNature: true,
  };
}

/** POST /{WSID}/suppressions. */
export function buildAddSuppression(t: Target, entry: SuppressionAdd): RequestSpec {
  const body: SuppressionAddBody = { ...entry };
  return {
    method: 'POST',
    path: `/${encodeSegment(t.workspace)}/suppressions`,
    route: '/{WSID}/suppressions',
    body,
    idempotentByNature: false,
  };
}

/** DELETE /{WSID}/suppressions?_id=|distinct_id=|destination= (query parameters, no body). */
export function buildDeleteSuppression(t: Target, which: SuppressionDelete): RequestSpec {
  const query: Record<string, string> =
    '_id' in which ? { _id: which._id } : 'distinct_id' in which ? { distinct_id: which.distinct_id } : { destination: which.destination };
  return {
    method: 'DELETE',
    path: `/${encodeSegment(t.workspace)}/suppressions`,
    route: '/{WSID}/suppressions',
    query,
    idempotentByNature: false,
  };
}

/** `path` plus its query string, as it goes on the wire. */
export function pathWithQuery(spec: Pick<RequestSpec, 'path' | 'query'>): string {
  if (!spec.query || Object.keys(spec.query).length === 0) return spec.path;
  return `${spec.path}?${new URLSearchParams(spec.query).toString()}`;
}
