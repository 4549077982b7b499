import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emitMap, emitScalar, emitSeq } from '../../src/import/emit-yaml.js';

const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('yes', 'No', 'true', 'null', '~', '1e3', '0x1F', '2024-03-01', '+919812345678', 'a: b', 'a #b', '- x', '[x]', '{x}', "O'Brien", 'line\nbreak', ' lead', 'trail ', '@at', '`tick', '!tag', '&anchor', '*alias', '|', '>', '%', '?', '.inf', '.NaN', '$once', 'x\u2028y', '\t'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1 }), tie('v'), { maxKeys: 4 })),
})).v;

describe('emit-yaml', () => {
  it('round-trips any plain data through the yaml parser', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value, { maxKeys: 5 }), (o) => {
        const text = `profiles:\n${emitSeq([o], '  ')}`;
        expect(parse(text, { version: '1.2', uniqueKeys: false })).toEqual({ profiles: [o] });
        expect(emitMap(o) === '' ? {} : parse(emitMap(o), { version: '1.2' })).toEqual(o);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps words YAML 1.1 reads as booleans as strings there too', () => {
    for (const s of ['yes', 'No', 'on', 'OFF', 'y', 'true', 'Null']) {
      expect(parse(`v: ${emitScalar(s)}`, { version: '1.1' })).toEqual({ v: s });
    }
  });

  it('writes plain what needs no quotes and quotes phone numbers and dates', () => {
    expect(emitMap({ name: 'Priya Sharma', email: 'priya@example.com', sms: '+919812345678', d: '2024-03-01', num: 5, tags: ['vip'], e: [] })).toBe(
      'name: Priya Sharma\nemail: priya@example.com\nsms: "+919812345678"\nd: "2024-03-01"\nnum: 5\ntags:\n  - vip\ne: []\n',
    );
  });
});
