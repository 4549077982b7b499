/** `fyno-sync validate PATH…`: offline checks of desired state; never talks to Fyno. */
import type { Command } from 'commander';
import { formatIssue, loadDesired } from '../../desired/load.js';
import { FynoSyncError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { writeEnvelope, writeLine, type CliIO } from '../output.js';

interface ValidateFlags {
  json?: boolean;
  maxFileSize?: number;
}

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('Check desired-state files offline: YAML, schema, values, duplicate ids, merges')
    .argument('<paths...>', 'desired-state files, directories or globs')
    .option('--json', 'print one JSON document: { status, command, profiles, files, error? } (docs/json.md)')
    .option('--max-file-size <MB>', 'refuse files larger than this many megabytes (default 20)', megabytes)
    .action(async (paths: string[], flags: ValidateFlags) => {
      ctx.setExitCode(await runValidate(ctx.io, paths, flags));
    });
}

export async function runValidate(io: CliIO, paths: string[], flags: ValidateFlags): Promise<number> {
  const { state, issues } = await loadDesired(paths, {
    env: io.env,
    cwd: io.cwd,
    ...(flags.maxFileSize !== undefined ? { maxFileBytes: flags.maxFileSize } : {}),
  });
  const profiles = state.profiles.length;
  const files = state.files.length;
  if (issues.length === 0) {
    if (flags.json) writeEnvelope(io.stdout, 'validate', 'ok', { profiles, files });
    else {
      const n = state.suppressions?.entries.length;
      const list = n === undefined ? '' : ` and ${n} suppression list entr${n === 1 ? 'y' : 'ies'}`;
      writeLine(io.stdout, `${count(profiles, 'profile')}${list} in ${count(files, 'file')} ${profiles === 1 && list === '' ? 'is' : 'are'} valid`);
    }
    return EXIT.ok;
  }
  const badFiles = new Set(issues.map((i) => i.file)).size;
  const message = `${count(issues.length, 'error')} in ${count(badFiles, 'file')}`;
  if (flags.json) {
    writeEnvelope(io.stdout, 'validate', 'error', { profiles, files }, { code: 'desired.invalid', message, issues });
  } else {
    for (const i of issues) writeLine(io.stderr, formatIssue(i));
    writeLine(io.stderr, `${message}; the desired state is not valid`);
  }
  return EXIT.error;
}

function count(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function megabytes(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new FynoSyncError('config.invalid', `--max-file-size must be a number of megabytes > 0, got '${v}'`, { option: '--max-file-size' });
  }
  return Math.floor(n * 1024 * 1024);
}
