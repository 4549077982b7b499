import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonString, tokenKey } from '../../src/plan/normalize.js';
import type { Token } from '../../src/fyno/types.js';

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
