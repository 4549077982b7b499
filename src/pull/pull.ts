/**
 * `fyno-sync pull` as a library (issue #6 part 2): read live profiles and turn them into
 * desired-state YAML files. Never prints, never exits; writing the files is write.ts.
 *
 * Output is deterministic: profiles sorted by distinct_id (whatever the order of the ids asked
 * for), keys in a fixed order, files of `fileSize` profiles named `profiles-0001.yaml`, …, and
 * no clock or absolute path in the text.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatIssue, loadDesired } from '../desired/load.js';
import type { ValidationIssue } from '../desired/types.js';
import { FynoSyncError } from '../errors.js';
import { fetchActual } from '../fyno/fetch-actual.js';
import type { DistinctId, FynoApi } from '../fyno/types.js';
import { emitSeq } from '../import/emit-yaml.js';
import { DESIRED_SCHEMA_FILE, schemaHeader, shardName } from '../import/write.js';
import { pathToFileURL } from 'node:url';
import type { DesiredState } from '../desired/types.js';
import { planOperations } from '../plan/diff.js';
import { idProblem } from '../plan/normalize.js';
import type { ActualSnapshot, Operation } from '../plan/types.js';
import { profileToDesired, type PullOmission, type PullOptions } from './to-desired.js';

export const DEFAULT_PULL_FILE_SIZE = 1000;

export interface PullProfilesOptions extends PullOptions {
  /** Reads in flight at once (default 8); the request rate is the client's business. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Profiles per file (default 1,000). */
  fileSize?: number;
  /** The `$schema` header's reference (`schemaRefFrom` the output directory); default a `file:` URL of the installed schema. */
  schemaRef?: string;
}

export interface PulledFile {
  name: string;
  text: string;
}

export interface PullResult {
  files: PulledFile[];
  /** The ids written, sorted. */
  pulled: DistinctId[];
  /** The ids asked for that do not exist, in the order asked. */
  notFound: DistinctId[];
  /** Fields left out because desired state cannot hold them. */
  omitted: PullOmission[];
  /** Requests sent. */
  reads: number;
}

/**
 * Ids from an ids file: one per line; surrounding spaces, blank lines and lines starting with
 * `#` are ignored; a repeated id counts once.
 */
export function parseIdsFile(text: string): DistinctId[] {
  const ids: DistinctId[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line !== '' && !line.startsWith('#')) ids.push(line);
  }
  return ids;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Read `ids` and render them as desired-state files. A missing id is reported, not an error. */
export async function pullProfiles(api: FynoApi, ids: readonly DistinctId[], o: PullProfilesOptions = {}): Promise<PullResult> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) throw new FynoSyncError('pull.invalid', 'no distinct_id to pull: name ids, or pass --ids-file with one id per line');
  const bad = unique.filter((id) => idProblem(id) !== undefined);
  if (bad.length > 0) {
    throw new FynoSyncError('pull.invalid', `not a distinct_id (no "/", ".", "..", control characters or leading or trailing spaces, at most 255 characters): ${bad.map((b) => JSON.stringify(b)).join(', ')}; nothing was read`, {
      ids: bad,
    });
  }
  const { snapshots, reads } = await fetchActual(
    api,
    unique.map((id) => ({ distinct_id: id, preferences: Boolean(o.includePreferences) })),
    {
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    },
  ).catch((e: unknown) => {
    // fetchActual speaks of plans; here nothing is written when a read fails.
    if (e instanceof FynoSyncError) throw new FynoSyncError(e.code, e.message.replace(/;? no plan was made.*$/, '; nothing was written'), e.details, { cause: e });
    throw e;
  });
  const entries: Record<string, unknown>[] = [];
  const pulled: DistinctId[] = [];
  const notFound: DistinctId[] = [];
  const omitted: PullOmission[] = [];
  for (const id of [...unique].sort(byId)) {
    const snap = snapshots.get(id);
    if (!snap?.profile) continue;
    const p = profileToDesired(snap.profile, snap.preferences, o);
    entries.push(p.entry);
    pulled.push(id);
    omitted.push(...p.omitted);
  }
  for (const id of unique) if (!snapshots.get(id)?.profile) notFound.push(id);
  const target = `${api.target.workspace} (${api.target.env})`;
  const files = await renderValid(pulled, entries, omitted, {
    fileSize: o.fileSize ?? DEFAULT_PULL_FILE_SIZE,
    target,
    schemaRef: o.schemaRef ?? pathToFileURL(DESIRED_SCHEMA_FILE).href,
    snapshots,
  });
  return { files, pulled, notFound, omitted, reads };
}

/**
 * Render, load the files back with the desired-state loader, and leave out every field it
 * refuses (a live value Fyno accepted that desired state does not, such as an email the schema's
 * format rejects), reporting each in `omitted`: an omitted key is unmanaged, so the round trip
 * still holds. Then plan what was loaded against what was read: a field the plan would change was
 * written in a form that does not read back as the live value, and is left out and reported too
 * (issue #14: never written changed). Fails with `pull.invalid` only when an issue names no
 * removable field.
 */
async function renderValid(
  ids: readonly DistinctId[],
  entries: Record<string, unknown>[],
  omitted: PullOmission[],
  o: { fileSize: number; target: string; schemaRef: string; snapshots: ReadonlyMap<DistinctId, ActualSnapshot> },
): Promise<PulledFile[]> {
  const byId = new Map(ids.map((id, i) => [id, entries[i]!] as const));
  for (let round = 0; ; round++) {
    const files = renderPullFiles(entries, o);
    const { issues, state } = await loadBack(files);
    if (issues.length === 0) {
      const changed = planOperations(state, o.snapshots).operations.map((op) => ({ id: op.distinct_id, field: changedField(op) }));
      if (changed.length === 0) return files;
      const unfixable = round >= 2 ? changed : changed.filter((c) => !removeField(byId.get(c.id), c.field));
      if (unfixable.length > 0) {
        throw new FynoSyncError('pull.invalid', `live values that desired state cannot hold unchanged: ${unfixable.slice(0, 5).map((c) => `profile ${c.id}: ${c.field ?? 'profile'}`).join('; ')}; nothing was written`, {});
      }
      for (const c of changed) omitted.push({ distinct_id: c.id, field: c.field!, reason: 'written as desired state it would not read back as the live value' });
      continue;
    }
    const unfixable = round >= 2 ? issues : issues.filter((i) => !removeField(i.distinct_id !== undefined ? byId.get(i.distinct_id) : undefined, i.field));
    if (unfixable.length > 0) throw invalidOutput(unfixable);
    for (const i of issues) omitted.push({ distinct_id: i.distinct_id!, field: i.field!, reason: i.message });
  }
}

/** Deletes the managed key an issue's field path lies in (`channels.email`, `properties.tags[1]`, …). */
function removeField(entry: Record<string, unknown> | undefined, field: string | undefined): boolean {
  if (!entry || !field) return false;
  const path = field.replace(/^profiles\[\d+\]\./, '');
  if (path === 'name' || path === 'timezone' || path === 'status') return delete entry[path];
  const top = /^(channels|properties|preferences)\.(.+)$/.exec(path);
  if (!top) return false;
  const group = entry[top[1]!] as Record<string, unknown> | undefined;
  if (!group) return false;
  const rest = top[2]!;
  // Keys may hold dots (property keys, topic ids): take the longest key the path starts with.
  const key = Object.keys(group)
    .filter((k) => rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`))
    .sort((a, b) => b.length - a.length)[0];
  if (key === undefined) return false;
  delete group[key];
  if (Object.keys(group).length === 0) delete entry[top[1]!];
  return true;
}

/** The field of a pulled entry an operation would change (`properties.plan`, `channels.email`, `name`). */
function changedField(op: Operation): string | undefined {
  switch (op.type) {
    case 'property.set':
    case 'property.set_once':
    case 'property.append':
    case 'property.remove':
    case 'property.unset':
      return `properties.${op.key}`;
    case 'channel.set':
    case 'channel.delete':
      return `channels.${op.channel}`;
    case 'preference.set':
      return `preferences.${op.topic}.${op.channel}`;
    case 'profile.update':
      return op.changes[0]?.field;
    default:
      return undefined;
  }
}

/** Loads pulled files back from a temp directory with the desired-state loader (`workers` as `loadDesired`'s). */
export async function loadBack(files: readonly PulledFile[], workers?: number): Promise<{ issues: ValidationIssue[]; state: DesiredState }> {
  if (files.length === 0) return { issues: [], state: { profiles: [], files: [] } };
  const tmp = await mkdtemp(path.join(tmpdir(), 'fyno-sync-pull-'));
  try {
    for (const f of files) await writeFile(path.join(tmp, f.name), f.text, 'utf8');
    // An empty environment: every `${` was escaped, so nothing may depend on a variable.
    const r = await loadDesired(files.map((f) => path.join(tmp, f.name)), { env: {}, cwd: tmp, ...(workers !== undefined ? { workers } : {}) });
    return { issues: r.issues, state: r.state };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function invalidOutput(issues: ValidationIssue[]): FynoSyncError {
  const first = issues.slice(0, 5).map(formatIssue).join('; ');
  return new FynoSyncError(
    'pull.invalid',
    `live values that desired state cannot hold (${issues.length} issue${issues.length === 1 ? '' : 's'}: ${first}${issues.length > 5 ? '; …' : ''}); nothing was written`,
    { issues },
  );
}

/** Desired-state files of `fileSize` entries each, in the order given. */
export function renderPullFiles(entries: readonly Record<string, unknown>[], o: { fileSize: number; target: string; schemaRef: string }): PulledFile[] {
  const files: PulledFile[] = [];
  for (let i = 0; i < entries.length; i += o.fileSize) {
    const chunk = entries.slice(i, i + o.fileSize);
    const text =
      schemaHeader(o.schemaRef) +
      `# Pulled by fyno-sync from ${oneLine(o.target)}: profiles ${i + 1} to ${i + chunk.length} of ${entries.length}, by distinct_id.\n` +
      'version: 1\n' +
      'profiles:\n' +
      emitSeq(chunk, '  ');
    files.push({ name: shardName(files.length + 1), text });
  }
  return files;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
