#!/usr/bin/env node
/**
 * Copies Fyno's timezone enum (fyno-manage-user-profiles-api-openapi.yml,
 * components.schemas.version_profiles_body.properties.timezone.enum) into
 * schemas/desired-state.schema.json (definitions.timezone.if.enum), then into the copy in
 * import-mapping.schema.json (scripts/bundle-mapping-schema.mjs), so the committed schema offers
 * exactly the names Fyno accepts. test/unit/desired-schema.test.ts fails when they drift.
 *
 * Usage: node scripts/sync-schema-timezones.mjs [path/to/fyno-manage-user-profiles-api-openapi.yml]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { bundleMappingSchema, schemaText } from './bundle-mapping-schema.mjs';

const openapiFile =
  process.argv[2] ?? fileURLToPath(new URL('../spec/fyno-api/fyno-manage-user-profiles-api-openapi.yml', import.meta.url));
const schemaFile = fileURLToPath(new URL('../schemas/desired-state.schema.json', import.meta.url));

const spec = YAML.parse(readFileSync(openapiFile, 'utf8'));
const zones = spec.components.schemas.version_profiles_body.properties.timezone.enum;
if (!Array.isArray(zones) || zones.length === 0) throw new Error('timezone enum not found in the OpenAPI file');

const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
schema.definitions.timezone.if.enum = zones;
writeFileSync(schemaFile, schemaText(schema));
const mappingFile = fileURLToPath(new URL('../schemas/import-mapping.schema.json', import.meta.url));
writeFileSync(mappingFile, schemaText(bundleMappingSchema(schema, JSON.parse(readFileSync(mappingFile, 'utf8')))));
console.log(`${zones.length} timezones written to ${schemaFile}`);
