/**
 * Sorting for the planner's hot paths. Pure.
 *
 * The planner sorts a handful of keys, tokens or topics several times per profile (fingerprints,
 * JSON Patch documents, preferences). V8's `Array#sort` allocates a work area of a few kilobytes
 * on every call, however short the list: at 100,000 profiles that was about a third of all the
 * memory `buildPlan` allocated (issue #17). Short lists are insertion-sorted instead, which
 * gives the same order, since both are stable.
 */
import type { Topic } from '../fyno/types.js';

/** UTF-16 code unit order, the order `Array#sort()` without a comparator gives strings. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Topics by subscription id, the order fingerprints and documents list them in. */
export function compareTopics(a: Topic, b: Topic): number {
  return compareStrings(a.subscription_id, b.subscription_id);
}

/** Longer lists go to `Array#sort`, whose work area then costs little next to the sorting. */
const SHORT = 16;

/**
 * Sorts `list` in place and returns it, exactly as `list.sort(compare)` does (stable; `list`
 * must hold no holes or `undefined`, which `Array#sort` would move to the end uncompared).
 */
export function sortInPlace<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > SHORT) return list.sort(compare);
  for (let i = 1; i < list.length; i += 1) {
    const x = list[i]!;
    let j = i - 1;
    while (j >= 0 && compare(list[j]!, x) > 0) {
      list[j + 1] = list[j]!;
      j -= 1;
    }
    list[j + 1] = x;
  }
  return list;
}

/** `list` itself when it is already in order (nearly always, for what Fyno returns), else a sorted copy. */
export function inOrder<T>(list: readonly T[], compare: (a: T, b: T) => number): readonly T[] {
  for (let i = 1; i < list.length; i += 1) if (compare(list[i - 1]!, list[i]!) > 0) return sortInPlace([...list], compare);
  return list;
}

/** `list` sorted in place as `list.sort()` sorts strings. */
export function sortStrings<T extends string>(list: T[]): T[] {
  return sortInPlace(list, compareStrings);
}

/** The own enumerable keys of `o`, sorted as strings (`Object.keys(o).sort()`). */
export function sortedKeys<K extends string>(o: Readonly<Partial<Record<K, unknown>>>): K[] {
  return sortStrings(Object.keys(o) as K[]);
}
