/**
 * The planner: desired state + what was read → the operations that converge live state.
 *
 * Pure (STYLE.md, "Pure planner"): no I/O, no clock, no randomness, arguments never mutated.
 * Rules are those of ../shared/PRODUCT.md "Desired state"; every decision the spec leaves open
 * is written down in docs/planner.md and at the line that makes it.
 */
import type { DesiredProfile, DesiredState } from '../desired/types.js';
import type { ActualPreferences, ActualProfile, Channels, DistinctId, Token } from '../fyno/types.js';
import { SINGLE_CHANNELS, TOKEN_CHANNELS } from '../fyno/types.js';
import { addIssue, isSensitive, refOf, type ProfileDiff } from './diff-context.js';
import { diffChannels } from './diff-channels.js';
import { diffPreferences } from './diff-preferences.js';
import { diffProperties, listPropertyOps } from './diff-properties.js';
import { keyedRecord } from './normalize.js';
import { predictMerge, predictMergePreferences, predictRename } from './merge.js';
import { buildOwnership, OWNERSHIP_PROPERTY, readOwnership } from './ownership.js';
import { selectProfiles } from './select.js';
import { sortInPlace } from './sort.js';
import { OP_INFO, type FieldChange, type ProfileOperation as Operation, type PlanIssue, type PlanOptions, type ProfileField, type ProfileFields } from './types.js';
import type { ActualSnapshot } from './types.js';

export interface PlannedOperations {
  operations: Operation[];
  issues: PlanIssue[];
}

/**
 * Plans the selected desired profiles against the snapshots read for them (and for their
 * `merge_from` sources). Output order: profiles in desired order; within a profile by
 * `OP_INFO[type].order`, then channel / property key / topic name (merges keep file order).
 */
export function planOperations(
  desired: DesiredState,
  actual: ReadonlyMap<DistinctId, ActualSnapshot>,
  opts: PlanOptions = {},
): PlannedOperations {
  const { profiles } = selectProfiles(desired.profiles, opts);
  const byId = new Map(desired.profiles.map((p) => [p.distinct_id, p] as const));
  const operations: Operation[] = [];
  const issues: PlanIssue[] = [];
  for (const d of profiles) {
    const diff = planProfile(d, actual, byId);
    operations.push(...diff.ops);
    issues.push(...diff.issues);
  }
  return { operations, issues };
}

/** The operations and issues of one desired profile, sorted. */
export function planProfile(
  d: DesiredProfile,
  actual: ReadonlyMap<DistinctId, ActualSnapshot>,
  desiredById: ReadonlyMap<DistinctId, DesiredProfile> = new Map(),
): ProfileDiff {
  const diff: ProfileDiff = { desired: d, ops: [], issues: [] };
  const snap = actual.get(d.distinct_id);
  if (!snap) {
    addIssue(diff, 'distinct_id', 'live state of this profile was not read; cannot plan it');
    return diff;
  }
  if (d.state === 'absent') {
    diff.baseline = snap;
    planAbsent(diff, snap);
    return diff;
  }
  let base = snap.profile;
  let prefs = snap.preferences;

  // 1. Merges first (PRODUCT.md, "Applying"). A source that does not exist is already merged.
  for (const src of d.merge_from) {
    if (src === d.distinct_id) continue;
    const s = actual.get(src);
    if (!s) {
      addIssue(diff, 'merge_from', `live state of merge source ${src} was not read; cannot plan the merge`);
      continue;
    }
    if (!s.profile) continue;
    if (desiredById.get(src)?.protected) {
      addIssue(diff, 'merge_from', `profile ${src} is protected and is never merged away`);
      continue;
    }
    const rename = base === null;
    diff.ops.push({ distinct_id: d.distinct_id, at: refOf(d, 'merge_from'), type: 'profile.merge', from: src, rename, idempotent: false });
    // The merged result is a prediction (src/plan/merge.ts); apply re-reads and re-plans after it.
    base = rename ? predictRename(s.profile, d.distinct_id) : predictMerge(base!, s.profile);
    prefs = predictMergePreferences(prefs, s.preferences, rename);
  }

  diff.baseline = prefs ? { profile: base, preferences: prefs } : { profile: base };
  // 2. Create when nothing exists (a rename made it exist without a create).
  if (base === null) base = planCreate(diff);

  // 3. Fields, channels, properties, preferences against the (predicted) live baseline.
  planFields(diff, base);
  diffChannels(diff, base.channels);
  planManaged(diff, base, prefs);

  for (let i = 0; i < diff.ops.length; i += 1) diff.ops[i] = compactOp(diff.ops[i]!);
  sortInPlace(diff.ops, compareOps);
  return diff;
}

/**
 * The same operation (same keys in the same order, same values) as a plain fast-mode object.
 * Operations are built with object spreads (`{ ...base(), type, …, ...(cond ? {…} : {}) }`),
 * which V8 keeps as dictionaries of about 380 bytes each; a plan of a million operations holds
 * a million of them (about 150 bytes each once copied).
 */
function compactOp(op: Operation): Operation {
  const out: Record<string, unknown> = {};
  for (const k in op) out[k] = (op as unknown as Record<string, unknown>)[k];
  return out as unknown as Operation;
}

function planAbsent(diff: ProfileDiff, snap: ActualSnapshot): void {
  const d = diff.desired;
  if (!snap.profile) return;
  // PRODUCT.md: `protected: true` is "never deleted … whatever the file says". A contradiction in
  // the file is an error the user must resolve, as Terraform's prevent_destroy fails the plan.
  if (d.protected) {
    addIssue(diff, 'state', 'profile is protected and is never deleted; remove `state: absent` or `protected`');
    return;
  }
  diff.ops.push({ distinct_id: d.distinct_id, at: refOf(d, 'state'), type: 'profile.delete', idempotent: true });
}

/**
 * `POST /profiles` accepts name, status, timezone and channels (tokens included) but not
 * properties (fyno-manage-user-profiles-api-openapi.yml), so those follow as property ops.
 * Returns the profile as it will exist right after the create.
 */
function planCreate(diff: ProfileDiff): ActualProfile {
  const d = diff.desired;
  const profile: ProfileFields = {};
  const sensitiveFields: string[] = [];
  const channels: Channels = {};
  let hasTokens = false;
  for (const f of PROFILE_FIELDS) {
    if (d[f] === undefined) continue;
    (profile as Record<string, string>)[f] = d[f]!;
    if (isSensitive(d, f)) sensitiveFields.push(f);
  }
  for (const c of SINGLE_CHANNELS) {
    const v = d.channels?.[c];
    if (typeof v !== 'string') continue;
    channels[c] = v;
    if (isSensitive(d, `channels.${c}`)) sensitiveFields.push(`channels.${c}`);
  }
  for (const c of TOKEN_CHANNELS) {
    const v = d.channels?.[c];
    if (!v || v.length === 0) continue;
    const seen = new Set<string>();
    const tokens: Token[] = [];
    for (const t of v) if (!seen.has(t.token)) (seen.add(t.token), tokens.push({ ...t }));
    channels[c] = tokens;
    hasTokens = true;
  }
  if (Object.keys(channels).length > 0) profile.channels = structuredCloneChannels(channels);
  diff.ops.push({
    distinct_id: d.distinct_id,
    at: d.at,
    type: 'profile.create',
    profile,
    // Not blindly repeatable: a second create of an existing id fails; apply re-reads instead.
    idempotent: false,
    ...(hasTokens || sensitiveFields.length > 0 ? { sensitive: true } : {}),
    ...(sensitiveFields.length > 0 ? { sensitive_fields: sensitiveFields } : {}),
  });
  return {
    distinct_id: d.distinct_id,
    ...(d.name !== undefined ? { name: d.name } : {}),
    status: d.status ?? 'active',
    ...(d.timezone !== undefined ? { timezone: d.timezone } : {}),
    channels,
    properties: keyedRecord(),
    server: {},
  };
}

function structuredCloneChannels(c: Channels): Channels {
  const out: Channels = {};
  for (const [k, v] of Object.entries(c)) (out as Record<string, unknown>)[k] = Array.isArray(v) ? v.map((t: Token) => ({ ...t })) : v;
  return out;
}

/** The profile's own fields, planned by planCreate and planFields. */
const PROFILE_FIELDS = ['name', 'status', 'timezone'] as const satisfies readonly ProfileField[];

/** name/status/timezone → one `profile.update` (`PUT /profiles/{id}` without `channel`). */
function planFields(diff: ProfileDiff, live: ActualProfile): void {
  const d = diff.desired;
  // Nothing allocated for the usual profile whose fields are as wanted.
  let differs = false;
  for (const field of PROFILE_FIELDS) if (d[field] !== undefined && d[field] !== live[field]) differs = true;
  if (!differs) return;
  const changes: FieldChange[] = [];
  const sensitiveFields: string[] = [];
  for (const field of PROFILE_FIELDS) {
    const want = d[field];
    const have = live[field];
    if (want === undefined || want === have) continue;
    changes.push({ field, ...(have !== undefined ? { before: have } : {}), after: want });
    if (isSensitive(d, field)) sensitiveFields.push(field);
  }
  if (changes.length === 0) return;
  diff.ops.push({
    distinct_id: d.distinct_id,
    at: refOf(d, changes[0]!.field),
    type: 'profile.update',
    changes,
    idempotent: true,
    ...(sensitiveFields.length > 0 ? { sensitive: true, sensitive_fields: sensitiveFields } : {}),
  });
}

/** Properties, preferences and — under exact management — the ownership record. */
function planManaged(diff: ProfileDiff, live: ActualProfile, prefs: ActualPreferences | undefined): void {
  const d = diff.desired;
  const record = readOwnership(live.properties);
  const ownedProps = diffProperties(diff, live.properties, record, live.inexact);
  const ownedPrefs = diffPreferences(diff, prefs, record);
  // Without exact mode the record is never touched (docs/planner.md, "Exact management").
  if (!ownedProps && !ownedPrefs) return;
  const next = buildOwnership(ownedProps ?? record.properties, ownedPrefs ?? record.preferences, record.other);
  if (record.raw === undefined && next.length === 0) return;
  diff.ops.push(...listPropertyOps({ distinct_id: d.distinct_id, at: refOf(d, 'manage') }, OWNERSHIP_PROPERTY, next, record.raw));
}

function sortKey(op: Operation): string {
  switch (op.type) {
    case 'channel.set':
    case 'channel.delete':
      return op.channel;
    case 'property.set':
    case 'property.set_once':
    case 'property.unset':
    case 'property.append':
    case 'property.remove':
      return op.key;
    case 'preference.set':
      return `${op.topic}\u0000${op.channel}`;
    default:
      return '';
  }
}

/** By execution order, then name; ties keep generation order (`Array#sort` is stable). */
function compareOps(a: Operation, b: Operation): number {
  const o = OP_INFO[a.type].order - OP_INFO[b.type].order;
  if (o !== 0) return o;
  const ka = sortKey(a);
  const kb = sortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
