/**
 * The loader's fast path (src/desired/fast-parse.ts) must never change what a file means:
 * whatever it accepts, the full parser (parse.ts) reads without error into the same data, with
 * the same positions for every key and value it keeps and the same `refs`. Checked on every
 * YAML file of the repository's fixtures and examples, on the generators' output, and on
 * randomly mutated documents (fast-check), where it has to decline whatever is broken.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import { parseFast, type LightNode } from '../../src/desired/fast-parse.js';
import { loadDesired } from '../../src/desired/load.js';
import { documentSource, fastSource, loadFile } from '../../src/desired/load-file.js';
import { parseYaml } from '../../src/desired/parse.js';
import type { InstancePath } from '../../src/desired/positions.js';
import { profileYaml as benchProfileYaml, profileAt } from '../../bench/gen.js';
import { fileYaml } from '../fixtures/desired/generate.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every path the light tree keeps, with whether it names a key. */
function lightPaths(n: LightNode, prefix: InstancePath = [], out: { path: InstancePath; key: boolean }[] = []) {
  if (n.off >= 0) out.push({ path: prefix, key: false });
  n.kids?.forEach((kid, i) => {
    const seg = n.keys ? n.keys[i]! : i;
    if (n.keys) out.push({ path: [...prefix, seg], key: true });
    if (kid) lightPaths(kid, [...prefix, seg], out);
  });
  return out;
}

/** Asserts the fast path agrees with the full parser on `text`; returns whether it accepted. */
function agrees(text: string, chunkItems?: number): boolean {
  const fast = parseFast(text, chunkItems === undefined ? {} : { chunkItems });
  if (!fast) return false;
  const full = parseYaml('f.yaml', text);
  if ('issues' in full) throw new Error(`fast path accepted a document with errors: ${full.issues.map((i) => i.message).join('; ')}\n${text}`);
  expect(fast.data).toEqual(full.file.data);
  const light = fastSource('f.yaml', fast);
  const doc = documentSource(full.file);
  for (const { path: p, key } of lightPaths(fast.root)) {
    expect(light.at(p, { key }), `${p.join('.')}${key ? ' (key)' : ''}`).toEqual(doc.at(p, { key }));
  }
  expect(light.missed()).toBe(false);
  const data = full.file.data as { profiles?: unknown };
  expect(light.refs(['defaults'])).toEqual(doc.refs(['defaults']));
  if (Array.isArray(data.profiles)) {
    for (let i = 0; i < data.profiles.length; i++) expect(light.refs(['profiles', i])).toEqual(doc.refs(['profiles', i]));
  }
  return true;
}

const SAMPLE = `# A sample with what real files hold
version: 1
defaults:
  timezone: Asia/Kolkata   # comment after a value
  channels: { email: null }
  properties:
    source: "crm"
profiles:
  - distinct_id: cust-1
    name: 'O''Brien: the first'
    status: active
    merge_from: [old-1, "old-2"]
    channels:
      email: USER@Example.com
      sms: "+91 98123 45678"
      push:
        - { token: "ExponentPushToken[1]", integration_id: IXXXX }
        - token: tok-2
          status: inactive
    preferences:
      all: { sms: opted-out }
      promo:
        email: opted-in
    properties:
      ltv: -12
      score: 3.5
      flag: true
      nothing: ~
      when: { $once: 2024-01-01T10:00:00Z }
      tags: [vip, beta, 7]
      empty: []
    manage:
      properties: exact
- distinct_id: wrong-indent
  - distinct_id: cust-2
    merge_from: old-3
    name: Two

  - distinct_id: "cust-3"
    protected: true
  - { distinct_id: cust-4, state: absent }
# the end
`.replace('- distinct_id: wrong-indent\n', '');

describe('fast path', () => {
  it('agrees with the full parser on a sample with every construct it accepts', () => {
    expect(agrees(SAMPLE)).toBe(true);
    // The profiles list parsed in chunks of one and of two items.
    expect(agrees(SAMPLE, 1)).toBe(true);
    expect(agrees(SAMPLE, 2)).toBe(true);
  });

  it('agrees on the generators used by the scale test and the benchmarks', () => {
    expect(agrees(fileYaml(0, 50))).toBe(true);
    expect(agrees(fileYaml(0, 50), 7)).toBe(true);
    expect(agrees(`version: 1\nprofiles:\n${Array.from({ length: 50 }, (_, i) => benchProfileYaml(profileAt(i))).join('\n')}`)).toBe(true);
  });

  it('agrees with the full parser, or declines, on every YAML file of the fixtures and examples', () => {
    const files = globSync(['test/fixtures/**/*.{yaml,yml}', 'examples/**/*.{yaml,yml}'], { cwd: ROOT, absolute: true });
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Positions are compared path by path through the full parser's tree walk: keep it quick.
      if (text.length > 100_000) continue;
      try {
        agrees(text);
        agrees(text, 1);
      } catch (e) {
        throw new Error(`${path.relative(ROOT, f)}: ${(e as Error).message}`);
      }
    }
  });

  it('declines what it does not model', () => {
    for (const text of [
      'version: 1\nprofiles: &a []\n',
      'version: 1\nprofiles:\n  - distinct_id: !!str 1\n',
      'version: 1\nprofiles:\n  - distinct_id: |\n      x\n',
      'version: 1\nprofiles:\n  - distinct_id: a\n    name: two\n      lines\n',
      'version: 1\nprofiles:\n  - distinct_id: a\n    properties: { n: 0x1f }\n',
      'version: 1\nversion: 1\n',
      'version: 1\n\tprofiles: []\n',
      'version: 1\nprofiles: []\n---\nversion: 1\n',
      'version: 1\n1: x\n',
    ]) {
      expect(parseFast(text), text).toBeUndefined();
    }
  });

  it('never accepts a mutated document that the full parser reads differently or rejects', () => {
    const base = SAMPLE;
    const piece = fc.constantFrom(' ', '  ', '\n', '-', ':', ': ', '#', ' #', '"', "'", '[', ']', '{', '}', ',', '&a', '*a', '!', '|', '>', '?', '%', '@', '`', '~', '0', '1.5', 'null', 'true', '\t', '\r', 'x',
      // Where YAML parsers tend to differ: escapes, number forms, document markers, special keys.
      '\\', '\\n', '\\x4', '\\u00e9', '0x1', '1e5', '.inf', '- ', '---', '...', '1_000', '+', '.', '<<', '__proto__', '"a": ', 'Yes', 'NULL', '~:', '{a: b}', '[]', '{}', '- - ', '? ');
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), s: piece }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), n: fc.integer({ min: -2, max: 2 }) }),
      fc.record({ kind: fc.constant('dupline' as const), at: fc.nat() }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom(1, 2, 200), (ms, chunkItems) => {
        let t = base;
        for (const m of ms) {
          const at = m.at % (t.length + 1);
          if (m.kind === 'insert') t = t.slice(0, at) + m.s + t.slice(at);
          else if (m.kind === 'delete') t = t.slice(0, at) + t.slice(at + m.n);
          else {
            const lines = t.split('\n');
            const li = m.at % lines.length;
            if (m.kind === 'dupline') lines.splice(li, 0, lines[li]!);
            else lines[li] = m.n > 0 ? ' '.repeat(m.n) + lines[li]! : lines[li]!.replace(new RegExp(`^ {0,${-m.n}}`), '');
            t = lines.join('\n');
          }
        }
        if (agrees(t, chunkItems)) accepted++;
      }),
      { numRuns: 1500, seed: 6 },
    );
    // The property means something only if many mutants are accepted (e.g. a changed value).
    expect(accepted).toBeGreaterThan(150);
  });

  it('loads the same profiles and entries as the full parser', () => {
    const text = SAMPLE.replace('merge_from: [old-1, "old-2"]', 'merge_from: [old-1, "old-2", "${OLD}"]').replace('name: \'O\'\'Brien: the first\'', 'name: "${NAME}"');
    const env = { NAME: 'Secret Name', OLD: 'x' };
    const fast = parseFast(text)!;
    const full = parseYaml('f.yaml', text);
    if ('issues' in full) throw new Error('unexpected');
    const a = loadFile(fastSource('f.yaml', fast), env);
    const b = loadFile(documentSource(full.file), env);
    expect(a).toEqual(b);
    // The variable in merge_from is an error: the fast path's positions are never what is reported.
    expect(a.issues.length).toBeGreaterThan(0);
    const clean = loadFile(fastSource('f.yaml', parseFast(SAMPLE)!), {});
    const full2 = parseYaml('f.yaml', SAMPLE);
    if ('issues' in full2) throw new Error('unexpected');
    expect(clean.issues).toEqual([]);
    expect(clean).toEqual(loadFile(documentSource(full2.file), {}));
    expect(clean.profiles.map((p) => p.distinct_id)).toEqual(['cust-1', 'cust-2', 'cust-3', 'cust-4']);
  });

  it('loadDesired (chunk by chunk on the fast path) returns what the full parser gives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fyno-perf-'));
    try {
      // 230 profiles: several chunks of 50, with the file's defaults merged into each.
      const text = fileYaml(100, 330);
      writeFileSync(path.join(dir, 'a.yaml'), text);
      writeFileSync(path.join(dir, 'b.yaml'), SAMPLE);
      const got = await loadDesired(['a.yaml', 'b.yaml'], { env: {}, cwd: dir });
      expect(got.issues).toEqual([]);
      const full = (name: string, t: string) => {
        const parsed = parseYaml(name, t);
        if ('issues' in parsed) throw new Error('unexpected');
        return loadFile(documentSource(parsed.file), {});
      };
      expect(got.state.profiles).toEqual([...full('a.yaml', text).profiles, ...full('b.yaml', SAMPLE).profiles]);
      expect(got.state.profiles).toHaveLength(234);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
