/** `fyno-sync import FILE --mapping MAP.yaml`: a CRM export → desired-state YAML shards (issue #6). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { FynoSyncError, isFynoSyncError } from '../../errors.js';
import { formatIssue } from '../../desired/load.js';
import type { ValidationIssue } from '../../desired/types.js';
import { DEFAULT_SHARD_SIZE, importFile, type ImportResult } from '../../import/import.js';
import { parseMapping } from '../../import/mapping.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { writeEnvelope, writeLine, type CliIO } from '../output.js';
import { positiveInt } from './common.js';

interface ImportFlags {
  mapping: string;
  out: string;
  shardSize: number;
  rejects?: string;
  allowRejects?: boolean;
  delimiter?: string;
  format?: 'csv' | 'jsonl';
  force?: boolean;
  json?: boolean;
}

/** Rejected rows printed on stderr; the rest are in the rejects file. */
const REJECTS_PRINTED = 20;

const DELIMITERS: Record<string, string> = { ',': ',', ';': ';', '|': '|', tab: '\t', '\\t': '\t', '\t': '\t' };

export function registerImport(program: Command, ctx: CommandContext): void {
  program
    .command('import')
    .description('Turn a CRM export (CSV or JSONL) into desired-state YAML files, using a mapping file')
    .argument('<file>', 'the export: .csv, or .jsonl / .ndjson (one JSON object per line)')
    .requiredOption('-m, --mapping <file>', 'the mapping YAML (schemas/import-mapping.schema.json)')
    .option('-o, --out <dir>', 'output directory, absent or empty (or use --force)', 'profiles')
    .option('--shard-size <n>', 'profiles per output file', positiveInt('--shard-size'), DEFAULT_SHARD_SIZE)
    .option('--rejects <file>', 'CSV of rejected rows (default: rejects.csv beside the output directory)')
    .option('--allow-rejects', 'exit 0 even when rows were rejected')
    .option('--delimiter <char>', 'CSV delimiter: , ; | or tab (default: detected from the header line)')
    .addOption(new Option('--format <format>', 'input format (default: from the file extension)').choices(['csv', 'jsonl']))
    .option('--force', 'replace a non-empty output directory')
    .option('--json', 'print the result as one JSON document')
    .action(async (file: string, flags: ImportFlags) => {
      ctx.setExitCode(await runImport(ctx.io, file, flags));
    });
}

export async function runImport(io: CliIO, file: string, flags: ImportFlags): Promise<number> {
  const json = Boolean(flags.json);
  const rel = (p: string) => path.relative(io.cwd, p) || '.';
  const input = path.resolve(io.cwd, file);
  const mappingPath = path.resolve(io.cwd, flags.mapping);
  const outDir = path.resolve(io.cwd, flags.out);
  const rejectsFile = path.resolve(io.cwd, flags.rejects ?? path.join(path.dirname(outDir), 'rejects.csv'));
  let delimiter: string | undefined;
  if (flags.delimiter !== undefined) {
    delimiter = DELIMITERS[flags.delimiter];
    if (!delimiter) throw new FynoSyncError('config.invalid', `--delimiter must be one of , ; | tab, got '${flags.delimiter}'`, { option: '--delimiter' });
  }

  let text: string;
  try {
    text = await readFile(mappingPath, 'utf8');
  } catch {
    throw new FynoSyncError('import.invalid', `cannot read the mapping file ${flags.mapping}`, { file: flags.mapping });
  }
  const parsed = parseMapping(flags.mapping, text);
  if ('issues' in parsed) failWithIssues(io, json, parsed.issues, `${plural(parsed.issues.length, 'error')} in the mapping ${flags.mapping}; nothing was written`);

  let result: ImportResult;
  try {
    result = await importFile({
      input,
      mapping: parsed.mapping,
      outDir,
      rejectsFile,
      shardSize: flags.shardSize,
      force: Boolean(flags.force),
      display: { input: file, mapping: flags.mapping },
      ...(flags.format ? { format: flags.format } : {}),
      ...(delimiter ? { delimiter } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (e) {
    if (isFynoSyncError(e) && Array.isArray(e.details.issues) && !json) {
      for (const i of e.details.issues as ValidationIssue[]) writeLine(io.stderr, formatIssue(i));
    }
    if (isFynoSyncError(e) && e.details.interrupted === true) {
      if (!json) writeLine(io.stderr, e.message);
      return EXIT.interrupted;
    }
    throw e;
  }

  const failed = result.rejected > 0 && !flags.allowRejects;
  if (json) {
    writeEnvelope(io.stdout, 'import', failed ? 'error' : 'ok', {
      rows: result.rows,
      profiles: result.profiles,
      out_dir: rel(result.outDir),
      files: result.files,
      rejected: result.rejected,
      ...(result.rejectsFile ? { rejects_file: rel(result.rejectsFile) } : {}),
      rejects: result.rejects,
    }, failed ? { code: 'import.rejected', message: `${plural(result.rejected, 'row')} rejected; fix them and import again, or pass --allow-rejects` } : undefined);
  } else {
    for (const r of result.rejects.slice(0, REJECTS_PRINTED)) {
      writeLine(io.stderr, `${file}: row ${r.row} (line ${r.line})${r.column ? `, column "${r.column}"` : ''}: ${r.reason}`);
    }
    if (result.rejected > REJECTS_PRINTED) writeLine(io.stderr, `… and ${num(result.rejected - REJECTS_PRINTED)} more rejected rows in ${rel(result.rejectsFile!)}`);
    const rejected = result.rejected > 0 ? ` (${plural(result.rejected, 'row')} rejected → ${rel(result.rejectsFile!)})` : '';
    writeLine(io.stdout, `Imported ${plural(result.profiles, 'profile')} into ${plural(result.files.length, 'file')}${rejected}`);
    if (failed) writeLine(io.stderr, 'Exit status 1 because rows were rejected; fix them and import again, or pass --allow-rejects to accept the import without them.');
  }
  return failed ? EXIT.error : EXIT.ok;
}

function failWithIssues(io: CliIO, json: boolean, issues: ValidationIssue[], message: string): never {
  if (!json) for (const i of issues) writeLine(io.stderr, formatIssue(i));
  throw new FynoSyncError('import.invalid', message, { issues });
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function plural(n: number, word: string): string {
  return `${num(n)} ${word}${n === 1 ? '' : 's'}`;
}
