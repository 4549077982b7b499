/**
 * Pure value normalisation and comparison, shared by the loader (desired values) and the
 * planner (live values), so that equal data compares equal and never shows as a change.
 * No I/O, no clock.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { PropertyScalar, PropertyValue, Token } from '../fyno/types.js';
import { compareStrings, sortInPlace } from './sort.js';

/**
 * Phone number to E.164 (`+919812345678`), or `null` when it is not a valid number.
 * Fyno stores numbers as given and shows forms like `+91 9879X XXXXX` and `919XXXXXXXXX`
 * (fyno-manage-user-profiles-api-openapi.yml, `inline_response_200_channel.sms`), so a number
 * without `+` is read as international digits first, then against `defaultCountry`.
 */
export function normalizePhone(raw: string, defaultCountry?: CountryCode): string | null {
  const s = raw.trim();
  if (s === '') return null;
  const candidates = s.startsWith('+') || s.startsWith('00') ? [s.replace(/^00/, '+')] : [`+${s}`];
  if (!s.startsWith('+')) candidates.push(s);
  for (const c of candidates) {
    const parsed = c.startsWith('+')
      ? parsePhoneNumberFromString(c)
      : defaultCountry
        ? parsePhoneNumberFromString(c, defaultCountry)
        : undefined;
    if (parsed?.isValid()) return parsed.number;
  }
  return null;
}

// What a phone number may be written with besides its digits: spaces, `+`, `-`, `.`, `/` and
// parentheses (`+1 (415) 555-0123`, `030/1234567`).
const PHONE_PUNCTUATION_RE = /[\p{Nd}\s+\-./()]/gu;

/**
 * Why a valid phone number's text holds more than Fyno's channel receives, or undefined. A
 * number is sent as its E.164 form (desired/build.ts), and libphonenumber finds a valid number
 * inside `+1 415 555 0123 ext. 5` or `+1 415 555 0123 (home)`: the extension or the words would
 * be dropped on the way and the next plan would see no change. Value-free: `raw` may be a secret.
 */
export function phoneTextProblem(raw: string, channel: string, defaultCountry?: CountryCode): string | undefined {
  const s = raw.trim();
  // Digits and punctuation alone hold no extension: every form libphonenumber reads as one has a
  // label (`ext`, `x`, `#`, `~`, `;`, `,`), so the number is not parsed again (it is, once, on
  // every profile's way in).
  if (s.replace(PHONE_PUNCTUATION_RE, '') === '') return undefined;
  const parsed = s.startsWith('+') || s.startsWith('00') ? parsePhoneNumberFromString(s.replace(/^00/, '+')) : parsePhoneNumberFromString(s, defaultCountry ?? ('' as CountryCode)) ?? parsePhoneNumberFromString(`+${s}`);
  if (parsed?.ext) return `has an extension, which Fyno's ${channel} channel cannot hold (only the number would reach Fyno); leave it out`;
  return 'holds text besides the number (only the number would reach Fyno); write the number only';
}

/**
 * The date forms Fyno lists for property values (fyno-user-properties-api-openapi.yml,
 * `/profiles/properties/set`): `2020-10-01T18:30:00.000Z`, `2020-10-01T18:30:00Z`,
 * `2020-10-01T18:30:00.000+05:30`, `2020-10-01T18:30:00+02:00`, `2020-10-01`.
 */
const FYNO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?$/;

/** Epoch milliseconds of a Fyno date string, or `null` when it is not one (or not a real day). */
export function dateInstant(s: string): number | null {
  // Cheap pre-check (hot in large diffs): every Fyno date form has `-` at 4 and 7.
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return null;
  const common = commonDateInstant(s);
  if (common !== undefined) return common;
  const m = FYNO_DATE_RE.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59)) return null;
  const t = Date.parse(h === undefined ? `${s}T00:00:00Z` : s);
  return Number.isNaN(t) ? null : t;
}

/** The value of the `n` ASCII digits of `s` at `i`, or -1 when one of them is not a digit. */
function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k += 1) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `dateInstant` of the forms Fyno and most files write, `2020-10-01`, `2020-10-01T18:30:00Z`
 * and `2020-10-01T18:30:00.000Z`, without the regular expression and the Date objects (a
 * 100,000-profile diff compares a date or two per profile, issue #17); `undefined` for anything
 * else, invalid values included, which the general path then decides.
 */
function commonDateInstant(s: string): number | undefined {
  const n = s.length;
  if (n !== 10 && !((n === 20 || n === 24) && s[10] === 'T' && s[n - 1] === 'Z')) return undefined;
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  // Years before 100 are left to the general path: Date.UTC reads them as 19xx.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (n === 10) return Date.UTC(year, month - 1, day);
  if (s[13] !== ':' || s[16] !== ':' || (n === 24 && s[19] !== '.')) return undefined;
  const h = digitsAt(s, 11, 2);
  const mi = digitsAt(s, 14, 2);
  const se = digitsAt(s, 17, 2);
  const ms = n === 24 ? digitsAt(s, 20, 3) : 0;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 || ms < 0) return undefined;
  return Date.UTC(year, month - 1, day, h, mi, se, ms);
}

export function isFynoDate(s: string): boolean {
  return dateInstant(s) !== null;
}

/**
 * An object for keys a user or Fyno chose (property keys, topic ids, distinct_ids): it has no
 * prototype, so `constructor`, `toString` and `__proto__` are keys like any other instead of
 * inherited members or the prototype itself (issue #14). `JSON.stringify` writes it as usual.
 */
export function keyedRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `o[key]` when `key` is an own key of `o`: never an inherited `constructor` or `toString`. */
export function ownValue<T>(o: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Sets `o[key]` as an own data property, also when `key` is `__proto__` (which `=` would not). */
export function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Keys refused wherever a user names a property: `__proto__` reaches Fyno only when every
 * JavaScript object on the way treats it as data, and most (`obj[key] = v`, `Object.assign`)
 * treat it as the object's prototype and drop it silently.
 */
export function prototypeKeyProblem(key: string): string | undefined {
  return key === '__proto__' ? `key "__proto__" cannot be used: JavaScript objects on the way to Fyno read it as their prototype and drop the value; rename the key` : undefined;
}

// A decimal numeral as YAML 1.2 and JSON write it: sign, digits, fraction, exponent.
const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The exact value a decimal numeral denotes, as `digits e exponent` (no redundant zeros). */
function decimalValue(text: string): string | undefined {
  const m = DECIMAL_RE.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2]! + frac).replace(/^0+/, '');
  if (digits === '') return '0';
  let exp = Number(m[4] ?? 0) - frac.length;
  const zeros = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - zeros);
  exp += zeros;
  return `${m[1] === '-' ? '-' : ''}${digits}e${exp}`;
}

/** An integral decimal value (`digits e exp`, exp ≥ 0) equals the double `n` exactly (2^60 does). */
function integerEquals(value: string, n: number): boolean {
  const m = /^(-?\d+)e(\d+)$/.exec(value);
  return m !== null && Number.isInteger(n) && BigInt(m[1]!) * 10n ** BigInt(m[2]!) === BigInt(n);
}

/**
 * Why the number written as `text` (which parsed to `n`) would not reach Fyno as written, or
 * undefined when it would. JSON numbers are doubles: `12345678901234567890` becomes
 * `12345678901234567000` and the next plan sees no change, so such a number is refused with the
 * hint to quote it (issue #14). Exact in this sense: a numeral that denotes the value of the
 * double's shortest form (`0.1`, `1.50`, `1e3`), or an integer the double holds exactly (2^60);
 * `.inf` and `.nan` are never numbers.
 */
export function numberTextProblem(text: string, n: number): string | undefined {
  const t = text.trim();
  const quoted = JSON.stringify(t);
  if (!Number.isFinite(n)) return `must be a finite number (.inf and .nan are not values Fyno stores); quote it to keep it as a string: ${quoted}`;
  let exact: boolean;
  const radix = /^([+-]?)(0[xXoObB][0-9a-fA-F]+)$/.exec(t);
  if (radix) {
    exact = Number.isSafeInteger(n) || (Number.isInteger(n) && BigInt(radix[2]!.toLowerCase()) * (radix[1] === '-' ? -1n : 1n) === BigInt(n));
  } else {
    const want = decimalValue(t);
    exact = want === undefined || want === decimalValue(String(n)) || integerEquals(want, n);
  }
  if (exact) return undefined;
  return `${t} cannot be held exactly by a number (Fyno's numbers are doubles: it would become ${String(n)}); quote it to keep it as a string: ${quoted}`;
}

const JSON_NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// Only a numeral of 16 or more digits, or with a 3-digit exponent, can be one a double does not
// hold; it stands where a JSON value starts (not inside a string such as a 24-hex profile_id).
const LONG_NUMERAL_RE = /[:,[]\s*-?\d(?:[\d.]{15,}|[\d.]*[eE][+-]?\d{3})/;

/**
 * `JSON.parse(text)`, except that a number a double does not hold as written
 * (`12345678901234567890`, which `JSON.parse` silently rounds) becomes `keep(numeral, value)`:
 * its text for import, a marker for wire parsing (issue #14).
 */
export function parseJsonExact(text: string, keep: (numeral: string, value: number) => unknown): unknown {
  if (!LONG_NUMERAL_RE.test(text)) return JSON.parse(text);
  const numerals = numeralsOf(text);
  let next = 0;
  // The reviver sees the leaves in text order (children before their holder), as numeralsOf lists them.
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v !== 'number') return v;
    const tok = numerals[next++]!;
    return numberTextProblem(tok, v) === undefined ? v : keep(tok, v);
  });
}

/** The numerals of a JSON text, in order (strings skipped). */
function numeralsOf(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      i = j;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      JSON_NUMBER_RE.lastIndex = i;
      const tok = JSON_NUMBER_RE.exec(text)![0];
      out.push(tok);
      i += tok.length - 1;
    }
  }
  return out;
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string is not well-formed Unicode (a lone surrogate, as `"\uD800"` writes one), or
 * undefined. Such a string cannot be sent as UTF-8: it would reach Fyno as U+FFFD or be refused.
 */
export function stringProblem(s: string): string | undefined {
  if (!SURROGATE_RE.test(s)) return undefined;
  const m = LONE_SURROGATE_RE.exec(s);
  if (!m) return undefined;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase();
  return `holds a lone surrogate \\u${code} (at character ${[...s.slice(0, m.index)].length + 1}): not well-formed Unicode, it cannot be sent to Fyno as written`;
}

/**
 * Fyno's string limit: "a maximum of 255 characters" (fyno-user-properties-api-openapi.yml,
 * `/profiles/properties/set`), applied by the emulator to ids, names and destinations too. The
 * spec does not say how characters are counted; we count UTF-16 code units (JavaScript's
 * `length`, what a Node service checks), the stricter reading: a string within it is within a
 * count by code points too, so nothing validation accepts is refused or silently dropped by
 * either (src/fyno/emulator/README.md, "Bodies and limits").
 */
export const MAX_FYNO_STRING = 255;

/** `s.length`, for the limit; the note says why it may exceed what the eye counts. */
export function fynoLength(s: string): { length: number; note: string } {
  const astral = SURROGATE_RE.test(s);
  return { length: s.length, note: astral ? ' (UTF-16 code units, as Fyno counts them: 😀 and other characters beyond U+FFFF count 2)' : '' };
}

/** Why `s` is over Fyno's limit (`is N characters long…`), or undefined. */
export function lengthProblem(s: string, max = MAX_FYNO_STRING): string | undefined {
  if (s.length <= max) return undefined;
  const { length, note } = fynoLength(s);
  return `is ${length} characters long${note}; at most ${max} are allowed`;
}

/** `s` cut to at most `max` UTF-16 code units, never between the two halves of a surrogate pair. */
export function cutToLength(s: string, max = MAX_FYNO_STRING): string {
  if (s.length <= max) return s;
  const end = /[\uD800-\uDBFF]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return s.slice(0, end);
}

// C0 and C1 controls, DEL, line and paragraph separators, and every format character (Cf): the
// bidirectional marks, overrides and isolates that make an id read differently from what it is,
// the invisible soft hyphen, zero-width space/joiners, word joiner, invisible operators, BOM and
// tag characters (`cust-1\u200B` and `cust-1\u200E` print as `cust-1`); also the characters
// that print as nothing though Unicode does not class them as format: the combining grapheme
// joiner, the Mongolian vowel separator and the Hangul fillers.
const ID_CONTROL_RE = /[\p{Cc}\p{Cf}\u034F\u115F\u1160\u180E\u2028\u2029\u3164\uFFA0]/u;

/**
 * Why a string cannot be a distinct_id, or undefined. Ids are path segments of Fyno's API
 * (`/profiles/{distinct_id}`) and appear in every output, so: 1 to 255 characters, no `/`, no
 * leading or trailing white space (as the schema's `distinctId`), not `.` or `..` (URL paths drop
 * those segments, so no request could name the profile), printable (no control characters) and
 * well-formed Unicode. Shared by validation, import and pull (issue #14).
 */
export function idProblem(id: string): string | undefined {
  if (id === '') return 'must not be empty';
  if (id === '.' || id === '..') return `${JSON.stringify(id)} cannot be a distinct_id: URL paths drop "." and ".." segments, so no request could address this profile`;
  const bad = stringProblem(id);
  if (bad) return bad;
  const c = ID_CONTROL_RE.exec(id);
  if (c) {
    const code = c[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `holds the control character U+${code} (at character ${[...id.slice(0, c.index)].length + 1}); a distinct_id must be printable`;
  }
  if (id.includes('/')) return 'must not contain "/"';
  if (id.trim() !== id) return 'must not start or end with white space';
  const long = lengthProblem(id);
  if (long) return long;
  return undefined;
}

export type PropertyKind = 'string' | 'number' | 'boolean' | 'date' | 'list';

/** The Fyno type a value would give a new property (a string in a date form is a date). */
export function propertyKind(v: PropertyValue): PropertyKind {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  return isFynoDate(v) ? 'date' : 'string';
}

/** Scalars equal by value; two dates equal by instant, whatever form each was written in. */
export function scalarEquals(a: PropertyScalar, b: PropertyScalar): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') {
    const ta = dateInstant(a);
    return ta !== null && ta === dateInstant(b);
  }
  return false;
}

/** Canonical key of a scalar for set operations: dates by instant. */
export function scalarKey(v: PropertyScalar): string {
  if (typeof v === 'string') {
    const t = dateInstant(v);
    if (t !== null) return `d:${t}`;
    return `s:${v}`;
  }
  return typeof v === 'number' ? `n:${v}` : `b:${v}`;
}

/** A list property as a set: a copy sorted by canonical key (dates by instant), ties in list order. */
export function sortedScalars(v: readonly PropertyScalar[]): PropertyScalar[] {
  const keyed = v.map((x) => [scalarKey(x), x] as const);
  sortInPlace(keyed, (a, b) => compareStrings(a[0], b[0]));
  return keyed.map((e) => e[1]);
}

/**
 * Property values equal. Fyno lists hold unique values ("A list may contain only unique
 * values", `/profiles/properties/list-append`), so lists compare as sets.
 */
export function propertyEquals(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    // The same values in the same order are the same set, without building the key sets.
    if (a.length === b.length && a.every((x, i) => x === b[i])) return true;
    const ka = new Set(a.map(scalarKey));
    const kb = new Set(b.map(scalarKey));
    if (ka.size !== kb.size) return false;
    for (const k of ka) if (!kb.has(k)) return false;
    return true;
  }
  return scalarEquals(a, b);
}

// What JSON.stringify escapes in a string: `"`, `\`, control characters and lone surrogates
// (any surrogate here, so that pairs take the exact path too).
const JSON_ESCAPED_RE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(s)`, without the call for the usual string that needs no escape. */
export function jsonString(s: string): string {
  return JSON_ESCAPED_RE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Tokens equal as sets of (token, integration_id, status) with status defaulting to 1: the text
 * of `JSON.stringify([token, integration_id ?? null, status ?? 1])`, which fingerprints hold.
 * Written out for the types a token has (it runs for every token of every profile read).
 */
export function tokenKey(t: Token): string {
  const id = t.integration_id ?? null;
  const status = t.status ?? 1;
  if (typeof t.token !== 'string' || (id !== null && typeof id !== 'string') || (status !== 0 && status !== 1)) {
    return JSON.stringify([t.token, id, status]);
  }
  return `[${jsonString(t.token)},${id === null ? 'null' : jsonString(id)},${status}]`;
}

/** Emails compare case-insensitively in the domain part only (RFC 5321 local parts are case-sensitive). */
export function normalizeEmail(s: string): string {
  const at = s.lastIndexOf('@');
  const t = s.trim();
  return at < 0 ? t : `${t.slice(0, t.lastIndexOf('@'))}@${t.slice(t.lastIndexOf('@') + 1).toLowerCase()}`;
}

/**
 * JSON with object keys sorted at every level: stable fingerprints and byte-stable output.
 *
 * Exactly the text of `JSON.stringify` of a copy with sorted keys (`sortKeys`), written without
 * building that copy: a saved plan's hash is this text of each of its operations (issue #17,
 * 305 MB for 100,000 profiles). A plain object or array whose keys are in that order already is
 * left to `JSON.stringify` whole; another object's keys are put in order once per set of keys.
 */
export function stableStringify(value: unknown): string {
  try {
    return stableText(value) as string;
  } catch (e) {
    if (e !== NEEDS_COPY) throw e;
    return JSON.stringify(sortKeys(value));
  }
}

/** Thrown by `stableText` for an object with a toJSON of its own, which JSON.stringify of the copy would call. */
const NEEDS_COPY = Symbol('needs the sorted copy');

function stableText(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (inOrder(v)) return JSON.stringify(v);
    let s = '[';
    for (let i = 0; i < v.length; i += 1) s += `${i > 0 ? ',' : ''}${stableText(v[i]) ?? 'null'}`;
    return `${s}]`;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.toJSON === 'function' && Object.hasOwn(o, 'toJSON')) throw NEEDS_COPY;
  if (inOrder(o)) return JSON.stringify(o);
  const keys = Object.keys(o);
  const order = keyOrder(keys);
  let s = '{';
  let first = true;
  for (const k of order.keys) {
    const x = stableText(o[k]);
    // Left out as JSON.stringify leaves out undefined, functions and symbols.
    if (x === undefined) continue;
    s += `${first ? '' : ','}${order.names.get(k)!}${x}`;
    first = false;
  }
  return `${s}}`;
}

/**
 * Whether `JSON.stringify(v)` is already the stable text: plain data (no prototype of its own,
 * no toJSON) whose objects have their keys in sorted order and no value JSON.stringify would
 * leave out of an object.
 */
function inOrder(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'bigint';
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    if (proto !== Array.prototype) return false;
    for (let i = 0; i < v.length; i += 1) if (!memberInOrder(v[i])) return false;
    return true;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  let prev = '';
  let first = true;
  for (const k of Object.keys(v)) {
    // Integer-like keys come first in any object, in numeric order: in string order too, they are where the sorted copy has them.
    if ((!first && !(prev < k)) || k === 'toJSON') return false;
    if (!memberInOrder((v as Record<string, unknown>)[k])) return false;
    prev = k;
    first = false;
  }
  return true;
}

/** `inOrder` of an array element or object value: null, a string, number or boolean, or data in order. */
function memberInOrder(x: unknown): boolean {
  if (x === null) return true;
  return typeof x === 'object' ? inOrder(x) : typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
}

interface KeyOrder {
  /** The object's keys as they are: what the order was made for. */
  of: readonly string[];
  /** In sortKeys' order: sorted, integer-like keys first, numerically (as any object orders them). */
  keys: readonly string[];
  /** Each key as JSON, with its colon. */
  names: ReadonlyMap<string, string>;
}

/** Orders of the sets of keys met so far (a plan's operations have a handful). */
const keyOrders = new Map<string, KeyOrder>();
const MAX_KEY_ORDERS = 512;

/** The order used last: operations of one kind in a row have the same keys. */
let lastOrder: KeyOrder | undefined;

function keyOrder(keys: readonly string[]): KeyOrder {
  if (lastOrder !== undefined && sameKeys(lastOrder.of, keys)) return lastOrder;
  lastOrder = knownOrder(keys);
  return lastOrder;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function knownOrder(keys: readonly string[]): KeyOrder {
  const id = keys.join('\u0000');
  const known = keyOrders.get(id);
  if (known && sameKeys(known.of, keys)) return known;
  const order = keyedRecord<true>();
  for (const k of [...keys].sort()) order[k] = true;
  const sorted = Object.keys(order);
  const made: KeyOrder = { of: keys, keys: sorted, names: new Map(sorted.map((k) => [k, `${JSON.stringify(k)}:`])) };
  if (keyOrders.size < MAX_KEY_ORDERS) keyOrders.set(id, made);
  return made;
}

/**
 * `stableStringify(value)` in pieces: concatenated they are exactly its text. Objects and arrays
 * are walked (array elements are stringified one at a time), so hashing a plan of a million
 * operations never builds a sorted copy of it or one string of all of it.
 */
export function* stableStringifyChunks(value: unknown): Generator<string> {
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) yield ',';
      // JSON.stringify writes `null` for what it cannot represent inside an array.
      yield stableStringify(value[i]) ?? 'null';
    }
    yield ']';
    return;
  }
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    let first = true;
    yield '{';
    // The key order of sortKeys' copy: sorted, but as in any object integer-like keys come first.
    const order = keyedRecord<true>();
    for (const k of Object.keys(o).sort()) order[k] = true;
    for (const k of Object.keys(order)) {
      const x = o[k];
      // Skipped as JSON.stringify skips them (sortKeys drops undefined; functions and symbols).
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      yield `${first ? '' : ','}${JSON.stringify(k)}:`;
      first = false;
      yield* stableStringifyChunks(x);
    }
    yield '}';
    return;
  }
  yield stableStringify(value) ?? 'null';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out = keyedRecord<unknown>();
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/**
 * Canonical form of a single-destination channel value for comparison. Phones (sms, whatsapp,
 * voice) go to E.164 when they parse — Fyno shows stored numbers as `+91 98123 45678` or
 * `919812345678` (fyno-manage-user-profiles-api-openapi.yml, `inline_response_200_channel.sms`);
 * emails compare with the domain lower-cased; anything else is compared trimmed.
 */
export function channelValueKey(channel: string, value: string): string {
  if (channel === 'sms' || channel === 'whatsapp' || channel === 'voice') return normalizePhone(value) ?? value.trim();
  if (channel === 'email') return normalizeEmail(value);
  return value.trim();
}

/** Unique values of a list by `scalarKey`, first occurrence kept, order preserved. */
export function uniqueScalars(values: readonly PropertyScalar[]): PropertyScalar[] {
  if (values.length < 2) return [...values];
  const seen = new Set<string>();
  const out: PropertyScalar[] = [];
  for (const v of values) {
    const k = scalarKey(v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/**
 * Appended to the description of every entry fyno-sync adds, so that `manage: exact` can tell
 * its own entries from those added in the dashboard: the API records nothing else
 * (`add_suppression_list` has only `channel`, the identifier and `description`).
 */
export const SUPPRESSION_MARKER = '[fyno-sync]';

/** The identity of an entry in the list: channel, which identifier, its normalised value. */
export function suppressionKey(e: { channel: string; key: 'destination' | 'distinct_id'; value: string }): string {
  return `${e.channel}\u0000${e.key}\u0000${e.value}`;
}
