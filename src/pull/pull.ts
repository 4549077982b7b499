/**
 * `fyno-sync pull` as a library (issue #6 part 2): read live profiles and turn them into
 * desired-state YAML files. Never prints, never exits; writing the files is write.ts.
 *
 * Output is deterministic: profiles sorted by distinct_id (whatever the order of the ids asked
 * for), keys in a fixed order, files of `fileSize` profiles named `profiles-0001.yaml`, …, and
 * no clock or absolute path in the text.
 */
import { FynoSyncError } from '../errors.js';
import { fetchActual } from '../fyno/fetch-actual.js';
import type { DistinctId, FynoApi } from '../fyno/types.js';
import { emitSeq } from '../import/emit-yaml.js';
import { DESIRED_SCHEMA_ID, shardName } from '../import/write.js';
import { profileToDesired, type PullOmission, type PullOptions } from './to-desired.js';

export const DEFAULT_PULL_FILE_SIZE = 1000;

export interface PullProfilesOptions extends PullOptions {
  /** Reads in flight at once (default 8); the request rate is the client's business. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Profiles per file (default 1,000). */
  fileSize?: number;
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
  const bad = unique.filter((id) => id.includes('/') || id.trim() !== id || id.length > 255);
  if (bad.length > 0) {
    throw new FynoSyncError('pull.invalid', `not a distinct_id (no "/", no leading or trailing spaces, at most 255 characters): ${bad.map((b) => JSON.stringify(b)).join(', ')}; nothing was read`, {
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
  );
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
  return { files: renderPullFiles(entries, { fileSize: o.fileSize ?? DEFAULT_PULL_FILE_SIZE, target }), pulled, notFound, omitted, reads };
}

/** Desired-state files of `fileSize` entries each, in the order given. */
export function renderPullFiles(entries: readonly Record<string, unknown>[], o: { fileSize: number; target: string }): PulledFile[] {
  const files: PulledFile[] = [];
  for (let i = 0; i < entries.length; i += o.fileSize) {
    const chunk = entries.slice(i, i + o.fileSize);
    const text =
      `# yaml-language-server: $schema=${DESIRED_SCHEMA_ID}\n` +
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
