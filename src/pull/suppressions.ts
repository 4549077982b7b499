/**
 * `pull --suppressions` (issue #18): the workspace's suppression list as a desired-state file
 * that plans to no changes. Entries are written as the loader reads them (phones in E.164,
 * emails with a lower-case domain, fyno-sync's ownership marker taken off the description); a
 * record desired state cannot hold (no identifier, a destination its channel refuses, a second
 * record of the same entry) is left out and reported. The file is loaded back and planned against
 * the list as read: anything but an empty plan is an error, and nothing is written.
 */
import { formatIssue } from '../desired/load.js';
import { FynoSyncError } from '../errors.js';
import type { FynoApi, Suppression } from '../fyno/types.js';
import { SUPPRESSIONS_FILE, suppressionsYaml } from '../import/write.js';
import { channelValueKey } from '../plan/normalize.js';
import { liveKey, planSuppressions, splitMarker } from '../plan/suppressions.js';
import { loadBack, type PulledFile } from './pull.js';
import { escapeEnv } from '../desired/env.js';

export { SUPPRESSIONS_FILE };

/** A live record left out of the file, and why. */
export interface SuppressionOmission {
  _id: string;
  channel: string;
  reason: string;
}

export interface PulledSuppressions {
  file: PulledFile;
  /** Entries written. */
  entries: number;
  omitted: SuppressionOmission[];
  /** Requests sent (one list read). */
  reads: number;
}

/** Reads the list once and renders it; `schemaRef` as for profiles. */
export async function pullSuppressions(api: FynoApi, o: { schemaRef: string; signal?: AbortSignal }): Promise<PulledSuppressions> {
  const live = await api.listSuppressions(o.signal ? { signal: o.signal } : {});
  // One line in the file's comment: suppressionsYaml folds its line breaks.
  const target = `${api.target.workspace} (${api.target.env})`;
  const omitted: SuppressionOmission[] = [];
  const seen = new Set<string>();
  const kept: { record: Suppression; entry: Record<string, unknown> }[] = [];
  for (const s of live) {
    const key = liveKey(s);
    if (key === undefined) {
      omitted.push({ _id: s._id, channel: s.channel, reason: 'the record has neither distinct_id nor destination' });
      continue;
    }
    if (seen.has(key)) {
      omitted.push({ _id: s._id, channel: s.channel, reason: 'a second record of an entry already written' });
      continue;
    }
    seen.add(key);
    const { description } = splitMarker(s.description);
    const entry: Record<string, unknown> = { channel: s.channel };
    if (s.distinct_id) entry.distinct_id = s.distinct_id;
    else entry.destination = escapeEnv(channelValueKey(s.channel, s.destination!));
    if (description !== undefined) entry.description = escapeEnv(description);
    kept.push({ record: s, entry });
  }
  // Records the loader refuses (a destination its channel does not accept, …) are left out.
  for (let round = 0; ; round++) {
    const file = render(kept.map((k) => k.entry), target, o.schemaRef);
    const back = await loadBack([file], 0);
    if (back.issues.length === 0) {
      const ops = back.state.suppressions ? planSuppressions(back.state.suppressions, live) : [];
      if (ops.length > 0) throw new FynoSyncError('pull.invalid', `the suppression list cannot be written as desired state that plans no change (${ops.length} operation(s), first ${ops[0]!.type}); nothing was written`, {});
      return { file, entries: kept.length, omitted, reads: 1 };
    }
    const bad = new Set<number>();
    let fixed = false;
    for (const i of back.issues) {
      const m = /^suppressions\.entries\[(\d+)\](\.[a-z_]+)?$/.exec(i.field ?? '');
      if (!m) continue;
      // A description the files cannot hold is left out: a listed entry without one keeps the live one.
      if (m[2] === '.description' && kept[Number(m[1])]) {
        delete kept[Number(m[1])]!.entry.description;
        fixed = true;
      } else bad.add(Number(m[1]));
    }
    if (fixed && bad.size === 0) continue;
    if (bad.size === 0 || round >= 2) {
      throw new FynoSyncError('pull.invalid', `the suppression list cannot be written as desired state (${back.issues.slice(0, 3).map(formatIssue).join('; ')}); nothing was written`, {});
    }
    const issueOf = new Map(back.issues.map((i) => [Number(/^suppressions\.entries\[(\d+)\]/.exec(i.field ?? '')?.[1] ?? -1), i.message] as const));
    for (const i of [...bad].sort((a, b) => b - a)) {
      const k = kept[i]!;
      omitted.push({ _id: k.record._id, channel: k.record.channel, reason: issueOf.get(i) ?? 'desired state cannot hold it' });
      kept.splice(i, 1);
    }
  }
}

function render(entries: readonly Record<string, unknown>[], target: string, schemaRef: string): PulledFile {
  const comment = `Pulled by fyno-sync from ${target}: the suppression list, ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}.`;
  return { name: SUPPRESSIONS_FILE, text: suppressionsYaml(entries, comment, schemaRef) };
}
