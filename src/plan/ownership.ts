/**
 * The ownership record for exact management (../shared/PRODUCT.md, "Desired state": "only keys
 * that fyno-sync itself set before may be removed, so it needs an ownership record that it keeps
 * … without a local state file").
 *
 * Design (docs/planner.md, "Exact management"): the record lives in Fyno itself, as one reserved **list property**
 * `fyno_sync_managed` on each profile that uses exact management. Fyno lists hold unique
 * strings (fyno-user-properties-api-openapi.yml, `/profiles/properties/list-append`), which is
 * exactly a set of entries:
 *
 * - `prop:<key>`            — property `<key>` is owned by fyno-sync;
 * - `pref:<topic>:<channel>` — the preference of `<channel>` for topic id (or `all`) is owned.
 *
 * Entries with another prefix are kept untouched (room for later versions). The record is only
 * read and written when the profile opts into exact management for that category; the entries
 * of a category whose exact mode is off are carried over unchanged. It is maintained with
 * `$append` / `$remove` of single entries (or one `$set` when that is fewer operations), only
 * when it changes, so a converged profile plans nothing.
 */
import type { PropertyValue } from '../fyno/types.js';
import { ownValue } from './normalize.js';
import { sortStrings } from './sort.js';

/** Reserved property name holding the ownership record. Desired state may not name it. */
export const OWNERSHIP_PROPERTY = 'fyno_sync_managed';

/** Property names starting with `fyno_sync` are reserved for fyno-sync (schemas/desired-state.schema.json). */
export function isReservedProperty(key: string): boolean {
  return key.startsWith('fyno_sync');
}

const PROP = 'prop:';
const PREF = 'pref:';

export function propertyEntry(key: string): string {
  return `${PROP}${key}`;
}

export function preferenceEntry(topic: string, channel: string): string {
  return `${PREF}${topic}:${channel}`;
}

/** The record as read: its entries split by category. A non-list value reads as empty. */
export interface OwnershipRecord {
  /** Live value of the property, `undefined` when unset. */
  readonly raw: PropertyValue | undefined;
  readonly properties: ReadonlySet<string>;
  /** `topic:channel` pairs. */
  readonly preferences: ReadonlySet<string>;
  /** Entries of another kind, kept as they are. */
  readonly other: readonly string[];
}

// The record of every profile without one (nearly all): shared, since a record is only read.
const NO_ENTRIES: ReadonlySet<string> = new Set();
const NO_OTHER: readonly string[] = [];

export function readOwnership(properties: Readonly<Record<string, PropertyValue>>): OwnershipRecord {
  const raw = ownValue(properties, OWNERSHIP_PROPERTY);
  if (!Array.isArray(raw)) return { raw, properties: NO_ENTRIES, preferences: NO_ENTRIES, other: NO_OTHER };
  const rec = { raw, properties: new Set<string>(), preferences: new Set<string>(), other: [] as string[] };
  for (const v of raw) {
    if (typeof v !== 'string') continue;
    if (v.startsWith(PROP)) rec.properties.add(v.slice(PROP.length));
    else if (v.startsWith(PREF)) rec.preferences.add(v.slice(PREF.length));
    else rec.other.push(v);
  }
  return rec;
}

/** The record as it should be, sorted so that a `$set` of it is byte-stable. */
export function buildOwnership(properties: Iterable<string>, preferences: Iterable<string>, other: readonly string[]): string[] {
  const out = new Set<string>(other);
  for (const k of properties) out.add(propertyEntry(k));
  for (const p of preferences) out.add(`${PREF}${p}`);
  return sortStrings([...out]);
}
