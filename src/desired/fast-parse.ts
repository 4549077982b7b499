/**
 * The fast path for large, plain files: the `yaml` package's own CST parser (`Parser`), read
 * straight into plain data plus the few source offsets the loader needs, without composing a
 * `Document` (a node object with a range for every key and value: most of the time and memory of
 * loading 100,000 profiles went there).
 *
 * It accepts only a conservative subset of YAML (block mappings and sequences, one-line plain or
 * quoted scalars, one-line flow sequences of scalars, comments) and declines everything else —
 * anchors, aliases, tags, block scalars, multi-line scalars, flow mappings, tabs, CR line ends,
 * duplicate or non-string keys, anything the parser marks as an error — by returning undefined:
 * the caller then uses `parseYaml` (parse.ts), which stays the reference for every error and its
 * position. test/unit/desired-perf.test.ts checks on mutated documents that whatever this
 * accepts, `parseYaml` reads without error into the same data and the same positions.
 */
import { CST, LineCounter, Parser } from 'yaml';
import type { LinePos, PathSegment, InstancePath } from './positions.js';
import { addRef } from './build.js';
import type { FieldRefs } from './types.js';
import { withPlainEnv } from './parse.js';

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

const OK_SPACE = new Set(['space', 'newline', 'comment']);

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

class Reader {
  /** Offset of the text being parsed within the file (the chunks of a long profiles list). */
  private base = 0;
  /** Where a piece of the file was cut out of the text being parsed (the profiles list). */
  private cut = { at: Infinity, length: 0 };

  /** Offset in the file of an offset in the text being parsed. */
  private abs(offset: number): number {
    return this.base + offset + (offset >= this.cut.at ? this.cut.length : 0);
  }
  /** Columns of the items of root sequences: the chunks of one list must agree. */
  readonly rootSeqColumns = new Set<number>();
  private chunkRoot: CST.Token | undefined;

  constructor(private readonly text: string) {}

  /** One YAML document (at `base` within the file) whose root is a block collection of `kind`. */
  document(source: string, base: number, kind: 'block-map' | 'block-seq', cut?: { at: number; length: number }): { value: unknown; node: LightNode } {
    this.base = base;
    this.cut = cut ?? { at: Infinity, length: 0 };
    // A chunk of the profiles list sits one level below the root.
    const depth = kind === 'block-seq' ? 1 : 0;
    let doc: CST.Document | undefined;
    for (const token of withPlainEnv(() => [...new Parser().parse(source)])) {
      // Comments and blank lines around the document.
      if (token.type === 'comment' || token.type === 'newline' || token.type === 'space') this.space(token);
      else if (token.type !== 'document' || doc) decline();
      else doc = token;
    }
    if (!doc || doc.value?.type !== kind) decline();
    this.chunkRoot = kind === 'block-seq' ? doc.value : undefined;
    let sawDocStart = false;
    for (const t of doc.start) {
      if (t.type === 'doc-start' && !sawDocStart && base === 0) sawDocStart = true;
      else this.space(t);
    }
    // `--- key: value` on one line is an error for the composer.
    if (sawDocStart && !doc.start.some((t) => t.type === 'newline')) decline();
    for (const t of doc.end ?? []) this.space(t);
    const { value, node } = this.node(doc.value, depth);
    return { value, node: node! };
  }

  /** Whitespace and comments: a comment must follow white space (the composer's rule). */
  space(t: CST.SourceToken): void {
    if (!OK_SPACE.has(t.type)) decline();
    const at = this.abs(t.offset);
    if (t.type === 'comment' && at > 0) {
      const c = this.text[at - 1];
      if (c !== ' ' && c !== '\n') decline();
    }
  }

  column(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  /** Whether only spaces stand before `offset` on its line. */
  startsLine(offset: number): boolean {
    for (let i = offset - 1; i >= 0; i--) {
      const c = this.text[i];
      if (c === '\n') return true;
      if (c !== ' ') return false;
    }
    return true;
  }

  node(t: CST.Token, depth: number): { value: unknown; node: LightNode | undefined } {
    switch (t.type) {
      case 'block-map':
        return this.map(t, depth);
      case 'block-seq':
        return this.seq(t, depth);
      case 'flow-collection':
        return this.flow(t, depth);
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
        return { value: this.scalar(t).value, node: depth < DEPTH ? { off: this.abs(t.offset) } : undefined };
      default:
        return decline();
    }
  }

  scalar(t: CST.FlowScalar): { value: unknown; plainString: boolean } {
    if (t.source.includes('\n')) decline();
    for (const e of t.end ?? []) this.space(e);
    const r = CST.resolveAsScalar(t, true, () => decline());
    if (t.type !== 'scalar') return { value: r.value, plainString: false };
    const v = plainScalar(r.value);
    return { value: v, plainString: typeof v === 'string' };
  }

  map(t: CST.BlockMap, depth: number): { value: unknown; node: LightNode | undefined } {
    const out: Record<string, unknown> = {};
    const keep = depth < DEPTH;
    const node: LightNode | undefined = keep ? { off: this.abs(t.offset), keys: [], keyOffs: [], kids: [] } : undefined;
    let col = -1;
    for (let i = 0; i < t.items.length; i++) {
      const item = t.items[i]!;
      if (i > 0 && i === t.items.length - 1 && trailingComments(item)) {
        for (const s of item.start) this.space(s);
        continue;
      }
      const key = item.key;
      if (item.explicitKey || !key || !item.sep) decline();
      if (key.type !== 'scalar' && key.type !== 'single-quoted-scalar' && key.type !== 'double-quoted-scalar') decline();
      for (const s of item.start) this.space(s);
      // Every key at the same column, each after the first alone at the start of its line.
      const c = this.column(this.abs(key.offset));
      if (i === 0) col = c;
      else if (c !== col || !this.startsLine(this.abs(key.offset))) decline();
      if (key.source.length > 1000) decline();
      const k = this.scalar(key);
      if (typeof k.value !== 'string' || (key.type === 'scalar' && !k.plainString)) decline();
      const name = k.value;
      if (name === '__proto__' || name === '<<' || Object.prototype.hasOwnProperty.call(out, name)) decline();
      const sep = item.sep;
      if (sep[0]?.type !== 'map-value-ind') decline();
      let newline = false;
      for (let j = 1; j < sep.length; j++) {
        this.space(sep[j]!);
        if (sep[j]!.type === 'newline') newline = true;
      }
      let child: LightNode | undefined;
      if (item.value === undefined) {
        out[name] = null;
        child = keep ? { off: -1 } : undefined;
      } else {
        // A block collection must start on a line of its own (no compact nested mappings).
        if ((item.value.type === 'block-map' || item.value.type === 'block-seq') && !newline) decline();
        const r = this.node(item.value, depth + 1);
        out[name] = r.value;
        child = r.node;
      }
      if (node) {
        node.keys!.push(name);
        node.keyOffs!.push(this.abs(key.offset));
        node.kids!.push(child);
      }
    }
    return { value: out, node };
  }

  seq(t: CST.BlockSequence, depth: number): { value: unknown; node: LightNode | undefined } {
    const out: unknown[] = [];
    const node: LightNode | undefined = depth < DEPTH ? { off: this.abs(t.offset), kids: [] } : undefined;
    let col = -1;
    for (let i = 0; i < t.items.length; i++) {
      const item = t.items[i]!;
      if (i > 0 && i === t.items.length - 1 && trailingComments(item)) {
        for (const s of item.start) this.space(s);
        continue;
      }
      const ind = item.start.filter((s) => s.type === 'seq-item-ind');
      if (ind.length !== 1 || (item as { key?: unknown }).key !== undefined) decline();
      let newline = false;
      for (const s of item.start) {
        if (s.type === 'seq-item-ind') continue;
        this.space(s);
        if (s.type === 'newline' && s.offset > ind[0]!.offset) newline = true;
      }
      const c = this.column(this.abs(ind[0]!.offset));
      if (i === 0) col = c;
      else if (c !== col || !this.startsLine(this.abs(ind[0]!.offset))) decline();
      if (depth === 1 && t === this.chunkRoot) this.rootSeqColumns.add(c);
      if (item.value === undefined) {
        out.push(null);
        node?.kids!.push({ off: -1 });
        continue;
      }
      // `- - a` and `- key:` on the dash's line are fine for the composer; a nested sequence
      // after a line break is too, but rare: decline it rather than model it.
      if (item.value.type === 'block-seq' && newline) decline();
      const r = this.node(item.value, depth + 1);
      out.push(r.value);
      node?.kids!.push(r.node);
    }
    return { value: out, node };
  }

  /** A one-line flow sequence of scalars, or a one-line flow mapping of scalar keys and values. */
  flow(t: CST.FlowCollection, depth: number): { value: unknown; node: LightNode | undefined } {
    const isMap = t.start.type === 'flow-map-start';
    if (!isMap && t.start.type !== 'flow-seq-start') decline();
    const keep = depth < DEPTH;
    const list: unknown[] = [];
    const obj: Record<string, unknown> = {};
    const node: LightNode | undefined = keep ? (isMap ? { off: this.abs(t.offset), keys: [], keyOffs: [], kids: [] } : { off: this.abs(t.offset), kids: [] }) : undefined;
    for (let i = 0; i < t.items.length; i++) {
      const item = t.items[i]!;
      let commas = 0;
      for (const s of item.start) {
        if (s.type === 'comma') commas++;
        else if (s.type === 'space') this.space(s);
        else decline();
      }
      if (commas !== (i === 0 ? 0 : 1)) decline();
      const v = item.value;
      if (!v) decline();
      const value = this.flowScalar(v, true);
      if (!isMap) {
        if (item.key !== undefined || item.sep !== undefined) decline();
        list.push(value);
        node?.kids!.push({ off: this.abs(v.offset) });
        continue;
      }
      // `key: value` with exactly `:` and spaces between them.
      const key = item.key;
      const sep = item.sep;
      if (!key || !sep || sep[0]?.type !== 'map-value-ind' || sep.length < 2) decline();
      for (let j = 1; j < sep.length; j++) {
        if (sep[j]!.type !== 'space') decline();
        this.space(sep[j]!);
      }
      const k = this.flowScalar(key, false);
      if (typeof k !== 'string' || (key.type === 'scalar' && plainScalar((key as CST.FlowScalar).source) !== k)) decline();
      if (k === '__proto__' || k === '<<' || Object.prototype.hasOwnProperty.call(obj, k)) decline();
      obj[k] = value;
      if (node) {
        node.keys!.push(k);
        node.keyOffs!.push(this.abs(key.offset));
        node.kids!.push({ off: this.abs(v.offset) });
      }
    }
    const [close, ...rest] = t.end;
    if (close?.type !== (isMap ? 'flow-map-end' : 'flow-seq-end')) decline();
    for (const s of rest) this.space(s);
    return { value: isMap ? obj : list, node };
  }

  /**
   * A scalar inside a flow collection: quoted, or plain text without flow indicators (a value
   * may hold `:` inside, as in `2024-01-01T10:00:00Z`).
   */
  flowScalar(v: CST.Token, isValue: boolean): unknown {
    if (v.type !== 'scalar' && v.type !== 'single-quoted-scalar' && v.type !== 'double-quoted-scalar') decline();
    if (v.type === 'scalar' && (/[#?,[\]{}]/.test(v.source) || (v.source.includes(':') && (!isValue || v.source.endsWith(':'))))) decline();
    return this.scalar(v).value;
  }
}

/** The last item of a block collection that holds only the comments after it. */
function trailingComments(item: { start: CST.SourceToken[]; key?: unknown; sep?: unknown; value?: unknown; explicitKey?: true }): boolean {
  return item.key === undefined && item.sep === undefined && item.value === undefined && !item.explicitKey && item.start.some((s) => s.type === 'comment');
}

/** YAML 1.2 core schema resolution of a plain scalar (yaml/dist/schema/core), common forms only. */
function plainScalar(s: string): unknown {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  const c = s.charCodeAt(0);
  // Everything that could be a number starts with a digit, a sign or a dot.
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
    if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
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
        const p = prefix === '' ? key : `${prefix}.${key}`;
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

