/**
 * A validated profile mapping (+ its file's `defaults`) → the normalised `DesiredProfile` the
 * planner consumes. Runs only on values that passed the schema and value checks.
 *
 * Defaults merge (schemas/desired-state.schema.json, definitions.defaults): a key the profile
 * sets wins; channels, properties and manage merge one level deep; preferences merge by topic
 * (a topic in the profile replaces the same topic from defaults). Only `protected` applies to a
 * profile with `state: absent`.
 */
import { isMap, isPair, isScalar, type Node } from 'yaml';
import type { DistinctId, PreferenceUpdate, PropertyValue, Token } from '../fyno/types.js';
import { keyedRecord, normalizeEmail } from '../plan/normalize.js';
import type { InstancePath, PositionIndex } from './positions.js';
import type { DesiredChannels, DesiredProfile, DesiredProperty, FieldRefs, SourceRef } from './types.js';
import { asRecord, PHONE_CHANNELS, phoneE164 } from './values.js';

/** A profile-like mapping with where its keys are and which of its fields came from `${VAR}`. */
export interface Layer {
  value: Record<string, unknown>;
  refs: FieldRefs;
  /** Field paths (as in `refs`) whose value came from the environment. */
  sensitive: Set<string>;
}

const NESTED = new Set(['channels', 'properties', 'manage']);

/** Key positions of the managed fields of a profile or `defaults` mapping node. */
export function collectRefs(node: unknown, file: string, positions: PositionIndex): FieldRefs {
  const refs: FieldRefs = { file, keys: [], pos: [] };
  const walk = (n: unknown, prefix: string, depth: number): void => {
    if (!isMap(n)) return;
    for (const pair of n.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const path = prefix === '' ? key : joinPath(prefix, key);
      const range = (pair.key as Node).range;
      if (range) {
        const { line, column } = positions.offset(range[0]);
        addRef(refs, path, line, column);
      }
      if (prefix === '' && (NESTED.has(key) || key === 'preferences')) walk(pair.value, key, depth + 1);
      else if (prefix.startsWith('preferences') && depth === 1) walk(pair.value, path, depth + 1);
    }
  };
  walk(node, '', 0);
  return refs;
}

// Field paths repeat across profiles (`channels.email` in every one): one string for each.
const paths = new Map<string, string>();
const MAX_PATHS = 100_000;

/** Adds (or moves) the position of field path `key`. */
export function addRef(refs: FieldRefs, key: string, line: number, column: number): void {
  const i = refs.keys.indexOf(key);
  if (i >= 0) {
    refs.pos[2 * i] = line;
    refs.pos[2 * i + 1] = column;
    return;
  }
  refs.keys.push(sharedString(key));
  refs.pos.push(line, column);
}

/** One string for all equal ones: field paths, and other values that repeat across profiles. */
export function sharedString(s: string): string {
  let k = paths.get(s);
  if (k === undefined) {
    k = s;
    if (paths.size < MAX_PATHS) paths.set(k, k);
  }
  return k;
}

const joined = new Map<string, Map<string, string>>();

/** `prefix.key`, shared, without building the string again for every profile. */
export function joinPath(prefix: string, key: string): string {
  let under = joined.get(prefix);
  if (!under) joined.set(prefix, (under = new Map()));
  let p = under.get(key);
  if (p === undefined) {
    p = sharedString(`${prefix}.${key}`);
    if (under.size < MAX_PATHS) under.set(key, p);
  }
  return p;
}

/** `['channels', 'push', 0, 'token']` → `channels.push`: the granularity of `refs` and `sensitive`. */
export function fieldPathOf(rel: InstancePath): string {
  const [a, b, c] = rel;
  if (typeof a === 'string' && NESTED.has(a) && b !== undefined) return `${a}.${String(b)}`;
  if (a === 'preferences' && b !== undefined) return c !== undefined ? `preferences.${String(b)}.${String(c)}` : `preferences.${String(b)}`;
  return String(a ?? '');
}

export function buildProfile(id: DistinctId, at: SourceRef, own: Layer, defaults: Layer): DesiredProfile {
  const p = own.value;
  const d = defaults.value;
  const isAbsent = p.state === 'absent';
  const isProtected = (typeof p.protected === 'boolean' ? p.protected : undefined) ?? (d.protected === true);

  // Which layer a field path comes from: the profile when it names it, else defaults.
  const fromOwn = (field: string): boolean => {
    const dot = field.indexOf('.');
    if (dot < 0) return field in p;
    const group = asRecord(p[field.slice(0, dot)]);
    if (!group) return false;
    const rest = field.slice(dot + 1);
    // Preferences merge by topic: `preferences.T.sms` is the profile's when it names topic T.
    if (field.startsWith('preferences.')) return Object.keys(group).some((t) => rest === t || rest.startsWith(`${t}.`));
    return rest in group;
  };
  const refs: FieldRefs = { file: own.refs.file, keys: [], pos: [] };
  const fromDefaults = (i: number): void => addRef(refs, defaults.refs.keys[i]!, defaults.refs.pos[2 * i]!, defaults.refs.pos[2 * i + 1]!);
  const sensitive = new Set<string>();
  if (!isAbsent) {
    defaults.refs.keys.forEach((k, i) => {
      if (!fromOwn(k)) fromDefaults(i);
    });
    for (const s of defaults.sensitive) if (!fromOwn(s)) sensitive.add(s);
  } else if (defaults.refs.keys.includes('protected') && !('protected' in p)) {
    fromDefaults(defaults.refs.keys.indexOf('protected'));
  }
  own.refs.keys.forEach((k, i) => addRef(refs, k, own.refs.pos[2 * i]!, own.refs.pos[2 * i + 1]!));
  for (const s of own.sensitive) sensitive.add(s);

  const base: DesiredProfile = {
    distinct_id: id,
    at,
    // Exactly sized: a list grown by push keeps spare room, a lot of it across 100,000 profiles.
    refs: { file: refs.file, keys: refs.keys.slice(), pos: refs.pos.slice() },
    state: isAbsent ? 'absent' : 'present',
    protected: isProtected,
    merge_from: [],
    exact: { properties: false, preferences: false },
    sensitive: [],
  };
  if (isAbsent) return base;

  const mf = p.merge_from;
  base.merge_from = typeof mf === 'string' ? [mf] : Array.isArray(mf) ? (mf as string[]) : [];
  if (typeof p.name === 'string') base.name = p.name;
  const status = p.status ?? d.status;
  if (status === 'active' || status === 'inactive') base.status = status;
  const tz = p.timezone ?? d.timezone;
  if (typeof tz === 'string') base.timezone = tz;

  const channels = mergeOne(d.channels, p.channels);
  if (channels) base.channels = buildChannels(channels);
  const prefs = mergeOne(d.preferences, p.preferences);
  if (prefs) base.preferences = prefs as PreferenceUpdate;
  const props = mergeOne(d.properties, p.properties);
  if (props) base.properties = buildProperties(props);
  const manage = mergeOne(d.manage, p.manage);
  if (manage) base.exact = { properties: manage.properties === 'exact', preferences: manage.preferences === 'exact' };

  base.sensitive = [...sensitive].filter((s) => refs.keys.includes(s)).sort();
  return base;
}

function mergeOne(under: unknown, over: unknown): Record<string, unknown> | undefined {
  const u = asRecord(under);
  const o = asRecord(over);
  if (!u) return o;
  if (!o) return { ...u };
  return { ...u, ...o };
}

function buildChannels(c: Record<string, unknown>): DesiredChannels {
  const out: DesiredChannels = {};
  for (const [name, v] of Object.entries(c)) {
    if (v === null) {
      (out as Record<string, null>)[name] = null;
    } else if (Array.isArray(v)) {
      (out as Record<string, Token[]>)[name] = v.map((t: Record<string, unknown>) => {
        const token: Token = { token: String(t.token) };
        if (typeof t.integration_id === 'string') token.integration_id = t.integration_id;
        if (t.status !== undefined) token.status = t.status === 'inactive' ? 0 : 1;
        return token;
      });
    } else if (typeof v === 'string') {
      // Phones to E.164 so "+91 98123 45678" and "+919812345678" are the same desired value.
      const s = (PHONE_CHANNELS as readonly string[]).includes(name)
        ? (phoneE164(v) ?? v.trim())
        : name === 'email'
          ? normalizeEmail(v)
          : v.trim();
      (out as Record<string, string>)[name] = s;
    }
  }
  return out;
}

function buildProperties(props: Record<string, unknown>): Record<string, DesiredProperty> {
  const out = keyedRecord<DesiredProperty>();
  for (const [k, v] of Object.entries(props)) {
    const once = asRecord(v);
    if (v === null) out[k] = { op: 'unset' };
    else if (once && '$once' in once) out[k] = { op: 'once', value: once.$once as PropertyValue };
    else out[k] = { op: 'set', value: v as PropertyValue };
  }
  return out;
}
