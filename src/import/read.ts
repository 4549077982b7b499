/**
 * Streaming readers for `fyno-sync import`: CSV (csv-parse: quotes, embedded newlines, BOM,
 * delimiter detection) and JSONL (line by line). Rows are yielded one at a time, in file
 * order, so memory does not grow with the file. Rows that cannot be read at all (a broken
 * quote, a wrong number of fields, bytes that are not UTF-8, a line that is not JSON) are
 * yielded as `bad` rows: they never stop the rest.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse, type CsvError, type Options as CsvOptions } from 'csv-parse';
import { FynoSyncError } from '../errors.js';
import { parseJsonExact } from '../plan/normalize.js';
import type { Cell } from './coerce.js';

export type InputFormat = 'csv' | 'jsonl';

export type InputEvent =
  /** CSV only, first: the header's column names. */
  | { type: 'header'; columns: string[] }
  | {
      type: 'row';
      /** Spreadsheet row: the CSV header is row 1; JSONL: the line number. */
      row: number;
      /** 1-based line in the file where the row starts. */
      line: number;
      get(column: string): Cell;
      /** The row's original fields (CSV) or its text (JSONL), for the rejects file. */
      fields: string[];
    }
  | { type: 'bad'; row: number; line: number; column: string; reason: string; fields: string[] };

export interface ReadOptions {
  format: InputFormat;
  /** CSV delimiter; detected from the header line when absent. */
  delimiter?: string;
  /** How the file is named in errors (default: the path). */
  name?: string;
}

const REPLACEMENT = '\uFFFD';
const MAX_RECORD_BYTES = 8 * 1024 * 1024;
const ENCODING_REASON = 'holds bytes that are not UTF-8 (the file mixes encodings; convert it to UTF-8, e.g. iconv -f WINDOWS-1252 -t UTF-8)';

/** `csv` or `jsonl` from the file name (`.jsonl`, `.ndjson` → jsonl; anything else csv). */
export function formatOf(file: string): InputFormat {
  return /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv';
}

export function readInput(file: string, o: ReadOptions): AsyncGenerator<InputEvent> {
  return o.format === 'jsonl' ? readJsonl(file) : readCsv(file, o.delimiter, o.name ?? file);
}

/** The most frequent of , ; tab | outside quotes in the first line (the header). */
export async function detectDelimiter(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0], ['|', 0]]);
    let quoted = false;
    for (const ch of text) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && (ch === '\n' || ch === '\r')) break;
      else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
    }
    let best = ',';
    for (const [d, n] of counts) if (n > counts.get(best)!) best = d;
    return best;
  } finally {
    await fh.close();
  }
}

interface Tagged {
  record: string[];
  row: number;
  line: number;
}

async function* readCsv(file: string, delimiter: string | undefined, name: string): AsyncGenerator<InputEvent> {
  const delim = delimiter ?? (await detectDelimiter(file));
  // on_record and on_skip run synchronously in parse order; rows are numbered there so that a
  // skipped (unparseable) row keeps its place between the good rows around it.
  let count = 0;
  const skipped: InputEvent[] = [];
  let lastSkip: { row: number; line: number } | undefined;
  const parser = createReadStream(file).pipe(
    parse({
      bom: true,
      delimiter: delim,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // An unclosed quote early in a big file would otherwise buffer the rest of it as one field.
      max_record_size: MAX_RECORD_BYTES,
      raw: true,
      on_record: ((rec: unknown, ctx: { lines: number }): Tagged => {
        const r = rec as { record: string[]; raw: string };
        count += 1;
        const body = r.raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
        const newlines = body.split('\n').length - 1;
        return { record: r.record, row: count, line: ctx.lines - newlines };
      }) as unknown as CsvOptions['on_record'],
      on_skip: (err: CsvError | undefined) => {
        const line = typeof err?.lines === 'number' ? err.lines : 0;
        // csv-parse can skip twice on one line (`"a",  "b"  `: the quote after the spaces, then
        // the one that closes it): one row, one reject, and the rows after it keep their numbers.
        if (lastSkip && lastSkip.row === count && lastSkip.line === line && line > 0) return undefined;
        count += 1;
        lastSkip = { row: count, line };
        skipped.push({ type: 'bad', row: count, line, column: '', reason: csvReason(err), fields: [] });
        return undefined;
      },
    }),
  );

  let header: string[] | undefined;
  for await (const t of parser as AsyncIterable<Tagged>) {
    while (skipped.length > 0 && (skipped[0] as { row: number }).row < t.row) yield skipped.shift()!;
    if (!header) {
      header = t.record.map((h) => h.trim());
      checkHeader(header, name);
      yield { type: 'header', columns: header };
      continue;
    }
    const rec = t.record;
    if (rec.length !== header.length) {
      const last = rec.length < header.length ? ' (a truncated line, or a line break inside an unquoted field?)' : ' (an unquoted delimiter inside a field?)';
      yield { type: 'bad', row: t.row, line: t.line, column: '', reason: `has ${rec.length} field${rec.length === 1 ? '' : 's'}; the header has ${header.length}${last}`, fields: rec };
      continue;
    }
    const enc = rec.findIndex((f) => f.includes(REPLACEMENT));
    if (enc >= 0) {
      yield { type: 'bad', row: t.row, line: t.line, column: header[enc]!, reason: ENCODING_REASON, fields: rec };
      continue;
    }
    const index = headerIndex(header);
    yield { type: 'row', row: t.row, line: t.line, get: (c) => rec[index.get(c) ?? -1], fields: rec };
  }
  while (skipped.length > 0) {
    const s = skipped.shift()!;
    // Before the header there is nothing to report against: the file is unreadable.
    if (!header) throw new FynoSyncError('import.invalid', `${name}: the header line cannot be read: ${(s as { reason: string }).reason}`, { file: name });
    yield s;
  }
  if (!header) throw new FynoSyncError('import.invalid', `${name} is empty: a CSV export needs a header line`, { file: name });
}

const indexCache = new WeakMap<string[], Map<string, number>>();
function headerIndex(header: string[]): Map<string, number> {
  let m = indexCache.get(header);
  if (!m) {
    m = new Map(header.map((h, i) => [h, i] as const));
    indexCache.set(header, m);
  }
  return m;
}

function checkHeader(header: string[], file: string): void {
  const seen = new Set<string>();
  for (const [i, h] of header.entries()) {
    if (h.includes(REPLACEMENT)) throw new FynoSyncError('import.invalid', `${file}: the header holds bytes that are not UTF-8; convert the file to UTF-8`, { file });
    if (h === '') continue;
    if (seen.has(h)) throw new FynoSyncError('import.invalid', `${file}: the header names column "${h}" twice (column ${i + 1}); rename one of them`, { file, column: h });
    seen.add(h);
  }
}

function csvReason(err: CsvError | undefined): string {
  if (!err) return 'cannot be parsed as CSV';
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed, so everything after its opening quote was read as one field (a truncated last line?)';
    case 'CSV_MAX_RECORD_SIZE':
      return `a record longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB (an unclosed quote?); the rest of the file could not be read`;
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quote (") inside a field that is not quoted as a whole; quote the field and double inner quotes';
    default:
      return `cannot be parsed as CSV: ${err.message.split('\n')[0]!}`;
  }
}

async function* readJsonl(file: string): AsyncGenerator<InputEvent> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n += 1;
    const text = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    const bad = (reason: string): InputEvent => ({ type: 'bad', row: n, line: n, column: '', reason, fields: [text] });
    if (text.includes(REPLACEMENT)) {
      yield bad(ENCODING_REASON);
      continue;
    }
    let obj: unknown;
    try {
      obj = parseJsonLine(text);
    } catch {
      yield bad('is not valid JSON (a truncated line?)');
      continue;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      yield bad('is not a JSON object');
      continue;
    }
    const rec = obj as Record<string, unknown>;
    yield { type: 'row', row: n, line: n, get: (c) => lookup(rec, c) as Cell, fields: [text] };
  }
}

/**
 * One line of JSON. A number a double does not hold as written (`12345678901234567890`, which
 * `JSON.parse` alone turns into 12345678901234567000) is kept as its numeral text instead (issue
 * #14): an id or a string property keeps every digit, and a number property refuses it with the
 * row and column (coerce.ts `coerceNumber`).
 */
export function parseJsonLine(text: string): unknown {
  return parseJsonExact(text, (numeral) => numeral);
}

/** A key, or a dotted path into nested objects when no key of that exact name exists. */
export function lookup(rec: Record<string, unknown>, column: string): unknown {
  if (Object.prototype.hasOwnProperty.call(rec, column)) return rec[column];
  if (!column.includes('.')) return undefined;
  let cur: unknown = rec;
  for (const part of column.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
