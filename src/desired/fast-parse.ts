/**
 * The fast path for large, plain files: js-yaml (YAML 1.2 core schema) reads the data several
 * times faster than the `yaml` package composes a `Document` (a node object with a range for every
 * key and value: most of the time and memory of loading 100,000 profiles went there), and its
 * parse events give the few source offsets the loader needs.
 *
 * It accepts only a conservative subset of YAML (block mappings and sequences, one-line plain or
 * quoted scalars, one-line flow collections of scalars, comments) and declines everything else —
 * anchors, aliases, tags, block scalars, multi-line scalars, nested flow collections, tabs, CR
 * line ends, document markers, directives, duplicate or non-string keys, a plain scalar that
 * js-yaml resolves otherwise than the `yaml` package would, anything js-yaml refuses — by
 * returning undefined: the caller then uses `parseYaml` (parse.ts, the `yaml` package), which
 * stays the reference for every error and its position. test/unit/desired-perf.test.ts checks on
 * mutated documents that whatever this accepts, `parseYaml` reads without error into the same
 * data and the same positions.
 */
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { LineCounter } from 'yaml';
import type { LinePos, PathSegment, InstancePath } from './positions.js';
import { numberTextProblem } from '../plan/normalize.js';
import { LEADING_ZERO_RE } from './parse.js';
import { addRef, joinPath } from './build.js';
import type { FieldRefs } from './types.js';

/**
 * Where a node is: its start offset and, for mappings and sequences near the root, its
 * children. Only the levels that `refs` and positions need are kept (see `DEPTH`).
 */
export interface LightNode {
  /** Start offset of the value (-1: an empty value). */
  off: number;
  keys?: string[];
  /** Start offset of each key. */
  keyOffs?: number[];
  kids?: (LightNode | undefined)[];
}

/** root → profiles → [i] → field → sub-field → preference channel. */
const DEPTH = 6;

class Decline extends Error {}

function decline(): never {
  throw new Decline();
}

export interface FastParsed {
  data: Record<string, unknown>;
  root: LightNode;
  lines: LineCounter;
  /** Set when the profiles list went to `onChunk` piece by piece instead of into `data`. */
  chunked?: true;
}

/**
 * Plain data and light positions of `text`, or undefined when the full parser must read it.
 * A long `profiles` list is parsed in chunks of `chunkItems` items, so that no syntax tree of a
 * whole 10,000-profile file is ever held (see `splitProfiles`).
 */
export function parseFast(text: string, o: { chunkItems?: number; onChunk?: (part: FastParsed) => void } = {}): FastParsed | undefined {
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    const reader = new Reader(text);
    const split = splitProfiles(text, o.chunkItems ?? 50);
    // The rest of the file, with the list cut out: `profiles:` with no value.
    const { value, node: root } = split
      ? reader.document(text.slice(0, split.start) + text.slice(split.end), 0, 'block-map', { at: split.start, length: split.end - split.start })
      : reader.document(text, 0, 'block-map');
    const data = value as Record<string, unknown>;
    const lines = new LineCounter();
    lines.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
    if (split) {
      const k = root.keys!.indexOf('profiles');
      if (k < 0 || root.keyOffs![k] !== split.keyOffset || data.profiles !== null) return undefined;
      const list: unknown[] = [];
      const seq: LightNode = { off: -1, kids: [] };
      for (let c = 0; c < split.cuts.length; c++) {
        const from = split.cuts[c]!;
        const r = reader.document(text.slice(from, split.cuts[c + 1] ?? split.end), from, 'block-seq');
        // Every item of the list at one column (each chunk checked its own).
        if (reader.rootSeqColumns.size !== 1) return undefined;
        if (o.onChunk) {
          // The file as if its list held only this chunk; positions stay those of the file.
          const kids = root.kids!.slice();
          kids[k] = r.node;
          o.onChunk({ data: { ...data, profiles: r.value }, root: { ...root, kids }, lines });
          continue;
        }
        if (c === 0) seq.off = r.node.off;
        for (const v of r.value as unknown[]) list.push(v);
        for (const n of r.node.kids!) seq.kids!.push(n);
      }
      if (o.onChunk) return { data, root, lines, chunked: true };
      data.profiles = list;
      root.kids![k] = seq;
    }
    return { data, root, lines };
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}

/**
 * Where the top-level `profiles:` block sequence is and where to cut it: before every
 * `chunkItems`-th line that starts an item (a `-` at the list's indentation). Anything that
 * spans a cut (a quoted or flow value over several lines) leaves its chunk broken, so the chunk
 * is declined; whatever does not look like the plain layout gives undefined (no chunks).
 */
function splitProfiles(text: string, chunkItems: number): { keyOffset: number; start: number; end: number; cuts: number[] } | undefined {
  const m = /^profiles:[ ]*(?:#[^\n]*)?\n/m.exec(text);
  if (!m) return undefined;
  const start = m.index + m[0].length;
  let indent = -1;
  let items = 0;
  const cuts: number[] = [];
  let end = text.length;
  for (let ls = start; ls < text.length; ) {
    let nl = text.indexOf('\n', ls);
    if (nl < 0) nl = text.length;
    let i = ls;
    while (i < nl && text[i] === ' ') i++;
    const blank = i === nl || text[i] === '#';
    if (!blank) {
      const col = i - ls;
      if (indent < 0) {
        if (text[i] !== '-') return undefined;
        indent = col;
      }
      const isItem = col === indent && text[i] === '-' && (i + 1 === nl || text[i + 1] === ' ');
      if (col === 0 && !isItem) {
        end = ls;
        break;
      }
      if (isItem) {
        if (items % chunkItems === 0) cuts.push(items === 0 ? start : ls);
        items++;
      }
    }
    ls = nl + 1;
  }
  if (items === 0) return undefined;
  return { keyOffset: m.index, start, end, cuts };
}

/** A node as js-yaml's parse events outline it: where it starts and ends, and what it became. */
interface EventNode {
  /** Where js-yaml began reading it (before the white space that precedes a value). */
  start: number;
  end: number;
  kind: string | null;
  result: unknown;
  children: EventNode[];
}

/** Characters that start what the fast path leaves to the full parser: anchors, aliases, tags, block scalars, directives, explicit keys. */
const UNSUPPORTED_START = new Set(['&', '*', '!', '|', '>', '%', '@', '`', '?']);

/**
 * Reads a document with js-yaml (YAML 1.2 core schema), several times faster than composing it
 * with the `yaml` package, and takes its structure and offsets from js-yaml's parse events. Every
 * node is checked against the subset the fast path accepts; plain scalars are resolved again by
 * `plainScalar` and must agree.
 */
class Reader {
  /** Offset of the text being parsed within the file (the chunks of a long profiles list). */
  private base = 0;
  /** Where a piece of the file was cut out of the text being parsed (the profiles list). */
  private cut = { at: Infinity, length: 0 };
  private source = '';

  /** Offset in the file of an offset in the text being parsed. */
  private abs(offset: number): number {
    return this.base + offset + (offset >= this.cut.at ? this.cut.length : 0);
  }
  /** Columns of the `-` of the items of root sequences: the chunks of one list must agree. */
  readonly rootSeqColumns = new Set<number>();

  constructor(private readonly text: string) {}

  /** One YAML document (at `base` within the file) whose root is a block collection of `kind`. */
  document(source: string, base: number, kind: 'block-map' | 'block-seq', cut?: { at: number; length: number }): { value: unknown; node: LightNode } {
    this.base = base;
    this.cut = cut ?? { at: Infinity, length: 0 };
    this.source = source;
    // Document markers and directives: rare in profile files, and where parsers differ most.
    if (/^(?:---|\.\.\.|%)/m.test(source)) decline();
    // A comment right after a quote or a flow indicator: an error for the full parser.
    if (/[}\]"',]#/.test(source)) decline();
    const stack: EventNode[] = [{ start: 0, end: 0, kind: null, result: undefined, children: [] }];
    let value: unknown;
    try {
      value = loadYaml(source, {
        schema: CORE_SCHEMA,
        listener: (event, state) => {
          if (event === 'open') {
            stack.push({ start: state.position, end: 0, kind: null, result: undefined, children: [] });
            return;
          }
          const n = stack.pop()!;
          n.end = state.position;
          n.kind = state.kind;
          n.result = state.result;
          // js-yaml opens a block sequence item's scalar twice: keep one.
          const only = n.children.length === 1 ? n.children[0]! : undefined;
          stack[stack.length - 1]!.children.push(only && only.end === n.end && only.kind === n.kind && only.result === n.result ? only : n);
        },
      });
    } catch {
      // Whatever js-yaml refuses (duplicate keys, bad indentation, ...) the full parser explains.
      decline();
    }
    const root = stack[0]!.children;
    if (root.length !== 1 || root[0]!.result !== value) decline();
    const isSeq = kind === 'block-seq';
    if (isSeq ? !Array.isArray(value) : !isPlainObject(value)) decline();
    const node = this.node(root[0]!, isSeq ? 1 : 0, isSeq)!;
    if (this.source.charAt(this.contentStart(root[0]!.start)) === (isSeq ? '[' : '{')) decline();
    return { value, node };
  }

  /** The first character of a node's content: past white space, line breaks and comments. */
  contentStart(from: number): number {
    const src = this.source;
    let i = from;
    for (;;) {
      const c = src.charCodeAt(i);
      if (c === 32 || c === 10) i++;
      else if (c === 35 && (i === 0 || src.charCodeAt(i - 1) === 32 || src.charCodeAt(i - 1) === 10)) {
        const nl = src.indexOf('\n', i);
        i = nl < 0 ? src.length : nl;
      } else return i;
    }
  }

  column(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  node(n: EventNode, depth: number, rootSeq = false): LightNode | undefined {
    const at = this.contentStart(n.start);
    const first = this.source.charAt(at);
    if (UNSUPPORTED_START.has(first)) decline();
    const keep = depth < DEPTH;
    if (n.kind === 'mapping') {
      if (!isPlainObject(n.result)) decline();
      const flow = first === '{';
      const keys = Object.keys(n.result);
      if (n.children.length !== 2 * keys.length) decline();
      if (flow && this.source.slice(at, n.end).includes('\n')) decline();
      const out: LightNode | undefined = keep ? { off: this.abs(at), keys: [], keyOffs: [], kids: [] } : undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = n.children[2 * i]!;
        const v = n.children[2 * i + 1]!;
        const keyAt = this.contentStart(k.start);
        const name = this.key(k, keyAt);
        if (name !== keys[i]) decline();
        // Inside a one-line flow mapping only scalars (the forms the full parser is checked on).
        if (flow && v.kind !== 'scalar' && v.kind !== null) decline();
        const kid = this.node(v, depth + 1);
        if (out) {
          out.keys!.push(name);
          out.keyOffs!.push(this.abs(keyAt));
          out.kids!.push(kid);
        }
      }
      return out;
    }
    if (n.kind === 'sequence') {
      if (!Array.isArray(n.result)) decline();
      const flow = first === '[';
      if (n.children.length !== n.result.length) decline();
      if (flow && this.source.slice(at, n.end).includes('\n')) decline();
      const out: LightNode | undefined = keep ? { off: this.abs(at), kids: [] } : undefined;
      for (const item of n.children) {
        if (flow && item.kind !== 'scalar' && item.kind !== 'mapping') decline();
        if (!flow) {
          // The item's `-`, alone before it on its line (no `- - a`).
          const dash = this.source.lastIndexOf('-', this.contentStart(item.start));
          if (dash < 0 || this.source.slice(this.source.lastIndexOf('\n', dash) + 1, dash).trim() !== '') decline();
          if (rootSeq) this.rootSeqColumns.add(this.column(this.abs(dash)));
        }
        const kid = this.node(item, depth + 1);
        if (flow && item.kind === 'mapping' && this.source.charAt(this.contentStart(item.start)) !== '{') decline();
        out?.kids!.push(kid);
      }
      return out;
    }
    if (n.kind === 'scalar' || n.kind === null) return this.scalar(n, at, keep, depth);
    return decline();
  }

  /**
   * A scalar value; an empty one (`key:` with nothing after it) has no offset. Below the root's
   * own keys (where the cut-out `profiles:` stands empty) an empty value is left to the full
   * parser, which refuses it where null would remove (parse.ts `emptyValueProblems`).
   */
  scalar(n: EventNode, at: number, keep: boolean, depth: number): LightNode | undefined {
    if (n.children.length > 0) decline();
    const src = this.source.slice(at, Math.max(at, n.end));
    if (src === '' || at >= n.end) {
      if (n.result !== null || depth >= 2) decline();
      return keep ? { off: -1 } : undefined;
    }
    this.checkScalar(src, n.result);
    return keep ? { off: this.abs(at) } : undefined;
  }

  key(k: EventNode, at: number): string {
    if (k.kind !== 'scalar' || k.children.length > 0 || typeof k.result !== 'string') decline();
    const src = this.source.slice(at, k.end);
    if (src === '' || src.length > 1000) decline();
    this.checkScalar(src, k.result);
    if (k.result === '__proto__' || k.result === '<<') decline();
    return k.result;
  }

  /** One line; quoted gives a string; plain resolves as the full parser resolves it. */
  checkScalar(src: string, result: unknown): void {
    if (src.includes('\n')) decline();
    const q = src.charAt(0);
    if (q === '"' || q === "'") {
      if (typeof result !== 'string' || src.charAt(src.length - 1) !== q) decline();
      return;
    }
    // A plain scalar ends at its last non-space character (white space before a comment is not part of it).
    if (!Object.is(plainScalar(src.trimEnd()), result)) decline();
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** YAML 1.2 core schema resolution of a plain scalar (yaml/dist/schema/core), common forms only. */
function plainScalar(s: string): unknown {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  const c = s.charCodeAt(0);
  // Everything that could be a number starts with a digit, a sign or a dot.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    // A number the double does not hold as written, or written with a leading zero, is an
    // issue: the full parser names it.
    if (LEADING_ZERO_RE.test(s)) decline();
    if (/^[-+]?[0-9]+$/.test(s)) {
      const n = parseInt(s, 10);
      return Number.isSafeInteger(n) ? n : decline();
    }
    if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) {
      const n = parseFloat(s);
      return numberTextProblem(s, n) === undefined ? n : decline();
    }
    // Octal, hex, exponents, .inf and .nan: rare in profiles; the full parser reads them.
    if (/^0o|^0x|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$|^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE]/.test(s)) decline();
  }
  return s;
}

/** Positions on a light tree, with the same answers as `PositionIndex` for what it keeps. */
export class LightPositions {
  /** Set when a position was asked for that the light tree does not hold (see `at`). */
  missed = false;

  constructor(
    private readonly root: LightNode,
    private readonly lines: LineCounter,
  ) {}

  offset(offset: number): LinePos {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The node at path, or undefined when the light tree does not reach it. */
  node(path: InstancePath): LightNode | undefined {
    let n: LightNode | undefined = this.root;
    for (const seg of path) n = n ? child(n, seg) : undefined;
    return n;
  }

  at(path: InstancePath, opts: { key?: boolean } = {}): LinePos {
    let n: LightNode = this.root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      const k = n.keys && typeof seg === 'string' ? n.keys.indexOf(seg) : -1;
      if (last && opts.key && k >= 0) return this.offset(n.keyOffs![k]!);
      const next = child(n, seg);
      // Beyond the light tree or at an empty value: only an issue asks for such a position,
      // and a file with issues is read again by the full parser, which knows every position.
      if (!next || next.off < 0) {
        this.missed = true;
        return { line: 0, column: 0 };
      }
      n = next;
    }
    return this.offset(n.off);
  }

  /** Key positions of the managed fields of the mapping at path (as build.ts `collectRefs`). */
  refs(path: InstancePath, file: string): FieldRefs {
    const refs: FieldRefs = { file, keys: [], pos: [] };
    const walk = (n: LightNode | undefined, prefix: string, depth: number): void => {
      if (!n?.keys) return;
      for (let i = 0; i < n.keys.length; i++) {
        const key: string = n.keys[i]!;
        const p = prefix === '' ? key : joinPath(prefix, key);
        const { line, column } = this.offset(n.keyOffs![i]!);
        addRef(refs, p, line, column);
        if (prefix === '' && (key === 'channels' || key === 'properties' || key === 'manage' || key === 'preferences')) walk(n.kids![i], key, depth + 1);
        else if (prefix.startsWith('preferences') && depth === 1) walk(n.kids![i], p, depth + 1);
      }
    };
    walk(this.node(path), '', 0);
    return refs;
  }
}

function child(n: LightNode, seg: PathSegment): LightNode | undefined {
  if (n.keys) {
    const k = typeof seg === 'string' ? n.keys.indexOf(seg) : -1;
    return k >= 0 ? n.kids![k] : undefined;
  }
  return typeof seg === 'number' ? n.kids?.[seg] : undefined;
}

