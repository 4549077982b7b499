#!/usr/bin/env node
/**
 * Copies Fyno's timezone enum (fyno-manage-user-profiles-api-openapi.yml,
 * components.schemas.version_profiles_body.properties.timezone.enum) into
 * schemas/desired-state.schema.json (definitions.timezone.enum), so the committed schema offers
 * exactly the names Fyno accepts. test/unit/desired-schema.test.ts fails when they drift.
 *
 * Usage: node scripts/sync-schema-timezones.mjs [path/to/fyno-manage-user-profiles-api-openapi.yml]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const openapiFile =
  process.argv[2] ?? fileURLToPath(new URL('../spec/fyno-api/fyno-manage-user-profiles-api-openapi.yml', import.meta.url));
const schemaFile = fileURLToPath(new URL('../schemas/desired-state.schema.json', import.meta.url));

const spec = YAML.parse(readFileSync(openapiFile, 'utf8'));
const zones = spec.components.schemas.version_profiles_body.properties.timezone.enum;
if (!Array.isArray(zones) || zones.length === 0) throw new Error('timezone enum not found in the OpenAPI file');

const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
schema.definitions.timezone.enum = zones;
// One enum value per line would make the file 600 lines longer; keep the enum on one line.
const text = JSON.stringify(schema, null, 2).replace(
  /("enum": )\[\n([\s\S]*?)\n\s*\]/g,
  (_m, head, body) => `${head}[${body.split('\n').map((l) => l.trim()).join(' ')}]`,
);
writeFileSync(schemaFile, `${text}\n`);
console.log(`${zones.length} timezones written to ${schemaFile}`);
