/**
 * The workspace suppression list (issue #18, fyno-suppression-list-api-openapi.yml): desired
 * entries + the list as read → `suppression.add` / `suppression.remove` operations, and the
 * fingerprint of the list a saved plan's staleness check compares. Pure.
 *
 * Ownership: the API records only `channel`, the identifier and `description` of an entry, so
 * fyno-sync marks the entries it adds by ending their description with `[fyno-sync]`
 * (SUPPRESSION_MARKER). `manage: exact` removes live entries the files do not list only when
 * they carry the marker; `manage: exact-all` removes every one.
 */
import { createHash } from 'node:crypto';
import type { DesiredSuppressions } from '../desired/types.js';
import type { Suppression } from '../fyno/types.js';
import { channelValueKey, SUPPRESSION_MARKER, suppressionKey } from './normalize.js';
import type { SuppressionEntry, SuppressionOperation } from './types.js';

/**
 * The description as the files see it: the marker taken off. `owned` when it had one. Trailing
 * white space is never part of it (the loader refuses it in files, `withMarker` could not keep
 * it before the marker), also without a marker: a live "DND " reads as "DND", "  " as none.
 */
export function splitMarker(description: string | undefined): { description?: string; owned: boolean } {
  if (description === undefined) return { owned: false };
  const t = description.trimEnd();
  if (!t.endsWith(SUPPRESSION_MARKER)) return t === '' ? { owned: false } : { description: t, owned: false };
  const rest = t.slice(0, -SUPPRESSION_MARKER.length).trimEnd();
  return rest === '' ? { owned: true } : { description: rest, owned: true };
}

/** The description fyno-sync writes: the file's, then the marker. */
export function withMarker(description: string | undefined): string {
  return description === undefined ? SUPPRESSION_MARKER : `${description} ${SUPPRESSION_MARKER}`;
}

/**
 * How a live record is identified: `distinct_id` when it has one (it wins over `destination`,
 * spec note on POST), else its destination compared as its channel requires.
 */
export function liveKey(s: Suppression): string | undefined {
  if (s.distinct_id) return suppressionKey({ channel: s.channel, key: 'distinct_id', value: s.distinct_id });
  if (s.destination) return suppressionKey({ channel: s.channel, key: 'destination', value: channelValueKey(s.channel, s.destination) });
  return undefined;
}

function liveEntry(s: Suppression): SuppressionEntry {
  return {
    channel: s.channel,
    ...(s.distinct_id ? { distinct_id: s.distinct_id } : { destination: s.destination! }),
    ...(s.description !== undefined ? { description: s.description } : {}),
  };
}

/**
 * The operations that turn the list as read into the desired one: adds (and description
 * changes) in file order, then removals — `state: absent` entries in file order, then, under
 * `exact`/`exact-all`, the unlisted live records in list order. Arguments are never modified.
 */
export function planSuppressions(desired: DesiredSuppressions, live: readonly Suppression[]): SuppressionOperation[] {
  const byKey = new Map<string, Suppression[]>();
  for (const s of live) {
    const k = liveKey(s);
    if (k === undefined) continue;
    const list = byKey.get(k);
    if (list) list.push(s);
    else byKey.set(k, [s]);
  }
  const adds: SuppressionOperation[] = [];
  const removes: SuppressionOperation[] = [];
  const listed = new Set<string>();
  for (const d of desired.entries) {
    const k = suppressionKey(d);
    listed.add(k);
    const matches = byKey.get(k) ?? [];
    if (d.state === 'absent') {
      for (const m of matches) removes.push({ type: 'suppression.remove', _id: m._id, entry: liveEntry(m), at: d.at, idempotent: false });
      continue;
    }
    const entry: SuppressionEntry = { channel: d.channel, [d.key]: d.value };
    const first = matches[0];
    if (!first) {
      adds.push({ type: 'suppression.add', entry: { ...entry, description: withMarker(d.description) }, at: d.at, idempotent: false });
      continue;
    }
    // Listed without a description: whatever the live one says is kept.
    if (d.description === undefined) continue;
    if (matches.some((m) => splitMarker(m.description).description === d.description)) continue;
    // Re-added with the identifier exactly as Fyno holds it (`919812345678`, not the file's
    // `+919812345678`), so that the add finds the same record instead of making a second one.
    const held: SuppressionEntry = { channel: first.channel, ...(first.distinct_id ? { distinct_id: first.distinct_id } : { destination: first.destination! }) };
    adds.push({
      type: 'suppression.add',
      entry: { ...held, description: withMarker(d.description) },
      at: d.at,
      idempotent: false,
      before: first.description !== undefined ? { description: first.description } : {},
    });
  }
  if (desired.manage !== 'merge') {
    for (const s of live) {
      const k = liveKey(s);
      if (k !== undefined && listed.has(k)) continue;
      if (desired.manage === 'exact' && !splitMarker(s.description).owned) continue;
      removes.push({ type: 'suppression.remove', _id: s._id, entry: liveEntry(s), at: desired.at, idempotent: false });
    }
  }
  return [...adds, ...removes];
}

/**
 * `sha256:<hex>` of the list as read: every record's id, channel, identifiers, description and
 * expiry, sorted by `_id` (the order Fyno lists them in is not part of the state). `created_at`
 * is left out: it never changes for a record.
 */
export function fingerprintSuppressions(live: readonly Suppression[]): string {
  const rows = live.map((s) => [s._id, s.channel, s.distinct_id ?? null, s.destination ?? null, s.description ?? null, s.expiry_ts ?? null]);
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return `sha256:${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
}
