/**
 * `stableStringify` writes its text without building a sorted copy (issue #17: the hash of a
 * 305 MB saved plan). Its text must stay exactly that of `JSON.stringify` of the sorted copy, the
 * implementation it replaced, for any value: fingerprints in saved plans and the plan hashes that
 * journals of running applies are bound to are made of it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { planHash } from '../../src/apply/journal.js';
import { scanPlanFile } from '../../src/apply/kept-plan.js';
import { buildPlan } from '../../src/plan/build.js';
import { stableStringify } from '../../src/plan/normalize.js';
import { serializePlan } from '../../src/plan/plan-file.js';
import type { DesiredProperty } from '../../src/desired/types.js';
import { actual, CREATED_AT, desired, live, profile, TARGET } from './plan-builders.js';

/** The implementation before issue #17, verbatim: the reference. */
function referenceStringify(value: unknown): string {
  return JSON.stringify(referenceSortKeys(value));
}
function referenceSortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(referenceSortKeys);
  if (v !== null && typeof v === 'object') {
    const out = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = referenceSortKeys(x);
    }
    return out;
  }
  return v;
}

function outcome(f: () => string): string {
  try {
    return `ok ${String(f())}`;
  } catch (e) {
    return `throws ${(e as Error).message}`;
  }
}

function same(v: unknown): void {
  expect(outcome(() => stableStringify(v))).toBe(outcome(() => referenceStringify(v)));
}

describe('stableStringify', () => {
  it('is the text of the sorted copy for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), same), { numRuns: 2000 });
  });

  it('is the text of the sorted copy for any value at all (undefined, NaN, dates, maps, boxed values, sparse arrays, null prototypes)', () => {
    const anything = fc.anything({
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withBigInt: true,
      key: fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '9', '4294967295', '4294967294', '01', '__proto__', 'toJSON', 'constructor', '')),
    });
    fc.assert(fc.property(anything, same), { numRuns: 2000 });
  });

  it('orders integer-like keys first, numerically, as any object does', () => {
    for (const v of [{ b: 1, 10: 2, 9: 3, a: { 2: 0, 1: 0, x: 0 } }, { '4294967295': 1, '4294967294': 2, '01': 3, '1': 4 }, [{ z: 1, '0': 2 }]]) same(v);
    expect(stableStringify({ b: 1, 10: 2, 9: 3 })).toBe('{"9":3,"10":2,"b":1}');
  });

  it('leaves out what JSON.stringify leaves out, and writes null for it in arrays', () => {
    const v = { c: undefined, b: () => 1, a: [undefined, () => 1, Symbol('s'), Number.NaN, -0], [Symbol('k')]: 1, d: Symbol('s') };
    same(v);
    expect(stableStringify(v)).toBe('{"a":[null,null,null,null,0]}');
  });

  it('calls a toJSON of the object itself as JSON.stringify of the copy does', () => {
    const v = { z: { toJSON: (k: string) => `key ${k}` }, a: 1 };
    same(v);
    same({ toJSON: () => ({ b: 1, a: 2 }) });
    same({ toJSON: 'not a function', b: [new Date(0)] });
  });

  it('is the same for objects whose keys are already in order and those whose are not', () => {
    const ordered = { a: 1, b: { c: [1, 'x', null, true], d: {} } };
    const shuffled = { b: { d: {}, c: [1, 'x', null, true] }, a: 1 };
    expect(stableStringify(ordered)).toBe('{"a":1,"b":{"c":[1,"x",null,true],"d":{}}}');
    expect(stableStringify(shuffled)).toBe(stableStringify(ordered));
  });

  it('is the same for the same keys met in many orders (beyond what it remembers of key orders)', () => {
    const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
    for (let n = 0; n < 800; n++) {
      const order = [...keys].sort((a, b) => ((a.charCodeAt(1) * (n + 7)) % 13) - ((b.charCodeAt(1) * (n + 7)) % 13) || (a < b ? -1 : 1));
      const o: Record<string, number> = {};
      for (const k of order) o[k] = n;
      same(o);
      same({ [`extra${n}`]: 1, ...o });
    }
  });
});

describe('plan hashes of random plans', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() === s && s.length > 0 && !/[\u0000-\u001f\u007f]/.test(s));
  const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }));
  // Not `__proto__`: buildPlan refuses a live property of that name holding a list (the drift's JSON Patch, fast-json-patch).
  const key = fc.oneof(fc.constantFrom('plan', 'seats', '10', '9', 'constructor', 'Zed', 'ä', 'a b'), fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/));
  const entry = fc.record({
    kind: fc.constantFrom('create', 'update', 'delete'),
    name,
    properties: fc.dictionary(key, value, { maxKeys: 4 }),
    old: fc.dictionary(key, value, { maxKeys: 3 }),
    token: fc.option(fc.string({ minLength: 1, maxLength: 10 }), { nil: undefined }),
  });

  it('are those of the stable text before issue #17, whole and read line by line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-stable-'));
    dirs.push(dir);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 8 }), async (entries) => {
        const made = entries.map((e, i) => {
          const id = i % 4 === 3 ? String(100 - i) : `u-${i}`;
          const properties = Object.fromEntries(Object.entries(e.properties).map(([k, v]): [string, DesiredProperty] => [k, { op: 'set', value: v } as DesiredProperty]));
          if (e.kind === 'create') {
            const channels = e.token ? { email: `u${i}@example.com`, push: [{ token: e.token, integration_id: 'I1' }] } : { email: `u${i}@example.com` };
            return { d: profile(id, { name: e.name, channels, properties }), l: null };
          }
          if (e.kind === 'update') return { d: profile(id, { name: e.name, properties }), l: live(id, { name: `Old ${e.name}`, properties: e.old }) };
          return { d: profile(id, { state: 'absent' }), l: live(id, { properties: e.old }) };
        });
        const d = desired(...made.map((m) => m.d));
        const plan = buildPlan(d, actual(...made.map((m): [string, ReturnType<typeof live> | null] => [m.d.distinct_id, m.l])), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
        const reference = `sha256:${createHash('sha256').update(referenceStringify(plan)).digest('hex')}`;
        expect(planHash(plan)).toBe(reference);
        const text = serializePlan(plan);
        const file = path.join(dir, `plan-${n++}.json`);
        await writeFile(file, text);
        const scanned = await scanPlanFile(file, 'plan.json', '', { op: () => undefined, reset: () => undefined });
        expect(scanned.hash).toBe(`sha256:${createHash('sha256').update(referenceStringify(JSON.parse(text))).digest('hex')}`);
      }),
      { numRuns: 150 },
    );
  });
});
