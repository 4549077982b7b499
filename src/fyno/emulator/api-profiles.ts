/**
 * Profile endpoints (fyno-notification-events-openapi.yml, tag "Manage User Profiles";
 * split copy: fyno-manage-user-profiles-api-openapi.yml).
 */
import { CHANNELS, TOKEN_CHANNELS, type Token } from '../types.js';
import { fail, hasOwn, isObject, MSG, ok, type ApiRequest, type Ctx, type Params, type Reply } from './api-common.js';
import { isReply, isValidTimezone, parseChannels, refreshDerived, renderProfile, upsertToken } from './profile-model.js';
import { movePreferences } from './api-preferences.js';
import { tooLongField } from './limits.js';
import { keyedRecord } from '../../plan/normalize.js';
import type { ProfileRecord, StoredChannels } from './store.js';

const CHANNEL_SET = new Set<string>(CHANNELS);

/** A new, empty profile (also used when a property endpoint creates one). */
export function newProfile(ctx: Ctx, distinctId: string): ProfileRecord {
  return {
    distinct_id: distinctId,
    profile_id: ctx.store.nextObjectId(),
    status: 1,
    timezone_offset: '',
    country_code: '',
    channels: {},
    properties: keyedRecord(),
    id_list: [],
    created_at: ctx.now,
    updated_at: ctx.now,
  };
}

interface ScalarFields {
  name?: string;
  status?: 0 | 1;
  timezone?: string;
}

/** name/status/timezone of a create or PUT body; `null` status means the default 1 (spec prose). */
function parseScalars(b: Record<string, unknown>): ScalarFields | Reply {
  const out: ScalarFields = {};
  if (hasOwn(b, 'name') && b.name !== null) {
    if (typeof b.name !== 'string') return fail(400, "Invalid value for 'name'");
    const long = tooLongField('name', b.name);
    if (long) return long;
    out.name = b.name;
  }
  if (hasOwn(b, 'status')) {
    if (b.status === null) out.status = 1;
    else if (b.status === 0 || b.status === 1) out.status = b.status;
    else return fail(400, "Invalid value for 'status', allowed values are 1 or 0");
  }
  if (hasOwn(b, 'timezone') && b.timezone !== null) {
    if (typeof b.timezone !== 'string' || !isValidTimezone(b.timezone)) return fail(400, `Invalid timezone '${String(b.timezone)}'`);
    out.timezone = b.timezone;
  }
  return out;
}

/** POST /{WSID}/{version}/profiles → 201 ProfileCreatedSuccessfully | 400 DistinctIDAlreadyExists. */
export function createProfile(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || typeof b.distinct_id !== 'string' || b.distinct_id === '') return fail(400, MSG.distinctIdRequired);
  const id = b.distinct_id;
  const long = tooLongField('distinct_id', id);
  if (long) return long;
  if (ctx.space.profiles.has(id)) return fail(400, MSG.exists(id, ctx.env));
  const scalars = parseScalars(b);
  if (isReply(scalars)) return scalars;
  let channels: StoredChannels = {};
  if (hasOwn(b, 'channel') && b.channel !== null) {
    const parsed = parseChannels(b.channel);
    if (isReply(parsed)) return parsed;
    channels = parsed;
  }
  const p = newProfile(ctx, id);
  Object.assign(p, scalars);
  p.channels = channels;
  refreshDerived(p, ctx.now);
  ctx.space.profiles.set(id, p);
  ctx.store.touch();
  return ok(201, 'Profile created successfully');
}

/** GET /{WSID}/{version}/profiles/{distinct_id} → 200 ProfileFetched | 400 DistinctIDDoesNotExist (not 404). */
export function getProfile(ctx: Ctx, _req: ApiRequest, params: Params): Reply {
  const p = ctx.space.profiles.get(params.distinct_id!);
  if (!p) return fail(400, MSG.notExisting);
  return { status: 200, body: renderProfile(p, ctx.env) };
}

/**
 * PUT /{WSID}/{version}/profiles/{distinct_id}: passed keys replace, absent keys are kept; a
 * `channel` object replaces *all* channels; `distinct_id` renames (profiles_distinct_id_body).
 */
export function updateProfile(ctx: Ctx, req: ApiRequest, params: Params): Reply {
  const id = params.distinct_id!;
  const p = ctx.space.profiles.get(id);
  if (!p) return fail(400, MSG.updateMissing);
  const b = req.body;
  if (!isObject(b)) return fail(400, 'Request body must be a JSON object');
  const scalars = parseScalars(b);
  if (isReply(scalars)) return scalars;
  let channels: StoredChannels | undefined;
  if (hasOwn(b, 'channel') && b.channel !== null) {
    const parsed = parseChannels(b.channel);
    if (isReply(parsed)) return parsed;
    channels = parsed;
  }
  let newId = id;
  if (hasOwn(b, 'distinct_id') && b.distinct_id !== null) {
    if (typeof b.distinct_id !== 'string' || b.distinct_id === '') return fail(400, "Invalid value for 'distinct_id'");
    newId = b.distinct_id;
    const long = tooLongField('distinct_id', newId);
    if (long) return long;
    if (newId !== id && ctx.space.profiles.has(newId)) return fail(400, MSG.exists(newId, ctx.env));
  }
  Object.assign(p, scalars);
  if (channels) p.channels = channels;
  if (newId !== id) renameProfile(ctx, p, newId);
  p.updated_at = ctx.now;
  refreshDerived(p, ctx.now);
  ctx.store.touch();
  return ok(200, '1 Record(s) updated successfully');
}

function renameProfile(ctx: Ctx, p: ProfileRecord, newId: string): void {
  const oldId = p.distinct_id;
  ctx.space.profiles.delete(oldId);
  p.distinct_id = newId;
  ctx.space.profiles.set(newId, p);
  movePreferences(ctx, oldId, newId);
}

/**
 * PATCH /{WSID}/{version}/profiles/{source}/merge/{target}. Source merged into target then
 * deleted; if target does not exist the source is renamed. Merge rules (README, "Merge"):
 * target's name/timezone/status win (source fills a missing name/timezone), single channels
 * filled from source where target lacks them, tokens unioned (target's entry wins), properties
 * target wins (source fills missing keys), id_list gains the source's profile_id and id_list,
 * preferences target wins (source fills).
 */
export function mergeProfiles(ctx: Ctx, _req: ApiRequest, params: Params): Reply {
  const srcId = params.source_distinct_id!;
  const tgtId = params.target_distinct_id!;
  const src = ctx.space.profiles.get(srcId);
  if (!src) return fail(400, MSG.mergeMissing);
  if (srcId === tgtId) return fail(400, 'source and target distinct_id must be different');
  const tgt = ctx.space.profiles.get(tgtId);
  if (!tgt) {
    renameProfile(ctx, src, tgtId);
    src.updated_at = ctx.now;
    ctx.store.touch();
    return ok(200, '1 Record(s) updated and 0 Records(s) deleted');
  }
  if (tgt.name === undefined && src.name !== undefined) tgt.name = src.name;
  if (tgt.timezone === undefined && src.timezone !== undefined) tgt.timezone = src.timezone;
  const tc = tgt.channels as Record<string, unknown>;
  for (const [name, value] of Object.entries(src.channels)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      const list = (tc[name] as Token[] | undefined) ?? [];
      for (const t of value as Token[]) if (!list.some((x) => x.token === t.token)) list.push({ ...t });
      tc[name] = list;
    } else if (tc[name] === undefined) {
      tc[name] = value;
    }
  }
  for (const [k, v] of Object.entries(src.properties)) if (!hasOwn(tgt.properties, k)) tgt.properties[k] = v;
  for (const pid of [src.profile_id, ...src.id_list]) if (!tgt.id_list.includes(pid)) tgt.id_list.push(pid);
  ctx.space.profiles.delete(srcId);
  movePreferences(ctx, srcId, tgtId);
  tgt.updated_at = ctx.now;
  refreshDerived(tgt, ctx.now);
  ctx.store.touch();
  return ok(200, '1 Record(s) updated and 1 Records(s) deleted');
}

/**
 * POST /{WSID}/{version}/profiles/delete {distinct_id: [...]}. Existing ids are deleted and
 * unknown ones ignored; only when none exists → 400 "Cannot delete non existing user" (README).
 */
export function deleteProfiles(ctx: Ctx, req: ApiRequest): Reply {
  const b = req.body;
  if (!isObject(b) || !Array.isArray(b.distinct_id) || b.distinct_id.length === 0 || !b.distinct_id.every((x) => typeof x === 'string')) {
    return fail(400, MSG.distinctIdRequired);
  }
  let n = 0;
  for (const id of new Set(b.distinct_id as string[])) {
    if (ctx.space.profiles.delete(id)) {
      ctx.space.preferences.delete(id);
      n += 1;
    }
  }
  if (n === 0) return fail(400, MSG.deleteMissing);
  ctx.store.touch();
  return ok(200, `${n} User(s) deleted successfully`);
}

/** PATCH /{WSID}/{version}/profiles/{distinct_id}/channel: update single channels, insert tokens. */
export function patchChannels(ctx: Ctx, req: ApiRequest, params: Params): Reply {
  const p = ctx.space.profiles.get(params.distinct_id!);
  if (!p) return fail(400, MSG.notExisting);
  const b = req.body;
  if (!isObject(b) || !isObject(b.channel)) return fail(400, 'channel is required!');
  const parsed = parseChannels(b.channel);
  if (isReply(parsed)) return parsed;
  const c = p.channels as Record<string, unknown>;
  for (const [name, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) {
      const list = (c[name] as Token[] | undefined) ?? [];
      for (const t of value as Token[]) upsertToken(list, t);
      c[name] = list;
    } else {
      c[name] = value;
    }
  }
  p.updated_at = ctx.now;
  refreshDerived(p, ctx.now);
  ctx.store.touch();
  return ok(200, 'Channel has been modified successfully');
}

/**
 * POST /{WSID}/{version}/profiles/{distinct_id}/channel/delete (channel_delete_body, oneOf):
 * option 1 `{channel: [...]}` deletes whole channels; option 2 `{push: [...], inapp: [...]}`
 * deletes tokens (either array alone is accepted, issue #15); both forms in one body → 400. When nothing named exists
 * → 400 "Unable to delete channel since the channel does not exist"; otherwise the existing
 * ones are deleted and the missing ones ignored (README, "Channel delete").
 */
export function deleteChannels(ctx: Ctx, req: ApiRequest, params: Params): Reply {
  const b = req.body;
  if (!isObject(b)) return fail(400, 'Request body must be a JSON object');
  const opt1 = hasOwn(b, 'channel');
  const opt2 = hasOwn(b, 'push') || hasOwn(b, 'inapp');
  if (opt1 && opt2) return fail(400, 'Use either channel or push/inapp, not both');
  if (!opt1 && !opt2) return fail(400, 'channel or push and inapp is required!');
  let names: string[] = [];
  let tokens: { push: string[]; inapp: string[] } = { push: [], inapp: [] };
  if (opt1) {
    if (!Array.isArray(b.channel) || !b.channel.every((x) => typeof x === 'string')) return fail(400, 'channel must be an array of channel names');
    names = b.channel as string[];
    const bad = names.find((n) => !CHANNEL_SET.has(n));
    if (bad !== undefined) return fail(400, `Invalid channel '${bad}'`);
  } else {
    // The schema's second form requires both arrays, but its prose and Fyno's own SDK send one
    // alone: either is accepted, an absent one deletes nothing (README, "Channel delete").
    for (const k of TOKEN_CHANNELS) {
      if (!hasOwn(b, k)) continue;
      const v = b[k];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return fail(400, `${k} must be an array of tokens`);
      tokens = { ...tokens, [k]: v as string[] };
    }
  }
  const p = ctx.space.profiles.get(params.distinct_id!);
  if (!p) return fail(400, MSG.notExisting);
  const c = p.channels as Record<string, unknown>;
  let deleted = 0;
  if (opt1) {
    for (const n of names) {
      if (c[n] !== undefined) {
        delete c[n];
        deleted += 1;
      }
    }
  } else {
    for (const k of TOKEN_CHANNELS) {
      const list = c[k] as Token[] | undefined;
      if (!list) continue;
      const drop = new Set(tokens[k]);
      const kept = list.filter((t) => !drop.has(t.token));
      deleted += list.length - kept.length;
      if (kept.length === 0) delete c[k];
      else c[k] = kept;
    }
  }
  if (deleted === 0) return fail(400, MSG.channelMissing);
  p.updated_at = ctx.now;
  refreshDerived(p, ctx.now);
  ctx.store.touch();
  return ok(200, 'Channel has been modified successfully');
}
