/**
 * The JSON Schemas in schemas/ work with standard tools (issue #16): each compiles in Ajv's
 * strict mode with nothing registered but the standard formats (no custom keyword, no second
 * schema added by hand), none points at a URL that does not resolve, editors get one short line
 * for a bad timezone or a reserved property key, and the desired-state schema agrees with the CLI
 * on every example and broken fixture of the suite.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadDesired } from '../../src/desired/load.js';
// @ts-expect-error -- a plain .mjs script without types
import { bundleMappingSchema } from '../../scripts/bundle-mapping-schema.mjs';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMAS = path.join(ROOT, 'schemas');
const read = (f: string) => JSON.parse(readFileSync(path.join(SCHEMAS, f), 'utf8')) as Record<string, unknown>;

/** Ajv as a user would set it up: strict, the standard formats, nothing else. */
function plainAjv() {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const desired = plainAjv().compile(read('desired-state.schema.json'));
const errorsFor = (doc: unknown): ErrorObject[] => (desired(doc) ? [] : [...(desired.errors ?? [])]);

describe('schemas/', () => {
  const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'));

  it.each(files)('%s compiles in strict mode alone, with no URL that does not resolve', (f) => {
    expect(() => plainAjv().compile(read(f))).not.toThrow();
    const text = readFileSync(path.join(SCHEMAS, f), 'utf8');
    expect(text).not.toMatch(/"\$(id|ref)": "https?:/);
    expect(text).not.toContain('x-messages');
  });

  it('import-mapping.schema.json carries current copies of the desired-state definitions it uses', () => {
    expect(read('import-mapping.schema.json')).toEqual(bundleMappingSchema(read('desired-state.schema.json'), read('import-mapping.schema.json')));
    const validate = plainAjv().compile(read('import-mapping.schema.json'));
    const mapping = YAML.parse(readFileSync(path.join(ROOT, 'examples/crm-migration/mapping.yaml'), 'utf8')) as unknown;
    expect(validate(mapping), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a bad timezone fails on one short sentinel, not a list of ~600 names', () => {
    const errors = errorsFor({ version: 1, profiles: [{ distinct_id: 'u', timezone: 'Asia/Kolkatta' }] });
    expect(errors.some((e) => e.keyword === 'enum')).toBe(false);
    const sentinel = errors.find((e) => e.keyword === 'const');
    expect(String((sentinel?.params as { allowedValue?: unknown }).allowedValue)).toMatch(/^an IANA timezone name .{0,60}$/);
  });

  it('a reserved fyno_sync key says it is reserved', () => {
    const errors = errorsFor({ version: 1, profiles: [{ distinct_id: 'u', properties: { fyno_sync_x: 1 } }] });
    expect(errors.some((e) => e.keyword === 'not')).toBe(false);
    expect(errors.map((e) => String((e.params as { allowedValue?: unknown }).allowedValue))).toContainEqual(expect.stringMatching(/reserved/));
  });
});

/** Broken fixtures only the CLI can refuse: what a JSON Schema cannot express. */
const CLI_ONLY: Record<string, string> = {
  'bad-date-day.yaml': 'calendar dates',
  'bad-date-in-list.yaml': 'calendar dates',
  'bad-date-no-zone.yaml': 'date forms',
  'bad-phone-letters.yaml': 'phone numbers (libphonenumber)',
  'bad-phone-short.yaml': 'phone numbers (libphonenumber)',
  'duplicate-id-in-file.yaml': 'ids unique across profiles',
  'duplicate-token.yaml': 'tokens unique by their token field',
  'invalid-utf8.yaml': 'the encoding of the file',
  'malformed-variable.yaml': '${VAR} syntax',
  'merge-into-self.yaml': 'merges across profiles',
  'merge-into-two-targets.yaml': 'merges across profiles',
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? [] : f.endsWith('.yaml') ? [p] : [];
  });
}

describe('the desired-state schema agrees with the CLI', () => {
  const valid = [...yamlFiles(path.join(ROOT, 'examples/basic')), ...yamlFiles(path.join(ROOT, 'examples/gitops/fyno'))];
  it.each(valid.map((p) => [path.relative(ROOT, p)]))('%s: both accept it', async (rel) => {
    const file = path.join(ROOT, rel);
    const { issues } = await loadDesired([file], { env: { PRIYA_PUSH_TOKEN: 'x' }, cwd: ROOT });
    expect(issues).toEqual([]);
    expect(errorsFor(YAML.parse(readFileSync(file, 'utf8')))).toEqual([]);
  });

  const broken = yamlFiles(path.join(ROOT, 'test/fixtures/broken'));
  it.each(broken.map((p) => [path.basename(p)]))('%s: both refuse it (or only the CLI can)', async (name) => {
    const file = path.join(ROOT, 'test/fixtures/broken', name);
    const { issues } = await loadDesired([file], { env: {}, cwd: ROOT });
    expect(issues.length).toBeGreaterThan(0);
    let doc: unknown;
    try {
      doc = YAML.parse(readFileSync(file, 'utf8'));
    } catch {
      return; // not YAML: no schema is consulted
    }
    expect(errorsFor(doc).length > 0, `the schema ${errorsFor(doc).length > 0 ? 'refuses' : 'accepts'} it`).toBe(!(name in CLI_ONLY));
  });
});
