import { describe, expect, it } from 'vitest';
import {
  coerceBoolean,
  coerceDate,
  coerceEmail,
  coerceList,
  coerceNumber,
  coercePhone,
  coerceString,
  compileDateFormat,
  type DateParser,
} from '../../src/import/coerce.js';

function parsers(...formats: string[]): DateParser[] {
  return formats.map((f) => {
    const p = compileDateFormat(f);
    if (typeof p !== 'function') throw new Error(p.error);
    return p;
  });
}

const date = (cell: string, formats: string[], utcOffset?: string) =>
  coerceDate(cell, parsers(...formats), { formats, ...(utcOffset ? { utcOffset } : {}) });

describe('coerceNumber', () => {
  it('reads plain, signed, decimal and exponent numbers', () => {
    expect(coerceNumber(' 42 ')).toEqual({ value: 42 });
    expect(coerceNumber('-3.5')).toEqual({ value: -3.5 });
    expect(coerceNumber('1e3')).toEqual({ value: 1000 });
  });
  it('drops thousands separators in the form of the decimal mark', () => {
    expect(coerceNumber('1,234,567.89')).toEqual({ value: 1234567.89 });
    expect(coerceNumber('1.234.567,89', { decimal: ',' })).toEqual({ value: 1234567.89 });
    expect(coerceNumber('1 234,5', { decimal: ',' })).toEqual({ value: 1234.5 });
  });
  it('refuses text, ambiguous separators and JSON non-numbers', () => {
    expect(coerceNumber('abc')).toEqual({ error: '"abc" is not a number' });
    expect(coerceNumber('12,34')).toHaveProperty('error');
    expect(coerceNumber('$100')).toHaveProperty('error');
    expect(coerceNumber([1, 2])).toHaveProperty('error');
  });
  it('passes JSON numbers through', () => {
    expect(coerceNumber(7)).toEqual({ value: 7 });
  });
});

describe('coerceBoolean', () => {
  it('reads the yes/no words CRMs write, without case', () => {
    for (const t of ['Yes', 'TRUE', 'true', '1', 'y', 'on']) expect(coerceBoolean(t), t).toEqual({ value: true });
    for (const f of ['No', 'FALSE', 'false', '0', 'n', 'off']) expect(coerceBoolean(f), f).toEqual({ value: false });
    expect(coerceBoolean(true)).toEqual({ value: true });
  });
  it('uses custom words when given, and refuses anything else', () => {
    expect(coerceBoolean('Subscribed', { trueValues: ['subscribed'], falseValues: ['unsubscribed'] })).toEqual({ value: true });
    expect(coerceBoolean('yes', { trueValues: ['subscribed'], falseValues: ['unsubscribed'] })).toHaveProperty('error');
    expect(coerceBoolean('maybe')).toHaveProperty('error');
  });
});

describe('dates', () => {
  it('reads US dates with or without leading zeros into YYYY-MM-DD', () => {
    expect(date('03/01/2024', ['MM/DD/YYYY'])).toEqual({ value: '2024-03-01' });
    expect(date('3/1/2024', ['MM/DD/YYYY'])).toEqual({ value: '2024-03-01' });
    expect(date('1/3/2024', ['DD/MM/YYYY'])).toEqual({ value: '2024-03-01' });
  });
  it('reads date-times with the given offset (UTC by default)', () => {
    expect(date('2024-03-01 14:22:05', ['YYYY-MM-DD HH:mm:ss'])).toEqual({ value: '2024-03-01T14:22:05Z' });
    expect(date('2024-03-01 14:22:05', ['YYYY-MM-DD HH:mm:ss'], '+05:30')).toEqual({ value: '2024-03-01T14:22:05+05:30' });
    expect(date('2024-03-01 14:22', ['YYYY-MM-DD HH:mm'])).toEqual({ value: '2024-03-01T14:22:00Z' });
  });
  it('reads 12-hour times with AM/PM', () => {
    expect(date('3/1/2024 2:05 PM', ['M/D/YYYY h:mm A'])).toEqual({ value: '2024-03-01T14:05:00Z' });
    expect(date('3/1/2024 12:05 am', ['M/D/YYYY h:mm A'])).toEqual({ value: '2024-03-01T00:05:00Z' });
  });
  it('reads ISO 8601 and writes one of the forms Fyno lists', () => {
    expect(date('2024-03-01', ['iso'])).toEqual({ value: '2024-03-01' });
    expect(date('2024-03-01T10:00:00Z', ['iso'])).toEqual({ value: '2024-03-01T10:00:00Z' });
    expect(date('2024-03-01T10:00:00.5+0530', ['iso'])).toEqual({ value: '2024-03-01T10:00:00.500+05:30' });
    expect(date('2024-03-01T10:00', ['iso'])).toEqual({ value: '2024-03-01T10:00:00Z' });
  });
  it('tries formats in order and refuses impossible days', () => {
    expect(date('2024-03-01', ['MM/DD/YYYY', 'iso'])).toEqual({ value: '2024-03-01' });
    expect(date('02/30/2024', ['MM/DD/YYYY'])).toEqual({ error: '"02/30/2024" is not a date in the form MM/DD/YYYY' });
    expect(date('2024-13-01', ['iso'])).toHaveProperty('error');
    expect(date('25:00 2024-01-01', ['HH:mm YYYY-MM-DD'])).toHaveProperty('error');
  });
  it('refuses patterns without a full date', () => {
    expect(compileDateFormat('MM/YYYY')).toEqual({ error: 'date format "MM/YYYY" needs a year (YYYY), a month (MM) and a day (DD)' });
    expect(compileDateFormat('YYYY-MM-DD hh:mm')).toHaveProperty('error');
  });
});

describe('coerceList', () => {
  const base = { delimiter: ';', items: 'string' as const, parsers: [], formats: [] };
  it('splits, trims, drops empty values and repeats', () => {
    expect(coerceList(' vip ; beta;;vip ', base)).toEqual({ value: ['vip', 'beta'] });
  });
  it('coerces items to numbers or dates', () => {
    expect(coerceList('1|2|2|3', { ...base, delimiter: '|', items: 'number' })).toEqual({ value: [1, 2, 3] });
    expect(coerceList('03/01/2024;04/01/2024', { ...base, items: 'date', parsers: parsers('MM/DD/YYYY'), formats: ['MM/DD/YYYY'] })).toEqual({
      value: ['2024-03-01', '2024-04-01'],
    });
    expect(coerceList('1;x', { ...base, items: 'number' })).toEqual({ error: 'list item "x" is not a number' });
  });
  it('takes JSON arrays as they are', () => {
    expect(coerceList(['a', ' b ', ''], base)).toEqual({ value: ['a', 'b'] });
  });
});

describe('coercePhone', () => {
  it('reads national numbers in the default country first, then international digits', () => {
    expect(coercePhone('(415) 555-2671', 'US')).toEqual({ value: '+14155552671' });
    expect(coercePhone('415.555.2671', 'US')).toEqual({ value: '+14155552671' });
    expect(coercePhone('2025550123', 'US')).toEqual({ value: '+12025550123' });
    expect(coercePhone('919812345678', 'US')).toEqual({ value: '+919812345678' });
    expect(coercePhone('0044 20 7946 0958', 'US')).toEqual({ value: '+442079460958' });
    expect(coercePhone('+91 98123 45678', undefined)).toEqual({ value: '+919812345678' });
  });
  it('refuses numbers that are not valid, saying which country was assumed', () => {
    expect(coercePhone('12345', 'US')).toEqual({ error: '"12345" is not a valid phone number (read with country US)' });
    expect(coercePhone('+1 555 0100', 'US')).toEqual({ error: '"+1 555 0100" is not a valid phone number' });
    expect(coercePhone('555-CALL-NOW', undefined)).toHaveProperty('error');
  });
});

describe('coerceEmail and coerceString', () => {
  it('accepts what validate accepts and refuses the rest', () => {
    expect(coerceEmail('  priya@Example.com ')).toEqual({ value: 'priya@Example.com' });
    expect(coerceEmail('priya@')).toEqual({ error: '"priya@" is not a valid email address' });
    expect(coerceEmail('a@@b.io')).toHaveProperty('error');
  });
  it('trims, refuses or cuts values over 255 characters', () => {
    const long = 'x'.repeat(300);
    expect(coerceString(`  hi  `)).toEqual({ value: 'hi' });
    expect(coerceString(long)).toEqual({ error: 'is 300 characters long; Fyno allows 255 (set truncate: true to cut it)' });
    expect(coerceString(long, { truncate: true })).toEqual({ value: 'x'.repeat(255) });
  });
  it('refuses a date-like string that is no Fyno date, which validate would refuse', () => {
    expect(coerceString('2024-03-01 10:00')).toHaveProperty('error');
    expect(coerceString('2024-03-01')).toEqual({ value: '2024-03-01' });
  });
});
