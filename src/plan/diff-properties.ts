/**
 * Properties (fyno-user-properties-api-openapi.yml): `$set`, `$once` (only while unset),
 * `$append`/`$remove` (one value per key per action; lists hold unique values), `$unset`.
 */
import type { PropertyScalar, PropertyValue } from '../fyno/types.js';
import type { DesiredProfile, SourceRef } from '../desired/types.js';
import { ownValue, propertyEquals, scalarKey, uniqueScalars } from './normalize.js';
import { isSensitive, refOf, addIssue, type ProfileDiff } from './diff-context.js';
import { OWNERSHIP_PROPERTY, type OwnershipRecord } from './ownership.js';
import type { ProfileOperation as Operation } from './types.js';
import { sortStrings } from './sort.js';

interface PropBase {
  distinct_id: string;
  at: SourceRef;
  sensitive?: boolean;
}

type CoarseKind = 'string' | 'number' | 'boolean' | 'list';

function coarseKind(v: PropertyValue): CoarseKind {
  return Array.isArray(v) ? 'list' : (typeof v as CoarseKind);
}

/**
 * Fyno types a property on its first value and accepts, then silently ignores, a value of another
 * type (fyno-user-properties-api-openapi.yml, `/profiles/properties/set`). A live value of another
 * type shows that such a `$set` would never take effect, so it is an issue, not an operation
 * (like a change to a `required` channel). Strings and dates are not told apart: a date-looking
 * string may live in a string property.
 */
function typeClash(want: PropertyValue, have: PropertyValue | undefined): { want: CoarseKind; have: CoarseKind } | undefined {
  if (have === undefined) return undefined;
  const w = coarseKind(want);
  const h = coarseKind(have);
  return w === h ? undefined : { want: w, have: h };
}

function propBase(d: DesiredProfile, path: string): PropBase {
  return { distinct_id: d.distinct_id, at: refOf(d, path), ...(isSensitive(d, path) ? { sensitive: true } : {}) };
}

function baseOf(baseOrThunk: PropBase | (() => PropBase)): PropBase {
  return typeof baseOrThunk === 'function' ? baseOrThunk() : baseOrThunk;
}

/** listPropertyOps of a named property, its base built only if an operation needs it. */
function namedListOps(d: DesiredProfile, key: string, want: readonly PropertyScalar[], have: PropertyValue | undefined): Operation[] {
  // The closure is made here, not in diffProperties' loop, where it would cost every key a context.
  return listPropertyOps(() => propBase(d, `properties.${key}`), key, want, have);
}

/**
 * Operations that turn the live value of a list property into exactly `want`.
 * Counting one operation per appended/removed value against one `$set` of the whole list,
 * `$set` is used when it is fewer. On a tie (a single value added or removed) the targeted
 * `$append`/`$remove` wins: it leaves values another writer appended meanwhile alone and reads
 * better in a plan. A live value that is not a list, or no live value, gets one `$set`.
 */
export function listPropertyOps(
  baseOrThunk: PropBase | (() => PropBase),
  key: string,
  want: readonly PropertyScalar[],
  have: PropertyValue | undefined,
): Operation[] {
  const wanted = uniqueScalars(want);
  // An unset property already holds no values: `[]` against nothing plans nothing (docs/planner.md).
  if (have === undefined && wanted.length === 0) return [];
  if (have === undefined || !Array.isArray(have)) {
    return [{ ...baseOf(baseOrThunk), type: 'property.set', key, value: wanted, ...(have !== undefined ? { before: have } : {}), idempotent: true }];
  }
  if (propertyEquals(wanted, have)) return [];
  const b = baseOf(baseOrThunk);
  const haveKeys = new Set(have.map(scalarKey));
  const wantKeys = new Set(wanted.map(scalarKey));
  const adds = wanted.filter((v) => !haveKeys.has(scalarKey(v)));
  const removes = uniqueScalars(have).filter((v) => !wantKeys.has(scalarKey(v)));
  if (adds.length + removes.length > 1) {
    return [{ ...b, type: 'property.set', key, value: wanted, before: have, idempotent: true }];
  }
  return [
    // Removes first: the value a remove names is the live form (e.g. a date as Fyno stores it).
    ...removes.map((v): Operation => ({ ...b, type: 'property.remove', key, value: v, idempotent: true })),
    // PRODUCT.md ("The API we talk to"): `$append` is not idempotent.
    ...adds.map((v): Operation => ({ ...b, type: 'property.append', key, value: v, idempotent: false })),
  ];
}

/**
 * Diffs the named properties against `live`. With exact management on, also unsets the keys
 * the ownership record names that the file no longer does, and returns the property keys the
 * record should hold afterwards (`undefined` when exact management of properties is off).
 */
export function diffProperties(
  diff: ProfileDiff,
  live: Readonly<Record<string, PropertyValue>>,
  record: OwnershipRecord,
  /** Live numbers a double could not hold (ActualProfile `inexact`). */
  inexact?: Readonly<Record<string, string>>,
): Set<string> | undefined {
  const d = diff.desired;
  const props = d.properties ?? {};
  // Kept only under exact management, the one use of it.
  const owned = d.exact.properties ? new Set<string>() : undefined;
  for (const key of Object.keys(props)) {
    const want = props[key]!;
    if (key === OWNERSHIP_PROPERTY) {
      addIssue(diff, `properties.${key}`, `property ${OWNERSHIP_PROPERTY} is reserved for fyno-sync's ownership record of exact management (docs/planner.md)`);
      continue;
    }
    // Own keys only: a property named `constructor` is not Object's constructor (issue #14).
    const have = ownValue(live, key);
    // The operation's base (path, position) is built only when an operation is needed: most
    // keys of a converged profile need none.
    switch (want.op) {
      case 'unset':
        if (have !== undefined) diff.ops.push({ ...propBase(d, `properties.${key}`), type: 'property.unset', key, before: have, idempotent: true });
        break;
      case 'once':
        // `$once` sets only while unset; once set by anyone it is left alone. It is owned only
        // when fyno-sync sets it (or owned it before): exact mode never unsets a value it did not write.
        if (have === undefined) {
          diff.ops.push({ ...propBase(d, `properties.${key}`), type: 'property.set_once', key, value: want.value, idempotent: true });
          owned?.add(key);
        } else if (record.properties.has(key)) owned?.add(key);
        break;
      case 'set': {
        owned?.add(key);
        const numeral = inexact && ownValue(inexact, key);
        if (numeral !== undefined) {
          // The live value was rounded when read: comparing it would be comparing another number.
          addIssue(diff, `properties.${key}`, `property ${key} holds ${numeral} in Fyno, a number fyno-sync cannot read exactly; change it in Fyno or leave the property unmanaged`);
          break;
        }
        const clash = typeClash(want.value, have);
        if (clash) {
          addIssue(diff, `properties.${key}`, `property ${key} holds a ${clash.have} in Fyno, which ignores a ${clash.want} value for it (a property keeps the type of its first value)`);
          break;
        }
        if (Array.isArray(want.value)) diff.ops.push(...namedListOps(d, key, want.value, have));
        else if (!propertyEquals(want.value, have)) {
          diff.ops.push({ ...propBase(d, `properties.${key}`), type: 'property.set', key, value: want.value, ...(have !== undefined ? { before: have } : {}), idempotent: true });
        }
        break;
      }
      default: {
        const never: never = want;
        throw new Error(`unexpected property ${JSON.stringify(never)}`);
      }
    }
  }
  if (!owned) return undefined;
  // Exact management: owned keys the file no longer names are unset (only those — a key
  // someone else set is never touched, PRODUCT.md "Desired state").
  for (const key of sortStrings([...record.properties])) {
    if (Object.hasOwn(props, key) || key === OWNERSHIP_PROPERTY) continue;
    const have = ownValue(live, key);
    if (have !== undefined) {
      diff.ops.push({ distinct_id: d.distinct_id, at: refOf(d, 'properties'), type: 'property.unset', key, before: have, idempotent: true });
    }
  }
  return owned;
}
