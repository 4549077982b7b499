/**
 * The JSON Schema in schemas/desired-state.schema.json is the single definition of the format;
 * this module compiles it once and turns Ajv's errors into one-line, human messages.
 *
 * `MESSAGES` gives a plain-language message where Ajv's would only quote a regular expression. It
 * lives here, not in the schema, so that the schema holds only standard keywords and compiles
 * in any validator's strict mode (issue #16).
 */
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { InstancePath, PathSegment } from './positions.js';
import { didYouMean } from './suggest.js';
import { fynoLength } from '../plan/normalize.js';

// ajv is CommonJS; its default export is the class under ESM interop.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** src/desired and dist/desired are both two levels below the package root. */
export const SCHEMA_URL = new URL('../../schemas/desired-state.schema.json', import.meta.url);

export interface SchemaProblem {
  path: InstancePath;
  /** Point at the key rather than the value (unknown and invalid keys). */
  atKey: boolean;
  message: string;
}

/** The messages of one schema object, and the values a sentinel `const` there stands for. */
interface SchemaMessages {
  byKeyword: Messages;
  suggest?: readonly string[];
}

/** The compiled schema and what its error messages are looked up by. */
interface Compiled {
  validate: ValidateFunction;
  schema: JsonSchema;
  messages: Map<object, SchemaMessages>;
  skipped: Set<object>;
  skippedKeyword: Map<object, string>;
}

let compiled: Compiled | undefined;

type JsonSchema = Record<string, unknown>;

/** Keyword → message, for the schema object at a JSON pointer. */
type Messages = Partial<Record<string, string>>;

const DISTINCT_ID = 'must be a distinct_id without "/" and without leading or trailing spaces';
/** By the JSON pointer of the (sub)schema whose keyword failed. */
const MESSAGES: Record<string, Messages> = {
  '#/definitions/profile/properties/merge_from': { pattern: DISTINCT_ID },
  '#/definitions/distinctId': { pattern: DISTINCT_ID },
  '#/definitions/channels/properties/email': { format: 'is not a valid email address' },
  '#/definitions/preferences/propertyNames': { pattern: 'is not a topic id (letters, digits, _ . : -) or `all`' },
  '#/definitions/properties/propertyNames': { pattern: 'is not a valid property key (a letter or _ then up to 127 letters, digits, _ . -)' },
  // The `then`/`else` sentinels that give editors one short line (the schema's own const text).
  '#/definitions/properties/propertyNames/then': { const: "is reserved: keys starting with fyno_sync hold fyno-sync's own ownership record" },
  '#/definitions/timezone/else': { const: 'is not an IANA timezone name that Fyno accepts' },
};

/**
 * Rules the schema states for editors and load-file.ts checks itself, with a message naming the
 * key (state: absent with other keys, a protected absent profile): not reported twice.
 */
const CHECKED_IN_CODE = ['#/definitions/profile/then'];
/** The same, for one keyword of a schema object: duplicate list values (values.ts compares them as Fyno does). */
const KEYWORDS_CHECKED_IN_CODE: Record<string, string> = {
  '#/definitions/propertyValue': 'uniqueItems',
  '#/definitions/propertyValue/properties/$once': 'uniqueItems',
};

/** Where a sentinel `const` stands for a list of allowed values, for "did you mean". */
const SUGGEST_FROM: Record<string, string> = { '#/definitions/timezone/else': '#/definitions/timezone/if' };

function at(schema: JsonSchema, pointer: string): JsonSchema | undefined {
  let cur: unknown = schema;
  for (const seg of pointer.slice(2).split('/')) cur = cur && typeof cur === 'object' ? (cur as JsonSchema)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return cur && typeof cur === 'object' ? (cur as JsonSchema) : undefined;
}

/** Fyno's timezone names, as the schema lists them. */
export function fynoTimezones(): readonly string[] {
  return (at(compile().schema, '#/definitions/timezone/if')?.enum as string[] | undefined) ?? [];
}

/** The parsed schema document (read once). */
export function desiredStateSchema(): JsonSchema {
  return compile().schema;
}

const QUIET_UNICODE_OPTION = {
  log: (...args: unknown[]): void => console.log(...args),
  warn: (...args: unknown[]): void => {
    if (!(typeof args[0] === 'string' && args[0].startsWith('DEPRECATED: option unicode'))) console.warn(...args);
  },
  error: (...args: unknown[]): void => console.error(...args),
};

function compile(): Compiled {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as JsonSchema;
    // `unicode: false`: maxLength counts UTF-16 code units, as Fyno does (normalize.ts
    // MAX_FYNO_STRING). Ajv 8 still honours it but warns once that it is deprecated: that warning
    // is dropped, since the library never prints (any other warning goes where Ajv sends it).
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, unicode: false, logger: QUIET_UNICODE_OPTION });
    addFormats(ajv, ['email']);
    const messages = new Map<object, SchemaMessages>();
    for (const [pointer, byKeyword] of Object.entries(MESSAGES)) {
      const node = at(schema, pointer);
      if (!node) throw new Error(`schema message for ${pointer}: no such schema`);
      const from = SUGGEST_FROM[pointer];
      const suggest = from ? (at(schema, from)?.enum as string[] | undefined) : undefined;
      messages.set(node, suggest ? { byKeyword, suggest } : { byKeyword });
    }
    // By object, not by error.schemaPath: Ajv inlines small $refs, which changes the paths.
    const skipped = new Set<object>();
    const collect = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      skipped.add(v);
      for (const x of Object.values(v)) collect(x);
    };
    for (const pointer of CHECKED_IN_CODE) collect(at(schema, pointer));
    const skippedKeyword = new Map<object, string>();
    for (const [pointer, keyword] of Object.entries(KEYWORDS_CHECKED_IN_CODE)) skippedKeyword.set(at(schema, pointer)!, keyword);
    compiled = { validate: ajv.compile(schema), schema, messages, skipped, skippedKeyword };
  }
  return compiled;
}


/**
 * Validates one file's plain value (after `${VAR}` substitution). `shown(path, value)` renders a
 * value for a message, masking values that came from the environment.
 */
export function checkSchema(data: unknown, shown: (path: InstancePath, v: unknown) => string): SchemaProblem[] {
  const { validate, messages, skipped, skippedKeyword } = compile();
  if (validate(data)) return [];
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // "must match then/else": the keyword inside the branch says why.
    if (e.keyword === 'if' || (e.parentSchema && (skipped.has(e.parentSchema) || skippedKeyword.get(e.parentSchema) === e.keyword))) continue;
    const p = toProblem(e, data, shown, messages);
    if (!p) continue;
    const key = `${p.path.join('\u0000')}\u0001${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

function toProblem(
  e: ErrorObject,
  root: unknown,
  shown: (path: InstancePath, v: unknown) => string,
  messages: Map<object, SchemaMessages>,
): SchemaProblem | null {
  const path = pointerToPath(e.instancePath, root);
  const parent = (e.parentSchema ?? {}) as JsonSchema;
  const own = messages.get(parent);
  const custom = own?.byKeyword[e.keyword];
  const params = e.params as Record<string, unknown>;
  const propertyName = (e as { propertyName?: string }).propertyName;
  if (propertyName !== undefined && e.keyword !== 'propertyNames' && e.keyword !== 'pattern') {
    return { path: [...path, propertyName], atKey: true, message: `key "${propertyName}" ${custom ?? (e.message ?? 'is invalid')}` };
  }
  switch (e.keyword) {
    case 'propertyNames':
      // Ajv also reports the failing inner keyword with `propertyName`: that one is used.
      return null;
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((parent.properties as JsonSchema | undefined) ?? {});
      const hint = known.length > 0 ? didYouMean(key, known) : '';
      return { path: [...path, key], atKey: true, message: `unknown key "${key}"${hint}` };
    }
    case 'required':
      if (params.missingProperty === '$once') {
        // The only mapping a property value may be is `{ $once: value }`.
        return { path, atKey: false, message: 'must be a string, number, boolean, date, list, null or { $once: value }, not a mapping' };
      }
      return { path, atKey: false, message: `missing required key "${String(params.missingProperty)}"` };
    case 'type':
      return { path, atKey: false, message: typeMessage(String(params.type), e.data) };
    case 'const': {
      if (custom) {
        const hint = own?.suggest && typeof e.data === 'string' ? didYouMean(e.data, own.suggest) : '';
        return { path, atKey: false, message: `${shown(path, e.data)} ${custom}${hint}` };
      }
      return { path, atKey: false, message: `must be ${JSON.stringify(params.allowedValue)}, not ${shown(path, e.data)}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      if (allowed.length <= 10) {
        return { path, atKey: false, message: `must be one of ${allowed.join(', ')}, not ${shown(path, e.data)}` };
      }
      const what = custom ?? `is not one of the ${allowed.length} allowed values`;
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return { path, atKey: false, message: `${shown(path, e.data)} ${what}${hint}` };
    }
    case 'maxLength': {
      // Counted in UTF-16 code units (Ajv `unicode: false`), as Fyno counts (normalize.ts MAX_FYNO_STRING).
      const { length, note } = fynoLength(String(e.data));
      return { path, atKey: false, message: `is ${length} characters long${note}; at most ${String(params.limit)} are allowed` };
    }
    case 'minLength':
      return {
        path,
        atKey: false,
        message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`,
      };
    case 'minItems':
      return { path, atKey: false, message: 'must not be an empty list' };
    case 'minProperties':
      return { path, atKey: false, message: 'must not be empty' };
    case 'pattern': {
      if (propertyName !== undefined) {
        return { path: [...path, propertyName], atKey: true, message: `key "${propertyName}" ${custom ?? `does not match ${String(params.pattern)}`}` };
      }
      return { path, atKey: false, message: `${shown(path, e.data)} ${custom ?? `does not match ${String(params.pattern)}`}` };
    }
    case 'format':
      return { path, atKey: false, message: `${shown(path, e.data)} ${custom ?? `is not a valid ${String(params.format)}`}` };
    default:
      return { path, atKey: false, message: custom ?? (e.message ?? 'is invalid') };
  }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'null',
};

function typeMessage(expected: string, data: unknown): string {
  if (typeof data === 'number' && !Number.isFinite(data)) return 'must be a finite number (.inf and .nan are not values Fyno stores); quote it to keep it as a string';
  const words = expected.split(',').map((t) => TYPE_WORDS[t] ?? t);
  const want = words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]!}`;
  let hint = '';
  if (data === null) hint = ' (omit the key to leave the field unmanaged)';
  else if (expected.startsWith('string') && (typeof data === 'number' || typeof data === 'boolean')) hint = ' (put the value in quotes)';
  return `must be ${want}, not ${describe(data)}${hint}`;
}

/** The kind of a value, for type errors (never the value itself: it may be a secret). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return 'a string';
}

/** JSON Pointer → path segments; indexes into arrays become numbers. */
function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
