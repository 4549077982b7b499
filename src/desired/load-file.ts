/**
 * One parsed file → its profiles and every problem in it: `${VAR}` substitution, the JSON
 * Schema, value checks, and the per-profile rules. Problems are values; nothing throws.
 */
import { isSeq, type Node } from 'yaml';
import type { ProfileEntry } from './across-files.js';
import { buildProfile, collectRefs, fieldPathOf, type Layer } from './build.js';
import { substituteEnv } from './env.js';
import { LightPositions, type FastParsed } from './fast-parse.js';
import type { ParsedFile } from './parse.js';
import { renderPath, type InstancePath, type LinePos, type PathSegment } from './positions.js';
import { checkSchema } from './schema.js';
import { fieldRef, type DesiredProfile, type FieldRefs, type SourceRef, type ValidationIssue } from './types.js';
import { fileSuppressions, type FileSuppressions } from './suppressions.js';
import { asRecord, checkValues } from './values.js';

export interface FileResult {
  profiles: DesiredProfile[];
  entries: ProfileEntry[];
  issues: ValidationIssue[];
  /** The file's `suppressions:` key (issue #18), when it has one. */
  suppressions?: FileSuppressions;
}

const ABSENT_KEYS = new Set(['distinct_id', 'state', 'protected']);

/** What `loadFile` needs of a parsed file: its data and where things are in it. */
export interface FileSource {
  display: string;
  /** The document as plain data (before `${VAR}` substitution). */
  data: unknown;
  /** As `PositionIndex.at`. */
  at(path: InstancePath, opts?: { key?: boolean }): LinePos;
  /** `refs` of the profile-like mapping at `['defaults']` or `['profiles', i]`. */
  refs(path: InstancePath): FieldRefs;
  /** Values the parser found the data does not hold as written (parse.ts `problems`). */
  problems?: readonly { path: InstancePath; message: string; atKey?: boolean }[];
}

/** A file read by the full parser (parse.ts): the reference for positions. */
export function documentSource(pf: ParsedFile): FileSource {
  return {
    display: pf.display,
    data: pf.data,
    problems: pf.problems,
    at: (path, opts) => pf.positions.at(path, opts),
    refs: (path) => {
      if (path[0] === 'defaults') return collectRefs(pf.doc.get('defaults', true) as Node | undefined, pf.display, pf.positions);
      const profilesNode = pf.doc.get('profiles', true);
      const node = isSeq(profilesNode) ? profilesNode.items[path[1] as number] : undefined;
      return collectRefs(node, pf.display, pf.positions);
    },
  };
}

/**
 * A file read by the fast path (fast-parse.ts). `missed()`: a position was asked for that the
 * fast path did not keep, so the result must come from the full parser instead.
 */
export function fastSource(display: string, fp: FastParsed): FileSource & { missed(): boolean } {
  const positions = new LightPositions(fp.root, fp.lines);
  return {
    missed: () => positions.missed,
    display,
    data: fp.data,
    at: (path, opts) => positions.at(path, opts),
    refs: (path) => positions.refs(path, display),
  };
}

export function loadFile(pf: FileSource, env: Record<string, string | undefined>): FileResult {
  const profiles: DesiredProfile[] = [];
  const entries: ProfileEntry[] = [];
  if (pf.data === null || pf.data === undefined) {
    return { profiles, entries, issues: [{ file: pf.display, line: 1, column: 1, message: 'file has no YAML content, only comments (expected "version: 1" and a "profiles" list)' }] };
  }
  const sub = substituteEnv(pf.data, env);
  const data = sub.value;
  const root = asRecord(data);
  const list = Array.isArray(root?.profiles) ? (root.profiles as unknown[]) : [];

  // Env-sourced paths, grouped by profile index (-1: defaults) so masking checks stay local.
  const sensitive = new Map<number, InstancePath[]>();
  for (const s of sub.sensitive) {
    const g = groupOf(s);
    if (g) sensitive.set(g.index, [...(sensitive.get(g.index) ?? []), g.rel]);
  }
  const isSensitive = (path: InstancePath): boolean => {
    const g = groupOf(path);
    if (!g) return sub.sensitive.some((s) => startsWith(s, path) || startsWith(path, s));
    return (sensitive.get(g.index) ?? []).some((s) => startsWith(s, g.rel) || startsWith(g.rel, s));
  };
  const shown = (path: InstancePath, v: unknown) => (isSensitive(path) ? 'the value from the environment' : display(v));

  // Paths that already have a problem: later checks skip them and everything below them.
  const blocked = new Set<string>();
  const isBlocked = (path: InstancePath): boolean => {
    for (let i = path.length; i >= 0; i--) if (blocked.has(keyOf(path.slice(0, i)))) return true;
    return false;
  };
  const badProfiles = new Set<number>();
  let defaultsBad = false;
  const raw: { path: InstancePath; message: string; atKey: boolean }[] = [];
  const report = (path: InstancePath, message: string, atKey = false) => {
    // A problem of the file as a whole (a missing `profiles`) does not hide the rest of it (issue #16).
    if (path.length > 0) blocked.add(keyOf(path));
    const g = groupOf(path);
    if (g && g.index >= 0) badProfiles.add(g.index);
    if (g && g.index < 0) defaultsBad = true;
    raw.push({ path, message, atKey });
  };
  // Issues are built at the end, when it is known which distinct_ids may be shown.
  const toIssue = ({ path, message, atKey }: (typeof raw)[number]): ValidationIssue => {
    const { line, column } = pf.at(path, { key: atKey });
    const g = groupOf(path);
    const id = g && g.index >= 0 ? shownId(g.index) : undefined;
    const issue: ValidationIssue = { file: pf.display, line, column, message };
    if (id !== undefined) {
      issue.distinct_id = id;
      if (g!.rel.length > 0) issue.field = renderPath(g!.rel);
    } else if (path.length > 0) {
      issue.field = renderPath(path);
    }
    return issue;
  };
  const shownId = (i: number): string | undefined =>
    isBlocked(['profiles', i, 'distinct_id']) || isSensitive(['profiles', i, 'distinct_id']) ? undefined : validId(list[i]);

  // 0. Values not held as written, 1. variables, 2. schema (except where a problem is already
  // reported), 3. value checks.
  for (const p of pf.problems ?? []) report(p.path, p.message, p.atKey);
  for (const p of sub.problems) if (!isBlocked(p.path)) report(p.path, p.message);
  for (const p of checkSchema(data, shown)) if (!isBlocked(p.path)) report(p.path, p.message, p.atKey);
  if (!root) return { profiles, entries, issues: raw.map(toIssue) };

  const defaultsValue = asRecord(root.defaults) ?? {};
  for (const p of checkValues(defaultsValue, (rel, v) => shown(['defaults', ...rel], v))) {
    if (!isBlocked(['defaults', ...p.path])) report(['defaults', ...p.path], p.message);
  }
  const suppressions = fileSuppressions(root.suppressions, { display: pf.display, at: (p) => pf.at(p), report, isBlocked, isSensitive });
  const withList = suppressions ? { suppressions } : {};
  if (!Array.isArray(root.profiles)) return { profiles, entries, issues: raw.map(toIssue), ...withList };
  const defaults: Layer = {
    value: defaultsValue,
    refs: pf.refs(['defaults']),
    sensitive: new Set((sensitive.get(-1) ?? []).map(fieldPathOf)),
  };

  list.forEach((item, i) => {
    const p = asRecord(item);
    if (!p) return;
    const path = (...rel: PathSegment[]): PathSegment[] => ['profiles', i, ...rel];
    for (const v of checkValues(p, (rel, x) => shown(path(...rel), x))) {
      if (!isBlocked(path(...v.path))) report(path(...v.path), v.message);
    }
    const own = sensitive.get(i) ?? [];
    for (const field of ['distinct_id', 'merge_from']) {
      if (own.some((s) => s[0] === field) && !isBlocked(path(field))) {
        report(path(field), `${field} must not come from an environment variable: ids are shown in every output and cannot be masked`);
      }
    }
    if (p.state === 'absent') {
      for (const k of Object.keys(p)) {
        if (!ABSENT_KEYS.has(k)) report(path(k), `a profile with state: absent is deleted and takes no other keys than distinct_id and protected; remove "${k}"`, true);
      }
      const fromDefaults = p.protected === undefined && defaultsValue.protected === true;
      if (p.protected === true || fromDefaults) {
        report(path('state'), `a protected profile is never deleted: remove state: absent or set protected: false${fromDefaults ? ' (protected: true comes from this file\'s defaults)' : ''}`);
      }
    }
    const mf = p.merge_from;
    if (Array.isArray(mf)) {
      mf.forEach((m, j) => {
        if (mf.indexOf(m) !== j && !isBlocked(path('merge_from', j))) report(path('merge_from', j), `profile ${String(m)} is listed twice in merge_from`);
      });
    }

    const id = validId(p);
    if (id === undefined || isBlocked(path('distinct_id'))) return;
    const refs = pf.refs(path());
    const at: SourceRef = fieldRef(refs, 'distinct_id') ?? { file: pf.display, ...pf.at(path()) };
    const idAt: SourceRef = { file: pf.display, ...pf.at(path('distinct_id')) };
    const mergeFrom: ProfileEntry['mergeFrom'] = [];
    if (!isBlocked(path('merge_from'))) {
      const sources = typeof mf === 'string' ? [[mf, path('merge_from')] as const] : Array.isArray(mf) ? mf.map((m, j) => [m, path('merge_from', j)] as const) : [];
      for (const [m, mp] of sources) {
        if (typeof m !== 'string' || isBlocked(mp)) continue;
        mergeFrom.push({ id: m, at: { file: pf.display, ...pf.at(mp) }, field: renderPath(mp.slice(2)) });
      }
    }
    const isProtected = typeof p.protected === 'boolean' ? p.protected : defaultsValue.protected === true;
    entries.push({ id, idAt, protected: isProtected, mergeFrom });
    if (badProfiles.has(i) || defaultsBad) return;
    profiles.push(buildProfile(id, at, { value: p, refs, sensitive: new Set(own.map(fieldPathOf)) }, defaults));
  });
  return { profiles, entries, issues: raw.map(toIssue), ...withList };
}

/** `['profiles', 3, 'channels', 'sms']` → profile 3, `['channels', 'sms']`; `['defaults', …]` → -1. */
function groupOf(path: InstancePath): { index: number; rel: InstancePath } | undefined {
  if (path[0] === 'profiles' && typeof path[1] === 'number') return { index: path[1], rel: path.slice(2) };
  if (path[0] === 'defaults') return { index: -1, rel: path.slice(1) };
  return undefined;
}

function validId(p: unknown): string | undefined {
  const id = asRecord(p)?.distinct_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 255 ? id : undefined;
}

function startsWith(path: InstancePath, prefix: InstancePath): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

function keyOf(path: InstancePath): string {
  return path.join('\u0000');
}

/** A value for a message: quoted, cut to 60 characters, on one line. */
export function display(v: unknown): string {
  if (typeof v === 'string') {
    const cut = [...v].length > 60 ? `${[...v].slice(0, 57).join('')}…` : v;
    return JSON.stringify(cut);
  }
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
