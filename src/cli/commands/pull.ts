/** `fyno-sync pull ID… | --ids-file F [-o DIR] [--suppressions]`: live profiles (and the suppression list) as desired-state YAML (adoption). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FynoSyncError } from '../../errors.js';
import { schemaRefFrom } from '../../import/write.js';
import { DEFAULT_PULL_FILE_SIZE, parseIdsFile, pullProfiles, pullSuppressions, SUPPRESSIONS_FILE, writePulled, type PulledSuppressions, type PullResult } from '../../pull/index.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { writeEnvelope, writeLine, type CliIO } from '../output.js';
import { createProgress } from '../progress.js';
import { addRateOptions, addTargetOptions, connect, positiveInt, type RateOpts, type TargetOpts } from './common.js';

interface PullFlags extends TargetOpts, RateOpts {
  idsFile?: string;
  out?: string;
  includeTokens?: boolean;
  includePreferences?: boolean;
  force?: boolean;
  fileSize: number;
  json?: boolean;
  suppressions?: boolean;
}

export function registerPull(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('pull')
    .description('Write live profiles as desired-state YAML that plans to no changes (adopt existing profiles)')
    .argument('[ids...]', 'distinct_ids to pull')
    .option('--ids-file <file>', 'read distinct_ids from this file, one per line (# comments and blank lines ignored)')
    .option('-o, --out <dir>', 'write files into this directory, absent or empty (or use --force); default: YAML on stdout')
    .option('--include-tokens', 'also write push and in-app tokens (secrets; without it those channels stay unmanaged)')
    .option('--include-preferences', 'also read and write preferences (the choices Fyno shows; without it they stay unmanaged)')
    .option('--force', 'replace a non-empty output directory')
    .option('--file-size <n>', 'profiles per output file with -o', positiveInt('--file-size'), DEFAULT_PULL_FILE_SIZE)
    .option('--suppressions', `also write the workspace suppression list (${SUPPRESSIONS_FILE}); ids are then optional`)
    .option('--json', 'print the result as one JSON document (the YAML goes to files: needs -o)');
  addTargetOptions(cmd);
  addRateOptions(cmd);
  cmd.action(async (ids: string[], flags: PullFlags) => {
    ctx.setExitCode(await runPull(ctx.io, ids, flags));
  });
}

export async function runPull(io: CliIO, args: string[], flags: PullFlags): Promise<number> {
  const json = Boolean(flags.json);
  if (json && flags.out === undefined) throw new FynoSyncError('config.invalid', '--json prints a summary, so the YAML needs a directory: pass -o DIR');
  const ids = [...args];
  if (flags.idsFile !== undefined) {
    let text: string;
    try {
      text = await readFile(path.resolve(io.cwd, flags.idsFile), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FynoSyncError('pull.invalid', `cannot read ids file ${flags.idsFile}: ${code === 'ENOENT' ? 'no such file' : code ?? 'unreadable'}`, { file: flags.idsFile });
    }
    ids.push(...parseIdsFile(text));
  }
  const outDir = flags.out !== undefined ? path.resolve(io.cwd, flags.out) : undefined;
  const withList = Boolean(flags.suppressions);
  const profilesToo = !withList || ids.length > 0 || flags.idsFile !== undefined;
  if (withList && profilesToo && outDir === undefined) {
    throw new FynoSyncError('config.invalid', `ids and --suppressions make two files (profiles and ${SUPPRESSIONS_FILE}): pass -o DIR`);
  }

  const { api } = connect(io, flags);
  const progress = createProgress(io, 'Reading live profiles', { silent: json || outDir === undefined });
  let result: PullResult = { files: [], pulled: [], notFound: [], omitted: [], reads: 0 };
  let list: PulledSuppressions | undefined;
  // YAML on stdout is saved by the user; most likely here.
  const schemaRef = schemaRefFrom(outDir ?? io.cwd);
  try {
    if (withList) list = await pullSuppressions(api, { schemaRef, ...(io.signal ? { signal: io.signal } : {}) });
    if (profilesToo) result = await pullProfiles(api, ids, {
      includeTokens: Boolean(flags.includeTokens),
      includePreferences: Boolean(flags.includePreferences),
      concurrency: flags.concurrency,
      // On stdout the YAML is one stream: one file.
      fileSize: outDir !== undefined ? flags.fileSize : Number.MAX_SAFE_INTEGER,
      schemaRef,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }

  const files = list ? [...result.files, list.file] : result.files;
  let written: string[] = [];
  if (outDir !== undefined) written = await writePulled(outDir, files, { force: Boolean(flags.force) });
  else for (const f of files) io.stdout.write(f.text);

  const rel = (p: string) => path.relative(io.cwd, p) || '.';
  if (json) {
    const missing = result.notFound.length;
    writeEnvelope(
      io.stdout,
      'pull',
      missing > 0 ? 'error' : 'ok',
      {
        profiles: result.pulled.length,
        out_dir: rel(outDir!),
        files: written.map(rel),
        not_found: result.notFound,
        omitted: result.omitted,
        reads: result.reads + (list?.reads ?? 0),
        ...(list ? { suppressions: { entries: list.entries, omitted: list.omitted } } : {}),
      },
      missing > 0 ? { code: 'api.not_found', message: `${missing} of the ${missing + result.pulled.length} profiles asked for ${missing === 1 ? 'does' : 'do'} not exist in Fyno` } : undefined,
    );
  } else {
    for (const id of result.notFound) writeLine(io.stderr, `not found: ${id}`);
    for (const o of result.omitted) writeLine(io.stderr, `left out ${o.distinct_id} ${o.field}: ${o.reason}`);
    for (const o of list?.omitted ?? []) writeLine(io.stderr, `left out suppression ${o._id} (${o.channel}): ${o.reason}`);
    const listPart = list ? `${profilesToo ? ' and ' : ''}the suppression list (${list.entries} entr${list.entries === 1 ? 'y' : 'ies'})` : '';
    const summary = `Pulled ${profilesToo ? `${result.pulled.length} profile${result.pulled.length === 1 ? '' : 's'}` : ''}${listPart}${outDir !== undefined ? ` into ${rel(outDir)} (${written.length} file${written.length === 1 ? '' : 's'})` : ''}${result.notFound.length > 0 ? `; ${result.notFound.length} not found` : ''}`;
    // On stdout only when stdout is not the YAML itself.
    writeLine(outDir !== undefined ? io.stdout : io.stderr, summary);
  }
  return result.notFound.length > 0 ? EXIT.error : EXIT.ok;
}
