/**
 * Values between the YAML file and Fyno (hostile review): what validation accepts is what Fyno
 * stores, and what it refuses is one line naming file:line:column and the field.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { tooLongField } from '../../src/fyno/emulator/limits.js';
import { importFile } from '../../src/import/import.js';
import { parseMapping } from '../../src/import/mapping.js';
import { useTempTree } from '../support/temp-tree.js';

const tmp = useTempTree('fyno-fidelity-');

async function load(text: string, name = 'p.yaml') {
  await writeFile(path.join(tmp.dir, name), text);
  const r = await loadDesired([name], { env: {}, cwd: tmp.dir, workers: 0 });
  return { ...r, lines: r.issues.map(formatIssue) };
}

describe('the 255-character limit', () => {
  // 😀 is one code point but two UTF-16 code units: JSON Schema's maxLength counts the first,
  // the emulator (and apply's verification) the second.
  const emoji = (n: number): string => '😀'.repeat(n);

  it('counts UTF-16 code units, as the emulator does: 128 emoji in a name or a property are refused at validation', async () => {
    const long = emoji(128);
    expect(tooLongField('name', long)).not.toBeNull();
    const r = await load(`version: 1
profiles:
  - distinct_id: u1
    name: "${long}"
    properties:
      s: "${long}"
      l: [ok, "${long}"]
`);
    expect(r.lines).toEqual([
      'p.yaml:4:11: profile u1: name: is 256 characters long (UTF-16 code units, as Fyno counts them: 😀 and other characters beyond U+FFFF count 2); at most 255 are allowed',
      'p.yaml:6:10: profile u1: properties.s: is 256 characters long (UTF-16 code units, as Fyno counts them: 😀 and other characters beyond U+FFFF count 2); at most 255 are allowed',
      'p.yaml:7:15: profile u1: properties.l[1]: is 256 characters long (UTF-16 code units, as Fyno counts them: 😀 and other characters beyond U+FFFF count 2); at most 255 are allowed',
    ]);
  });

  it('accepts 255 code units (127 emoji and one letter), which the emulator stores', async () => {
    const fits = `${emoji(127)}x`;
    expect(tooLongField('name', fits)).toBeNull();
    const r = await load(`version: 1\nprofiles:\n  - distinct_id: u1\n    name: "${fits}"\n    properties: { s: "${fits}" }\n`);
    expect(r.lines).toEqual([]);
  });

  it('keeps the plain message for text without such characters', async () => {
    const r = await load(`version: 1\nprofiles:\n  - distinct_id: u1\n    name: ${'é'.repeat(256)}\n`);
    expect(r.lines).toEqual(['p.yaml:4:11: profile u1: name: is 256 characters long; at most 255 are allowed']);
  });

  it('import cuts a long cell to 255 code units without splitting an emoji, and names the count when it may not cut', async () => {
    const parsed = parseMapping('map.yaml', 'version: 1\ndistinct_id: id\nproperties:\n  cut: { column: s, truncate: true }\n  whole: w\n');
    if ('issues' in parsed) throw new Error('mapping refused');
    await writeFile(path.join(tmp.dir, 'in.csv'), `id,s,w\nu1,${emoji(200)},ok\nu2,ok,${emoji(128)}\n`);
    const r = await importFile({ input: path.join(tmp.dir, 'in.csv'), mapping: parsed.mapping, outDir: path.join(tmp.dir, 'out'), rejectsFile: path.join(tmp.dir, 'rejects.csv') });
    expect(r.rejects.map((x) => [x.row, x.column, x.reason])).toEqual([
      [3, 'w', 'properties.whole: is 256 characters long (UTF-16 code units, as Fyno counts them: 😀 and other characters beyond U+FFFF count 2); Fyno allows 255 (set truncate: true to cut it)'],
    ]);
    const files = (await readdir(path.join(tmp.dir, 'out'))).filter((f) => f.endsWith('.yaml'));
    const loaded = await loadDesired(files.map((f) => path.join('out', f)), { env: {}, cwd: tmp.dir, workers: 0 });
    expect(loaded.issues.map(formatIssue)).toEqual([]);
    const cut = loaded.state.profiles.find((p) => p.distinct_id === 'u1')!.properties!.cut;
    expect(cut).toEqual({ op: 'set', value: emoji(127) });
    expect(await readFile(path.join(tmp.dir, 'out', files[0]!), 'utf8')).not.toContain('\\uD83D');
  });
});
