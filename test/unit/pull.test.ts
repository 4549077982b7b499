/**
 * `pull` without the network: live profile → desired-state entry → YAML file → loader → planner
 * against the same live profile gives no operation (issue #6 part 2, "round-trips"), for a table
 * of values YAML would re-type and for generated profiles.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesired } from '../../src/desired/load.js';
import type { ActualPreferences, ActualProfile, PropertyValue } from '../../src/fyno/types.js';
import { buildPlan } from '../../src/plan/build.js';
import type { ActualSnapshot } from '../../src/plan/types.js';
import { parseIdsFile, profileToDesired, renderPullFiles, type PullOptions } from '../../src/pull/index.js';
import { CREATED_AT, live, prefs, TARGET, topic } from './plan-builders.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-pull-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Pull `profiles`, load the YAML back, plan it against the same live state. */
async function roundTrip(profiles: ActualProfile[], o: PullOptions = {}, preferences?: ActualPreferences) {
  const pulled = profiles.map((p) => profileToDesired(p, preferences, o));
  const files = renderPullFiles(
    pulled.map((p) => p.entry),
    { fileSize: 1000, target: 'WS1 (test)', schemaRef: '../schemas/desired-state.schema.json' },
  );
  const sub = path.join(dir, `rt-${++n}`);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(sub);
  for (const f of files) await writeFile(path.join(sub, f.name), f.text);
  const { state, issues } = await loadDesired([sub], { env: { HOME: '/home/x' }, cwd: sub });
  const actual = new Map<string, ActualSnapshot>(profiles.map((p) => [p.distinct_id, { profile: p, ...(preferences ? { preferences } : {}) }]));
  const plan = issues.length === 0 ? buildPlan(state, actual, { createdAt: CREATED_AT, target: TARGET, sources: state.files }) : undefined;
  return { files, issues, state, plan, omitted: pulled.flatMap((p) => p.omitted) };
}

describe('profileToDesired', () => {
  it('writes managed fields in a fixed order and leaves out server fields, the ownership record, tokens and preferences', () => {
    const p = live('cust-1', {
      name: 'Priya',
      timezone: 'Asia/Kolkata',
      channels: { sms: '+919812345678', email: 'p@example.com', push: [{ token: 'T1', integration_id: 'I1' }] },
      properties: { z: 1, a: 'x', fyno_sync_managed: ['properties:a'] },
      server: { profile_id: 'P1', created_at: '2024-01-01T00:00:00Z', country_code: '91', timezone_offset: '+05:30', id_list: ['cust-1'] },
    });
    const { entry, omitted } = profileToDesired(p, prefs([topic('S1', { sms: 'opted-out' })]));
    expect(entry).toEqual({
      distinct_id: 'cust-1',
      name: 'Priya',
      status: 'active',
      timezone: 'Asia/Kolkata',
      channels: { sms: '+919812345678', email: 'p@example.com' },
      properties: { a: 'x', z: 1 },
    });
    expect(Object.keys(entry)).toEqual(['distinct_id', 'name', 'status', 'timezone', 'channels', 'properties']);
    expect(omitted).toEqual([]);
  });

  it('writes tokens with --include-tokens, inactive ones with their status', () => {
    const p = live('u', { channels: { push: [{ token: 'A', integration_id: 'I', status: 1 }, { token: 'B', status: 0 }], inapp: [] } });
    expect(profileToDesired(p, undefined, { includeTokens: true }).entry.channels).toEqual({
      push: [{ token: 'A', integration_id: 'I' }, { token: 'B', status: 'inactive' }],
    });
  });

  it('writes only the preferences a user can choose: all, and on channels of topics', () => {
    const pr = prefs([topic('S2', { email: 'opted-in', sms: 'opted-out' }, { sms: 'required' }), topic('S1', { email: 'opted-out' })], { sms: 'opted-out' });
    expect(profileToDesired(live('u'), pr, { includePreferences: true }).entry.preferences).toEqual({
      all: { sms: 'opted-out' },
      S1: { email: 'opted-out' },
      S2: { email: 'opted-in' },
    });
  });

  it('leaves out, and reports, properties desired state cannot name', () => {
    const { entry, omitted } = profileToDesired(live('u', { properties: { 'bad key': 1, ok: 2, obj: { a: 1 } as unknown as PropertyValue } }));
    expect(entry.properties).toEqual({ ok: 2 });
    expect(omitted.map((o) => o.field)).toEqual(['properties.bad key', 'properties.obj']);
    expect(profileToDesired(live('u', { properties: { flags: [true, 1] } })).omitted.map((o) => o.field)).toEqual(['properties.flags']);
  });
});

describe('pull round trip (pull, then plan: no operation)', () => {
  // Values a careless emitter would let YAML re-type or the loader substitute.
  const tricky: PropertyValue[] = [
    'true', 'false', 'yes', 'no', 'on', 'off', 'null', '~', 'Null', '', ' ', '2024-01-01', '2024-03-01T10:00:00Z', '0123', '123', '1e3', '0x1F', '.inf', '-.5',
    '+919812345678', '${HOME}', '$${x}', 'a: b', 'a #b', '#c', '- x', '[1]', '{a: 1}', "O'Brien", '"q"', 'line\nbreak', ' lead', 'trail ', '!tag', '&a', '*a', '|', '>', '%x', '@x', '`x',
    'ünïcödé', '日本', '😀', 0, -1, 1.5, 1e21, true, false, ['true', '0123', 1, '${X}'], [],
  ];
  it.each(tricky.map((v, i) => [i, v] as const))('value %i (%j) survives', async (_i, v) => {
    const r = await roundTrip([live('p-1', { name: typeof v === 'string' && v.trim() !== '' ? v : 'N', properties: { v } })]);
    expect(r.issues).toEqual([]);
    expect(r.plan!.operations).toEqual([]);
    expect(r.state.profiles[0]!.properties?.v).toEqual({ op: 'set', value: v });
  });

  it('round-trips tokens and preferences when they are included, and leaves them unmanaged otherwise', async () => {
    const pr = prefs([topic('S1', { email: 'opted-out', sms: 'opted-in' }, { sms: 'required' })], { whatsapp: 'opted-out' });
    const p = live('tok-1', { channels: { push: [{ token: 'ExponentPushToken[${x}]', integration_id: 'I1' }, { token: 'B', status: 0 }], inapp: [{ token: 'C' }] } });
    for (const o of [{}, { includeTokens: true, includePreferences: true }]) {
      const r = await roundTrip([p], o, pr);
      expect(r.issues).toEqual([]);
      expect(r.plan!.operations).toEqual([]);
    }
    const without = await roundTrip([p], {}, pr);
    expect(without.state.profiles[0]!.channels).toBeUndefined();
    expect(without.state.profiles[0]!.preferences).toBeUndefined();
  });

  it('round-trips generated profiles', async () => {
    const str = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom(...tricky.filter((t) => typeof t === 'string')));
    const scalar = fc.oneof(str, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)), fc.boolean());
    const value: fc.Arbitrary<PropertyValue> = fc.oneof(scalar, fc.uniqueArray(fc.oneof(str, fc.integer()), { maxLength: 4 }) /* Fyno lists hold unique values */);
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,12}$/).filter((k) => !k.startsWith('fyno_sync'));
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.@:${}-]{0,20}$/);
    const profileArb = fc.record({
      distinct_id: id,
      name: fc.option(str.filter((s) => s.trim() !== '' && s.length <= 255), { nil: undefined }),
      status: fc.constantFrom('active' as const, 'inactive' as const),
      email: fc.option(fc.constantFrom('a@example.com', 'Mixed.Case@Example.org', 'x+tag@sub.example.io'), { nil: undefined }),
      sms: fc.option(fc.constantFrom('+919812345678', '+14155550100', '+447911123456'), { nil: undefined }),
      properties: fc.dictionary(key, value, { maxKeys: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(profileArb, { selector: (p) => p.distinct_id, minLength: 1, maxLength: 4 }), async (ps) => {
        const profiles = ps.map((p) =>
          live(p.distinct_id, {
            status: p.status,
            ...(p.name !== undefined ? { name: p.name } : {}),
            channels: { ...(p.email ? { email: p.email } : {}), ...(p.sms ? { sms: p.sms } : {}) },
            properties: p.properties,
          }),
        );
        const r = await roundTrip(profiles);
        expect(r.issues).toEqual([]);
        expect(r.plan!.operations).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic: the same profiles give byte-identical files, in distinct_id order', () => {
    const a = profileToDesired(live('b', { name: 'B', properties: { y: 1, x: 2 } })).entry;
    const b = profileToDesired(live('b', { name: 'B', properties: { x: 2, y: 1 } })).entry;
    expect(renderPullFiles([a], { fileSize: 10, target: 'W', schemaRef: 's.json' })).toEqual(renderPullFiles([b], { fileSize: 10, target: 'W', schemaRef: 's.json' }));
    const files = renderPullFiles([a, a, a], { fileSize: 2, target: 'WS (live)', schemaRef: '../node_modules/fyno-sync/schemas/desired-state.schema.json' });
    expect(files.map((f) => f.name)).toEqual(['profiles-0001.yaml', 'profiles-0002.yaml']);
    expect(files[0]!.text.startsWith('# yaml-language-server: $schema=../node_modules/fyno-sync/schemas/desired-state.schema.json\n')).toBe(true);
  });
});

describe('parseIdsFile', () => {
  it('reads one id per line, ignoring a BOM, blanks, comments and surrounding spaces', () => {
    expect(parseIdsFile('\uFEFFa\r\n  b  \n\n# note\nc\n')).toEqual(['a', 'b', 'c']);
  });
});
