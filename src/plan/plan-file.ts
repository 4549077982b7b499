/**
 * Saved plans (`plan --out plan.json`, read back by `apply --plan`) and `plan --json`: one JSON
 * document whose shape schemas/plan.schema.json defines (documented in docs/planner.md).
 * Secrets are replaced by `{ "$secret": "sha256:…" }` placeholders (secrets.ts) before anything is
 * serialized; apply resolves them with `resolveSecrets`.
 */
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { FynoSyncError } from '../errors.js';
import { SummaryTally } from './build.js';
import { redactOperation } from './secrets.js';
import { PLAN_FORMAT_VERSION, type Operation, type Plan } from './types.js';

// ajv and ajv-formats are CommonJS; their default exports under ESM interop.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = formatsModule as unknown as typeof formatsModule.default;

/** src/plan and dist/plan are both two levels below the package root. */
export const PLAN_SCHEMA_URL = new URL('../../schemas/plan.schema.json', import.meta.url);

interface PlanValidators {
  /** The whole plan document. */
  plan: ValidateFunction;
  /** One item of `operations`. */
  operation: ValidateFunction;
  /** One value of `profiles`. */
  profile: ValidateFunction;
}

let validators: PlanValidators | undefined;

/** Validators of schemas/plan.schema.json, and of its parts that a plan read line by line checks one by one (plan-lines.ts). */
export function planPartValidators(): PlanValidators {
  if (!validators) {
    const schema = JSON.parse(readFileSync(PLAN_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
    addFormats(ajv, ['date-time']);
    ajv.addSchema(schema, 'plan');
    validators = {
      plan: ajv.getSchema('plan')!,
      operation: ajv.compile({ $ref: 'plan#/definitions/operation' }),
      profile: ajv.compile({ $ref: 'plan#/properties/profiles/additionalProperties' }),
    };
  }
  return validators;
}

/** Top-level keys in the order a reader expects them; nested objects get sorted keys. */
const TOP_ORDER = ['format_version', 'created_at', 'target', 'sources', 'source_hashes', 'scope', 'summary', 'issues', 'preconditions', 'suppression_list', 'operations', 'profiles'] as const;
/** Written in chunks after the head (one line per operation / per profile), not as part of it. */
const STREAMED: ReadonlySet<string> = new Set(['operations', 'profiles']);
/** Operations start with what a reader scans for. */
const OP_FIRST = ['type', 'distinct_id'];

const NO_KEYS: readonly string[] = [];

/**
 * A copy of `v` whose objects have their keys in order: `first` (top level only) as listed, then
 * the rest sorted; values that are `undefined` left out. Plain objects, so that JSON.stringify
 * takes its fast path; a key "__proto__" is defined as an own key like any other.
 */
function sortedKeys(v: unknown, first: readonly string[] = NO_KEYS): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => sortedKeys(x));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const out: Record<string, unknown> = {};
  const put = (k: string): void => {
    const x = o[k];
    if (x === undefined) return;
    if (k === '__proto__') Object.defineProperty(out, k, { value: sortedKeys(x), enumerable: true, writable: true, configurable: true });
    else out[k] = sortedKeys(x);
  };
  if (first.length === 0) {
    if (keys.length > 1) keys.sort();
    for (const k of keys) put(k);
    return out;
  }
  for (const k of first) if (Object.hasOwn(o, k)) put(k);
  const rest = keys.filter((k) => !first.includes(k));
  if (rest.length > 1) rest.sort();
  for (const k of rest) put(k);
  return out;
}

/**
 * `JSON.stringify` of `v` with its keys in a stable order (`sortedKeys`): how every operation and
 * every profile's JSON Patch is written in a plan file.
 */
export function canonicalJson(v: unknown, first: readonly string[] = NO_KEYS): string {
  return JSON.stringify(sortedKeys(v, first));
}

/**
 * The plan as one JSON document: secrets redacted, keys in a stable order (top level as
 * `TOP_ORDER`, operations `type` and `distinct_id` first, everything else sorted), two-space
 * indentation except that each operation, and each profile's JSON Patch (`profiles`), takes one
 * line (a 100,000-profile plan stays readable in a diff and a few times smaller), trailing newline. The same plan always gives the same bytes.
 * For a big plan prefer `serializePlanChunks`: the same bytes without one string of all of them.
 */
export function serializePlan(plan: Plan): string {
  let out = '';
  for (const chunk of serializePlanChunks(plan)) out += chunk;
  return out;
}

/** Operations per chunk of `serializePlanChunks` (each chunk is a few hundred kilobytes at most). */
const OPS_PER_CHUNK = 1000;

/**
 * `serializePlan` in pieces, in order: concatenated they are exactly its bytes. Each operation is
 * redacted and stringified only when its chunk is produced, so writing a plan of a million
 * operations holds one chunk at a time, not a redacted copy of the plan plus its whole text;
 * `profiles` (already masked when built) follows in chunks the same way.
 */
export function* serializePlanChunks(plan: Plan): Generator<string> {
  yield* serializePlanChunksWith(plan, operationChunks(plan.operations));
}

/**
 * The text of one operation in a plan file, without its separator: operations are written
 * `operationLine(op)` joined by `,\n`. Redacted here: the line never holds a secret.
 */
export function operationLine(op: Operation): string {
  return `    ${canonicalJson(redactOperation(op), OP_FIRST)}`;
}

function* operationChunks(ops: readonly Operation[]): Generator<string> {
  for (let start = 0; start < ops.length; start += OPS_PER_CHUNK) {
    const stop = Math.min(ops.length, start + OPS_PER_CHUNK);
    let chunk = '';
    for (let i = start; i < stop; i += 1) chunk += `${i > 0 ? ',\n' : ''}${operationLine(ops[i]!)}`;
    yield chunk;
  }
}

/**
 * `serializePlanChunks` with the operations' text from `operations`: `operationLine` of each of
 * the plan's `count` operations in order, joined by `,\n` (a caller that wrote them ahead, while
 * the plan was still being read, splices them in: kept-plan.ts `OperationSpool`; it may have let
 * go of `plan.operations` since).
 */
export function* serializePlanChunksWith<T>(plan: Plan, operations: Iterable<T>, count = plan.operations.length): Generator<string | T> {
  // Redaction touches operations only; the other top-level values are written as they are.
  const top = plan as unknown as Record<string, unknown>;
  const head: Record<string, unknown> = {};
  for (const k of TOP_ORDER) if (!STREAMED.has(k) && top[k] !== undefined) head[k] = sortedKeys(top[k]);
  const headText = JSON.stringify(head, null, 2);
  const drift = plan.profiles;
  const end = drift === undefined ? '\n}\n' : ',\n';
  if (count === 0) {
    yield `${headText.slice(0, -2)},\n  "operations": []${end}`;
  } else {
    yield `${headText.slice(0, -2)},\n  "operations": [\n`;
    yield* operations;
    yield `\n  ]${end}`;
  }
  if (drift !== undefined) yield* profilesChunks(drift);
}

/**
 * A profile's JSON Patch that holds its own plan-file text (`canonicalJson` of it) under this key,
 * as a method: written as is (drift-spool.ts keeps the patches of a big plan as that text).
 */
export const DRIFT_TEXT: unique symbol = Symbol('drift text');

function profileLine(d: NonNullable<Plan['profiles']>[string]): string {
  const own = (d as { [DRIFT_TEXT]?: () => string })[DRIFT_TEXT];
  return typeof own === 'function' ? own.call(d) : canonicalJson(d);
}

/** `"profiles": {…}` (already masked, sorted by id), one profile per line, closing the document. */
function* profilesChunks(drift: NonNullable<Plan['profiles']>): Generator<string> {
  const ids = Object.keys(drift);
  if (ids.length === 0) {
    yield '  "profiles": {}\n}\n';
    return;
  }
  yield '  "profiles": {\n';
  for (let start = 0; start < ids.length; start += OPS_PER_CHUNK) {
    const stop = Math.min(ids.length, start + OPS_PER_CHUNK);
    let chunk = '';
    for (let i = start; i < stop; i += 1) {
      chunk += `    ${JSON.stringify(ids[i])}: ${profileLine(drift[ids[i]!]!)}${i < ids.length - 1 ? ',\n' : '\n'}`;
    }
    yield chunk;
  }
  yield '  }\n}\n';
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'the plan' : e.instancePath;
  if (e.keyword === 'additionalProperties') return `${where}: unknown key ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
  if (e.keyword === 'enum') return `${where} ${e.message ?? 'is invalid'}: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * Reads a plan document (`source` names it in errors: a file path or `stdin`). Throws
 * `FynoSyncError('plan.invalid')` with a one-line message when the text is not JSON, is of
 * another `format_version`, or does not match schemas/plan.schema.json. The result still holds
 * secret placeholders: resolve them with `resolveSecrets` before applying.
 */
export function parsePlan(text: string, source: string): Plan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : 'syntax error';
    throw new FynoSyncError('plan.invalid', `${source}: not a plan file: invalid JSON (${reason})`, { file: source });
  }
  return checkPlanDocument(doc, source);
}

/**
 * `parsePlan(serializePlan(plan), source)` without the text: the plan as saved (secrets as
 * placeholders, keys in the file's order, plain JSON values), built operation by operation.
 * Fresh `apply` binds its journal to this form.
 */
export function savedPlan(plan: Plan, source: string): Plan {
  const top = plan as unknown as Record<string, unknown>;
  const doc: Record<string, unknown> = {};
  for (const k of TOP_ORDER) {
    if (k === 'operations') doc.operations = plan.operations.map((op) => JSON.parse(canonicalJson(redactOperation(op), OP_FIRST)) as unknown);
    else if (k === 'profiles' && plan.profiles !== undefined) {
      // Entry by entry: the patches of 100,000 created profiles are never one string.
      doc.profiles = Object.fromEntries(Object.entries(plan.profiles).map(([id, d]) => [id, JSON.parse(profileLine(d)) as unknown]));
    } else if (top[k] !== undefined) doc[k] = JSON.parse(canonicalJson(top[k])) as unknown;
  }
  return checkPlanDocument(doc, source);
}

/** A parsed document as a plan: the version and schema checks of `parsePlan`. */
function checkPlanDocument(doc: unknown, source: string): Plan {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new FynoSyncError('plan.invalid', `${source}: not a plan file: expected a JSON object`, { file: source });
  }
  const version = (doc as { format_version?: unknown }).format_version;
  if (version !== PLAN_FORMAT_VERSION) {
    const got = version === undefined ? 'no format_version' : `format_version ${JSON.stringify(version)}`;
    throw new FynoSyncError(
      'plan.invalid',
      `${source}: unsupported plan: ${got}; this fyno-sync reads format_version ${PLAN_FORMAT_VERSION} (re-run plan with this version)`,
      { file: source, format_version: version ?? null },
    );
  }
  const validate = planPartValidators().plan;
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    const reason = first ? describeError(first) : 'does not match the plan schema';
    throw new FynoSyncError('plan.invalid', `${source}: invalid plan: ${reason.replace(/\s+/g, ' ')}`, {
      file: source,
      ...(first ? { path: first.instancePath } : {}),
    });
  }
  const plan = doc as Plan;
  const mismatch = summaryMismatch(plan.summary, SummaryTally.of(plan.operations));
  if (mismatch) throw new FynoSyncError('plan.invalid', `${source}: invalid plan: ${mismatch}`, { file: source });
  return plan;
}

/**
 * Why a plan's summary does not count its operations, if it does not: the summary is what a
 * reviewer reads (`show`, the PR comment), so a plan whose operations were edited by hand
 * without it (a delete added under "0 to delete"), or whose summary line was edited without its
 * operations ("0 to delete" over two deletes), is not applied. `tally` holds the operations.
 * The profiles counted unchanged are not: the operations cannot tell them.
 */
export function summaryMismatch(summary: Plan['summary'], tally: SummaryTally): string | undefined {
  const counted = tally.summary([]);
  const said = summary.by_type as Readonly<Record<string, number | undefined>>;
  const holds = counted.by_type as Readonly<Record<string, number | undefined>>;
  for (const t of [...new Set([...Object.keys(said), ...Object.keys(holds)])].sort()) {
    const n = holds[t] ?? 0;
    if ((said[t] ?? 0) !== n) return `its summary counts ${said[t] ?? 0} ${t} but it holds ${n} (edited by hand?); plan again`;
  }
  if (summary.operations !== counted.operations) return `its summary counts ${summary.operations} operations but it holds ${counted.operations} (edited by hand?); plan again`;
  // The summary line: each profile once, by its most significant operation (build.ts profileAction).
  for (const action of ['delete', 'merge', 'create', 'update'] as const) {
    if (summary[action] !== counted[action]) return `its summary counts ${summary[action]} profiles to ${action} but its operations ${action} ${counted[action]} (edited by hand?); plan again`;
  }
  // "Suppressions: N to add, M to remove" (a plan that manages the list).
  const list = summary.suppressions;
  if (list) {
    for (const [side, type] of [['remove', 'suppression.remove'], ['add', 'suppression.add']] as const) {
      const n = holds[type] ?? 0;
      if (list[side] !== n) return `its summary counts ${list[side]} suppressions to ${side} but its operations ${side} ${n} (edited by hand?); plan again`;
    }
  }
  return undefined;
}
