/**
 * Issue #14, values: a number a double cannot hold exactly, `.nan`/`.inf`, ill-formed strings
 * and ids that are not path segments are refused where they are written (file:line, or row and
 * column on import), never sent in a changed form.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempTree } from '../support/temp-tree.js';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { importFile } from '../../src/import/import.js';
import { parseMapping, type ImportMapping } from '../../src/import/mapping.js';
import { parseBodyText, parseProfile } from '../../src/fyno/wire-parse.js';
import { planOperations } from '../../src/plan/diff.js';
import { numberTextProblem } from '../../src/plan/normalize.js';
import { profileToDesired } from '../../src/pull/to-desired.js';
import { actual, desired, profile, set } from './plan-builders.js';
import { runMain } from '../support/cli.js';

const tmp = useTempTree('fyno-values-');

async function load(text: string, name = 'p.yaml') {
  await writeFile(path.join(tmp.dir, name), text);
  const r = await loadDesired([name], { env: {}, cwd: tmp.dir, workers: 0 });
  return { ...r, lines: r.issues.map(formatIssue) };
}

const profileWith = (props: string) => `version: 1\nprofiles:\n  - distinct_id: u1\n    properties: { ${props} }\n`;

describe('numbers', () => {
  it('tells numerals a double holds from those it does not', () => {
    for (const ok of ['0', '-0', '42', '0.1', '1.50', '1e3', '-2.5e-3', '0x1F', '0o17', '9007199254740991', '1152921504606846976', '0.30000000000000004', '1.7976931348623157e308']) {
      expect([ok, numberTextProblem(ok, Number(ok.replace(/^0o/, '0o')))]).toEqual([ok, undefined]);
    }
    for (const bad of ['12345678901234567890', '9007199254740993', '0.3000000000000000444', '1e-400', '0xFFFFFFFFFFFFFFFFF']) {
      expect(numberTextProblem(bad, Number(bad)), bad).toMatch(/cannot be held exactly by a number .*; quote it to keep it as a string: "/);
    }
    expect(numberTextProblem('.inf', Infinity)).toBe('must be a finite number (.inf and .nan are not values Fyno stores); quote it to keep it as a string: ".inf"');
  });

  it('refuses a property number a double cannot hold, with file:line and a hint to quote it', async () => {
    const r = await load(profileWith('n: 12345678901234567890, ok: 1152921504606846976, f: 0.1'));
    expect(r.lines).toEqual([
      'p.yaml:4:22: profile u1: properties.n: 12345678901234567890 cannot be held exactly by a number (Fyno\'s numbers are doubles: it would become 12345678901234567000); quote it to keep it as a string: "12345678901234567890"',
    ]);
  });

  it('refuses them in lists, in $once, in defaults and in any other field', async () => {
    const r = await load(`version: 1
defaults:
  properties: { d: 9007199254740993 }
profiles:
  - distinct_id: u1
    properties:
      l: [1, 12345678901234567890]
      o: { $once: -1e-400 }
      i: .inf
`);
    expect(r.lines.map((l) => l.replace(/: (?:\d|-|must).*$/, ''))).toEqual([
      'p.yaml:3:20: defaults.properties.d',
      'p.yaml:7:14: profile u1: properties.l[1]',
      'p.yaml:8:19: profile u1: properties.o.$once',
      'p.yaml:9:10: profile u1: properties.i',
    ]);
    expect(r.lines[3]).toContain('quote it to keep it as a string: ".inf"');
  });

  it('accepts the same digits quoted, as a string', async () => {
    const r = await load(profileWith('n: "12345678901234567890"'));
    expect(r.lines).toEqual([]);
    expect(r.state.profiles[0]!.properties!.n).toEqual({ op: 'set', value: '12345678901234567890' });
  });

  it('import refuses such a number in a CSV number column, and keeps a JSONL one exact where a string is wanted', async () => {
    const m = (text: string): ImportMapping => {
      const r = parseMapping('map.yaml', text);
      if ('issues' in r) throw new Error(r.issues.map((i) => i.message).join('\n'));
      return r.mapping;
    };
    const mapping = m('version: 1\ndistinct_id: id\nproperties:\n  n: { column: n, type: number }\n  s: s\n');
    await writeFile(path.join(tmp.dir, 'in.csv'), 'id,n,s\nu1,12345678901234567890,a\nu2,7,b\n');
    const csv = await importFile({ input: path.join(tmp.dir, 'in.csv'), mapping, outDir: path.join(tmp.dir, 'out1'), rejectsFile: path.join(tmp.dir, 'r1.csv') });
    expect(csv.rejects).toEqual([{ row: 2, line: 2, column: 'n', reason: 'properties.n: "12345678901234567890" cannot be held exactly by a number (it would become 12345678901234567000); map the column with type: string to keep it as text' }]);

    await writeFile(path.join(tmp.dir, 'in.jsonl'), '{"id": 12345678901234567890, "n": 7, "s": 98765432109876543210}\n{"id": "u3", "n": 9007199254740993, "s": "x"}\n');
    const jsonl = await importFile({ input: path.join(tmp.dir, 'in.jsonl'), mapping, outDir: path.join(tmp.dir, 'out2'), rejectsFile: path.join(tmp.dir, 'r2.csv') });
    expect(jsonl.rejects.map((x) => [x.row, x.column, x.reason])).toEqual([[2, 'n', 'properties.n: "9007199254740993" cannot be held exactly by a number (it would become 9007199254740992); map the column with type: string to keep it as text']]);
    const files = await readdir(path.join(tmp.dir, 'out2'));
    const text = await readFile(path.join(tmp.dir, 'out2', files.find((f) => f.endsWith('.yaml'))!), 'utf8');
    expect(text).toContain('distinct_id: "12345678901234567890"');
    expect(text).toContain('s: "98765432109876543210"');
  });
});

describe('strings and ids', () => {
  it('refuses a lone surrogate in any string, with file:line; a surrogate pair (emoji) is fine', async () => {
    const r = await load(`version: 1
profiles:
  - distinct_id: u1
    name: "a\\uD800b"
    channels: { push: [{ token: "t\\uDFFF" }] }
    properties: { s: "x\\uDBFF", l: ["ok", "\\uDC00"], e: "smile \\U0001F600" }
  - distinct_id: "\\uD83D"
`);
    expect(r.lines.map((l) => l.replace(/: holds a lone surrogate .*$/, ''))).toEqual([
      'p.yaml:4:11: profile u1: name',
      'p.yaml:5:33: profile u1: channels.push[0].token',
      'p.yaml:6:22: profile u1: properties.s',
      'p.yaml:6:43: profile u1: properties.l[1]',
      'p.yaml:7:18: profiles[1].distinct_id',
    ]);
    expect(r.lines[0]).toContain('holds a lone surrogate \\uD800 (at character 2)');
  });

  it('refuses a lone surrogate that comes from ${VAR} without printing the value', async () => {
    await writeFile(path.join(tmp.dir, 'e.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n    name: "${N}"\n');
    const r = await loadDesired(['e.yaml'], { env: { N: 'secret\uD800' }, cwd: tmp.dir, workers: 0 });
    const lines = r.issues.map(formatIssue);
    expect(lines).toEqual(['e.yaml:4:11: profile u1: name: holds a lone surrogate: not well-formed Unicode, it cannot be sent to Fyno as written']);
  });

  it('refuses control characters in distinct_id and merge_from, naming the character', async () => {
    const ids = ['a\\0b', 'a\\eb', 'a\\x7fb', 'a\\x85b', 'a\\u202Eb', 'a\\nb', 'a\\u2028b'];
    const r = await load(`version: 1\nprofiles:\n${ids.map((id) => `  - distinct_id: "${id}"\n`).join('')}  - distinct_id: ok\n    merge_from: ["x\\ty"]\n`);
    expect(r.lines.map((l) => /U\+[0-9A-F]{4}/.exec(l)?.[0])).toEqual(['U+0000', 'U+001B', 'U+007F', 'U+0085', 'U+202E', 'U+000A', 'U+2028', 'U+0009']);
    expect(r.lines[0]).toBe('p.yaml:3:18: profiles[0].distinct_id: holds the control character U+0000 (at character 2); a distinct_id must be printable');
    expect(r.lines[7]).toMatch(/^p\.yaml:11:18: profile ok: merge_from\[0\]: holds the control character U\+0009/);
  });

  it('refuses "." and ".." as ids at validation, not at plan', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: "."\n  - distinct_id: ..\n  - distinct_id: ...\n    merge_from: [..]\n');
    expect(r.lines).toEqual([
      'p.yaml:3:18: profiles[0].distinct_id: "." cannot be a distinct_id: URL paths drop "." and ".." segments, so no request could address this profile',
      'p.yaml:4:18: profiles[1].distinct_id: ".." cannot be a distinct_id: URL paths drop "." and ".." segments, so no request could address this profile',
      'p.yaml:6:18: profile ...: merge_from[0]: ".." cannot be a distinct_id: URL paths drop "." and ".." segments, so no request could address this profile',
    ]);
  });

  it('accepts printable ids with ? # % and inner spaces, and unicode names', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: "a b?c#d%e"\n    name: "Zoë 山田 😀"\n  - distinct_id: "%2F..%2e"\n');
    expect(r.lines).toEqual([]);
    expect(r.state.profiles.map((p) => p.distinct_id)).toEqual(['a b?c#d%e', '%2F..%2e']);
  });

  it('import rejects ids and cells that validation would refuse, by row and column', async () => {
    const r = parseMapping('map.yaml', 'version: 1\ndistinct_id: id\nname: name\nchannels:\n  push: { column: tok }\n');
    if ('issues' in r) throw new Error('mapping');
    await writeFile(
      path.join(tmp.dir, 'in.jsonl'),
      ['{"id": "..", "name": "a"}', '{"id": "a\\u001bb", "name": "b"}', '{"id": "u3", "name": "c\\ud800"}', '{"id": "u4", "name": "d", "tok": "t\\udc00"}', '{"id": "u5", "name": "ok \\ud83d\\ude00"}'].join('\n') + '\n',
    );
    const res = await importFile({ input: path.join(tmp.dir, 'in.jsonl'), mapping: r.mapping, outDir: path.join(tmp.dir, 'out'), rejectsFile: path.join(tmp.dir, 'rej.csv') });
    expect(res.rejects.map((x) => [x.row, x.column, x.reason.replace(/ \(at character.*$|; a distinct_id.*$|: URL paths.*$/, '')])).toEqual([
      [1, 'id', 'distinct_id ".." ".." cannot be a distinct_id'],
      [2, 'id', 'distinct_id "a\\u001bb" holds the control character U+001B'],
      [3, 'name', 'name: "c\\ud800" holds a lone surrogate \\uD800'],
      [4, 'tok', 'push: a token holds a lone surrogate \\uDC00'],
    ]);
    expect(res.profiles).toBe(1);
  });
});

describe('files', () => {
  /** Fails instead of hanging when a run does not end. */
  const within = <T>(p: Promise<T>, ms = 5000): Promise<T> =>
    Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms).unref())]);

  it('refuses a named pipe given as a file without opening it (no hang), and passes over one in a directory', async () => {
    await mkdir(path.join(tmp.dir, 'd'));
    execFileSync('mkfifo', [path.join(tmp.dir, 'pipe.yaml')]);
    execFileSync('mkfifo', [path.join(tmp.dir, 'd', 'pipe.yaml')]);
    await writeFile(path.join(tmp.dir, 'd', 'ok.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n');
    const r = await within(runMain(['validate', 'pipe.yaml', 'd'], { cwd: tmp.dir }));
    expect(r.code).toBe(1);
    // In a directory the listing (tinyglobby) only yields regular files and links to them.
    expect(r.stderr.split('\n').filter((l) => l.includes('pipe.yaml'))).toEqual(['pipe.yaml: not a regular file (a named pipe, socket or device is not read)']);
    expect(r.stderr).toContain('1 error in 1 file');
  });

  it('reads each file once through a symlink loop (again -> .) or a second link to it', async () => {
    await mkdir(path.join(tmp.dir, 'd', 'sub'), { recursive: true });
    await writeFile(path.join(tmp.dir, 'd', 'a.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n');
    await writeFile(path.join(tmp.dir, 'd', 'sub', 'b.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u2\n');
    await symlink('.', path.join(tmp.dir, 'd', 'again'));
    await symlink('../sub', path.join(tmp.dir, 'd', 'sub', 'up'));
    await symlink('a.yaml', path.join(tmp.dir, 'd', 'link.yaml'));
    const r = await within(loadDesired(['d', 'd/sub/b.yaml'], { env: {}, cwd: tmp.dir, workers: 0 }));
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.state.files).toEqual(['d/a.yaml', 'd/sub/b.yaml']);
    expect(r.state.profiles.map((p) => p.distinct_id)).toEqual(['u1', 'u2']);
  });
});

describe('nesting and syntax errors', () => {
  const head = 'version: 1\nprofiles:\n  - distinct_id: u1\n';

  it('bounds nesting depth: 20,000 [ or { give one line naming the line, not a stack overflow', async () => {
    for (const open of ['[', '{a: ']) {
      const r = await load(`${head}    properties:\n      x: ${open.repeat(20_000)}\n`);
      expect(r.lines).toEqual([`p.yaml:5:${open === '[' ? 70 : 10 + 4 * 60}: YAML nesting deeper than 64 levels at line 5 (a profile file needs about six; is a bracket never closed?)`]);
    }
    const mapping = parseMapping('m.yaml', `version: 1\ndistinct_id: id\nproperties:\n  x: ${'['.repeat(20_000)}\n`);
    expect('issues' in mapping && mapping.issues.map((i) => i.message)).toEqual(['YAML nesting deeper than 64 levels at line 4 (a profile file needs about six; is a bracket never closed?)']);
  });

  it('bounds block nesting by indentation too', async () => {
    let text = 'version: 1\nprofiles:\n';
    for (let d = 0; d < 70; d++) text += `${' '.repeat(2 + d)}k${d}:\n`;
    const r = await load(text);
    expect(r.lines).toEqual(['p.yaml:66:66: YAML nesting deeper than 64 levels at line 66 (a profile file needs about six; is a bracket never closed?)']);
  });

  it('does not count brackets in quotes, comments, block scalars or plain words', async () => {
    const many = '['.repeat(100);
    const r = await load(`${head}    name: "${many}"\n    # ${many}\n    properties:\n      a: '${many}'\n      b: x${many}\n      c: |\n        ${many}\n        ${many}\n      d: O'Brien ${many}\n`);
    expect(r.lines.filter((l) => l.includes('nesting'))).toEqual([]);
    expect(r.lines.filter((l) => l.includes('syntax'))).toEqual([]);
  });

  it('points at the bracket or quote that is never closed, not at the end of the file', async () => {
    expect((await load(`${head}    properties: { tags: [a, b\n`)).lines).toEqual([
      'p.yaml:4:17: YAML syntax error: this "{" is never closed (the file reaches line 5, column 1 without its "}")',
      'p.yaml:4:25: YAML syntax error: this "[" is never closed (the file reaches line 5, column 1 without its "]")',
    ]);
    const mapping = parseMapping('m.yaml', 'version: 1\ndistinct_id: id\nproperties:\n  tags: { column: tags, type: list\n');
    expect('issues' in mapping && mapping.issues.map((i) => `${i.line}:${i.column}: ${i.message}`)).toEqual(['4:9: YAML syntax error: this "{" is never closed (the file reaches line 5, column 1 without its "}")']);
    expect((await load(`${head}    name: 'O''Brien\n    status: active\n`)).lines).toEqual([
      "p.yaml:4:11: YAML syntax error: the single-quoted string that starts here is never closed (the file reaches line 6, column 1 without its closing ')",
    ]);
    expect((await load(`${head}    properties:\n      note: it's [here]\n      tags: [a, "b]", {c: d}\n`)).lines).toEqual([
      'p.yaml:6:13: YAML syntax error: this "[" is never closed (the file reaches line 7, column 1 without its "]")',
    ]);
  });
});

describe('live numbers a double cannot hold', () => {
  const body = '{"distinct_id":"u1","properties":{"n":12345678901234567890,"l":[1,9007199254740993],"ok":42,"s":"12345678901234567890"}}';

  it('are read as the nearest double and marked with the numeral Fyno sent', () => {
    const p = parseProfile(parseBodyText(body), 'u1');
    expect(p.properties).toEqual({ n: 12345678901234567000, l: [1, 9007199254740992], ok: 42, s: '12345678901234567890' });
    expect(p.inexact).toEqual({ n: '12345678901234567890', l: '9007199254740993' });
    expect(parseProfile(parseBodyText('{"properties":{"ok":1.5}}'), 'u2').inexact).toBeUndefined();
  });

  it('pull reports and leaves them out instead of writing the rounded number', () => {
    const { entry, omitted } = profileToDesired(parseProfile(parseBodyText(body), 'u1'));
    expect(entry.properties).toEqual({ ok: 42, s: '12345678901234567890' });
    expect(omitted).toEqual([
      { distinct_id: 'u1', field: 'properties.l', reason: 'Fyno holds the number 9007199254740993, which a file cannot hold exactly (it would read as [1,9007199254740992])' },
      { distinct_id: 'u1', field: 'properties.n', reason: 'Fyno holds the number 12345678901234567890, which a file cannot hold exactly (it would read as 12345678901234567000)' },
    ]);
  });

  it('plan refuses to compare a property against one, instead of seeing no change', () => {
    const live = parseProfile(parseBodyText(body), 'u1');
    const r = planOperations(desired(profile('u1', { properties: { n: set(12345678901234567000), ok: set(43) } })), actual(['u1', live]));
    expect(r.issues.map((i) => [i.field, i.message])).toEqual([['properties.n', 'property n holds 12345678901234567890 in Fyno, a number fyno-sync cannot read exactly; change it in Fyno or leave the property unmanaged']]);
    expect(r.operations.map((o) => o.type)).toEqual(['property.set']);
  });
});
