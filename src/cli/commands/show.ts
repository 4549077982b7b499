/** `fyno-sync show plan.json`: render a saved plan again (the artifact reviewed in CI), as `plan` prints it. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FynoSyncError } from '../../errors.js';
import { parsePlan } from '../../plan/plan-file.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import type { CliIO } from '../output.js';
import { renderPlanOutput } from './plan.js';

interface ShowFlags {
  json?: boolean;
  markdown?: boolean;
  color: boolean;
}

export function registerShow(program: Command, ctx: CommandContext): void {
  program
    .command('show')
    .description('Render a saved plan (from `plan --out`) again: as text, --json or --markdown; reads no live state')
    .argument('<plan>', 'the plan file')
    .option('--json', 'print the plan as one JSON document, exactly as `plan --json` does (docs/json.md)')
    .option('--markdown', 'print the plan as Markdown for a pull-request comment (< 60,000 characters)')
    .action(async (file: string, flags: ShowFlags) => {
      ctx.setExitCode(await runShow(ctx.io, file, flags));
    });
}

export async function runShow(io: CliIO, file: string, flags: ShowFlags): Promise<number> {
  if (flags.json && flags.markdown) throw new FynoSyncError('config.invalid', '--json and --markdown cannot be combined');
  let text: string;
  try {
    text = await readFile(path.resolve(io.cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FynoSyncError('plan.invalid', `cannot read plan ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`, { file });
  }
  const plan = parsePlan(text, file);
  await renderPlanOutput(io, plan, { ...flags, command: 'show' });
  return plan.issues.length > 0 ? EXIT.error : EXIT.ok;
}
