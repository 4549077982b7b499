/**
 * The import mapping (schemas/import-mapping.schema.json): YAML text → a compiled mapping that
 * `mapRecord` applies to each row. Problems come back as values with file:line:column.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { CountryCode } from 'libphonenumber-js/max';
import type { ChannelName, PreferenceChannel, SingleChannelName } from '../fyno/types.js';
import { nestingIssue, syntaxIssues } from '../desired/parse.js';
import { PositionIndex, renderPath, type PathSegment } from '../desired/positions.js';
import type { ValidationIssue } from '../desired/types.js';
import { prototypeKeyProblem } from '../plan/normalize.js';
import { compileDateFormat, DEFAULT_DATE_FORMATS, type DateParser } from './coerce.js';
import { checkMappingSchema } from './mapping-schema.js';

export type IfEmpty = 'skip' | 'unset';

/** A column the mapping names, and where (for "not in the header" errors). */
export interface ColumnUse {
  column: string;
  /** Dotted path of the mapping key, e.g. `channels.sms`. */
  field: string;
  line: number;
  col: number;
}

export interface ScalarSpec {
  column: string;
  field: string;
  ifEmpty: IfEmpty;
}

export interface PhoneSpec extends ScalarSpec {
  channel: 'sms' | 'whatsapp' | 'voice';
  country: CountryCode | undefined;
}

export interface DestinationSpec extends ScalarSpec {
  channel: Exclude<SingleChannelName, 'sms' | 'whatsapp' | 'voice'>;
}

export interface TokenSource {
  column: string;
  integrationId: string | undefined;
  delimiter: string | undefined;
}

export interface TokenSpec {
  channel: 'push' | 'inapp';
  field: string;
  sources: TokenSource[];
}

export interface FlagWords {
  trueValues: string[] | undefined;
  falseValues: string[] | undefined;
}

export interface PreferenceSpec extends FlagWords {
  topic: string;
  channel: PreferenceChannel;
  column: string;
  field: string;
  whenTrue: 'opted-in' | 'opted-out';
}

/** A yes/no column that puts the row's user on the suppression list (issue #18). */
export interface SuppressionSpec extends FlagWords {
  column: string;
  field: string;
  channel: string;
  by: 'distinct_id' | 'destination';
  description: string | undefined;
}

export interface StatusSpec extends FlagWords {
  column: string;
  field: string;
  whenTrue: 'active' | 'inactive';
}

export type PropertyType = 'string' | 'number' | 'boolean' | 'date' | 'list';

export interface PropertySpec extends ScalarSpec, FlagWords {
  key: string;
  type: PropertyType;
  formats: string[];
  parsers: DateParser[];
  utcOffset: string;
  decimal: '.' | ',';
  delimiter: string;
  items: 'string' | 'number' | 'date';
  once: boolean;
  truncate: boolean;
}

export interface ImportMapping {
  /** The mapping file as named in messages. */
  file: string;
  delimiter: string | undefined;
  defaultCountry: CountryCode | undefined;
  id: { column: string; prefix: string };
  name: { columns: string[]; separator: string; truncate: boolean } | undefined;
  status: StatusSpec | undefined;
  timezone: ScalarSpec | undefined;
  phones: PhoneSpec[];
  email: ScalarSpec | undefined;
  destinations: DestinationSpec[];
  tokens: TokenSpec[];
  preferences: PreferenceSpec[];
  properties: PropertySpec[];
  suppressions: SuppressionSpec[];
  /** Written as `defaults:` of every output file; already valid per the desired-state schema. */
  defaults: Record<string, unknown> | undefined;
  /** Every column the mapping names, in mapping order (a column may appear several times). */
  columns: ColumnUse[];
}

type Raw = Record<string, unknown>;

/**
 * Parses and checks a mapping file's text. Never throws for bad input: `{ issues }` lists every
 * problem with its line and column.
 */
export function parseMapping(display: string, text: string): { mapping: ImportMapping } | { issues: ValidationIssue[] } {
  const deep = nestingIssue(display, text);
  if (deep) return { issues: [deep] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  const positions = new PositionIndex(doc, lineCounter);
  const issue = (path: readonly PathSegment[], message: string, atKey = false): ValidationIssue => {
    const { line, column } = positions.at(path, { key: atKey });
    return { file: display, line, column, ...(path.length ? { field: renderPath(path) } : {}), message };
  };
  if (doc.errors.length > 0) return { issues: syntaxIssues(display, text, doc.errors, positions) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { issues: [{ file: display, line: 1, column: 1, message: `YAML error: ${e instanceof Error ? e.message.split('\n')[0]! : String(e)}` }] };
  }
  if (data === null || data === undefined) {
    return { issues: [{ file: display, line: 1, column: 1, message: 'the mapping file is empty; it needs at least version: 1 and distinct_id' }] };
  }
  const problems = checkMappingSchema(data);
  if (problems.length > 0) {
    return { issues: problems.map((p) => issue(p.path, p.message, p.atKey)).sort((a, b) => a.line - b.line || a.column - b.column) };
  }

  const m = data as Raw;
  const issues: ValidationIssue[] = [];
  const columns: ColumnUse[] = [];
  const use = (column: string, path: PathSegment[]): string => {
    const { line, column: col } = positions.at(path);
    const keyPath = path[path.length - 1] === 'column' ? path.slice(0, -1) : path;
    columns.push({ column, field: renderPath(keyPath), line, col });
    return column;
  };
  /** A field given as a column name or as `{ column, … }`. */
  const colOf = (v: unknown, path: PathSegment[]): { column: string; opts: Raw } => {
    if (typeof v === 'string') return { column: use(v, path), opts: {} };
    const o = v as Raw;
    return { column: use(String(o.column), [...path, 'column']), opts: o };
  };
  const words = (o: Raw): FlagWords => ({
    trueValues: o.true_values as string[] | undefined,
    falseValues: o.false_values as string[] | undefined,
  });

  const idRaw = colOf(m.distinct_id, ['distinct_id']);
  const defaultCountry = m.default_country as CountryCode | undefined;

  let name: ImportMapping['name'];
  if (m.name !== undefined) {
    if (typeof m.name === 'string') name = { columns: [use(m.name, ['name'])], separator: ' ', truncate: false };
    else {
      const o = m.name as Raw;
      const cols = o.columns !== undefined ? (o.columns as string[]).map((c, i) => use(c, ['name', 'columns', i])) : [use(String(o.column), ['name', 'column'])];
      name = { columns: cols, separator: typeof o.separator === 'string' ? o.separator : ' ', truncate: o.truncate === true };
    }
  }

  let status: StatusSpec | undefined;
  if (m.status !== undefined) {
    const { column, opts } = colOf(m.status, ['status']);
    status = { column, field: 'status', whenTrue: (opts.when_true as 'active' | 'inactive' | undefined) ?? 'active', ...words(opts) };
  }
  let timezone: ScalarSpec | undefined;
  if (m.timezone !== undefined) {
    const { column, opts } = colOf(m.timezone, ['timezone']);
    timezone = { column, field: 'timezone', ifEmpty: (opts.if_empty as IfEmpty | undefined) ?? 'skip' };
  }

  const phones: PhoneSpec[] = [];
  const destinations: DestinationSpec[] = [];
  const tokens: TokenSpec[] = [];
  let email: ScalarSpec | undefined;
  const channels = (m.channels ?? {}) as Record<ChannelName, unknown>;
  for (const [ch, v] of Object.entries(channels) as [ChannelName, unknown][]) {
    const field = `channels.${ch}`;
    if (ch === 'push' || ch === 'inapp') {
      const list = Array.isArray(v) ? v : [v];
      tokens.push({
        channel: ch,
        field,
        sources: list.map((s, i) => {
          const path: PathSegment[] = Array.isArray(v) ? ['channels', ch, i] : ['channels', ch];
          const { column, opts } = colOf(s, path);
          return { column, integrationId: opts.integration_id as string | undefined, delimiter: opts.delimiter as string | undefined };
        }),
      });
      continue;
    }
    const { column, opts } = colOf(v, ['channels', ch]);
    const ifEmpty = (opts.if_empty as IfEmpty | undefined) ?? 'skip';
    if (ch === 'sms' || ch === 'whatsapp' || ch === 'voice') {
      const country = (opts.country as CountryCode | undefined) ?? defaultCountry;
      phones.push({ channel: ch, column, field, ifEmpty, country });
    } else if (ch === 'email') {
      email = { column, field, ifEmpty };
    } else {
      destinations.push({ channel: ch, column, field, ifEmpty });
    }
  }

  const preferences: PreferenceSpec[] = [];
  for (const [topic, chans] of Object.entries((m.preferences ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [ch, v] of Object.entries(chans)) {
      const { column, opts } = colOf(v, ['preferences', topic, ch]);
      preferences.push({
        topic,
        channel: ch as PreferenceChannel,
        column,
        field: `preferences.${topic}.${ch}`,
        whenTrue: (opts.when_true as 'opted-in' | 'opted-out' | undefined) ?? 'opted-in',
        ...words(opts),
      });
    }
  }

  const properties: PropertySpec[] = [];
  for (const [key, v] of Object.entries((m.properties ?? {}) as Record<string, unknown>)) {
    const bad = prototypeKeyProblem(key);
    if (bad) {
      issues.push(issue(['properties', key], bad, true));
      continue;
    }
    const { column, opts } = colOf(v, ['properties', key]);
    const type = (opts.type as PropertyType | undefined) ?? 'string';
    const items = (opts.items as PropertySpec['items'] | undefined) ?? 'string';
    const formats = opts.format === undefined ? [...DEFAULT_DATE_FORMATS] : Array.isArray(opts.format) ? (opts.format as string[]) : [String(opts.format)];
    const parsers: DateParser[] = [];
    const usesDates = type === 'date' || (type === 'list' && items === 'date');
    if (opts.format !== undefined && !usesDates) {
      issues.push(issue(['properties', key, 'format'], 'format applies to type: date (or a list of dates) only', true));
    }
    formats.forEach((f, i) => {
      const p = compileDateFormat(f);
      if (typeof p === 'function') parsers.push(p);
      else issues.push(issue(Array.isArray(opts.format) ? ['properties', key, 'format', i] : ['properties', key, 'format'], p.error));
    });
    properties.push({
      key,
      column,
      field: `properties.${key}`,
      type,
      formats,
      parsers,
      utcOffset: (opts.utc_offset as string | undefined) ?? 'Z',
      decimal: (opts.decimal as '.' | ',' | undefined) ?? '.',
      delimiter: (opts.delimiter as string | undefined) ?? ';',
      items,
      once: opts.once === true,
      truncate: opts.truncate === true,
      ifEmpty: (opts.if_empty as IfEmpty | undefined) ?? 'skip',
      ...words(opts),
    });
  }

  const suppressions: SuppressionSpec[] = [];
  ((m.suppressions ?? []) as Raw[]).forEach((o, i) => {
    const channel = String(o.channel);
    const by = (o.by as SuppressionSpec['by'] | undefined) ?? 'distinct_id';
    const mapped = channel === 'email' ? email !== undefined : phones.some((p) => p.channel === channel) || destinations.some((d) => d.channel === channel);
    if (by === 'destination' && !mapped) issues.push(issue(['suppressions', i, 'by'], `by: destination needs the ${channel} destination mapped under channels.${channel}`));
    suppressions.push({
      column: use(String(o.column), ['suppressions', i, 'column']),
      field: `suppressions[${i}]`,
      channel,
      by,
      description: o.description as string | undefined,
      ...words(o),
    });
  });

  if (issues.length > 0) return { issues };
  const input = (m.input ?? {}) as Raw;
  return {
    mapping: {
      file: display,
      delimiter: input.delimiter as string | undefined,
      defaultCountry,
      id: { column: idRaw.column, prefix: typeof idRaw.opts.prefix === 'string' ? idRaw.opts.prefix : '' },
      name,
      status,
      timezone,
      phones,
      email,
      destinations,
      tokens,
      preferences,
      properties,
      suppressions,
      defaults: m.defaults as Record<string, unknown> | undefined,
      columns,
    },
  };
}

/**
 * Columns the mapping names that the input does not have: one issue each, at the mapping line
 * that names it, with a "did you mean" from the header.
 */
export function missingColumns(mapping: ImportMapping, header: readonly string[], inputName: string, suggest: (w: string, c: readonly string[]) => string): ValidationIssue[] {
  const have = new Set(header);
  return mapping.columns
    .filter((u) => !have.has(u.column))
    .map((u) => ({
      file: mapping.file,
      line: u.line,
      column: u.col,
      field: u.field,
      message: `column "${u.column}" is not in ${inputName}${suggest(u.column, header)}`,
    }));
}
