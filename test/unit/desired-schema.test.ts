/**
 * schemas/desired-state.schema.json is the single definition of the format (issue #3): it must
 * document every field, carry exactly Fyno's timezone list, and accept the examples as editors
 * (a plain JSON Schema validator) would see them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

const schema = JSON.parse(readFileSync(new URL('../../schemas/desired-state.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const EXAMPLES = fileURLToPath(new URL('../../examples/basic/', import.meta.url));

type Json = Record<string, unknown>;

describe('desired-state JSON Schema', () => {
  it('offers exactly the timezones Fyno lists', () => {
    const spec = YAML.parse(
      readFileSync(new URL('../../spec/fyno-api/fyno-manage-user-profiles-api-openapi.yml', import.meta.url), 'utf8'),
    ) as { components: { schemas: { version_profiles_body: { properties: { timezone: { enum: string[] } } } } } };
    const fyno = spec.components.schemas.version_profiles_body.properties.timezone.enum;
    const ours = (((schema.definitions as Json).timezone as Json).if as Json).enum;
    expect(ours).toEqual(fyno);
  });

  it('documents every field with a description', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
      const n = node as Json;
      for (const [key, sub] of Object.entries((n.properties as Json | undefined) ?? {})) {
        if (typeof (sub as Json).description !== 'string' && typeof (sub as Json).$ref !== 'string') missing.push(`${where}.properties.${key}`);
        walk(sub, `${where}.${key}`);
      }
      for (const k of ['items', 'additionalProperties']) walk(n[k], `${where}.${k}`);
    };
    for (const [name, def] of Object.entries(schema.definitions as Json)) {
      if (typeof (def as Json).description !== 'string') missing.push(`definitions.${name}`);
      walk(def, `definitions.${name}`);
    }
    walk(schema, '#');
    expect(missing).toEqual([]);
  });

  it('accepts every example file as a plain JSON Schema validator sees it', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const text = readFileSync(`${EXAMPLES}${f}`, 'utf8');
      // The YAML language server reads this comment to check and complete the file in editors.
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schemas/desired-state.schema.json');
      expect(validate(YAML.parse(text)), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
