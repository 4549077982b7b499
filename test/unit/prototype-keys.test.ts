/**
 * Issue #14, prototype keys: any key a user can write (`constructor`, `toString`,
 * `hasOwnProperty`, `__proto__` as a property name, topic id or distinct_id) round-trips through
 * desired state, plan, the wire and the emulator, or is refused with file:line.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempTree } from '../support/temp-tree.js';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { FynoStore } from '../../src/fyno/emulator/store.js';
import { parseProfile, propertiesFromWire } from '../../src/fyno/wire-parse.js';
import { parseMapping } from '../../src/import/mapping.js';
import { mapRecord } from '../../src/import/map-record.js';
import { buildPlan } from '../../src/plan/build.js';
import { documentPatch, type ProfileDocument } from '../../src/plan/document.js';
import { planOperations } from '../../src/plan/diff.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import { profileToDesired } from '../../src/pull/to-desired.js';
import { actual, CREATED_AT, desired, live, profile, set, TARGET } from './plan-builders.js';

const tmp = useTempTree('fyno-proto-');

async function load(text: string, env: Record<string, string> = {}) {
  await writeFile(path.join(tmp.dir, 'p.yaml'), text);
  const r = await loadDesired(['p.yaml'], { env, cwd: tmp.dir, workers: 0 });
  return { ...r, lines: r.issues.map(formatIssue) };
}

const NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

describe('desired state', () => {
  it('keeps properties named like Object members as own keys', async () => {
    const r = await load(`version: 1\nprofiles:\n  - distinct_id: u1\n    properties: { ${NAMES.map((n, i) => `${n}: v${i}`).join(', ')} }\n`);
    expect(r.lines).toEqual([]);
    const props = r.state.profiles[0]!.properties!;
    expect(Object.keys(props)).toEqual(NAMES);
    expect(props.constructor).toEqual({ op: 'set', value: 'v0' });
  });

  it('refuses __proto__ as a property key with file:line, also in defaults', async () => {
    const r = await load(`version: 1\ndefaults:\n  properties: { __proto__: 1 }\nprofiles:\n  - distinct_id: u1\n    properties: { __proto__: x, plan: gold }\n`);
    expect(r.lines).toEqual([
      'p.yaml:3:28: defaults.properties.__proto__: key "__proto__" cannot be used: JavaScript objects on the way to Fyno read it as their prototype and drop the value; rename the key',
      'p.yaml:6:30: profile u1: properties.__proto__: key "__proto__" cannot be used: JavaScript objects on the way to Fyno read it as their prototype and drop the value; rename the key',
    ]);
  });

  it('refuses __proto__ whose value comes from ${VAR} (substitution keeps the key)', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    properties: { __proto__: "${P}" }\n', { P: 'x' });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^p\.yaml:4:/);
    expect(r.lines[0]).toContain('properties.__proto__');
  });

  it('keeps preference topics and distinct_ids named like Object members', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: constructor\n    preferences: { constructor: { sms: opted-out }, toString: { email: opted-in } }\n  - distinct_id: __proto__\n    name: P\n');
    expect(r.lines).toEqual([]);
    expect(r.state.profiles.map((p) => p.distinct_id)).toEqual(['constructor', '__proto__']);
    expect(Object.keys(r.state.profiles[0]!.preferences!)).toEqual(['constructor', 'toString']);
  });
});

describe('plan', () => {
  it('plans a property named constructor against a live profile without it (no "holds a function" issue)', () => {
    const props = { constructor: set('x'), toString: set('y'), hasOwnProperty: set(1) };
    for (const l of [null, live('u1')]) {
      const r = planOperations(desired(profile('u1', { properties: props })), actual(['u1', l]));
      expect(r.issues).toEqual([]);
      expect(r.operations.filter((o) => o.type === 'property.set').map((o) => (o as { key: string }).key).sort()).toEqual(['constructor', 'hasOwnProperty', 'toString']);
    }
  });

  it('plans nothing when the live properties hold the same values', () => {
    const liveProps = propertiesFromWire(JSON.parse('{"constructor":"x","toString":"y"}'));
    const r = planOperations(desired(profile('u1', { properties: { constructor: set('x'), toString: set('y') } })), actual(['u1', live('u1', { properties: liveProps })]));
    expect(r).toEqual({ operations: [], issues: [] });
  });

  it('describes a change inside a list named __proto__ as a replacement of that list, not a banned JSON Patch pointer', () => {
    // Own keys, as wire parsing and the after-document make them (JSON.parse keeps __proto__ as data).
    const doc = (list: string): ProfileDocument => JSON.parse(`{"distinct_id":"u1","status":"active","channels":{},"properties":{"__proto__":${list},"constructor":${list}}}`) as ProfileDocument;
    expect(documentPatch(doc('["a"]'), doc('["a","b"]'))).toEqual([
      { op: 'replace', path: '/properties/__proto__', value: ['a', 'b'] },
      { op: 'replace', path: '/properties/constructor', value: ['a', 'b'] },
    ]);
  });

  it('keeps the precondition of a profile called __proto__ through the saved plan', () => {
    const p = buildPlan(desired(profile('__proto__', { name: 'P' }), profile('constructor', { name: 'C' })), actual(['__proto__', live('__proto__')], ['constructor', live('constructor')]), { createdAt: CREATED_AT, target: TARGET, sources: ['profiles.yaml'] });
    expect(Object.keys(p.preconditions).sort()).toEqual(['__proto__', 'constructor']);
    const text = serializePlan(p);
    expect(text).toContain('"__proto__": "sha256:');
    expect(Object.keys(parsePlan(text, 'plan.json').preconditions).sort()).toEqual(['__proto__', 'constructor']);
  });
});

describe('wire parsing', () => {
  it('reads live properties named __proto__, constructor and toString as own data', () => {
    const p = parseProfile(JSON.parse('{"distinct_id":"u1","properties":{"__proto__":"a","constructor":"b","toString":3}}'), 'u1');
    expect(Object.keys(p.properties)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(p.properties, '__proto__')?.value).toBe('a');
    // A profile without the key has none: not Object's constructor.
    expect(parseProfile({ properties: {} }, 'u2').properties.constructor).toBeUndefined();
  });
});

describe('emulator', () => {
  it('stores $set of __proto__, constructor and toString and returns them on GET', async () => {
    const api = new MemoryFyno();
    await api.setProperties('u1', JSON.parse('{"__proto__":"a","constructor":"b","toString":"c"}') as Record<string, string>);
    api.flush();
    const p = await api.getProfile('u1');
    expect(Object.keys(p!.properties).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(p!.properties, '__proto__')?.value).toBe('a');
    // $append to a key named like an Object member starts a list, instead of being refused.
    await api.appendToProperties('u1', { hasOwnProperty: 'x' });
    api.flush();
    expect((await api.getProfile('u1'))!.properties.hasOwnProperty).toEqual(['x']);
    api.close();
  });

  it('keeps preferences of a topic called constructor, also through a state snapshot', async () => {
    const store = new FynoStore();
    const api = new MemoryFyno({ store });
    api.engine.seed({ topics: [{ subscription_id: 'constructor', name: 'C', channel_config: { sms: 'on' } }] });
    await api.setPreferences('u1', Object.fromEntries([['constructor', { sms: 'opted-out' as const }]]));
    expect((await api.getPreferences('u1')).topics[0]!.preference).toEqual({ sms: 'opted-out' });
    // Stored under the topic, not on Object's constructor (which every object would then see).
    expect((Object as unknown as Record<string, unknown>).sms).toBeUndefined();
    expect(JSON.stringify(store.toJSON())).toContain('"topics":{"constructor":{"sms":{"status":"opted-out"');
    const again = new MemoryFyno({ store: FynoStore.fromJSON(JSON.parse(JSON.stringify(store.toJSON()))) });
    expect((await again.getPreferences('u1')).topics[0]!.preference).toEqual({ sms: 'opted-out' });
    await again.setPreference('u1', 'constructor', 'sms', 'opted-in');
    expect((await again.getPreferences('u1')).topics[0]!.preference).toEqual({ sms: 'opted-in' });
    api.close();
    again.close();
  });
});

describe('import and pull', () => {
  it('import maps a property named constructor, and refuses __proto__ in the mapping with line and column', () => {
    const ok = parseMapping('m.yaml', 'version: 1\ndistinct_id: id\nproperties:\n  constructor: c\n');
    expect('mapping' in ok).toBe(true);
    if (!('mapping' in ok)) return;
    const cells: Record<string, string> = { id: 'u1', c: 'x' };
    const row = mapRecord(ok.mapping, (c) => cells[c]);
    expect('profile' in row && Object.keys(row.profile.properties as object)).toEqual(['constructor']);
    const bad = parseMapping('m.yaml', 'version: 1\ndistinct_id: id\nproperties:\n  __proto__: c\n');
    expect('issues' in bad && bad.issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.field}`)).toEqual(['m.yaml:4:3: properties.__proto__']);
  });

  it('pull writes live properties named like Object members', () => {
    const p = parseProfile(JSON.parse('{"distinct_id":"u1","properties":{"constructor":"b","toString":"c","__proto__":"a"}}'), 'u1');
    const { entry } = profileToDesired(p);
    expect(Object.keys(entry.properties as object)).toEqual(['__proto__', 'constructor', 'toString']);
  });
});
