/**
 * Drift as standard JSON Patch (issue #19). Each profile the plan changes gets the RFC 6902
 * operations (fast-json-patch `compare`) that turn its live **document** into the desired one.
 *
 * The document is the profile as `fyno-sync pull` writes it (src/pull/to-desired.ts), in JSON:
 * `distinct_id`, `name`, `status`, `timezone`, `channels`, `properties` (all but fyno-sync's own
 * reserved `fyno_sync*` record) and, when they were read, `preferences` (`all`: the opted-out
 * channels; each topic: its `on` channels, an absent status read as `opted-in`). It is put in
 * canonical form so that equal data is equal JSON: lists (list properties, tokens) sorted, since
 * Fyno lists are sets; tokens `{ token, integration_id?, status?: 'inactive' }`.
 *
 * The desired document is not rebuilt from the YAML: it is the live (or, after a merge,
 * predicted) state with the plan's own operations simulated on it, so it holds exactly what the
 * planner decided (equal phones, dates and token sets plan nothing, hence patch nothing; a type
 * clash or a `required` channel is an issue, not a change). Secret values are masked as in
 * operations (secrets.ts): tokens always, `${VAR}` values at their field, by the same
 * `{ "$secret": "sha256:…" }` placeholder. Pure.
 */
import jsonPatch from 'fast-json-patch';
import { assertNever } from '../errors.js';
import { SINGLE_CHANNELS, TOKEN_CHANNELS, type ActualPreferences, type ActualProfile, type DistinctId, type PropertyScalar, type PropertyValue, type Token } from '../fyno/types.js';
import type { ProfileDiff } from './diff-context.js';
import { scalarKey, keyedRecord, sortedScalars } from './normalize.js';
import { compareStrings, compareTopics, inOrder, sortedKeys, sortInPlace } from './sort.js';
import { isReservedProperty } from './ownership.js';
import { isSecretRef, secretHash, type SecretRef } from './secrets.js';
import type { ActualSnapshot, JsonPatchOperation, Operation, ProfileDrift } from './types.js';

// fast-json-patch is CommonJS: its functions come on the default export under ESM interop.
const { applyOperation, compare, unescapePathComponent } = jsonPatch;

/**
 * The value at `pointer` in `doc`. Keys are the document's own data, `__proto__` and
 * `constructor` included (a live property may be called so): fast-json-patch's
 * `getValueByPointer` refuses those, so its `_get` runs with that ban off. It reads, never writes.
 */
function valueAt(doc: unknown, pointer: string): unknown {
  const get: jsonPatch.GetOperation<unknown> = { op: '_get', path: pointer, value: undefined };
  applyOperation(doc, get, false, true, false);
  return get.value;
}

export interface DocumentToken {
  token: SecretRef;
  integration_id?: string;
  status?: 'inactive';
}

/** A live or desired profile as JSON (see the module comment). */
export interface ProfileDocument {
  distinct_id: DistinctId;
  name?: string | SecretRef;
  status: string | SecretRef;
  timezone?: string | SecretRef;
  channels: Record<string, string | SecretRef | DocumentToken[]>;
  properties: Record<string, PropertyValue | SecretRef>;
  preferences?: Record<string, Record<string, string>>;
}

/** Whose document it is: the id salts the secret hashes, `sensitive` names the `${VAR}` fields. */
export interface DocumentSubject {
  distinct_id: DistinctId;
  sensitive: readonly string[];
}

function documentTokens(id: DistinctId, tokens: readonly Token[]): DocumentToken[] {
  const keyed = tokens.map((t) => {
    const entry: DocumentToken = {
      token: { $secret: secretHash(id, t.token) },
      ...(t.integration_id !== undefined ? { integration_id: t.integration_id } : {}),
      // 1 (active) is the default, as pull writes it.
      ...(t.status === 0 ? { status: 'inactive' as const } : {}),
    };
    return [`${entry.token.$secret}\u0000${entry.integration_id ?? ''}\u0000${entry.status ?? ''}`, entry] as const;
  });
  sortInPlace(keyed, (a, b) => compareStrings(a[0], b[0]));
  return keyed.map((e) => e[1]);
}

function documentPreferences(prefs: ActualPreferences): Record<string, Record<string, string>> {
  const all: Record<string, string> = {};
  for (const ch of sortedKeys(prefs.all)) if (prefs.all[ch] === 'opted-out') all[ch] = 'opted-out';
  const out = keyedRecord<Record<string, string>>();
  out.all = all;
  for (const t of inOrder(prefs.topics, compareTopics)) {
    const chosen: Record<string, string> = {};
    // Only channels a user may choose (`on`), as pull writes them; required and off ones are not.
    for (const ch of sortedKeys(t.channel_config)) {
      if (t.channel_config[ch] === 'on') chosen[ch] = t.preference[ch] ?? 'opted-in';
    }
    if (Object.keys(chosen).length > 0) out[t.subscription_id] = chosen;
  }
  return out;
}

/** The document of a profile as read (or simulated); `null` when it does not exist. */
export function profileDocument(subject: DocumentSubject, profile: ActualProfile | null, preferences?: ActualPreferences): ProfileDocument | null {
  if (!profile) return null;
  const id = subject.distinct_id;
  const sensitive = new Set(subject.sensitive);
  const mask = <T>(path: string, v: T): T | SecretRef => (sensitive.has(path) ? { $secret: secretHash(id, v) } : v);
  // Keys in the order pull writes them.
  const doc: ProfileDocument = {
    distinct_id: id,
    ...(profile.name !== undefined && profile.name !== '' ? { name: mask('name', profile.name) } : {}),
    status: mask('status', profile.status),
    ...(profile.timezone !== undefined && profile.timezone !== '' ? { timezone: mask('timezone', profile.timezone) } : {}),
    channels: {},
    properties: keyedRecord(),
  };
  for (const c of SINGLE_CHANNELS) {
    const v = profile.channels[c];
    if (typeof v === 'string' && v !== '') doc.channels[c] = mask(`channels.${c}`, v);
  }
  for (const c of TOKEN_CHANNELS) {
    const v = profile.channels[c];
    if (v && v.length > 0) doc.channels[c] = documentTokens(id, v);
  }
  for (const key of sortedKeys(profile.properties)) {
    const v = profile.properties[key];
    if (v === undefined || isReservedProperty(key)) continue;
    doc.properties[key] = mask(`properties.${key}`, Array.isArray(v) ? sortedScalars(v) : v);
  }
  if (preferences) doc.preferences = documentPreferences(preferences);
  return doc;
}

/**
 * The state after `ops` (other than merges, already in `start`), as Fyno applies them
 * (src/fyno/emulator/README.md): a token insert updates a token already there, `$append` adds a
 * value not yet in the list and `$remove` drops equal values (dates by instant), `$once` sets
 * only while unset. `start` is not modified, and the result shares nothing with it.
 */
export function simulateOperations(start: ActualSnapshot, ops: readonly Operation[]): ActualSnapshot {
  return simulateShared({ profile: start.profile && structuredClone(start.profile), ...(start.preferences ? { preferences: structuredClone(start.preferences) } : {}) }, ops);
}

/**
 * `simulateOperations` for profileDrift, whose documents copy what they take: only the records
 * the operations write into are copied (a token list or list value is replaced, never changed in
 * place), not the whole snapshot as structuredClone did, which cost more than the rest of the
 * JSON Patch of a profile (issue #17). User keys go into a keyed record (issue #14).
 */
function simulateShared(start: ActualSnapshot, ops: readonly Operation[]): ActualSnapshot {
  const p = start.profile;
  let profile: ActualProfile | null = p ? { ...p, channels: { ...p.channels }, properties: Object.assign(keyedRecord<PropertyValue>(), p.properties) } : null;
  const s = start.preferences;
  const preferences = s ? { ...s, all: { ...s.all }, topics: s.topics.map((t) => ({ ...t, preference: { ...t.preference } })) } : undefined;
  for (const op of ops) {
    if (op.type === 'profile.create') {
      const { channels, ...fields } = op.profile;
      profile = { distinct_id: op.distinct_id, status: 'active', ...fields, channels: structuredClone(channels ?? {}), properties: keyedRecord(), server: {} } as ActualProfile;
      continue;
    }
    if (op.type === 'profile.delete') {
      profile = null;
      continue;
    }
    if (op.type === 'preference.set') {
      if (!preferences) continue;
      if (op.topic === 'all') {
        // `meta.all.preference` lists only opted-out channels (diff-preferences.ts).
        if (op.status === 'opted-out') preferences.all[op.channel] = op.status;
        else delete preferences.all[op.channel];
      } else {
        const t = preferences.topics.find((x) => x.subscription_id === op.topic);
        if (t) t.preference[op.channel] = op.status;
      }
      continue;
    }
    if (!profile) continue;
    applyToProfile(profile, op);
  }
  return { profile, ...(preferences ? { preferences } : {}) };
}

/** A property value of an operation, copied so that no document holds the operation's own list. */
function copyValue(v: PropertyValue): PropertyValue {
  return Array.isArray(v) ? [...v] : v;
}

function applyToProfile(p: ActualProfile, op: Exclude<Operation, { type: 'profile.create' | 'profile.delete' | 'preference.set' }>): void {
  const channels = p.channels as Record<string, string | Token[] | undefined>;
  const props = p.properties;
  switch (op.type) {
    case 'profile.merge':
      return; // already in the baseline (the planner's prediction, merge.ts)
    case 'profile.update':
      for (const c of op.changes) (p as unknown as Record<string, string>)[c.field] = c.after;
      return;
    case 'channel.set': {
      if (typeof op.value === 'string') {
        channels[op.channel] = op.value;
        return;
      }
      const list = [...((channels[op.channel] as Token[] | undefined) ?? [])];
      for (const t of op.value) {
        const i = list.findIndex((x) => x.token === t.token);
        if (i < 0) list.push({ ...t });
        else list[i] = { ...list[i]!, ...t };
      }
      channels[op.channel] = list;
      return;
    }
    case 'channel.delete': {
      if (!op.tokens) {
        delete channels[op.channel];
        return;
      }
      const drop = new Set(op.tokens);
      const kept = ((channels[op.channel] as Token[] | undefined) ?? []).filter((t) => !drop.has(t.token));
      if (kept.length > 0) channels[op.channel] = kept;
      else delete channels[op.channel];
      return;
    }
    case 'property.set':
      props[op.key] = copyValue(op.value);
      return;
    case 'property.set_once':
      if (props[op.key] === undefined) props[op.key] = copyValue(op.value);
      return;
    case 'property.unset':
      delete props[op.key];
      return;
    case 'property.append': {
      const cur = props[op.key];
      if (cur !== undefined && !Array.isArray(cur)) return;
      const list = [...(cur ?? [])];
      const k = scalarKey(op.value as PropertyScalar);
      if (!list.some((x) => scalarKey(x) === k)) list.push(op.value as PropertyScalar);
      props[op.key] = list;
      return;
    }
    case 'property.remove': {
      const cur = props[op.key];
      const k = scalarKey(op.value as PropertyScalar);
      if (Array.isArray(cur)) props[op.key] = cur.filter((x) => scalarKey(x) !== k);
      return;
    }
    case 'suppression.add':
    case 'suppression.remove':
      // The workspace list is no profile's document.
      return;
    default:
      assertNever(op);
  }
}

/**
 * Where a change at `path` (inside `doc`) is reported: at the list or secret placeholder that
 * holds it, if any. A list is a set in Fyno and a placeholder stands for one value, so a change
 * inside either is shown as a replacement of the whole (compare's positional `/tags/1` would
 * describe an order Fyno does not have, or a hash's inside).
 */
function atomicHolder(doc: unknown, path: string): string | undefined {
  const parts = path.split('/').slice(1);
  let v = doc;
  let prefix = '';
  for (const raw of parts) {
    if (Array.isArray(v) || isSecretRef(v)) return prefix;
    if (v === null || typeof v !== 'object') return undefined;
    prefix += `/${raw}`;
    v = (v as Record<string, unknown>)[unescapePathComponent(raw)];
  }
  return undefined;
}

/**
 * RFC 6902 operations turning `live` into `desired`: fast-json-patch `compare`, changes inside a
 * list or placeholder lifted to one `replace` of it, sorted by path (no two operations then touch
 * the same place, so their order does not matter). A document that comes into being is one `add`
 * of the root, one that goes away one `remove` of it.
 */
export function documentPatch(live: ProfileDocument | null, desired: ProfileDocument | null): JsonPatchOperation[] {
  // `desired` is the caller's own fresh document (profileDrift): held, not copied.
  if (live === null) return desired === null ? [] : [{ op: 'add', path: '', value: desired }];
  if (desired === null) return [{ op: 'remove', path: '' }];
  const out = new Map<string, JsonPatchOperation>();
  for (const op of compare(live, desired)) {
    const holder = atomicHolder(live, op.path);
    if (holder !== undefined) {
      if (!out.has(holder)) out.set(holder, { op: 'replace', path: holder, value: valueAt(desired, holder) });
    } else if (op.op === 'remove') out.set(op.path, { op: 'remove', path: op.path });
    else if (op.op === 'add' || op.op === 'replace') out.set(op.path, { op: op.op, path: op.path, value: op.value as unknown });
  }
  return sortInPlace([...out.values()], (a, b) => compareStrings(a.path, b.path));
}

/**
 * The JSON Patch entries of one planned profile (`plan.profiles`): the profile itself when its
 * document changes, and each merge source, whose document goes away. Nothing for a profile the
 * plan leaves unchanged. `actual` must hold what the profile was planned from.
 */
export function profileDrift(diff: ProfileDiff, actual: ReadonlyMap<DistinctId, ActualSnapshot>): [DistinctId, ProfileDrift][] {
  if (diff.ops.length === 0 || !diff.baseline) return [];
  const d = diff.desired;
  const subject: DocumentSubject = { distinct_id: d.distinct_id, sensitive: d.sensitive };
  const snap = actual.get(d.distinct_id);
  const live = profileDocument(subject, snap?.profile ?? null, snap?.preferences);
  const after = simulateShared(diff.baseline, diff.ops);
  const patch = documentPatch(live, profileDocument(subject, after.profile, after.preferences));
  const out: [DistinctId, ProfileDrift][] = patch.length > 0 ? [[d.distinct_id, { patch }]] : [];
  for (const op of diff.ops) {
    if (op.type === 'profile.merge' && actual.get(op.from)?.profile) out.push([op.from, { patch: [{ op: 'remove', path: '' }] }]);
  }
  return out;
}

/**
 * A profile's drift kept as JSON text until it is read (issue #17, "Memory": the patches of
 * 100,000 created profiles take ~200 MB as objects, less than half as text). It reads as a plain
 * `ProfileDrift`, `patch` an own enumerable property parsed afresh at each read: for a plan that
 * is written out once or twice, never changed.
 */
export function packedDrift(drift: ProfileDrift): ProfileDrift {
  const text = JSON.stringify(drift.patch);
  return {
    get patch(): JsonPatchOperation[] {
      return JSON.parse(text) as JsonPatchOperation[];
    },
  };
}

/** `plan.profiles` from the entries of every planned profile: sorted by id, the first entry of an id kept. */
export function driftRecord(entries: Iterable<[DistinctId, ProfileDrift]>): Record<DistinctId, ProfileDrift> {
  const byId = new Map<DistinctId, ProfileDrift>();
  for (const [id, drift] of entries) if (!byId.has(id)) byId.set(id, drift);
  // fromEntries defines own properties: an id such as `__proto__` stays a plain key.
  return Object.fromEntries([...byId].sort((a, b) => compareStrings(a[0], b[0])));
}
