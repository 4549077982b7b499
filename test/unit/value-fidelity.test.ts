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
import { envFor, runCli, startSeeded } from '../cli/harness.js';

const tmp = useTempTree('fyno-fidelity-');

/** `import` of `csv` (as in.csv) with the mapping `mapping` into tmp/out. */
async function importCsv(mapping: string, csv: string) {
  const parsed = parseMapping('map.yaml', mapping);
  if ('issues' in parsed) throw new Error('mapping refused');
  await writeFile(path.join(tmp.dir, 'in.csv'), csv);
  return importFile({ input: path.join(tmp.dir, 'in.csv'), mapping: parsed.mapping, outDir: path.join(tmp.dir, 'out'), rejectsFile: path.join(tmp.dir, 'rejects.csv') });
}

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
    const r = await importCsv('version: 1\ndistinct_id: id\nproperties:\n  cut: { column: s, truncate: true }\n  whole: w\n', `id,s,w\nu1,${emoji(200)},ok\nu2,ok,${emoji(128)}\n`);
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

describe('numbers written with a leading zero', () => {
  const file = `version: 1
profiles:
  - distinct_id: u1
    properties:
      zip: 01234
      account: -007
      ratio: 00.5
      codes: [1, 02139]
      first: { $once: 0012 }
      fine: [0, 0.5, 10, 0x1F, 0o17, 1e3, "01234"]
      negzero: -0
`;
  const want = [
    'p.yaml:5:12: profile u1: properties.zip: 01234 is read as the number 1234 (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: "01234"',
    'p.yaml:6:16: profile u1: properties.account: -007 is read as the number -7 (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: "-007"',
    'p.yaml:7:14: profile u1: properties.ratio: 00.5 is read as the number 0.5 (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: "00.5"',
    'p.yaml:8:18: profile u1: properties.codes[1]: 02139 is read as the number 2139 (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: "02139"',
    'p.yaml:9:23: profile u1: properties.first.$once: 0012 is read as the number 12 (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: "0012"',
  ];

  // A zip code or an account number loses its zero on the way, and types the workspace's
  // property as a number: every later (quoted) string value of it is then ignored by Fyno.
  it('are refused where they are written, with the hint to quote them', async () => {
    expect((await load(file)).lines).toEqual(want);
  });

  it('are refused the same way in a large plain file (the fast parser)', async () => {
    // Nothing else in it makes the fast parser give way (no hex, octal or exponent numerals).
    const filler = Array.from({ length: 120 }, (_, i) => `  - distinct_id: f${i}\n    properties: { n: ${i}, r: 0.5 }\n`).join('');
    const r = await load(`version: 1\nprofiles:\n${filler}  - distinct_id: u1\n    properties:\n      zip: 01234\n`);
    expect(r.lines).toEqual([want[0]!.replace('p.yaml:5:12', 'p.yaml:245:12')]);
  });

  it('are accepted quoted, as strings', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    properties: { zip: "01234" }\n');
    expect(r.lines).toEqual([]);
    expect(r.state.profiles[0]!.properties!.zip).toEqual({ op: 'set', value: '01234' });
  });
});

describe('phone numbers with more than a number in them', () => {
  // libphonenumber finds a valid number inside these and fyno-sync sends its E.164 form, so the
  // extension or the words were dropped on the way, and the next plan saw no change.
  it('are refused with file:line and the part that would be dropped', async () => {
    const r = await load(`version: 1
profiles:
  - distinct_id: u1
    channels:
      sms: "+1 415 555 0123 ext. 5"
      whatsapp: "+1 415 555 0123 (home)"
      voice: "+14155550123;ext=12"
  - distinct_id: u2
    channels: { sms: "+1 415 555 0123abc", whatsapp: "+91 98123 45678", voice: "0091 (98123) 45-678" }
suppressions:
  entries:
    - { channel: sms, destination: "+1 415 555 0123 x7" }
`);
    expect(r.lines).toEqual([
      'p.yaml:5:12: profile u1: channels.sms: "+1 415 555 0123 ext. 5" has an extension, which Fyno\'s sms channel cannot hold (only the number would reach Fyno); leave it out',
      'p.yaml:6:17: profile u1: channels.whatsapp: "+1 415 555 0123 (home)" holds text besides the number (only the number would reach Fyno); write the number only',
      'p.yaml:7:14: profile u1: channels.voice: "+14155550123;ext=12" has an extension, which Fyno\'s voice channel cannot hold (only the number would reach Fyno); leave it out',
      'p.yaml:9:22: profile u2: channels.sms: "+1 415 555 0123abc" holds text besides the number (only the number would reach Fyno); write the number only',
      'p.yaml:12:36: suppressions.entries[0].destination: "+1 415 555 0123 x7" has an extension, which Fyno\'s sms channel cannot hold (only the number would reach Fyno); leave it out',
    ]);
  });

  it('import rejects such a cell by row and column', async () => {
    const r = await importCsv('version: 1\ndistinct_id: id\ndefault_country: US\nchannels:\n  sms: phone\n', 'id,phone\nu1,(415) 555-0123 ext 9\nu2,(415) 555-0123\n');
    expect(r.rejects.map((x) => [x.row, x.column, x.reason])).toEqual([
      [2, 'phone', 'sms: "(415) 555-0123 ext 9" has an extension, which Fyno\'s sms channel cannot hold (only the number would reach Fyno); leave it out'],
    ]);
  });
});

describe('a channel or property left without a value', () => {
  // YAML reads an empty value as null, and null deletes the channel or unsets the property: a
  // `push:` whose tokens were commented out deleted every token, `{ a: 1, b }` unset b.
  const file = `version: 1
defaults:
  properties:
    region:
profiles:
  - distinct_id: u1
    channels:
      email: a@example.com
      push:
        # - { token: "ExponentPushToken[abc]" }
    properties: { a: 1, b, c: , d: null }
    preferences: { all: { sms: opted-out } }
`;
  const want = [
    'p.yaml:4:5: defaults.properties.region: has no value, which YAML reads as null and fyno-sync as "unset this property"; write null to do that, or give the value',
    'p.yaml:9:7: profile u1: channels.push: has no value, which YAML reads as null and fyno-sync as "delete this channel"; write null to do that, or give the value',
    'p.yaml:11:25: profile u1: properties.b: has no value, which YAML reads as null and fyno-sync as "unset this property"; write null to do that, or give the value',
    'p.yaml:11:28: profile u1: properties.c: has no value, which YAML reads as null and fyno-sync as "unset this property"; write null to do that, or give the value',
  ];

  it('is refused with file:line naming the field; an explicit null is not', async () => {
    expect((await load(file)).lines).toEqual(want);
  });

  it('is refused the same way by the fast parser (a plain file)', async () => {
    const plain = 'version: 1\nprofiles:\n  - distinct_id: u1\n    channels:\n      sms:\n  - distinct_id: u2\n    channels: { email: null }\n';
    expect((await load(plain)).lines).toEqual(['p.yaml:5:7: profile u1: channels.sms: has no value, which YAML reads as null and fyno-sync as "delete this channel"; write null to do that, or give the value']);
  });

  it('accepts null and ~ written out', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    channels: { push: null, sms: ~ }\n    properties:\n      a: null\n      b: ~\n');
    expect(r.lines).toEqual([]);
    expect(r.state.profiles[0]!.properties).toEqual({ a: { op: 'unset' }, b: { op: 'unset' } });
  });
});

describe('import of cells that hold ${', () => {
  // A CRM note or name is data: written as is, the loader read `${HOME}` in it as a variable
  // reference, so plan sent the machine's $HOME to Fyno in its place (or refused an unset one).
  it('writes them escaped, so the loaded profile holds the cell text exactly, with no variable read', async () => {
    const r = await importCsv('version: 1\ndistinct_id: id\nname: name\nchannels:\n  slack: slack\nproperties:\n  note: note\n  tags: { column: tags, type: list, delimiter: ";" }\n', 'id,name,slack,note,tags\nu1,Dollar ${USER},U${X}1,"Price: ${HOME} and $${Y}",${A};b\n');
    expect(r.rejects).toEqual([]);
    const files = (await readdir(path.join(tmp.dir, 'out'))).filter((f) => f.endsWith('.yaml'));
    const loaded = await loadDesired(files.map((f) => path.join('out', f)), { env: { USER: 'alice', HOME: '/home/alice', X: 'x', Y: 'y', A: 'a' }, cwd: tmp.dir, workers: 0 });
    expect(loaded.issues.map(formatIssue)).toEqual([]);
    const p = loaded.state.profiles[0]!;
    expect([p.name, p.channels?.slack, p.properties?.note, p.properties?.tags]).toEqual([
      'Dollar ${USER}',
      'U${X}1',
      { op: 'set', value: 'Price: ${HOME} and $${Y}' },
      { op: 'set', value: ['${A}', 'b'] },
    ]);
  });
});

describe('YAML tags fyno-sync does not know', () => {
  // The parser warns and reads the plain text: `name: !secret db_name` sent "db_name" as the name.
  it('are refused where they stand, naming the field, instead of being dropped', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    name: !secret db_name\n    channels: { slack: !vault slack/u1 }\n    properties:\n      k: !!str 0123\n');
    expect(r.lines).toEqual([
      'p.yaml:4:19: profile u1: name: the YAML tag !secret is not one fyno-sync reads (the value would be sent as the plain text after it); remove the tag, and for a secret write "${VAR}" and set VAR in the environment',
      'p.yaml:5:31: profile u1: channels.slack: the YAML tag !vault is not one fyno-sync reads (the value would be sent as the plain text after it); remove the tag, and for a secret write "${VAR}" and set VAR in the environment',
    ]);
  });

  it('name the tag when it makes a date object, a set or an ordered map, instead of "not a mapping"', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    properties:\n      d: !!timestamp 2024-01-01\n      s: !!set { a, b }\n      o: !!omap [ a: 1 ]\n');
    expect(r.lines).toEqual([
      'p.yaml:5:22: profile u1: properties.d: the YAML tag !!timestamp makes a date object, not a value Fyno stores; leave the tag out (a date is written as text, e.g. 2024-03-01; a list as [a, b])',
      'p.yaml:6:16: profile u1: properties.s: the YAML tag !!set makes a set, not a value Fyno stores; leave the tag out (a date is written as text, e.g. 2024-03-01; a list as [a, b])',
      'p.yaml:7:17: profile u1: properties.o: the YAML tag !!omap makes an ordered map, not a value Fyno stores; leave the tag out (a date is written as text, e.g. 2024-03-01; a list as [a, b])',
    ]);
  });

  it('a core schema tag over a value it does not read (!!float 1) is named as !!float, and the value as not fitting it', async () => {
    // The tag is one fyno-sync reads (!!float 1.5 is 1.5): the value is what it cannot resolve.
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    properties:\n      f: !!float 1\n      b: !!bool yes\n      ok: !!float 1.5\n');
    expect(r.lines).toEqual([
      'p.yaml:5:18: profile u1: properties.f: the YAML tag !!float does not read this value (it would be sent as the plain text after the tag); write it without the tag, or as the tag writes it (!!float 1.0)',
      'p.yaml:6:17: profile u1: properties.b: the YAML tag !!bool does not read this value (it would be sent as the plain text after the tag); write it without the tag, or as the tag writes it (!!bool true)',
    ]);
  });

  it('accepts the core schema tags (!!str keeps 0123 a string)', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: u1\n    properties:\n      k: !!str 0123\n      n: !!int 7\n');
    expect(r.lines).toEqual([]);
    expect(r.state.profiles[0]!.properties).toEqual({ k: { op: 'set', value: '0123' }, n: { op: 'set', value: 7 } });
  });
});

describe('import of a CSV line the parser refuses twice', () => {
  it('rejects it once, as one row, and numbers the rows after it as before', async () => {
    const r = await importCsv('version: 1\ndistinct_id: id\nchannels:\n  email: email\n', 'id,email\nr1,a@example.com\n"r2",  "b@example.com"  \nr3,c@example.com,\n');
    expect(r.rejects.map((x) => [x.row, x.line])).toEqual([[3, 3], [4, 4]]);
  });
});

describe('a channel destination of white space only', () => {
  // Destinations are sent trimmed: "  " went to Fyno as "", which it keeps as no channel, so
  // every later plan showed `+ channels.slack: ""` again and never converged.
  it('is refused with file:line naming the channel', async () => {
    const r = await load('version: 1\ndefaults:\n  channels: { teams: "\\t" }\nprofiles:\n  - distinct_id: u1\n    channels: { slack: "  ", discord: " x " }\n');
    expect(r.lines).toEqual([
      'p.yaml:3:22: defaults.channels.teams: is only white space; give the destination, or null to delete the channel',
      'p.yaml:6:24: profile u1: channels.slack: is only white space; give the destination, or null to delete the channel',
    ]);
  });
});

describe('ids with invisible characters', () => {
  // "cust-1\u200B" prints exactly as "cust-1": a reviewed plan would name one profile and act on another.
  it('are refused like control characters, naming the character', async () => {
    const r = await load('version: 1\nprofiles:\n  - distinct_id: "cust-1\\u200B"\n  - distinct_id: "a\\u2060b"\n  - distinct_id: "\\uFEFFc"\n  - distinct_id: u4\n    merge_from: ["soft\\u00ADhyphen"]\n');
    expect(r.lines).toEqual([
      'p.yaml:3:18: profiles[0].distinct_id: holds the control character U+200B (at character 7); a distinct_id must be printable',
      'p.yaml:4:18: profiles[1].distinct_id: holds the control character U+2060 (at character 2); a distinct_id must be printable',
      // A leading BOM is white space to the schema's pattern, which says so first.
      'p.yaml:5:18: profiles[2].distinct_id: "\uFEFFc" must be a distinct_id without "/" and without leading or trailing spaces',
      'p.yaml:7:18: profile u4: merge_from[0]: holds the control character U+00AD (at character 5); a distinct_id must be printable',
    ]);
  });

  it('the other invisible format characters too (marks, invisible operators, tags, fillers); printable non-ASCII ids pass', async () => {
    // Each prints as nothing: "cust-1\u200E" reads as "cust-1" in a plan and a PR comment.
    const invisible = ['200E', '200F', '061C', '2061', '2064', '180E', '034F', '3164', 'E0041'];
    const ids = invisible.map((h) => `"cust-1${h.length > 4 ? `\\U${h.padStart(8, '0')}` : `\\u${h}`}"`);
    const r = await load(`version: 1\nprofiles:\n${ids.map((id) => `  - distinct_id: ${id}\n`).join('')}  - distinct_id: müller-1\n  - distinct_id: 用户-1\n  - distinct_id: "user-😀"\n`);
    expect(r.lines).toEqual(invisible.map((h, i) => `p.yaml:${i + 3}:18: profiles[${i}].distinct_id: holds the control character U+${h} (at character 7); a distinct_id must be printable`));
  });
});

describe('a suppression description ending in white space', () => {
  // The marker goes after it ("DND  [fyno-sync]") and is taken off with the white space before
  // it, so the live description read back as "DND" and every plan rewrote it again.
  it('is refused with file:line, as the marker could not keep it', async () => {
    const r = await load('version: 1\nprofiles: []\nsuppressions:\n  entries:\n    - { channel: sms, destination: "+14155550100", description: "DND " }\n    - { channel: sms, destination: "+14155550101", description: "  " }\n    - { channel: sms, destination: "+14155550102", description: "  lead" }\n');
    expect(r.lines).toEqual([
      'p.yaml:5:65: suppressions.entries[0].description: ends with white space, which cannot be kept before the marker [fyno-sync] that fyno-sync appends; remove it',
      'p.yaml:6:65: suppressions.entries[1].description: ends with white space, which cannot be kept before the marker [fyno-sync] that fyno-sync appends; remove it',
    ]);
  });
});

describe('a live suppression description ending in white space', () => {
  it('is pulled without it, and the pulled file plans no change (the entry is not left out)', async () => {
    const emu = await startSeeded({ suppressions: [
      { channel: 'sms', destination: '+14155550100', description: 'DND ' },
      { channel: 'sms', destination: '+14155550101', description: '  ' },
      { channel: 'sms', destination: '+14155550102', description: 'mine  [fyno-sync]' },
    ] });
    try {
      const env = envFor(emu);
      const pull = await runCli(['pull', '--suppressions', '-o', 'out'], env, { cwd: tmp.dir });
      expect(pull.code, pull.stderr).toBe(0);
      const text = await readFile(path.join(tmp.dir, 'out', 'suppressions.yaml'), 'utf8');
      expect(text.match(/destination: .*|description: .*/g)).toEqual([
        'destination: "+14155550100"', 'description: DND',
        'destination: "+14155550101"',
        'destination: "+14155550102"', 'description: mine',
      ]);
      const plan = await runCli(['plan', 'out', '--detailed-exitcode'], env, { cwd: tmp.dir });
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    } finally {
      await emu.close();
    }
  });
});

