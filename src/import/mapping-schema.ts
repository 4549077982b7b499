/**
 * schemas/import-mapping.schema.json compiled once (it carries its own copy of the desired-state
 * definitions `defaults` needs: scripts/bundle-mapping-schema.mjs), and Ajv's errors turned into
 * one-line messages with a path.
 */
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { didYouMean } from '../desired/suggest.js';
import type { PathSegment } from '../desired/positions.js';

// ajv is CommonJS; its default export is the class under ESM interop.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** src/import and dist/import are both two levels below the package root. */
export const MAPPING_SCHEMA_URL = new URL('../../schemas/import-mapping.schema.json', import.meta.url);

export interface MappingProblem {
  path: PathSegment[];
  atKey: boolean;
  message: string;
}

let compiled: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    addFormats(ajv, ['email']);
    compiled = ajv.compile(JSON.parse(readFileSync(MAPPING_SCHEMA_URL, 'utf8')) as object);
  }
  return compiled;
}

/**
 * Validates a parsed mapping. With `oneOf` (a column name or a mapping), Ajv reports the
 * failures of every branch; only the errors of the branch matching the value's shape are kept.
 */
export function checkMappingSchema(data: unknown): MappingProblem[] {
  const validate = compile();
  if (validate(data)) return [];
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'propertyNames' && e.keyword !== 'if');
  const nonType = errors.filter((e) => e.keyword !== 'type' && e.keyword !== 'oneOf');
  const out: MappingProblem[] = [];
  const seen = new Set<string>();
  const typeAt = new Map<string, { e: ErrorObject; types: string[] }>();
  for (const e of errors) {
    const below = (p: string) => p === e.instancePath || p.startsWith(`${e.instancePath}/`);
    if (e.keyword === 'oneOf' || e.keyword === 'type') {
      // A type error of the branch the value does not take, when another branch has real errors.
      if (nonType.some((n) => below(n.instancePath))) continue;
      if (e.keyword === 'oneOf') {
        if (errors.some((n) => n !== e && n.keyword === 'type' && n.instancePath === e.instancePath)) continue;
        push(out, seen, { path: toPath(e.instancePath), atKey: false, message: 'matches more than one form; give either column or columns' });
        continue;
      }
      const t = typeAt.get(e.instancePath) ?? { e, types: [] };
      t.types.push(String((e.params as { type: string }).type));
      typeAt.set(e.instancePath, t);
      continue;
    }
    const p = toProblem(e);
    if (p) push(out, seen, p);
  }
  for (const [ptr, { e, types }] of typeAt) {
    const words = [...new Set(types.flatMap((t) => t.split(',')))].map((t) => TYPE_WORDS[t] ?? t);
    const want = words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]!}`;
    push(out, seen, { path: toPath(ptr), atKey: false, message: `must be ${want}, not ${describe(e.data)}` });
  }
  return out;
}

function push(out: MappingProblem[], seen: Set<string>, p: MappingProblem): void {
  const k = `${p.path.join('\u0000')}\u0001${p.message}`;
  if (seen.has(k)) return;
  seen.add(k);
  out.push(p);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a column name (text)',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'null',
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'text';
  return `a ${typeof v}`;
}

function toProblem(e: ErrorObject): MappingProblem | null {
  const path = toPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const propertyName = (e as { propertyName?: string }).propertyName;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
      return { path: [...path, key], atKey: true, message: `unknown key "${key}"${known.length ? didYouMean(key, known) : ''}` };
    }
    case 'required':
      return { path, atKey: false, message: `missing required key "${String(params.missingProperty)}"` };
    case 'const':
      return { path, atKey: false, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      if (propertyName !== undefined) {
        return { path: [...path, propertyName], atKey: true, message: `"${propertyName}" is not one of ${allowed.join(', ')}${didYouMean(propertyName, allowed)}` };
      }
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return { path, atKey: false, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}${hint}` };
    }
    case 'pattern':
      if (propertyName !== undefined) return { path: [...path, propertyName], atKey: true, message: `key "${propertyName}" is not allowed here (must match ${String(params.pattern)})` };
      return { path, atKey: false, message: `${JSON.stringify(e.data)} does not match ${String(params.pattern)}` };
    case 'minLength':
      return { path, atKey: false, message: 'must not be empty' };
    case 'maxLength':
      return { path, atKey: false, message: `must be at most ${String(params.limit)} characters long` };
    case 'minItems':
      return { path, atKey: false, message: 'must not be an empty list' };
    case 'minProperties':
      return { path, atKey: false, message: 'must not be empty' };
    default:
      return { path, atKey: false, message: e.message ?? 'is invalid' };
  }
}

function toPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
