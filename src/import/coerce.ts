/**
 * Cell → Fyno value coercions for `fyno-sync import` (issue #6). Pure: no I/O, no clock.
 * Each coercer returns `{ value }` or `{ error }` where `error` is a short reason that names the
 * offending text (never a token: token columns are not coerced here).
 */
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { PropertyScalar } from '../fyno/types.js';
import { cutToLength, dateInstant, fynoLength, MAX_FYNO_STRING, normalizePhone, numberTextProblem, phoneTextProblem, stringProblem, uniqueScalars } from '../plan/normalize.js';
import { dateProblem } from '../desired/values.js';

export type Coerced<T> = { value: T } | { error: string };

/** Fyno's limit for string values (PRODUCT.md, "Desired state"), in UTF-16 code units. */
export const MAX_STRING = MAX_FYNO_STRING;

export const DEFAULT_TRUE = ['true', 'yes', 'y', '1', 'on', 't'];
export const DEFAULT_FALSE = ['false', 'no', 'n', '0', 'off', 'f'];

/** A cell as read: CSV gives strings; JSONL may give numbers, booleans, lists or null. */
export type Cell = string | number | boolean | null | undefined | unknown[] | Record<string, unknown>;

/** Trimmed text of a scalar cell; '' for empty / null / missing. */
export function cellText(c: Cell): string {
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c.trim();
  if (typeof c === 'number' || typeof c === 'boolean') return String(c);
  return '';
}

export function isEmptyCell(c: Cell): boolean {
  if (Array.isArray(c)) return c.every((x) => isEmptyCell(x as Cell));
  if (c !== null && typeof c === 'object') return false;
  return cellText(c) === '';
}

function quote(s: string): string {
  const short = [...s].length > 60 ? `${[...s].slice(0, 57).join('')}...` : s;
  return JSON.stringify(short);
}

function scalarOnly(c: Cell): string | undefined {
  if (Array.isArray(c)) return 'is a list, expected a single value';
  if (c !== null && typeof c === 'object') return 'is an object, expected a single value';
  return undefined;
}

/** A string value: trimmed, ≤ 255 characters (cut when `truncate`), not a malformed date. */
export function coerceString(c: Cell, o: { truncate?: boolean } = {}): Coerced<string> {
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  let s = cellText(c);
  const ill = stringProblem(s);
  if (ill) return { error: `${quote(s)} ${ill}` };
  if (s.length > MAX_STRING) {
    const { length, note } = fynoLength(s);
    if (!o.truncate) return { error: `is ${length} characters long${note}; Fyno allows ${MAX_STRING} (set truncate: true to cut it)` };
    s = cutToLength(s, MAX_STRING).trimEnd();
  }
  // Fyno reads a string in a date form as a date; a date-like string in no Fyno form is refused
  // by `validate` (src/desired/values.ts), so it is refused here too.
  const dp = dateProblem(s);
  if (dp) return { error: `${quote(s)} looks like a date but is not one Fyno accepts; map the column with type: date and a format` };
  return { value: s };
}

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const THOUSANDS_DOT_RE = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const THOUSANDS_COMMA_RE = /^[+-]?\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d+)?$/;

/**
 * A number. Decimal mark "." (default) also accepts `1,234.5`; decimal mark "," accepts
 * `1.234,5` and `1 234,5`.
 */
export function coerceNumber(c: Cell, o: { decimal?: '.' | ',' } = {}): Coerced<number> {
  if (typeof c === 'number') return Number.isFinite(c) ? { value: c } : { error: 'is not a finite number' };
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  const raw = cellText(c);
  let s = raw;
  if ((o.decimal ?? '.') === '.') {
    if (THOUSANDS_DOT_RE.test(s)) s = s.replace(/,/g, '');
  } else {
    if (THOUSANDS_COMMA_RE.test(s)) s = s.replace(/[. \u00a0\u202f]/g, '');
    s = s.replace(',', '.');
  }
  if (!NUMBER_RE.test(s)) return { error: `${quote(raw)} is not a number` };
  const n = Number(s);
  if (!Number.isFinite(n)) return { error: `${quote(raw)} is not a finite number` };
  // `12345678901234567890` would be written as 12345678901234567000 (issue #14).
  if (numberTextProblem(s, n) !== undefined) return { error: `${quote(raw)} cannot be held exactly by a number (it would become ${String(n)}); map the column with type: string to keep it as text` };
  return { value: n };
}

export interface BooleanWords {
  trueValues?: readonly string[];
  falseValues?: readonly string[];
}

/** true/false from yes/no words (compared without case); JSON booleans pass through. */
export function coerceBoolean(c: Cell, o: BooleanWords = {}): Coerced<boolean> {
  if (typeof c === 'boolean') return { value: c };
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  const raw = cellText(c);
  const s = raw.toLowerCase();
  const t = (o.trueValues ?? DEFAULT_TRUE).map((x) => x.toLowerCase());
  const f = (o.falseValues ?? DEFAULT_FALSE).map((x) => x.toLowerCase());
  if (t.includes(s)) return { value: true };
  if (f.includes(s)) return { value: false };
  return { error: `${quote(raw)} is not a yes/no value (expected one of ${[...t, ...f].join(', ')})` };
}

/** A compiled date pattern: text → Fyno date string, or null when the text does not match. */
export type DateParser = (s: string, utcOffset: string) => string | null;

export const DEFAULT_DATE_FORMATS = ['iso', 'YYYY-MM-DD HH:mm:ss', 'YYYY-MM-DD HH:mm'] as const;

const TOKENS = ['YYYY', 'SSS', 'MM', 'DD', 'HH', 'hh', 'mm', 'ss', 'M', 'D', 'H', 'h', 'A'] as const;
type Token = (typeof TOKENS)[number];
const TOKEN_RE: Record<Token, string> = {
  YYYY: '(\\d{4})',
  SSS: '(\\d{1,9})',
  MM: '(\\d{1,2})',
  M: '(\\d{1,2})',
  DD: '(\\d{1,2})',
  D: '(\\d{1,2})',
  HH: '(\\d{1,2})',
  H: '(\\d{1,2})',
  hh: '(\\d{1,2})',
  h: '(\\d{1,2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  A: '([AaPp][Mm])',
};

/**
 * Compiles a date format (`iso`, or a pattern such as `MM/DD/YYYY` or `YYYY-MM-DD HH:mm:ss`).
 * Returns an error text for a pattern without a year, month and day.
 */
export function compileDateFormat(format: string): DateParser | { error: string } {
  if (format === 'iso') return parseIso;
  const seen: Token[] = [];
  let re = '';
  let i = 0;
  while (i < format.length) {
    const tok = TOKENS.find((t) => format.startsWith(t, i));
    if (tok) {
      if (seen.includes(tok)) return { error: `date format "${format}" names ${tok} twice` };
      seen.push(tok);
      re += TOKEN_RE[tok];
      i += tok.length;
    } else {
      re += format[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s/, '\\s+');
      i += 1;
    }
  }
  const has = (...t: Token[]) => t.some((x) => seen.includes(x));
  if (!has('YYYY') || !has('MM', 'M') || !has('DD', 'D')) {
    return { error: `date format "${format}" needs a year (YYYY), a month (MM) and a day (DD)` };
  }
  if (has('hh', 'h') !== has('A')) return { error: `date format "${format}": a 12-hour hour (hh) goes with A (AM/PM), and A with hh` };
  if (has('HH', 'H') && has('hh', 'h')) return { error: `date format "${format}" has both a 24-hour (HH) and a 12-hour (hh) hour` };
  const rx = new RegExp(`^${re}$`);
  return (s, utcOffset) => {
    const m = rx.exec(s);
    if (!m) return null;
    const get = (...t: Token[]): string | undefined => {
      for (const x of t) {
        const k = seen.indexOf(x);
        if (k >= 0) return m[k + 1];
      }
      return undefined;
    };
    const year = Number(get('YYYY'));
    const month = Number(get('MM', 'M'));
    const day = Number(get('DD', 'D'));
    let hour = get('HH', 'H', 'hh', 'h');
    const ampm = get('A');
    if (hour !== undefined && ampm !== undefined) {
      const h = Number(hour);
      if (h < 1 || h > 12) return null;
      hour = String((h % 12) + (ampm.toLowerCase() === 'pm' ? 12 : 0));
    }
    return buildDate(year, month, day, hour, get('mm'), get('ss'), get('SSS'), utcOffset);
  };
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** ISO 8601 dates and times, with or without seconds, fraction and offset. */
function parseIso(s: string, utcOffset: string): string | null {
  const m = ISO_RE.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, frac, off] = m;
  let offset = utcOffset;
  if (off !== undefined) {
    if (off.toUpperCase() === 'Z') offset = 'Z';
    else {
      const digits = off.replace(':', '');
      offset = `${digits.slice(0, 3)}:${digits.length > 3 ? digits.slice(3) : '00'}`;
    }
  }
  return buildDate(Number(y), Number(mo), Number(d), h, mi, se, frac, offset);
}

const pad = (n: number | string, w = 2) => String(n).padStart(w, '0');

/** Fyno date string (`2024-03-01` or `2024-03-01T14:22:00Z` / `…+05:30`), or null for an impossible date. */
function buildDate(
  year: number,
  month: number,
  day: number,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
  fraction: string | undefined,
  utcOffset: string,
): string | null {
  let out = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  if (hour !== undefined) {
    out += `T${pad(hour)}:${pad(minute ?? '0')}:${pad(second ?? '0')}`;
    // Fyno's forms have no fraction or exactly three digits (fyno-user-properties-api-openapi.yml).
    if (fraction !== undefined) out += `.${fraction.padEnd(3, '0').slice(0, 3)}`;
    out += utcOffset;
  }
  return dateInstant(out) === null ? null : out;
}

/** A date in one of `parsers`, written in a Fyno form. */
export function coerceDate(c: Cell, parsers: readonly DateParser[], o: { formats: readonly string[]; utcOffset?: string }): Coerced<string> {
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  const raw = cellText(c);
  for (const p of parsers) {
    const v = p(raw, o.utcOffset ?? 'Z');
    if (v !== null) return { value: v };
  }
  return { error: `${quote(raw)} is not a date in the form ${o.formats.join(' or ')}` };
}

export interface ListOptions {
  delimiter: string;
  items: 'string' | 'number' | 'date';
  parsers: readonly DateParser[];
  formats: readonly string[];
  utcOffset?: string;
  decimal?: '.' | ',';
  truncate?: boolean;
}

/** A list: split on the delimiter (or a JSON array), items trimmed and coerced, empties and repeats dropped. */
export function coerceList(c: Cell, o: ListOptions): Coerced<PropertyScalar[]> {
  let parts: Cell[];
  if (Array.isArray(c)) parts = c as Cell[];
  else {
    const bad = scalarOnly(c);
    if (bad) return { error: bad };
    parts = cellText(c).split(o.delimiter);
  }
  const out: PropertyScalar[] = [];
  for (const p of parts) {
    if (isEmptyCell(p)) continue;
    const r =
      o.items === 'number'
        ? coerceNumber(p, o.decimal ? { decimal: o.decimal } : {})
        : o.items === 'date'
          ? coerceDate(p, o.parsers, o)
          : coerceString(p, o.truncate ? { truncate: true } : {});
    if ('error' in r) return { error: `list item ${r.error}` };
    out.push(r.value);
  }
  // Fyno lists hold unique values (fyno-user-properties-api-openapi.yml, list-append).
  return { value: uniqueScalars(out) };
}

/**
 * Phone number → E.164. A number written without `+`/`00` is read as a national number of
 * `country` first: CRM exports are mostly national numbers, and reading `2025550123` as
 * international digits first (what `normalizePhone` does for live values) could turn a US
 * number into a valid number of another country. Then as international digits.
 */
export function coercePhone(c: Cell, country: CountryCode | undefined, channel = 'phone'): Coerced<string> {
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  const raw = cellText(c);
  const intl = raw.startsWith('+') || raw.startsWith('00');
  let n: string | null = null;
  if (!intl && country) {
    const p = parsePhoneNumberFromString(raw, country);
    if (p?.isValid()) n = p.number;
  }
  n ??= normalizePhone(raw);
  if (n !== null) {
    const extra = phoneTextProblem(raw, channel, country);
    return extra ? { error: `${quote(raw)} ${extra}` } : { value: n };
  }
  const hint = intl ? '' : country ? ` (read with country ${country})` : ' (no country code, and no default_country in the mapping)';
  return { error: `${quote(raw)} is not a valid phone number${hint}` };
}

const EMAIL = fullFormats.email as RegExp;

/** An email address as `validate` accepts it (the JSON Schema's `format: email`, 3–255 characters). */
export function coerceEmail(c: Cell): Coerced<string> {
  const bad = scalarOnly(c);
  if (bad) return { error: bad };
  const s = cellText(c);
  if (s.length < 3 || s.length > MAX_STRING || !EMAIL.test(s)) return { error: `${quote(s)} is not a valid email address` };
  return { value: s };
}
