/**
 * One file's text → a YAML document with source positions, or the reasons it is not YAML.
 * Parsing never throws: every syntax problem becomes an issue at its line and column.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { numberTextProblem } from '../plan/normalize.js';
import { PositionIndex, type InstancePath, type PathSegment } from './positions.js';
import { MAX_NESTING, scanYaml } from './yaml-scan.js';
import type { ValidationIssue } from './types.js';

/** Beyond this many syntax errors in one file the rest are summarised: they are mostly echoes. */
const MAX_SYNTAX_ERRORS = 10;

export interface ParsedFile {
  display: string;
  doc: Document.Parsed;
  positions: PositionIndex;
  /** The document as plain data (before `${VAR}` substitution). */
  data: unknown;
  /** Values the data does not hold as written (numbers a double cannot hold exactly, `.inf`, a channel or property without a value). */
  problems: { path: InstancePath; message: string; atKey?: boolean }[];
}

export function parseYaml(display: string, text: string): { file: ParsedFile } | { issues: ValidationIssue[] } {
  const deep = nestingIssue(display, text);
  if (deep) return { issues: [deep] };
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `2024-03-01` stays a string (dates are strings in Fyno), `on`/`off`
  // stay strings. Duplicate keys are errors, not "last one wins".
  const doc = withPlainEnv(() => parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' }));
  const positions = new PositionIndex(doc, lineCounter);
  if (doc.errors.length > 0) return { issues: syntaxIssues(display, text, doc.errors, positions) };
  let data: unknown;
  try {
    // The default alias limit stops "billion laughs" expansion.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const at = firstAlias(doc);
    const pos = at === undefined ? { line: 1, column: 1 } : positions.offset(at);
    const msg = e instanceof Error ? e.message.replace(/\s*\n[\s\S]*$/, '') : String(e);
    return { issues: [{ file: display, ...pos, message: `YAML error: ${msg}` }] };
  }
  return { file: { display, doc, positions, data, problems: [...numberProblems(doc, text), ...emptyValueProblems(doc), ...unknownTagProblems(doc, text)] } };
}

/** 16 or more digits, a 3-digit exponent, a long hex or octal numeral, .inf or .nan, a leading zero. */
const MAYBE_NOT_HELD_RE = /\d[\d.]{15,}|[eE][+-]?\d{3}|0x[0-9a-fA-F]{13}|0o[0-7]{17}|\.(?:inf|nan)|(?<![\w.+-])[-+]?0\d/i;

/** A decimal numeral with a leading zero before another digit: `01234`, `-007`, `00.5`. */
export const LEADING_ZERO_RE = /^[-+]?0\d/;

/**
 * Why a number written with a leading zero is not what the file means: YAML 1.2 reads `01234`
 * as 1234 (a zip code or an account number loses its zero, and types the workspace's property
 * as a number, after which Fyno ignores every string value of it), YAML 1.1 tools as octal.
 */
export function leadingZeroProblem(text: string, n: number): string | undefined {
  const t = text.trim();
  if (!LEADING_ZERO_RE.test(t)) return undefined;
  return `${t} is read as the number ${String(n)} (YAML drops the leading zero; YAML 1.1 tools read it as octal); quote it to keep it as a string: ${JSON.stringify(t)}`;
}

/**
 * Numbers whose source text the parsed value does not hold (issue #14): `12345678901234567890`
 * would reach Fyno as `12345678901234567000`, and `.inf` not at all. Keys are left to the schema.
 */
function numberProblems(doc: Document.Parsed, text: string): { path: InstancePath; message: string }[] {
  const out: { path: InstancePath; message: string }[] = [];
  // Walking every node costs about a tenth of parsing: only when some numeral could be one.
  if (!MAYBE_NOT_HELD_RE.test(text)) return out;
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'number' || node.source === undefined) return;
      const message = numberTextProblem(node.source, node.value) ?? leadingZeroProblem(node.source, node.value);
      if (message) out.push({ path: instancePath([...ancestors, node]), message });
    },
  });
  return out;
}

/**
 * Values under a tag the parser cannot resolve (`!secret db_name`, `!vault x`): it only warns and
 * reads the plain text after the tag, so `!secret db_name` sent "db_name" (issue #14: nothing is
 * silently changed on the way). The message never repeats the value: the tag suggests a secret.
 */
function unknownTagProblems(doc: Document.Parsed, text: string): { path: InstancePath; message: string }[] {
  const tags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED').map((w) => w.pos[1]);
  if (tags.length === 0 && !text.includes('!!')) return [];
  const out: { path: InstancePath; message: string }[] = [];
  visit(doc, (key, node, ancestors) => {
    if (key === 'key' || !(isScalar(node) || isMap(node) || isSeq(node)) || !node.tag || !node.range) return;
    const made = YAML_11_TYPES[node.tag];
    if (made) {
      // YAML 1.1 types the yaml package still builds when asked by tag: a Date, a Set, a Map.
      out.push({ path: instancePath([...ancestors, node]), message: `the YAML tag !!${node.tag.slice(YAML_TAG.length)} makes ${made}, not a value Fyno stores; leave the tag out (a date is written as text, e.g. 2024-03-01; a list as [a, b])` });
      return visit.SKIP;
    }
    // The warning names the tag itself, which stands just before the node's range.
    const start = node.range[0];
    if (!tags.some((end) => end <= start && text.slice(end, start).trim() === '')) return;
    if (node.tag.startsWith(YAML_TAG)) {
      // A core schema tag fyno-sync reads (!!float 1.5), over a value it does not (!!float 1).
      const tag = `!!${node.tag.slice(YAML_TAG.length)}`;
      const example = CORE_TAG_EXAMPLES[tag];
      out.push({
        path: instancePath([...ancestors, node]),
        message: `the YAML tag ${tag} does not read this value (it would be sent as the plain text after the tag); write it without the tag${example ? `, or as the tag writes it (${tag} ${example})` : ''}`,
      });
      return visit.SKIP;
    }
    out.push({
      path: instancePath([...ancestors, node]),
      message: `the YAML tag ${node.tag} is not one fyno-sync reads (the value would be sent as the plain text after it); remove the tag, and for a secret write "\${VAR}" and set VAR in the environment`,
    });
  });
  return out;
}

const YAML_TAG = 'tag:yaml.org,2002:';
/** A value each core schema tag reads, for the message of one it does not. */
const CORE_TAG_EXAMPLES: Readonly<Record<string, string>> = { '!!float': '1.0', '!!int': '1', '!!bool': 'true', '!!null': '~' };
const YAML_11_TYPES: Readonly<Record<string, string>> = {
  [`${YAML_TAG}timestamp`]: 'a date object',
  [`${YAML_TAG}set`]: 'a set',
  [`${YAML_TAG}omap`]: 'an ordered map',
  [`${YAML_TAG}pairs`]: 'a list of pairs',
};

/** What null means where an empty value would stand (PRODUCT.md: "An explicit `null` removes"). */
const NULL_MEANS = { channels: 'delete this channel', properties: 'unset this property' } as const;

/**
 * Channels and properties (of profiles and `defaults`) written with no value at all: YAML reads
 * `push:` with nothing after it, or `b` in `{ a: 1, b }`, as null, and null removes. A list whose
 * items were commented out deleted every token; only an explicit `null` (or `~`) removes.
 */
function emptyValueProblems(doc: Document.Parsed): { path: InstancePath; message: string; atKey: boolean }[] {
  const out: { path: InstancePath; message: string; atKey: boolean }[] = [];
  const inMapping = (m: unknown, at: InstancePath): void => {
    if (!isMap(m)) return;
    for (const field of ['channels', 'properties'] as const) {
      const sub = m.get(field, true);
      if (!isMap(sub)) continue;
      for (const pair of sub.items) {
        const v = pair.value;
        const empty = v === null || (isScalar(v) && v.value === null && v.source === '' && !v.tag);
        if (!empty || !isScalar(pair.key)) continue;
        out.push({
          path: [...at, field, String(pair.key.value)],
          message: `has no value, which YAML reads as null and fyno-sync as "${NULL_MEANS[field]}"; write null to do that, or give the value`,
          atKey: true,
        });
      }
    }
  };
  inMapping(doc.get('defaults', true), ['defaults']);
  const profiles = doc.get('profiles', true);
  if (isSeq(profiles)) profiles.items.forEach((p, i) => inMapping(p, ['profiles', i]));
  return out;
}

/** The data path of the last node of a chain of ancestors (document → … → node). */
function instancePath(chain: readonly unknown[]): PathSegment[] {
  const out: PathSegment[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isSeq(parent)) out.push(parent.items.indexOf(child as never));
    else if (isPair(parent) && child === parent.value) out.push(isScalar(parent.key) ? String(parent.key.value) : String(parent.key));
  }
  return out;
}

/**
 * The parser's errors as issues: an unclosed bracket or quote at the place it opened, echoes at
 * the same place dropped, at most `MAX_SYNTAX_ERRORS` (the rest counted). Also for import mappings.
 */
export function syntaxIssues(display: string, text: string, errors: readonly YAMLError[], positions: PositionIndex): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const e of errors.slice(0, MAX_SYNTAX_ERRORS)) {
    const opened = openedAt(text, e.pos[0], e.message);
    if (opened) {
      const at = positions.offset(e.pos[0]);
      issues.push({ file: display, ...positions.offset(opened.offset), message: `YAML syntax error: ${opened.what} is never closed (the file reaches line ${at.line}, column ${at.column} without its ${opened.closer})` });
      continue;
    }
    const { line, column } = positions.offset(e.pos[0]);
    // A second complaint about the same spot is an echo of the first: one line per place.
    const last = issues[issues.length - 1];
    if (last && last.line === line && last.column === column) continue;
    issues.push({ file: display, line, column, message: `YAML syntax error: ${syntaxMessage(e.code, e.message)}` });
  }
  if (errors.length > MAX_SYNTAX_ERRORS) {
    const first = issues[issues.length - 1]!;
    issues.push({ ...first, message: `YAML syntax error: ${errors.length - MAX_SYNTAX_ERRORS} more syntax errors in this file not shown` });
  }
  return issues;
}

/** "nesting deeper than N at line L", before the parser recurses that deep (issue #14). */
export function nestingIssue(display: string, text: string): ValidationIssue | undefined {
  const { tooDeep } = scanYaml(text);
  if (tooDeep === undefined) return undefined;
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0 && i < tooDeep; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  const { line, col } = lines.linePos(tooDeep);
  return { file: display, line, column: col, message: `YAML nesting deeper than ${MAX_NESTING} levels at line ${line} (a profile file needs about six; is a bracket never closed?)` };
}

/**
 * Where the collection or string opened that an error says was never closed: the parser names the
 * place it gave up, often the end of the file (issue #14).
 */
function openedAt(text: string, offset: number, message: string): { offset: number; what: string; closer: string } | undefined {
  const flow = /end with an? ([\]}])/.exec(message);
  if (flow) {
    const opener = flow[1] === ']' ? '[' : '{';
    const open = scanYaml(text, offset).flow.filter((f) => f.char === opener).at(-1);
    return open ? { offset: open.offset, what: `this "${opener}"`, closer: `"${flow[1]}"` } : undefined;
  }
  if (/Missing closing ["']quote/.test(message)) {
    const q = scanYaml(text, offset).quote;
    return q ? { offset: q.offset, what: `the ${q.char === '"' ? 'double' : 'single'}-quoted string that starts here`, closer: `closing ${q.char}` } : undefined;
  }
  return undefined;
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'TAB_AS_INDENT') return 'tabs are not allowed as indentation in YAML; indent with spaces';
  if (code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document ("---"); put all profiles in one "profiles" list';
  if (code === 'DUPLICATE_KEY') return 'this key appears twice in the same mapping';
  return message.replace(/\s*\n[\s\S]*$/, '');
}

function firstAlias(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_k, node) {
      if (isAlias(node) && node.range && node.resolve(doc) === undefined) {
        offset = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
}

/**
 * yaml@2 reads `process.env.LOG_TOKENS` once per lexical token (dist/parse/parser.js `next`) and
 * `LOG_STREAM` per document; `process.env` is an exotic object whose every read calls into C++,
 * which made up 15–25 % of parsing a 100,000-profile file. Parsing is synchronous, so no other
 * code can observe a plain copy standing in for the duration; the real one is always restored.
 */
export function withPlainEnv<T>(f: () => T): T {
  const real = process.env;
  try {
    process.env = { ...(real.LOG_TOKENS !== undefined ? { LOG_TOKENS: real.LOG_TOKENS } : {}), ...(real.LOG_STREAM !== undefined ? { LOG_STREAM: real.LOG_STREAM } : {}) };
    return f();
  } finally {
    process.env = real;
  }
}
