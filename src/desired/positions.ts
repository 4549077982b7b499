/**
 * Source positions for paths into a parsed YAML document.
 *
 * Positions are looked up on demand (an error, or a field's `refs` entry) by walking the
 * document's node tree along a path, so a valid file never builds a position map of every node.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;
export type InstancePath = readonly PathSegment[];

export interface LinePos {
  line: number;
  column: number;
}

export class PositionIndex {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
  ) {}

  /** 1-based position of a character offset. */
  offset(offset: number): LinePos {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /**
   * Position of the value at `path`, or of the key when `key` is set; when the path goes
   * further than the document (a missing key), the deepest node that exists.
   */
  at(path: InstancePath, opts: { key?: boolean } = {}): LinePos {
    let node: unknown = this.doc.contents;
    let best: Node | null = isNode(node) ? node : null;
    for (let i = 0; i < path.length; i++) {
      node = this.resolve(node);
      const seg = path[i]!;
      let next: unknown = undefined;
      let keyNode: unknown = undefined;
      if (isMap(node)) {
        for (const item of node.items) {
          if (isPair(item) && keyOf(item.key) === String(seg)) {
            next = item.value;
            keyNode = item.key;
            break;
          }
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      const last = i === path.length - 1;
      if (last && opts.key && isNode(keyNode)) return this.pos(keyNode);
      if (isNode(next)) {
        best = next;
      } else if (isNode(keyNode)) {
        // `key:` with no value: point at the key.
        return this.pos(keyNode);
      } else {
        break;
      }
      node = next;
    }
    return best ? this.pos(best) : { line: 1, column: 1 };
  }

  private pos(node: Node): LinePos {
    return node.range ? this.offset(node.range[0]) : { line: 1, column: 1 };
  }

  private resolve(node: unknown): unknown {
    // Aliases point at their anchor; a broken alias resolves to undefined.
    return isAlias(node) ? node.resolve(this.doc) : node;
  }
}

function isNode(x: unknown): x is Node {
  return isMap(x) || isSeq(x) || isScalar(x) || isAlias(x);
}

function keyOf(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  return undefined;
}

/** `profiles[3].channels.push[0]` style rendering of a path. */
export function renderPath(path: InstancePath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
