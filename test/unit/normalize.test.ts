import { describe, expect, it } from 'vitest';
import { dateInstant, normalizePhone, propertyEquals, propertyKind, stableStringify } from '../../src/plan/normalize.js';

describe('normalizePhone', () => {
  it('turns the forms Fyno shows into E.164', () => {
    expect(normalizePhone('+91 98123 45678')).toBe('+919812345678');
    expect(normalizePhone('919812345678')).toBe('+919812345678');
    expect(normalizePhone('0091 9812345678')).toBe('+919812345678');
  });
  it('uses the default country for national numbers', () => {
    expect(normalizePhone('(415) 555-2671', 'US')).toBe('+14155552671');
  });
  it('rejects what is not a valid number', () => {
    expect(normalizePhone('12345')).toBeNull();
    expect(normalizePhone('not a phone')).toBeNull();
    expect(normalizePhone('')).toBeNull();
  });
});

describe('dates', () => {
  it('accepts every form Fyno lists and compares by instant', () => {
    for (const s of ['2020-10-01T18:30:00.000Z', '2020-10-01T18:30:00Z', '2020-10-01T18:30:00.000+05:30', '2020-10-01T18:30:00+02:00', '2020-10-01']) {
      expect(dateInstant(s), s).not.toBeNull();
    }
    expect(propertyEquals('2020-10-01T18:30:00.000Z', '2020-10-02T00:00:00+05:30')).toBe(true);
    expect(propertyEquals('2024-03-01', '2024-03-01T00:00:00.000Z')).toBe(true);
  });
  it('refuses impossible days and other forms', () => {
    expect(dateInstant('2023-02-30')).toBeNull();
    expect(dateInstant('2023-13-01')).toBeNull();
    expect(dateInstant('01/02/2023')).toBeNull();
    expect(propertyKind('2023-02-30')).toBe('string');
  });
});

describe('propertyEquals', () => {
  it('treats lists as sets, as Fyno keeps list values unique', () => {
    expect(propertyEquals(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(propertyEquals(['a', 'b'], ['a'])).toBe(false);
    expect(propertyEquals(['a'], 'a')).toBe(false);
  });
  it('never equates values of different types', () => {
    expect(propertyEquals(1, '1')).toBe(false);
    expect(propertyEquals(true, 'true')).toBe(false);
  });
});

it('stableStringify sorts keys at every level and drops undefined', () => {
  expect(stableStringify({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
});
