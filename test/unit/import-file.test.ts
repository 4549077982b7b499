import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDesired } from '../../src/desired/load.js';
import { isFynoSyncError, type FynoSyncError } from '../../src/errors.js';
import { importFile, type ImportOptions } from '../../src/import/import.js';
import { parseMapping, type ImportMapping } from '../../src/import/mapping.js';
import { writeContacts } from '../../scripts/gen-crm-export.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/import/${name}`, import.meta.url));
const example = (name: string) => fileURLToPath(new URL(`../../examples/crm-migration/${name}`, import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function mapping(text: string, file = 'map.yaml'): ImportMapping {
  const r = parseMapping(file, text);
  if ('issues' in r) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.mapping;
}

const SIMPLE = mapping('version: 1\ndefault_country: US\ndistinct_id: id\nname: name\nchannels:\n  sms: phone\n');
const out = () => path.join(dir, 'out');
const rejectsPath = () => path.join(dir, 'rejects.csv');

async function run(input: string | Buffer, o: Partial<ImportOptions> & { name?: string } = {}) {
  const file = path.join(dir, o.name ?? 'in.csv');
  await writeFile(file, input);
  return importFile({ input: file, mapping: SIMPLE, outDir: out(), rejectsFile: rejectsPath(), ...o });
}

async function rejectsCsv(): Promise<Record<string, string>[]> {
  return parse(await readFile(rejectsPath()), { columns: true, relax_column_count: true }) as Record<string, string>[];
}

async function caught(p: Promise<unknown>): Promise<FynoSyncError> {
  try {
    await p;
  } catch (e) {
    if (isFynoSyncError(e)) return e;
    throw e;
  }
  throw new Error('expected a FynoSyncError');
}

/** Everything in the temp dir except the input: proves nothing (not even a temp dir) was left. */
async function leftovers(input = 'in.csv'): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f !== input).sort();
}

async function validate(d = out()) {
  return loadDesired([d], { env: {}, cwd: dir });
}

describe('importFile on the fixture export', () => {
  it('writes valid desired state, and a rejects file with row, line, column, reason and the fields', async () => {
    const m = mapping(await readFile(fixture('mapping.yaml'), 'utf8'), 'mapping.yaml');
    const r = await importFile({ input: fixture('contacts.csv'), mapping: m, outDir: out(), rejectsFile: rejectsPath() });
    expect(r).toMatchObject({ rows: 7, profiles: 2, files: ['profiles-0001.yaml'], rejected: 5, rejectsFile: rejectsPath() });
    expect(r.rejects).toEqual([
      { row: 4, line: 4, column: 'mobile', reason: 'sms: "12345" is not a valid phone number (read with country IN); whatsapp: "12345" is not a valid phone number (read with country US)' },
      { row: 5, line: 5, column: 'id', reason: 'duplicate distinct_id "crm-1" (first in row 2, which is kept)' },
      { row: 6, line: 6, column: 'tz', reason: '"Mars/Base" is not an IANA timezone name that Fyno accepts' },
      { row: 7, line: 8, column: 'id', reason: 'distinct_id is empty' },
      { row: 8, line: 9, column: '', reason: 'has 3 fields; the header has 18 (a truncated line, or a line break inside an unquoted field?)' },
    ]);
    const rows = await rejectsCsv();
    expect(Object.keys(rows[0]!).slice(0, 6)).toEqual(['row', 'line', 'column', 'reason', 'id', 'first']);
    expect(rows.map((x) => [x.row, x.id, x.first])).toEqual([
      ['4', '3', 'Bad'],
      ['5', '1', 'Dup'],
      ['6', '4', 'Multi\nLine'],
      ['7', '', 'No'],
      ['8', '(fields not copied: they do not line up with the header and may hold push/in-app tokens)', undefined],
    ]);

    const { state, issues } = await validate();
    expect(issues).toEqual([]);
    expect(state.profiles.map((p) => p.distinct_id)).toEqual(['crm-1', 'crm-2']);
    const p1 = state.profiles[0]!;
    expect(p1.name).toBe('Priya Sharma');
    expect(p1.timezone).toBe('Asia/Kolkata');
    expect(p1.channels?.sms).toBe('+919812345678');
    expect(p1.channels?.push).toEqual([{ token: 'tokA', integration_id: 'IAPNS01' }, { token: 'tokB' }, { token: 'tokC' }]);
    expect(p1.properties?.ltv).toEqual({ op: 'set', value: 23000 });
    expect(p1.properties?.signup).toEqual({ op: 'once', value: '2024-03-01' });
    expect(p1.properties?.last_seen).toEqual({ op: 'set', value: '2024-03-05T10:20:30+05:30' });
    expect(p1.properties?.tags).toEqual({ op: 'set', value: ['vip', 'beta'] });
    expect(p1.properties?.old_flag).toEqual({ op: 'set', value: 'x' });
    // `defaults:` of the file reach every profile.
    expect(p1.properties?.source).toEqual({ op: 'set', value: 'crm' });
    expect(state.profiles[1]!.properties?.old_flag).toEqual({ op: 'unset' });
    expect(state.profiles[1]!.name).toBe('Ng, Jr.');
  });

  it('starts every file with the schema comment and never names where the input lives', async () => {
    const m = mapping(await readFile(fixture('mapping.yaml'), 'utf8'), fixture('mapping.yaml'));
    await importFile({ input: fixture('contacts.csv'), mapping: m, outDir: out(), rejectsFile: rejectsPath() });
    const text = await readFile(path.join(out(), 'profiles-0001.yaml'), 'utf8');
    expect(text.split('\n').slice(0, 3)).toEqual([
      `# yaml-language-server: $schema=${path.relative(out(), fileURLToPath(new URL('../../schemas/desired-state.schema.json', import.meta.url)))}`,
      '# Generated by fyno-sync import from contacts.csv with mapping.yaml: profiles 1 to 2 of the import, in input order.',
      'version: 1',
    ]);
    expect(text).not.toContain(dir);
  });
});

describe('bad input', () => {
  it('a missing id column is one clear error and nothing is written', async () => {
    const e = await caught(run('ID,name,phone\n1,A,+14155552671\n'));
    expect(e.code).toBe('import.invalid');
    expect(e.message).toBe('the mapping names a column not in in.csv ("id"); nothing was written');
    expect(e.details.issues).toEqual([{ file: 'map.yaml', line: 3, column: 14, field: 'distinct_id', message: 'column "id" is not in in.csv (did you mean "ID"?)' }]);
    expect(await leftovers()).toEqual([]);
  });

  it('a mapping naming several missing columns lists them all', async () => {
    const m = mapping('version: 1\ndistinct_id: id\nname: nmae\nchannels:\n  email: Email\nproperties:\n  plan: Plan\n');
    const e = await caught(run('id,name,email\n1,A,a@x.io\n', { mapping: m }));
    expect(e.message).toBe('the mapping names 3 columns not in in.csv ("nmae", "Email", "Plan"); nothing was written');
    expect((e.details.issues as { line: number }[]).map((i) => i.line)).toEqual([3, 5, 7]);
    expect(await leftovers()).toEqual([]);
  });

  it('keeps the first of duplicate ids and rejects the others', async () => {
    const r = await run('id,name,phone\n1,First,\n2,Other,\n1,Second,\n1,Third,\n');
    expect(r.profiles).toBe(2);
    expect(r.rejects.map((x) => [x.row, x.reason])).toEqual([
      [4, 'duplicate distinct_id "1" (first in row 2, which is kept)'],
      [5, 'duplicate distinct_id "1" (first in row 2, which is kept)'],
    ]);
    const { state } = await validate();
    expect(state.profiles.map((p) => [p.distinct_id, p.name])).toEqual([
      ['1', 'First'],
      ['2', 'Other'],
    ]);
  });

  it('a repeat of a rejected row is still a duplicate: fixing the first row must not change which row wins', async () => {
    const r = await run('id,name,phone\n1,First,12345\n1,Second,\n');
    expect(r.profiles).toBe(0);
    expect(r.rejects.map((x) => [x.row, x.reason])).toEqual([
      [2, 'sms: "12345" is not a valid phone number (read with country US)'],
      [3, 'duplicate distinct_id "1" (first in row 2, itself rejected)'],
    ]);
  });

  it('rejects the rows of another encoding, naming the column, and imports the rest', async () => {
    const latin1 = Buffer.from('3,Caf\xe9 M\xfcller,\n', 'latin1');
    const r = await run(Buffer.concat([Buffer.from('id,name,phone\n1,José Müller,\n2,Zoë,\n'), latin1, Buffer.from('4,Chloé,\n')]));
    expect(r.profiles).toBe(3);
    expect(r.rejects).toEqual([
      { row: 4, line: 4, column: 'name', reason: 'holds bytes that are not UTF-8 (the file mixes encodings; convert it to UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8)' },
    ]);
    const { state, issues } = await validate();
    expect(issues).toEqual([]);
    expect(state.profiles.map((p) => p.name)).toEqual(['José Müller', 'Zoë', 'Chloé']);
  });

  it('rejects a truncated last line: a short row, or a quote never closed', async () => {
    const short = await run('id,name,phone\n1,A,+14155552671\n2,B');
    expect(short.profiles).toBe(1);
    expect(short.rejects).toEqual([{ row: 3, line: 3, column: '', reason: 'has 2 fields; the header has 3 (a truncated line, or a line break inside an unquoted field?)' }]);
    await rm(out(), { recursive: true });
    const open = await run('id,name,phone\n1,A,+14155552671\n2,"B and the rest');
    expect(open.profiles).toBe(1);
    expect(open.rejects).toEqual([{ row: 3, line: 3, column: '', reason: 'a quoted field is never closed, so everything after its opening quote was read as one field (a truncated last line?)' }]);
  });

  it('rejects a stray quote and goes on with the next row', async () => {
    const r = await run('id,name,phone\n1,Bad"Quote,\n2,Good,\n');
    expect(r.rejects.map((x) => [x.row, x.reason])).toEqual([[2, 'a quote (") inside a field that is not quoted as a whole; quote the field and double inner quotes']]);
    expect(r.profiles).toBe(1);
  });

  it('with 10% bad phone numbers rejects exactly those rows and imports the rest', async () => {
    const lines = ['id,name,phone'];
    for (let i = 0; i < 200; i++) lines.push(`${i},N${i},${i % 10 === 3 ? `555-${i}` : `(415) 555-${String(2000 + i).padStart(4, '0')}`}`);
    const r = await run(lines.join('\n'));
    expect(r.rejected).toBe(20);
    expect(r.profiles).toBe(180);
    expect(r.rejects.every((x) => x.column === 'phone' && /is not a valid phone number/.test(x.reason))).toBe(true);
    expect((await rejectsCsv()).length).toBe(20);
    const { state, issues } = await validate();
    expect(issues).toEqual([]);
    expect(state.profiles).toHaveLength(180);
  });

  it('an empty file or a header without rows is not a crash', async () => {
    const e = await caught(run(''));
    expect(e.message).toBe('in.csv is empty: a CSV export needs a header line');
    const r = await run('id,name,phone\n');
    expect(r).toMatchObject({ rows: 0, profiles: 0, files: [], rejected: 0 });
  });
});

describe('CSV dialects', () => {
  it('handles a BOM, ";" detected from the header, quoted delimiters and line breaks in fields', async () => {
    const m = mapping('version: 1\ndistinct_id: id\nname: name\nproperties:\n  notes: notes\n');
    const r = await run('\uFEFFid;name;notes\r\n1;"Ng; Jr.";"line one\r\nline ""two"""\r\n2;B;\r\n', { mapping: m });
    expect(r).toMatchObject({ profiles: 2, rejected: 0 });
    const { state, issues } = await validate();
    expect(issues).toEqual([]);
    expect(state.profiles[0]!.name).toBe('Ng; Jr.');
    expect(state.profiles[0]!.properties?.notes).toEqual({ op: 'set', value: 'line one\r\nline "two"' });
  });

  it('takes an explicit delimiter over detection', async () => {
    const m = mapping('version: 1\ndistinct_id: id\nname: name\n');
    const r = await run('id|name,with,commas\n1|A,B\n', { mapping: mapping('version: 1\ndistinct_id: id\nname: "name,with,commas"\n'), delimiter: '|' });
    expect(r.profiles).toBe(1);
    void m;
  });
});

describe('JSONL', () => {
  const m = mapping('version: 1\ndistinct_id: id\nname: user.name\nproperties:\n  ltv: { column: ltv, type: number }\n  tags: { column: tags, type: list }\n');

  it('reads typed values and nested keys, and rejects lines that are not JSON objects', async () => {
    const text = ['{"id": 1, "user": {"name": "A"}, "ltv": 10, "tags": ["x", "y"]}', '', 'not json', '[1,2]', '{"id": "2", "user": {"name": "B"}, "ltv": "1,5"}', '{"id": 3, "user": {"na'].join('\n');
    const r = await run(text, { mapping: m, name: 'in.jsonl' });
    expect(r.profiles).toBe(1);
    expect(r.rejects).toEqual([
      { row: 3, line: 3, column: '', reason: 'is not valid JSON (a truncated line?)' },
      { row: 4, line: 4, column: '', reason: 'is not a JSON object' },
      { row: 5, line: 5, column: 'ltv', reason: 'properties.ltv: "1,5" is not a number' },
      { row: 6, line: 6, column: '', reason: 'is not valid JSON (a truncated line?)' },
    ]);
    const { state } = await validate();
    expect(state.profiles[0]).toMatchObject({ distinct_id: '1', name: 'A', properties: { ltv: { op: 'set', value: 10 }, tags: { op: 'set', value: ['x', 'y'] } } });
  });

  it('a key no line has is a mapping error, and nothing is written', async () => {
    const e = await caught(run('{"id": 1, "ltv": 2}\n{"id": 2, "user": {"nam": "B"}}\n', { mapping: m, name: 'in.jsonl' }));
    expect(e.message).toBe('the mapping names 2 columns not in in.jsonl ("user.name", "tags"); nothing was written');
    expect(await leftovers('in.jsonl')).toEqual([]);
  });
});

describe('output directory', () => {
  it('refuses a non-empty directory, and --force replaces it whole', async () => {
    await mkdir(out());
    await writeFile(path.join(out(), 'old.yaml'), 'x');
    const e = await caught(run('id,name,phone\n1,A,\n'));
    expect(e.message).toMatch(/is not empty; pass --force to replace it/);
    await run('id,name,phone\n1,A,\n', { force: true });
    expect(await readdir(out())).toEqual(['profiles-0001.yaml']);
    expect(await leftovers()).toEqual(['out']);
  });

  it('a failed import leaves the old directory as it was and no temporary directory', async () => {
    await mkdir(out());
    await writeFile(path.join(out(), 'old.yaml'), 'x');
    await caught(run('ID,name,phone\n1,A,\n', { force: true }));
    expect(await readdir(out())).toEqual(['old.yaml']);
    expect(await leftovers()).toEqual(['out']);
  });

  it('an aborted import writes nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await caught(run('id,name,phone\n1,A,\n', { signal: ac.signal }));
    expect(e.details.interrupted).toBe(true);
    expect(await leftovers()).toEqual([]);
  });
});

describe('the crm-migration example', () => {
  const exampleMapping = async () => mapping(await readFile(example('mapping.yaml'), 'utf8'), 'mapping.yaml');

  it('is deterministic: two imports give byte-identical files', async () => {
    const m = await exampleMapping();
    const a = await importFile({ input: example('contacts.csv'), mapping: m, outDir: path.join(dir, 'a'), rejectsFile: path.join(dir, 'a.csv'), shardSize: 500 });
    const b = await importFile({ input: example('contacts.csv'), mapping: m, outDir: path.join(dir, 'b'), rejectsFile: path.join(dir, 'b.csv'), shardSize: 500 });
    expect(a.files).toEqual(['profiles-0001.yaml', 'profiles-0002.yaml', 'profiles-0003.yaml', 'profiles-0004.yaml']);
    expect(b.files).toEqual(a.files);
    for (const f of a.files) expect(await readFile(path.join(dir, 'b', f))).toEqual(await readFile(path.join(dir, 'a', f)));
    expect(await readFile(path.join(dir, 'b.csv'))).toEqual(await readFile(path.join(dir, 'a.csv')));
  });

  it('validates with loadDesired, every rejected row accounted for', async () => {
    const r = await importFile({ input: example('contacts.csv'), mapping: await exampleMapping(), outDir: out(), rejectsFile: rejectsPath() });
    expect(r.rows).toBe(2100);
    expect(r.profiles + r.rejected).toBe(r.rows);
    expect(r.rejected).toBeGreaterThan(0);
    const { state, issues } = await validate();
    expect(issues).toEqual([]);
    expect(state.profiles).toHaveLength(r.profiles);
    expect((await rejectsCsv()).length).toBe(r.rejected);
  });

  it('the generator is deterministic for a seed', async () => {
    await writeContacts(path.join(dir, 'g1.csv'), { rows: 300, seed: 7 });
    await writeContacts(path.join(dir, 'g2.csv'), { rows: 300, seed: 7 });
    await writeContacts(path.join(dir, 'g3.csv'), { rows: 300, seed: 8 });
    const g1 = await readFile(path.join(dir, 'g1.csv'));
    expect(await readFile(path.join(dir, 'g2.csv'))).toEqual(g1);
    expect(await readFile(path.join(dir, 'g3.csv'))).not.toEqual(g1);
    expect(g1.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });
});
