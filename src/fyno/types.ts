/**
 * Domain types for Fyno, and the `FynoApi` port.
 *
 * These are what the rest of fyno-sync sees. Wire shapes (`…Body`, `…Response`) stay inside
 * src/fyno (http-client.ts and the emulator); this file has no runtime dependencies.
 * Source of truth: ../shared/fyno-api/fyno-notification-events-openapi.yml.
 */

/** Channels that hold a single destination (PATCH /profiles/{id}/channel updates them). */
export const SINGLE_CHANNELS = ['sms', 'whatsapp', 'voice', 'email', 'slack', 'discord', 'teams'] as const;
/** Channels that hold a list of tokens (PATCH /profiles/{id}/channel *inserts* into them). */
export const TOKEN_CHANNELS = ['push', 'inapp'] as const;
export const CHANNELS = [...SINGLE_CHANNELS, ...TOKEN_CHANNELS] as const;

export type SingleChannelName = (typeof SINGLE_CHANNELS)[number];
export type TokenChannelName = (typeof TOKEN_CHANNELS)[number];
export type ChannelName = SingleChannelName | TokenChannelName;

/** Preference channels: the profile channels plus `webpush` (subscriptions API only). */
export const PREFERENCE_CHANNELS = [...CHANNELS, 'webpush'] as const;
export type PreferenceChannel = (typeof PREFERENCE_CHANNELS)[number];
export type PreferenceStatus = 'opted-in' | 'opted-out';
export type ChannelConfig = 'on' | 'off' | 'required';

export type DistinctId = string;

/** A push or in-app token. `integration_id` absent = valid for all integrations (spec). */
export interface Token {
  token: string;
  integration_id?: string;
  /** 1 active (default), 0 inactive. */
  status?: 0 | 1;
}

export type Channels = { [K in SingleChannelName]?: string } & { [K in TokenChannelName]?: Token[] };

/** Fyno property values: string (≤255 chars), number, boolean, ISO 8601 date (a string), list. */
export type PropertyScalar = string | number | boolean;
export type PropertyValue = PropertyScalar | PropertyScalar[];

export type ProfileStatus = 'active' | 'inactive';

/** A profile as read from `GET /{WSID}/{version}/profiles/{distinct_id}`. */
export interface ActualProfile {
  distinct_id: DistinctId;
  name?: string;
  status: ProfileStatus;
  timezone?: string;
  channels: Channels;
  properties: Record<string, PropertyValue>;
  /**
   * Property key → the numeral Fyno sent where a double cannot hold it (`12345678901234567890`);
   * `properties` holds the nearest double. Absent when there is none (issue #14).
   */
  inexact?: Record<string, string>;
  /** Server-managed fields: never planned, shown for information only. */
  server: {
    profile_id?: string;
    created_at?: string;
    updated_at?: string;
    country_code?: string;
    timezone_offset?: string;
    id_list?: string[];
  };
}

export interface Topic {
  subscription_id: string;
  name: string;
  section: string;
  description?: string;
  channel_config: Partial<Record<PreferenceChannel, ChannelConfig>>;
  preference: Partial<Record<PreferenceChannel, PreferenceStatus>>;
}

/** A user's preferences as read from `GET /{WSID}/{version}/subscriptions/preference`. */
export interface ActualPreferences {
  /** Global preference (`meta.all.preference`): only opted-out channels appear. */
  all: Partial<Record<PreferenceChannel, PreferenceStatus>>;
  topics: Topic[];
}

/** Preference changes keyed by subscription id or `all`. */
export type PreferenceUpdate = Record<string, Partial<Record<PreferenceChannel, PreferenceStatus>>>;

export interface ProfileCreate {
  distinct_id: DistinctId;
  name?: string;
  status?: ProfileStatus;
  timezone?: string;
  channels?: Channels;
}

/** `PUT /profiles/{id}` without `channel` (which would replace every channel). */
export interface ProfileUpdate {
  name?: string;
  status?: ProfileStatus;
  timezone?: string;
}

/** One `action` of `POST /profiles/properties/batch`, also the body of the single endpoints. */
export interface PropertyActions {
  $set?: Record<string, PropertyValue>;
  $once?: Record<string, PropertyValue>;
  $add?: Record<string, number>;
  /** One value per key per action (spec: "You can append only one value to a property at a time"). */
  $append?: Record<string, PropertyScalar>;
  $remove?: Record<string, PropertyScalar>;
  $unset?: string[];
}

export interface PropertyBatchItem {
  distinct_id: DistinctId;
  action: PropertyActions;
}

export interface Accepted {
  request_id: string;
}

export interface Suppression {
  _id: string;
  channel: string;
  distinct_id?: string;
  destination?: string;
  description?: string;
  created_at?: string;
  expiry_ts?: string;
}

export type SuppressionAdd =
  | { distinct_id: string; channel: string; description?: string }
  | { destination: string; channel: string; description?: string };

export type SuppressionDelete = { _id: string } | { distinct_id: string } | { destination: string };

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * The caller declares the request safe to repeat: only then are writes retried on 5xx,
   * timeouts and connection resets. Reads are always safe. Any write is also retried when it was
   * certainly not applied: refused with 429, or the connection was never opened (ECONNREFUSED…).
   */
  idempotent?: boolean;
}

/** Where requests go. The API key never leaves the client: not in errors, logs or plans. */
export interface Target {
  baseUrl: string;
  workspace: string;
  env: 'live' | 'test';
}

/**
 * The Fyno API port: one method per published endpoint fyno-sync uses.
 * Implemented by `HttpFynoClient` (undici → real Fyno or the emulator) and `MemoryFyno`
 * (in-process, same store and rules as the emulator). Failures throw `FynoApiError`.
 */
export interface FynoApi {
  readonly target: Target;
  /** `null` when the profile does not exist. */
  getProfile(id: DistinctId, o?: CallOptions): Promise<ActualProfile | null>;
  createProfile(profile: ProfileCreate, o?: CallOptions): Promise<void>;
  updateProfile(id: DistinctId, fields: ProfileUpdate, o?: CallOptions): Promise<void>;
  deleteProfiles(ids: DistinctId[], o?: CallOptions): Promise<void>;
  /** Source merged into target then deleted; renames source when target does not exist. */
  mergeProfile(source: DistinctId, target: DistinctId, o?: CallOptions): Promise<void>;
  /** Update single-destination channels; *insert* push/inapp tokens. */
  upsertChannels(id: DistinctId, channels: Channels, o?: CallOptions): Promise<void>;
  /** Delete whole channels. */
  deleteChannels(id: DistinctId, channels: ChannelName[], o?: CallOptions): Promise<void>;
  /** Delete specific push/inapp tokens. */
  deleteTokens(id: DistinctId, tokens: { push?: string[]; inapp?: string[] }, o?: CallOptions): Promise<void>;
  getPreferences(id: DistinctId, o?: CallOptions): Promise<ActualPreferences>;
  setPreferences(id: DistinctId, update: PreferenceUpdate, o?: CallOptions): Promise<void>;
  setPreference(id: DistinctId, topic: string, channel: PreferenceChannel, status: PreferenceStatus, o?: CallOptions): Promise<void>;
  setProperties(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted>;
  setPropertiesOnce(id: DistinctId, values: Record<string, PropertyValue>, o?: CallOptions): Promise<Accepted>;
  addToProperties(id: DistinctId, values: Record<string, number>, o?: CallOptions): Promise<Accepted>;
  appendToProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted>;
  removeFromProperties(id: DistinctId, values: Record<string, PropertyScalar>, o?: CallOptions): Promise<Accepted>;
  unsetProperties(id: DistinctId, keys: string[], o?: CallOptions): Promise<Accepted>;
  batchProperties(items: PropertyBatchItem[], o?: CallOptions): Promise<Accepted>;
  listSuppressions(o?: CallOptions): Promise<Suppression[]>;
  addSuppression(entry: SuppressionAdd, o?: CallOptions): Promise<void>;
  deleteSuppression(which: SuppressionDelete, o?: CallOptions): Promise<void>;
}
