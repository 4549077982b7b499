#!/usr/bin/env node
/**
 * schemas/import-mapping.schema.json refers to the desired-state schema for `defaults`. So that it
 * resolves by itself (a plain `ajv validate -s import-mapping.schema.json`, an editor, no second
 * schema to register; issue #16), the definitions it needs are copied in under `desired.*`.
 * test/unit/schemas-standard.test.ts fails when the copy drifts from desired-state.schema.json.
 *
 * Usage: node scripts/bundle-mapping-schema.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PREFIX = 'desired.';

/** The mapping schema with `desired.*` definitions copied from `desired` (the closure of `defaults`). */
export function bundleMappingSchema(desired, mapping) {
  const defs = desired.definitions;
  const needed = new Set();
  const visit = (v) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/definitions/')) {
        const name = x.slice('#/definitions/'.length);
        if (!needed.has(name)) {
          needed.add(name);
          visit(defs[name]);
        }
      } else visit(x);
    }
  };
  needed.add('defaults');
  visit(defs.defaults);
  const rewrite = (v) => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (!v || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' ? x.replace('#/definitions/', `#/definitions/${PREFIX}`) : rewrite(x)]),
    );
  };
  const out = structuredClone(mapping);
  for (const k of Object.keys(out.definitions)) if (k.startsWith(PREFIX)) delete out.definitions[k];
  for (const name of [...needed].sort()) out.definitions[`${PREFIX}${name}`] = rewrite(defs[name]);
  out.properties.defaults = { ...out.properties.defaults, $ref: `#/definitions/${PREFIX}defaults` };
  return out;
}

/** JSON with each `enum` on one line (the timezone list would otherwise take 600 lines). */
export function schemaText(schema) {
  const text = JSON.stringify(schema, null, 2).replace(
    /("enum": )\[\n([\s\S]*?)\n\s*\]/g,
    (_m, head, body) => `${head}[${body.split('\n').map((l) => l.trim()).join(' ')}]`,
  );
  return `${text}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const desiredFile = fileURLToPath(new URL('../schemas/desired-state.schema.json', import.meta.url));
  const mappingFile = fileURLToPath(new URL('../schemas/import-mapping.schema.json', import.meta.url));
  const bundled = bundleMappingSchema(JSON.parse(readFileSync(desiredFile, 'utf8')), JSON.parse(readFileSync(mappingFile, 'utf8')));
  writeFileSync(mappingFile, schemaText(bundled));
  console.log(`${mappingFile}: desired-state definitions copied in`);
}
