/**
 * The top-level `suppressions:` key of a desired-state file (issue #18): the workspace's
 * do-not-contact list (fyno-suppression-list-api-openapi.yml). Per file: each entry names a
 * channel and exactly one of `destination` / `distinct_id`; a destination is checked and
 * normalised as its channel requires (E.164 phones, emails with a lower-case domain), the same
 * comparison key the planner uses (`channelValueKey`). Across files: see `mergeSuppressions`.
 */
import { channelValueKey, idProblem, phoneTextProblem, SUPPRESSION_MARKER, suppressionKey } from '../plan/normalize.js';
import type { InstancePath } from './positions.js';
import type { DesiredSuppression, DesiredSuppressions, SourceRef, SuppressionManage, ValidationIssue } from './types.js';
import { asRecord, PHONE_CHANNELS, phoneE164 } from './values.js';

/** What one file says of the list. */
export interface FileSuppressions {
  /** The `suppressions` key. */
  at: SourceRef;
  manage?: { value: SuppressionManage; at: SourceRef };
  entries: DesiredSuppression[];
}

export interface SuppressionContext {
  display: string;
  at(path: InstancePath): { line: number; column: number };
  report(path: InstancePath, message: string): void;
  isBlocked(path: InstancePath): boolean;
  isSensitive(path: InstancePath): boolean;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s.]+$/;
const ORIGINS: readonly string[] = PHONE_CHANNELS;

/** The file's `suppressions` (already checked against the schema), or undefined without the key. */
export function fileSuppressions(value: unknown, c: SuppressionContext): FileSuppressions | undefined {
  const root = asRecord(value);
  if (!root || c.isBlocked(['suppressions'])) return undefined;
  const out: FileSuppressions = { at: { file: c.display, ...c.at(['suppressions']) }, entries: [] };
  if (typeof root.manage === 'string' && !c.isBlocked(['suppressions', 'manage'])) {
    out.manage = { value: root.manage as SuppressionManage, at: { file: c.display, ...c.at(['suppressions', 'manage']) } };
  }
  const list = Array.isArray(root.entries) ? root.entries : [];
  list.forEach((item, i) => {
    const path = (...rel: (string | number)[]): InstancePath => ['suppressions', 'entries', i, ...rel];
    const e = asRecord(item);
    if (!e || c.isBlocked(path())) return;
    for (const k of ['destination', 'distinct_id']) {
      if (c.isSensitive(path(k))) return c.report(path(k), `${k} of a suppression must not come from an environment variable: it is shown in every output and cannot be masked`);
    }
    const channel = e.channel as string;
    const hasDest = typeof e.destination === 'string';
    const hasId = typeof e.distinct_id === 'string';
    if (hasDest === hasId) {
      return c.report(path(), hasDest ? 'name either destination or distinct_id, not both' : 'a suppression names destination or distinct_id');
    }
    let key: DesiredSuppression['key'];
    let v: string;
    if (hasId) {
      key = 'distinct_id';
      v = e.distinct_id as string;
      const bad = idProblem(v);
      if (bad) return c.report(path('distinct_id'), bad);
    } else {
      key = 'destination';
      v = (e.destination as string).trim();
      if (ORIGINS.includes(channel) && phoneE164(v) === null) {
        return c.report(path('destination'), `"${v}" is not a valid phone number for ${channel}; write it with its country code, e.g. "+919812345678"`);
      }
      const extra = ORIGINS.includes(channel) ? phoneTextProblem(v, channel) : undefined;
      if (extra) return c.report(path('destination'), `"${v}" ${extra}`);
      if (channel === 'email' && !EMAIL.test(v)) return c.report(path('destination'), `"${v}" is not a valid email address`);
      v = channelValueKey(channel, v);
    }
    const description = typeof e.description === 'string' ? e.description : undefined;
    if (description !== undefined && description.trimEnd().endsWith(SUPPRESSION_MARKER)) {
      return c.report(path('description'), `leave out the marker ${SUPPRESSION_MARKER}: fyno-sync appends it to the entries it adds`);
    }
    // `withMarker` puts the marker after it and `splitMarker` takes it off with the white space
    // before it: "DND " would read back as "DND" and be rewritten by every plan.
    if (description !== undefined && description.trimEnd() !== description) {
      return c.report(path('description'), `ends with white space, which cannot be kept before the marker ${SUPPRESSION_MARKER} that fyno-sync appends; remove it`);
    }
    out.entries.push({
      channel,
      key,
      value: v,
      ...(description !== undefined ? { description } : {}),
      state: e.state === 'absent' ? 'absent' : 'present',
      at: { file: c.display, ...c.at(path()) },
    });
  });
  return out;
}

function where(at: SourceRef): string {
  return `${at.file}:${at.line}:${at.column}`;
}

/**
 * Every file's suppressions as one: entries in file order; an entry named twice (in one file or
 * two) and files that disagree on `manage` are errors naming both positions. Undefined when no
 * file has the key.
 */
export function mergeSuppressions(files: readonly (FileSuppressions | undefined)[]): { suppressions?: DesiredSuppressions; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const present = files.filter((f): f is FileSuppressions => f !== undefined);
  if (present.length === 0) return { issues };
  let manage: FileSuppressions['manage'];
  const seen = new Map<string, DesiredSuppression>();
  const entries: DesiredSuppression[] = [];
  for (const f of present) {
    if (f.manage) {
      if (manage && manage.value !== f.manage.value) {
        issues.push({ ...f.manage.at, field: 'suppressions.manage', message: `manage: ${f.manage.value} disagrees with manage: ${manage.value} at ${where(manage.at)}; the list is managed one way` });
      } else manage ??= f.manage;
    }
    for (const e of f.entries) {
      const first = seen.get(suppressionKey(e));
      if (first) {
        issues.push({ ...e.at, field: 'suppressions.entries', message: `${e.channel} ${e.key} "${e.value}" is listed twice; it is also listed at ${where(first.at)}` });
        continue;
      }
      seen.set(suppressionKey(e), e);
      entries.push(e);
    }
  }
  return { suppressions: { manage: manage?.value ?? 'merge', at: manage?.at ?? present[0]!.at, entries }, issues };
}
