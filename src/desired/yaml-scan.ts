/**
 * A light scan of YAML text for what the parser cannot report well (issue #14):
 *
 * - nesting depth: the `yaml` package parses nested collections recursively, so 20,000 `[` end
 *   in "Maximum call stack size exceeded" (hundreds of times); the scan bounds the depth before
 *   the parser runs;
 * - where an unclosed `[`, `{` or quote opened: the parser notices only where the collection or
 *   string should have ended (often the end of the file).
 *
 * It follows only what it needs: quoted strings, comments, block scalars (`|`, `>`), flow
 * brackets where a value can start, and block indentation levels. It never decides whether the
 * text is valid YAML; the parser does.
 */

/** Deeper than this is refused before parsing: a profile file needs about six levels. */
export const MAX_NESTING = 64;

export interface ScanState {
  /** The flow collections open at the point the scan stopped, outermost first. */
  flow: { char: '[' | '{'; offset: number }[];
  /** The quoted string open at that point: its opening quote. */
  quote?: { char: '"' | "'"; offset: number };
  /** Where nesting first went deeper than `MAX_NESTING`: the offset of the level that did. */
  tooDeep?: number;
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === undefined;

/** Scans `text` up to offset `stop` (default: all of it; stops early once too deep). */
export function scanYaml(text: string, stop = text.length): ScanState {
  const flow: ScanState['flow'] = [];
  const indents: number[] = [];
  let quote: ScanState['quote'];
  let tooDeep: number | undefined;
  /** A value may start here: a quote or bracket opens a string or collection. */
  let valueStart = true;
  /** Lines indented more than this belong to a block scalar (`|`, `>`); -1: none. */
  let blockScalar = -1;
  let lineIndent = 0;
  const deeper = (offset: number): void => {
    if (tooDeep === undefined && indents.length + flow.length > MAX_NESTING) tooDeep = offset;
  };
  let i = 0;
  let lineStart = true;
  while (i < stop && tooDeep === undefined) {
    // At the start of a line outside quotes and flow collections: indentation levels.
    if (lineStart && !quote && flow.length === 0) {
      let j = i;
      while (text[j] === ' ') j++;
      const blank = text[j] === '\n' || text[j] === '\r' || j >= text.length || text[j] === '#';
      if (blockScalar >= 0 && (blank || j - i > blockScalar)) {
        i = nextLine(text, i);
        if (i >= text.length) break;
        continue;
      }
      blockScalar = -1;
      if (blank) {
        i = nextLine(text, i);
        if (i >= text.length) break;
        continue;
      }
      lineIndent = j - i;
      while (indents.length > 0 && indents[indents.length - 1]! > lineIndent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < lineIndent) indents.push(lineIndent);
      // `- - x`: each dash opens a sequence one level deeper.
      while (text[j] === '-' && isBlank(text[j + 1]) && text[j + 1] !== undefined && text[j + 1] !== '\n') {
        j++;
        while (text[j] === ' ') j++;
        indents.push(j - i);
      }
      deeper(j);
      valueStart = true;
      lineStart = false;
      i = j;
      continue;
    }
    lineStart = false;
    const c = text[i]!;
    if (c === '\n') lineStart = true;
    if (quote) {
      if (quote.char === '"' && c === '\\') i += 2;
      else if (quote.char === "'" && c === "'" && text[i + 1] === "'") i += 2;
      else {
        if (c === quote.char) quote = undefined;
        i++;
      }
      if (!quote) valueStart = false;
      continue;
    }
    if (c === '#' && (i === 0 || isBlank(text[i - 1]))) {
      i = nextLine(text, i);
      lineStart = true;
      continue;
    }
    if (c === '\n' || c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (valueStart && (c === '"' || c === "'")) {
      quote = { char: c, offset: i };
      i++;
      continue;
    }
    if ((c === '[' || c === '{') && (valueStart || flow.length > 0)) {
      flow.push({ char: c, offset: i });
      deeper(i);
      valueStart = true;
      i++;
      continue;
    }
    if ((c === ']' || c === '}') && flow.length > 0) {
      if (flow[flow.length - 1]!.char === (c === ']' ? '[' : '{')) flow.pop();
      valueStart = false;
      i++;
      continue;
    }
    if (c === ',' && flow.length > 0) valueStart = true;
    else if (c === ':' && (isBlank(text[i + 1]) || flow.length > 0)) valueStart = true;
    else if (c === '-' && valueStart && isBlank(text[i + 1])) valueStart = true;
    else if ((c === '|' || c === '>') && valueStart && flow.length === 0) {
      blockScalar = lineIndent;
      i = nextLine(text, i);
      lineStart = true;
      continue;
    } else valueStart = false;
    i++;
  }
  return { flow, ...(quote ? { quote } : {}), ...(tooDeep !== undefined ? { tooDeep } : {}) };
}

function nextLine(text: string, i: number): number {
  const nl = text.indexOf('\n', i);
  return nl < 0 ? text.length : nl + 1;
}
