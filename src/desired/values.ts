/**
 * Checks of field values that a JSON Schema cannot express: phone numbers (libphonenumber-js),
 * Fyno's date forms, unique list values and tokens. They run after the schema, on values of the
 * right type only, and report paths relative to the profile (or `defaults`) mapping.
 */
import type { PropertyScalar } from '../fyno/types.js';
import { dateInstant, idProblem, normalizePhone, phoneTextProblem, prototypeKeyProblem, scalarKey } from '../plan/normalize.js';
import type { PathSegment } from './positions.js';

export interface ValueProblem {
  path: PathSegment[];
  message: string;
}

/** Renders a value for a message; masks values that came from the environment. */
export type Shown = (path: readonly PathSegment[], v: unknown) => string;

export const PHONE_CHANNELS = ['sms', 'whatsapp', 'voice'] as const;

// A string that starts like a date is meant to be one: it must then be one of Fyno's forms.
const DATE_LIKE_RE = /^\d{4}-\d{1,2}-\d{1,2}(?:$|[T ]\d)/;

const DATE_FORMS = '2020-10-01, 2020-10-01T18:30:00Z, 2020-10-01T18:30:00.000Z, 2020-10-01T18:30:00+05:30';

/** Problems of one profile-like mapping (a profile or a file's `defaults`). */
export function checkValues(obj: Record<string, unknown>, shown: Shown): ValueProblem[] {
  const out: ValueProblem[] = [];
  // Ids beyond what the schema says (issue #14): not "." or "..", printable, well-formed.
  if (typeof obj.distinct_id === 'string') {
    const bad = idProblem(obj.distinct_id);
    if (bad) out.push({ path: ['distinct_id'], message: bad });
  }
  const mf = obj.merge_from;
  for (const [m, path] of typeof mf === 'string' ? [[mf, ['merge_from']] as const] : Array.isArray(mf) ? mf.map((m: unknown, j) => [m, ['merge_from', j]] as const) : []) {
    const bad = typeof m === 'string' ? idProblem(m) : undefined;
    if (bad) out.push({ path: [...path], message: bad });
  }
  const channels = asRecord(obj.channels);
  if (channels) {
    for (const c of PHONE_CHANNELS) {
      const v = channels[c];
      if (typeof v !== 'string') continue;
      if (phoneE164(v) === null) {
        out.push({
          path: ['channels', c],
          message: `${shown(['channels', c], v)} is not a valid phone number; write it with its country code, e.g. "+919812345678"`,
        });
        continue;
      }
      const extra = phoneTextProblem(v, c);
      if (extra) out.push({ path: ['channels', c], message: `${shown(['channels', c], v)} ${extra}` });
    }
    // Destinations are sent trimmed (build.ts): white space alone would reach Fyno as "", which
    // it keeps as no channel, and the plan would never converge.
    for (const c of ['slack', 'discord', 'teams'] as const) {
      const v = channels[c];
      if (typeof v === 'string' && v !== '' && v.trim() === '') out.push({ path: ['channels', c], message: 'is only white space; give the destination, or null to delete the channel' });
    }
    for (const c of ['push', 'inapp'] as const) {
      const list = channels[c];
      if (!Array.isArray(list)) continue;
      const seen = new Map<string, number>();
      list.forEach((t, i) => {
        const token = asRecord(t)?.token;
        if (typeof token !== 'string') return;
        const first = seen.get(token);
        // Never print a token: it is a credential.
        if (first !== undefined) out.push({ path: ['channels', c, i], message: `the same token is listed twice (also at ${c}[${first}])` });
        else seen.set(token, i);
      });
    }
  }
  const props = asRecord(obj.properties);
  if (props) {
    for (const [key, raw] of Object.entries(props)) {
      const bad = prototypeKeyProblem(key);
      if (bad) {
        out.push({ path: ['properties', key], message: bad });
        continue;
      }
      const once = asRecord(raw);
      if (once && '$once' in once) checkProperty(once.$once, ['properties', key, '$once'], shown, out);
      else checkProperty(raw, ['properties', key], shown, out);
    }
  }
  return out;
}

function checkProperty(v: unknown, path: PathSegment[], shown: Shown, out: ValueProblem[]): void {
  if (typeof v === 'string') {
    const m = dateProblem(v);
    if (m) out.push({ path, message: `${shown(path, v)} ${m}` });
    return;
  }
  if (!Array.isArray(v)) return;
  const seen = new Map<string, number>();
  v.forEach((item: unknown, i) => {
    if (typeof item === 'string') {
      const m = dateProblem(item);
      if (m) {
        out.push({ path: [...path, i], message: `${shown([...path, i], item)} ${m}` });
        return;
      }
    }
    if (typeof item !== 'string' && typeof item !== 'number') return;
    const k = scalarKey(item as PropertyScalar);
    const first = seen.get(k);
    // Fyno lists hold unique values (fyno-user-properties-api-openapi.yml, list-append).
    if (first !== undefined) out.push({ path: [...path, i], message: `${shown([...path, i], item)} is listed twice (also at [${first}]); list values are unique in Fyno` });
    else seen.set(k, i);
  });
}

// Parsing a number with full metadata is the costliest value check; the builder needs the
// same result right after the check, so the last few answers are kept.
const phoneCache = new Map<string, string | null>();

/** E.164 form of a phone number (libphonenumber-js), or null when it is not a valid number. */
export function phoneE164(raw: string): string | null {
  let v = phoneCache.get(raw);
  if (v === undefined) {
    v = normalizePhone(raw);
    if (phoneCache.size >= 1024) phoneCache.clear();
    phoneCache.set(raw, v);
  }
  return v;
}

/** Why a date-like string is not a date Fyno accepts, or undefined when it is fine. */
export function dateProblem(s: string): string | undefined {
  if (!DATE_LIKE_RE.test(s) || dateInstant(s) !== null) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?$/.test(s)) {
    return `is a date without a timezone; add Z or an offset such as +05:30 (Fyno accepts ${DATE_FORMS})`;
  }
  return `is not a valid date (Fyno accepts ${DATE_FORMS})`;
}

export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
