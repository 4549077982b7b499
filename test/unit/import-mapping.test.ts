import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapRecord } from '../../src/import/map-record.js';
import { missingColumns, parseMapping, type ImportMapping } from '../../src/import/mapping.js';
import { didYouMean } from '../../src/desired/suggest.js';

const FIXTURE = readFileSync(new URL('../fixtures/import/mapping.yaml', import.meta.url), 'utf8');

function mapping(text: string): ImportMapping {
  const r = parseMapping('map.yaml', text);
  if ('issues' in r) throw new Error(r.issues.map((i) => `${i.line}:${i.column} ${i.message}`).join('\n'));
  return r.mapping;
}

function issues(text: string): string[] {
  const r = parseMapping('map.yaml', text);
  if (!('issues' in r)) throw new Error('expected issues');
  return r.issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}`);
}

const row = (cells: Record<string, unknown>) => (c: string) => cells[c] as never;

describe('mapping file', () => {
  it('compiles every field of the fixture mapping', () => {
    const m = mapping(FIXTURE);
    expect(m.id).toEqual({ column: 'id', prefix: 'crm-' });
    expect(m.name?.columns).toEqual(['first', 'last']);
    expect(m.phones.map((p) => [p.channel, p.country])).toEqual([
      ['sms', 'IN'],
      ['whatsapp', 'US'],
    ]);
    expect(m.tokens[0]?.sources).toEqual([
      { column: 'ios_token', integrationId: 'IAPNS01', delimiter: undefined },
      { column: 'android_tokens', integrationId: undefined, delimiter: '|' },
    ]);
    expect(m.properties.map((p) => `${p.key}:${p.type}`)).toEqual([
      'plan:string',
      'ltv:number',
      'vip:boolean',
      'signup:date',
      'last_seen:date',
      'tags:list',
      'old_flag:string',
    ]);
    expect(m.defaults).toEqual({ timezone: 'Asia/Kolkata', properties: { source: 'crm' } });
  });

  it('reports schema errors at their line and column, with a suggestion', () => {
    expect(issues('version: 1\ndistinct_id: id\nchanels:\n  email: e\n')).toEqual([
      'map.yaml:3:1: chanels: unknown key "chanels" (did you mean "channels"?)',
    ]);
    expect(issues('version: 1\ndistinct_id: id\nproperties:\n  ltv: { column: x, type: numbr }\n')).toEqual([
      'map.yaml:4:27: properties.ltv.type: must be one of "string", "number", "boolean", "date", "list" (did you mean "number"?)',
    ]);
    expect(issues('version: 1\n')).toEqual(['map.yaml:1:1: missing required key "distinct_id"']);
    expect(issues('version: 1\ndistinct_id: 5\n')).toEqual(['map.yaml:2:14: distinct_id: must be a column name (text) or a mapping, not a number']);
  });

  it('refuses bad date formats, format on a non-date, and bad defaults', () => {
    expect(issues('version: 1\ndistinct_id: id\nproperties:\n  d: { column: d, type: date, format: MM/YYYY }\n')).toEqual([
      'map.yaml:4:39: properties.d.format: date format "MM/YYYY" needs a year (YYYY), a month (MM) and a day (DD)',
    ]);
    expect(issues('version: 1\ndistinct_id: id\nproperties:\n  d: { column: d, format: MM/DD/YYYY }\n')[0]).toContain('format applies to type: date');
    expect(issues('version: 1\ndistinct_id: id\ndefaults:\n  timezone: Mars/Base\n')[0]).toMatch(/^map\.yaml:4:13: defaults\.timezone: /);
  });

  it('reports YAML syntax errors with a position instead of throwing', () => {
    expect(issues('version: 1\ndistinct_id: [id\n')[0]).toMatch(/^map\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('names each mapped column missing from the header at the mapping line that names it', () => {
    const m = mapping('version: 1\ndistinct_id: Record ID\nchannels:\n  email: Emial\n');
    expect(missingColumns(m, ['Record Id', 'Email'], 'contacts.csv', didYouMean)).toEqual([
      { file: 'map.yaml', line: 2, column: 14, field: 'distinct_id', message: 'column "Record ID" is not in contacts.csv (did you mean "Record Id"?)' },
      { file: 'map.yaml', line: 4, column: 10, field: 'channels.email', message: 'column "Emial" is not in contacts.csv (did you mean "Email"?)' },
    ]);
  });
});

describe('mapRecord', () => {
  const m = mapping(FIXTURE);
  const full = {
    id: '1',
    first: ' Priya ',
    last: 'Sharma',
    active: 'Yes',
    tz: 'Asia/Kolkata',
    email: 'priya@example.com',
    mobile: '98123 45678',
    ios_token: 'tokA',
    android_tokens: 'tokB|tokC|tokB',
    unsubscribed: 'false',
    sms_news: '1',
    plan: 'premium',
    ltv: '23,000',
    vip: 'Yes',
    signup: '03/01/2024',
    last_seen: '2024-03-05 10:20:30',
    tags: 'vip, beta',
    old_flag: '',
  };

  it('maps every field, coerced, in the desired-state shape', () => {
    const r = mapRecord(m, row({ ...full, mobile: '+91 98123 45678' }));
    expect(r).toEqual({
      profile: {
        distinct_id: 'crm-1',
        name: 'Priya Sharma',
        status: 'active',
        timezone: 'Asia/Kolkata',
        channels: {
          email: 'priya@example.com',
          sms: '+919812345678',
          whatsapp: '+919812345678',
          push: [{ token: 'tokA', integration_id: 'IAPNS01' }, { token: 'tokB' }, { token: 'tokC' }],
        },
        preferences: { all: { email: 'opted-in' }, SNEWS00001: { sms: 'opted-in' } },
        properties: {
          plan: 'premium',
          ltv: 23000,
          vip: true,
          signup: { $once: '2024-03-01' },
          last_seen: '2024-03-05T10:20:30+05:30',
          tags: ['vip', 'beta'],
          old_flag: null,
        },
      },
    });
  });

  it('uses the per-channel country for national numbers', () => {
    const r = mapRecord(m, row({ ...full, mobile: '98123 45678', whatsapp: undefined }));
    // sms reads it as an Indian number; whatsapp (default_country US) cannot.
    expect(r).toEqual({ problems: [{ column: 'mobile', reason: 'whatsapp: "98123 45678" is not a valid phone number (read with country US)' }], distinct_id: 'crm-1' });
  });

  it('leaves out empty cells (unmanaged) unless if_empty: unset', () => {
    const r = mapRecord(m, row({ id: '7', old_flag: '  ' }));
    expect(r).toEqual({ profile: { distinct_id: 'crm-7', properties: { old_flag: null } } });
  });

  it('maps opted-out columns and inactive status with when_true', () => {
    const r = mapRecord(m, row({ id: '8', active: 'no', unsubscribed: 'TRUE', sms_news: 'opted-out' }));
    expect(r).toEqual({ profile: { distinct_id: 'crm-8', status: 'inactive', preferences: { all: { email: 'opted-out' }, SNEWS00001: { sms: 'opted-out' } }, properties: { old_flag: null } } });
  });

  it('collects every problem of a row with its column', () => {
    const r = mapRecord(m, row({ ...full, mobile: '+919812345678', email: 'nope', ltv: 'lots', signup: '2024-03-01', tz: 'Mars/Base' }));
    expect('problems' in r && r.problems).toEqual([
      { column: 'tz', reason: '"Mars/Base" is not an IANA timezone name that Fyno accepts' },
      { column: 'email', reason: 'email: "nope" is not a valid email address' },
      { column: 'ltv', reason: 'properties.ltv: "lots" is not a number' },
      { column: 'signup', reason: 'properties.signup: "2024-03-01" is not a date in the form MM/DD/YYYY' },
    ]);
  });

  it('rejects a row without an id, or with an id Fyno cannot take', () => {
    expect(mapRecord(m, row({ id: '  ' }))).toEqual({ problems: [{ column: 'id', reason: 'distinct_id is empty' }] });
    expect(mapRecord(m, row({ id: 'a/b' }))).toEqual({ problems: [{ column: 'id', reason: 'distinct_id "crm-a/b" must not contain "/"' }] });
  });

  it('reads typed JSON values and nested keys as they are', () => {
    const jm = mapping('version: 1\ndistinct_id: user.id\nproperties:\n  n: { column: n, type: number }\n  b: { column: b, type: boolean }\n  l: { column: l, type: list }\n');
    const rec: Record<string, unknown> = { 'user.id': 42, n: 3.5, b: false, l: ['x', 'y'] };
    expect(mapRecord(jm, (c) => rec[c] as never)).toEqual({ profile: { distinct_id: '42', properties: { n: 3.5, b: false, l: ['x', 'y'] } } });
  });
});
