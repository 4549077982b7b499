import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameDestination } from '../../src/plan/diff-channels.js';
import { channelValueKey, dateInstant, jsonString, tokenKey } from '../../src/plan/normalize.js';
import type { SingleChannelName, Token } from '../../src/fyno/types.js';

// Fingerprints of saved plans hold these texts: they must stay those of JSON.stringify.
describe('tokenKey and jsonString', () => {
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u0000', '\u001f', '\u007f', '\u2028', '\uD800', '\uDC00x', '\uD83D\uDE00', 'ExponentPushToken[x]'));

  it('writes a string exactly as JSON.stringify does', () => {
    fc.assert(fc.property(text, (s) => {
      expect(jsonString(s)).toBe(JSON.stringify(s));
    }));
  });

  it('is JSON.stringify([token, integration_id ?? null, status ?? 1]) for every token', () => {
    const token = fc.record(
      { token: text, integration_id: fc.option(text, { nil: undefined }), status: fc.constantFrom<0 | 1 | undefined>(0, 1, undefined) },
      { requiredKeys: ['token'] },
    );
    fc.assert(fc.property(token, (t) => {
      expect(tokenKey(t)).toBe(JSON.stringify([t.token, t.integration_id ?? null, t.status ?? 1]));
    }));
    // Values of other types, as a careless server might send them, give the same text too.
    const odd = [{ token: 7, integration_id: null, status: 2 }, { token: 'a', integration_id: 5 }, { token: 'a', status: '1' }] as unknown as Token[];
    for (const t of odd) expect(tokenKey(t)).toBe(JSON.stringify([t.token, t.integration_id ?? null, t.status ?? 1]));
  });
});

describe('dateInstant', () => {
  // The general path alone, as dateInstant was before its fast path for the common forms.
  const RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?$/;
  function reference(s: string): number | null {
    const m = RE.exec(s);
    if (!m) return null;
    const [, y, mo, d, h, mi, se] = m;
    const probe = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    if (probe.getUTCFullYear() !== Number(y) || probe.getUTCMonth() !== Number(mo) - 1 || probe.getUTCDate() !== Number(d)) return null;
    if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59)) return null;
    const t = Date.parse(h === undefined ? `${s}T00:00:00Z` : s);
    return Number.isNaN(t) ? null : t;
  }

  it('gives the instant of the general path for every form, valid or not', () => {
    const dd = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const date = fc.tuple(fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')), dd(13), dd(32));
    const time = fc.tuple(dd(25), dd(61), dd(61), fc.constantFrom('', '.000', '.5', '.123', '.1234', '.x00'), fc.constantFrom('Z', '+05:30', '-02:00', 'z', ''));
    const text = fc.oneof(
      date.map(([y, m, d]) => `${y}-${m}-${d}`),
      fc.tuple(date, time, fc.constantFrom('T', 't', ' ')).map(([[y, m, d], [h, mi, s, f, z], t]) => `${y}-${m}-${d}${t}${h}:${mi}:${s}${f}${z}`),
      fc.constantFrom('2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '0099-01-01', '0100-01-01', '2024-03-01T00:00:00.000Z', '2024-03-0aT00:00:00Z', '2024-03-01T0a:00:00Z', '2024-03-01X00:00:00Z'),
    );
    fc.assert(
      fc.property(text, (s) => {
        expect(dateInstant(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sameDestination', () => {
  // As it was before its digits were compared in place (issue #17).
  function reference(channel: SingleChannelName, want: string, have: string): boolean {
    if (want === have) return true;
    const digits = (s: string): string => s.replace(/\D/g, '');
    if (['sms', 'whatsapp', 'voice'].includes(channel) && want.startsWith('+') && /^\+?[\d\s().-]+$/.test(have) && digits(want) === digits(have)) return true;
    return channelValueKey(channel, want) === channelValueKey(channel, have);
  }

  it('tells the same phone numbers apart as comparing their digit strings did', () => {
    const phone = fc.stringMatching(/^\+?[0-9 ().x٣-]{0,16}$/);
    fc.assert(
      fc.property(fc.constantFrom<SingleChannelName>('sms', 'whatsapp', 'email'), phone, phone, (channel, want, have) => {
        expect(sameDestination(channel, want, have)).toBe(reference(channel, want, have));
        expect(sameDestination(channel, `+${want}`, want)).toBe(reference(channel, `+${want}`, want));
      }),
      { numRuns: 500 },
    );
    expect(sameDestination('sms', '+919812345678', '+91 (98123) 456-78')).toBe(true);
    expect(sameDestination('sms', '+9198123456789', '+91 98123 45678')).toBe(reference('sms', '+9198123456789', '+91 98123 45678'));
  });
});
