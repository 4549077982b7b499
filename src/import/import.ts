/**
 * `fyno-sync import` as a library call (issue #6): stream a CSV or JSONL export through a
 * mapping into desired-state YAML shards and a rejects file.
 *
 * Everything is written into a temporary directory next to the output directory and renamed
 * into place only once complete: an interrupted or failed import never leaves a half-written
 * directory under the name the user asked for. Rows are written in input order; a repeated
 * distinct_id is rejected (the first row wins), so the output is byte-identical for the same
 * input and mapping.
 */
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FynoSyncError, isFynoSyncError, messageOf } from '../errors.js';
import type { ValidationIssue } from '../desired/types.js';
import { didYouMean } from '../desired/suggest.js';
import { putDirInPlace } from '../desired/files.js';
import type { Cell } from './coerce.js';
import { mapRecord } from './map-record.js';
import { missingColumns, type ImportMapping } from './mapping.js';
import { formatOf, readInput, type InputFormat } from './read.js';
import { channelValueKey, suppressionKey } from '../plan/normalize.js';
import { RejectsWriter, schemaRefFrom, ShardWriter, SUPPRESSIONS_FILE, suppressionsYaml } from './write.js';
import { escapeEnvDeep } from '../desired/env.js';

export interface ImportOptions {
  /** The CSV or JSONL file. */
  input: string;
  mapping: ImportMapping;
  /** Output directory; must be absent or empty unless `force`. */
  outDir: string;
  /** Profiles per output file (default 5000). */
  shardSize?: number;
  /** Where rejected rows go; written only when a row is rejected. */
  rejectsFile: string;
  /** Default: from the file extension (.jsonl/.ndjson → jsonl, else csv). */
  format?: InputFormat;
  /** CSV delimiter; wins over the mapping's `input.delimiter`; else detected. */
  delimiter?: string;
  /** Replace a non-empty output directory. */
  force?: boolean;
  /** How files are named in messages and in the shard headers (default: base names). */
  display?: { input?: string; mapping?: string };
  /** Called every 1,000 rows. */
  onProgress?: (rows: number) => void;
  /** Stops reading; nothing is written. */
  signal?: AbortSignal;
}

export interface ImportReject {
  row: number;
  line: number;
  /** Input column at fault; '' when the row as a whole is. */
  column: string;
  reason: string;
}

export interface ImportResult {
  /** Data rows read (header excluded). */
  rows: number;
  profiles: number;
  outDir: string;
  /** Output file names inside `outDir`, in order. */
  files: string[];
  rejected: number;
  /** Set when at least one row was rejected. */
  rejectsFile?: string;
  /** The first rejected rows (at most `REJECTS_SHOWN`); all of them are in the rejects file. */
  rejects: ImportReject[];
}

export const DEFAULT_SHARD_SIZE = 5000;
export const REJECTS_SHOWN = 100;

/**
 * Runs the import. Throws `FynoSyncError('import.invalid')` — with nothing written — when the
 * output directory is not empty, the input cannot be read, or the mapping names columns the
 * input lacks (`details.issues`, one per column, at the mapping line that names it).
 */
export async function importFile(o: ImportOptions): Promise<ImportResult> {
  const shardSize = o.shardSize ?? DEFAULT_SHARD_SIZE;
  const format = o.format ?? formatOf(o.input);
  const inputName = o.display?.input ?? path.basename(o.input);
  const mappingName = o.display?.mapping ?? path.basename(o.mapping.file);
  const outDir = path.resolve(o.outDir);
  const rejectsFile = path.resolve(o.rejectsFile);
  const replacing = await checkOutDir(outDir, Boolean(o.force));
  await stat(o.input).catch(() => {
    throw new FynoSyncError('import.invalid', `cannot read ${inputName}: no such file`, { file: inputName });
  });

  if (rejectsFile === outDir || rejectsFile.startsWith(`${outDir}${path.sep}`)) {
    throw new FynoSyncError('import.invalid', 'the rejects file must not be inside the output directory (validate would read it with the profiles)', { file: rejectsFile });
  }
  await mkdir(path.dirname(outDir), { recursive: true }).catch(() => undefined);
  const tmpDir = await mkdtemp(path.join(path.dirname(outDir), `.${path.basename(outDir)}.importing-`)).catch((e: unknown) => {
    throw fsError(e, `cannot create the output directory beside ${outDir}`);
  });
  // mkdtemp makes the directory private (0700); the output is an ordinary directory.
  await chmod(tmpDir, 0o755);
  const tmpRejects = path.join(tmpDir, '.rejects.csv');
  let header: string[] = format === 'jsonl' ? ['record'] : [];
  // Base names only in the files: the output must not depend on where the input lives.
  const listEntries: Record<string, unknown>[] = [];
  const listKeys = new Set<string>();
  const schemaRef = schemaRefFrom(outDir);
  const shards = new ShardWriter(tmpDir, shardSize, { input: path.basename(inputName), mapping: path.basename(mappingName) }, o.mapping.defaults, schemaRef);
  const rejects = new RejectsWriter(tmpRejects, () => header);
  const shown: ImportReject[] = [];
  /** distinct_id → the row that first had it: positive when that row was written, negative when rejected. */
  const firstRow = new Map<string, number>();
  /** JSONL has no header: a mapped key must appear in at least one line. */
  const seenKeys = new Set<string>();
  let rows = 0;
  let mappedRows = 0;
  let done = false;

  const reject = async (r: ImportReject & { fields: string[] }) => {
    if (shown.length < REJECTS_SHOWN) shown.push({ row: r.row, line: r.line, column: r.column, reason: r.reason });
    await rejects.add(r);
  };

  try {
    const delimiter = o.delimiter ?? o.mapping.delimiter;
    for await (const ev of readInput(o.input, { format, name: inputName, ...(delimiter ? { delimiter } : {}) })) {
      if (o.signal?.aborted) throw new FynoSyncError('import.invalid', 'import interrupted; nothing was written', { interrupted: true });
      if (ev.type === 'header') {
        header = ev.columns;
        const issues = missingColumns(o.mapping, header, inputName, didYouMean);
        if (issues.length > 0) throw columnsError(issues, inputName);
        continue;
      }
      rows += 1;
      if (o.onProgress && rows % 1000 === 0) o.onProgress(rows);
      if (ev.type === 'bad') {
        await reject({ ...ev, fields: maskTokens(ev.fields, header, o.mapping) });
        continue;
      }
      mappedRows += 1;
      const get = format === 'jsonl' ? trackKeys(ev.get, seenKeys) : ev.get;
      const mapped = mapRecord(o.mapping, get);
      const id = 'profile' in mapped ? (mapped.profile.distinct_id as string) : mapped.distinct_id;
      const first = id === undefined ? undefined : firstRow.get(id);
      if (id !== undefined && first !== undefined) {
        const kept = first > 0 ? 'which is kept' : 'itself rejected';
        await reject({ row: ev.row, line: ev.line, column: o.mapping.id.column, reason: `duplicate distinct_id "${id}" (first in row ${Math.abs(first)}, ${kept})`, fields: maskTokens(ev.fields, header, o.mapping) });
        continue;
      }
      if (id !== undefined) firstRow.set(id, 'profile' in mapped ? ev.row : -ev.row);
      if ('problems' in mapped) {
        await reject({
          row: ev.row,
          line: ev.line,
          column: [...new Set(mapped.problems.map((p) => p.column))].join('; '),
          reason: mapped.problems.map((p) => p.reason).join('; '),
          fields: maskTokens(ev.fields, header, o.mapping),
        });
        continue;
      }
      await shards.add(mapped.profile);
      // Rows that share a destination name the same entry: listed once (the loader refuses twice).
      for (const e of mapped.suppressions ?? []) {
        const channel = String(e.channel);
        const k = suppressionKey(e.distinct_id !== undefined ? { channel, key: 'distinct_id', value: String(e.distinct_id) } : { channel, key: 'destination', value: channelValueKey(channel, String(e.destination)) });
        if (listKeys.has(k)) continue;
        listKeys.add(k);
        listEntries.push(escapeEnvDeep(e));
      }
    }
    if (format === 'jsonl' && mappedRows > 0) {
      const issues = missingColumns(o.mapping, [...seenKeys], inputName, didYouMean);
      if (issues.length > 0) throw columnsError(issues, inputName);
    }
    const files = await shards.close();
    if (o.mapping.suppressions.length > 0) {
      const comment = `Generated by fyno-sync import from ${path.basename(inputName)} with ${path.basename(mappingName)}: the suppression list entries of ${listEntries.length} row(s).`;
      await writeFile(path.join(tmpDir, SUPPRESSIONS_FILE), suppressionsYaml(listEntries, comment, schemaRef), 'utf8');
      files.push(SUPPRESSIONS_FILE);
    }
    const anyRejects = await rejects.close();

    // Put the complete result in place: old directory aside, new one in, old one removed.
    if (anyRejects) await rename(tmpRejects, rejectsFile);
    await putDirInPlace(tmpDir, outDir, replacing);
    done = true;
    return {
      rows,
      profiles: shards.profiles,
      outDir,
      files,
      rejected: rejects.count,
      ...(anyRejects ? { rejectsFile } : {}),
      rejects: shown,
    };
  } catch (e) {
    throw fsError(e, 'the import failed; nothing was written');
  } finally {
    if (!done) {
      await rejects.close().catch(() => undefined);
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
}

/** File-system failures (permissions, a full disk) become one-line errors, not internal ones. */
function fsError(e: unknown, what: string): unknown {
  if (isFynoSyncError(e)) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return e;
  const detail = messageOf(e);
  return new FynoSyncError('import.invalid', `${what}: ${detail}`, { errno: code }, { cause: e });
}

/** True when `dir` exists (and may be replaced); throws when it must not be touched. */
async function checkOutDir(dir: string, force: boolean): Promise<boolean> {
  let entries: string[];
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new FynoSyncError('import.invalid', `${dir} exists and is not a directory`, { dir });
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(e, `cannot use ${dir} as the output directory`);
  }
  if (entries.length > 0 && !force) {
    throw new FynoSyncError('import.invalid', `output directory ${dir} is not empty; pass --force to replace it, or choose another with -o`, { dir });
  }
  return true;
}

function columnsError(issues: ValidationIssue[], inputName: string): FynoSyncError {
  const names = issues.map((i) => `"${/column "(.*?)"/.exec(i.message)?.[1] ?? ''}"`);
  return new FynoSyncError(
    'import.invalid',
    `the mapping names ${issues.length === 1 ? 'a column' : `${issues.length} columns`} not in ${inputName} (${[...new Set(names)].join(', ')}); nothing was written`,
    { issues },
  );
}

function trackKeys(get: (c: string) => Cell, seen: Set<string>): (c: string) => Cell {
  return (c) => {
    const v = get(c);
    if (v !== undefined) seen.add(c);
    return v;
  };
}

/** Push and in-app tokens are credentials: never copied into the rejects file. */
function maskTokens(fields: string[], header: string[], m: ImportMapping): string[] {
  if (m.tokens.length === 0) return fields;
  const tokenCols = new Set(m.tokens.flatMap((t) => t.sources.map((s) => s.column)));
  if (fields.length === 0) return fields;
  if (header.length === 1 && header[0] === 'record') return ['(JSONL line not copied: it holds push/in-app tokens)'];
  if (fields.length !== header.length) return ['(fields not copied: they do not line up with the header and may hold push/in-app tokens)'];
  return fields.map((f, i) => (tokenCols.has(header[i] ?? '') && f !== '' ? '(token hidden)' : f));
}
