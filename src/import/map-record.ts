/**
 * One input row → one desired-state profile (plain data in the YAML shape of
 * schemas/desired-state.schema.json), or the reasons the row is rejected. Pure.
 */
import { fynoTimezones } from '../desired/schema.js';
import type { PropertyScalar } from '../fyno/types.js';
import { idProblem, keyedRecord, stringProblem } from '../plan/normalize.js';
import {
  cellText,
  coerceBoolean,
  coerceDate,
  coerceEmail,
  coerceList,
  coerceNumber,
  coercePhone,
  coerceString,
  isEmptyCell,
  MAX_STRING,
  type Cell,
  type Coerced,
} from './coerce.js';
import type { ImportMapping, PropertySpec } from './mapping.js';

export interface RowProblem {
  /** The input column at fault ('' when the row as a whole is). */
  column: string;
  reason: string;
}

export type MappedRow =
  /** `suppressions`: the row's entries of the suppression list (YAML shape), when the mapping has any. */
  | { profile: Record<string, unknown>; suppressions?: Record<string, unknown>[] }
  /** `distinct_id` is set when the id itself was fine (duplicates of a rejected row are still duplicates). */
  | { problems: RowProblem[]; distinct_id?: string };

let timezones: Set<string> | undefined;
function timezoneNames(): Set<string> {
  if (!timezones) {
    timezones = new Set(fynoTimezones());
  }
  return timezones;
}


/** Applies the mapping to one row; `get(column)` returns the row's cell for a column. */
export function mapRecord(m: ImportMapping, get: (column: string) => Cell): MappedRow {
  const problems: RowProblem[] = [];
  const fail = (column: string, reason: string) => problems.push({ column, reason });

  // 1. distinct_id
  const idCell = get(m.id.column);
  const idText = cellText(idCell);
  let id = '';
  if (Array.isArray(idCell) || (idCell !== null && typeof idCell === 'object')) fail(m.id.column, 'distinct_id must be a single value');
  else if (idText === '') fail(m.id.column, 'distinct_id is empty');
  else {
    id = `${m.id.prefix}${idText}`;
    if (id.length > MAX_STRING) fail(m.id.column, `distinct_id is longer than ${MAX_STRING} characters`);
    else {
      // The rule validation applies (issue #14): also no ".", "..", control characters or lone surrogates.
      const bad = idProblem(id);
      if (bad) fail(m.id.column, `distinct_id ${JSON.stringify(id)} ${bad}`);
    }
  }
  const idOk = problems.length === 0;
  const profile: Record<string, unknown> = { distinct_id: id };

  // 2. name, status, timezone
  if (m.name) {
    const parts: string[] = [];
    for (const c of m.name.columns) {
      const r = coerceString(get(c));
      if ('error' in r) fail(c, `name: ${r.error}`);
      else if (r.value !== '') parts.push(r.value);
    }
    if (parts.length > 0) {
      const r = coerceString(parts.join(m.name.separator), { truncate: m.name.truncate });
      if ('error' in r) fail(m.name.columns.join(' + '), `name ${r.error}`);
      else profile.name = r.value;
    }
  }
  if (m.status) {
    const cell = get(m.status.column);
    if (!isEmptyCell(cell)) {
      const t = cellText(cell).toLowerCase();
      if (t === 'active' || t === 'inactive') profile.status = t;
      else {
        const b = coerceBoolean(cell, words(m.status));
        if ('error' in b) fail(m.status.column, `status: ${b.error} (or active / inactive)`);
        else profile.status = b.value === (m.status.whenTrue === 'active') ? 'active' : 'inactive';
      }
    }
  }
  if (m.timezone) {
    const cell = get(m.timezone.column);
    if (isEmptyCell(cell)) {
      if (m.timezone.ifEmpty === 'unset') fail(m.timezone.column, 'timezone cannot be unset; use if_empty: skip');
    } else {
      const tz = cellText(cell);
      if (!timezoneNames().has(tz)) fail(m.timezone.column, `${JSON.stringify(tz)} is not an IANA timezone name that Fyno accepts`);
      else profile.timezone = tz;
    }
  }

  // 3. channels
  const channels: Record<string, unknown> = {};
  const single = (column: string, ifEmpty: 'skip' | 'unset', key: string, coerce: (c: Cell) => Coerced<string>) => {
    const cell = get(column);
    if (isEmptyCell(cell)) {
      if (ifEmpty === 'unset') channels[key] = null;
      return;
    }
    const r = coerce(cell);
    if ('error' in r) fail(column, `${key}: ${r.error}`);
    else channels[key] = r.value;
  };
  if (m.email) single(m.email.column, m.email.ifEmpty, 'email', coerceEmail);
  for (const p of m.phones) single(p.column, p.ifEmpty, p.channel, (c) => coercePhone(c, p.country, p.channel));
  for (const d of m.destinations) single(d.column, d.ifEmpty, d.channel, (c) => coerceString(c));
  for (const t of m.tokens) {
    const list: { token: string; integration_id?: string }[] = [];
    const seen = new Set<string>();
    for (const s of t.sources) {
      const cell = get(s.column);
      const raw: Cell[] = Array.isArray(cell) ? (cell as Cell[]) : s.delimiter ? cellText(cell).split(s.delimiter) : [cell];
      for (const r of raw) {
        if (isEmptyCell(r)) continue;
        if (typeof r === 'object' && r !== null) {
          fail(s.column, `${t.channel}: a token must be text`);
          continue;
        }
        const token = cellText(r);
        const bad = stringProblem(token);
        if (bad) {
          fail(s.column, `${t.channel}: a token ${bad}`);
          continue;
        }
        const key = `${token}\u0000${s.integrationId ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        list.push(s.integrationId ? { token, integration_id: s.integrationId } : { token });
      }
    }
    // An empty token list is left unmanaged: "[]" would delete every token the user has.
    if (list.length > 0) channels[t.channel] = list;
  }
  if (Object.keys(channels).length > 0) profile.channels = channels;

  // 4. preferences
  // Topic ids and property keys come from the mapping: keyed records keep them as data (issue #14).
  const preferences = keyedRecord<Record<string, string>>();
  for (const p of m.preferences) {
    const cell = get(p.column);
    if (isEmptyCell(cell)) continue;
    const t = cellText(cell).toLowerCase();
    let status: string | undefined;
    if (t === 'opted-in' || t === 'opted-out') status = t;
    else {
      const b = coerceBoolean(cell, words(p));
      if ('error' in b) fail(p.column, `preferences.${p.topic}.${p.channel}: ${b.error} (or opted-in / opted-out)`);
      else status = b.value === (p.whenTrue === 'opted-in') ? 'opted-in' : 'opted-out';
    }
    if (status) (preferences[p.topic] ??= {})[p.channel] = status;
  }
  if (Object.keys(preferences).length > 0) profile.preferences = preferences;

  // 5. properties
  const properties = keyedRecord<unknown>();
  for (const p of m.properties) {
    const cell = get(p.column);
    if (isEmptyCell(cell)) {
      if (p.ifEmpty === 'unset') properties[p.key] = null;
      continue;
    }
    const r = coerceProperty(p, cell);
    if ('error' in r) fail(p.column, `properties.${p.key}: ${r.error}`);
    else if (Array.isArray(r.value) && r.value.length === 0) {
      if (p.ifEmpty === 'unset') properties[p.key] = null;
    } else properties[p.key] = p.once ? { $once: r.value } : r.value;
  }
  if (Object.keys(properties).length > 0) profile.properties = properties;

  // 6. suppression list entries from yes/no columns (issue #18)
  const entries: Record<string, unknown>[] = [];
  for (const sp of m.suppressions) {
    const cell = get(sp.column);
    if (isEmptyCell(cell)) continue;
    const b = coerceBoolean(cell, words(sp));
    if ('error' in b) {
      fail(sp.column, `suppressions: ${b.error}`);
      continue;
    }
    if (!b.value) continue;
    const e: Record<string, unknown> = { channel: sp.channel };
    if (sp.by === 'distinct_id') e.distinct_id = id;
    else {
      const dest = channels[sp.channel];
      if (typeof dest !== 'string') {
        fail(sp.column, `suppressions: the row has no ${sp.channel} destination to suppress`);
        continue;
      }
      e.destination = dest;
    }
    if (sp.description !== undefined) e.description = sp.description;
    entries.push(e);
  }

  if (problems.length === 0) return entries.length > 0 ? { profile, suppressions: entries } : { profile };
  return idOk ? { problems, distinct_id: id } : { problems };
}

function words(w: { trueValues: string[] | undefined; falseValues: string[] | undefined }) {
  return { ...(w.trueValues ? { trueValues: w.trueValues } : {}), ...(w.falseValues ? { falseValues: w.falseValues } : {}) };
}

function coerceProperty(p: PropertySpec, cell: Cell): Coerced<PropertyScalar | PropertyScalar[]> {
  switch (p.type) {
    case 'string':
      return coerceString(cell, { truncate: p.truncate });
    case 'number':
      return coerceNumber(cell, { decimal: p.decimal });
    case 'boolean':
      return coerceBoolean(cell, words(p));
    case 'date':
      return coerceDate(cell, p.parsers, { formats: p.formats, utcOffset: p.utcOffset });
    case 'list':
      return coerceList(cell, {
        delimiter: p.delimiter,
        items: p.items,
        parsers: p.parsers,
        formats: p.formats,
        utcOffset: p.utcOffset,
        decimal: p.decimal,
        truncate: p.truncate,
      });
  }
}
