import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStrings, inOrder, sortedKeys, sortInPlace, sortStrings } from '../../src/plan/sort.js';

describe('sortInPlace', () => {
  it('orders exactly as Array#sort does, ties in their original order, short lists and long', () => {
    // Records compared by `k` only, so that stability shows in the order of the `i`s.
    const list = fc.array(fc.record({ k: fc.integer({ min: 0, max: 5 }), i: fc.nat() }), { maxLength: 40 });
    fc.assert(
      fc.property(list, (xs) => {
        const byK = (a: { k: number }, b: { k: number }): number => a.k - b.k;
        const got = [...xs];
        expect(sortInPlace(got, byK)).toBe(got);
        expect(got).toEqual([...xs].sort(byK));
      }),
    );
  });

  it('orders strings as Array#sort() without a comparator does (UTF-16 code units)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 30 }), (xs) => {
        expect(sortStrings([...xs])).toEqual([...xs].sort());
      }),
    );
    expect(sortStrings(['é', 'z', 'Z', '10', '9', '\u{1F600}', '\uFF5E'])).toEqual(['10', '9', 'Z', 'z', 'é', '\u{1F600}', '\uFF5E']);
    expect(compareStrings('a', 'a')).toBe(0);
  });

  it('gives an object’s keys sorted, integer-like keys among the others', () => {
    expect(sortedKeys({ sms: 1, 10: 2, email: 3, 9: 4 })).toEqual(['10', '9', 'email', 'sms']);
  });
});

describe('inOrder', () => {
  it('is the list itself when in order, else a sorted copy, the list untouched', () => {
    const sorted = [1, 2, 2, 3];
    expect(inOrder(sorted, (a, b) => a - b)).toBe(sorted);
    const mixed = [3, 1, 2];
    expect(inOrder(mixed, (a, b) => a - b)).toEqual([1, 2, 3]);
    expect(mixed).toEqual([3, 1, 2]);
  });
});
