/** `fyno-sync plan PATH…`: read live state, print the operations, optionally save the plan. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { changedSince, createPlan } from '../../create-plan.js';
import { FynoSyncError } from '../../errors.js';
import { serializePlanChunks } from '../../plan/plan-file.js';
import { renderJsonChunks } from '../../plan/render/json.js';
import { renderMarkdown } from '../../plan/render/markdown.js';
import { renderTextChunks } from '../../plan/render/text.js';
import type { Plan } from '../../plan/types.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { colourFor, createStyle, type CliIO } from '../output.js';
import { createProgress } from '../progress.js';
import { addRateOptions, addShardOption, addTargetOptions, connect, loadDesiredOrFail, limitHeapGrowth, reportInterruptedRead, shardRate, writeChunks, type RateOpts, type TargetOpts } from './common.js';
import type { Shard } from '../../plan/shard.js';

interface PlanFlags extends TargetOpts, RateOpts {
  out?: string;
  json?: boolean;
  markdown?: boolean;
  detailedExitcode?: boolean;
  target?: string[];
  exclude?: string[];
  shard?: Shard;
  changedSince?: string;
  color: boolean;
}

export function registerPlan(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('plan')
    .description('Read live state of the profiles the files name and show the operations that would make it match')
    .argument('<paths...>', 'desired-state files, directories or globs')
    .option('-o, --out <file>', 'save the plan (for `apply --plan`); secrets are stored as hashes only')
    .option('--json', 'print the plan as one JSON document (format_version, summary, operations)')
    .option('--markdown', 'print the plan as Markdown for a pull-request comment (< 60,000 characters)')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are, 1 on error')
    .option('--target <id...>', 'only these distinct_ids (globs allowed)')
    .option('--exclude <id...>', 'leave out these distinct_ids (globs allowed)')
    .option('--changed-since <ref>', 'plan only profiles whose desired state differs from git revision REF (plus their merge sources); unchanged ones are not read');
  addTargetOptions(cmd);
  addRateOptions(cmd);
  addShardOption(cmd);
  cmd.action(async (paths: string[], flags: PlanFlags) => {
    ctx.setExitCode(await runPlan(ctx.io, paths, flags));
  });
}

export async function runPlan(io: CliIO, paths: string[], flags: PlanFlags): Promise<number> {
  if (flags.json && flags.markdown) throw new FynoSyncError('config.invalid', '--json and --markdown cannot be combined');
  limitHeapGrowth();
  const desired = await loadDesiredOrFail(io, paths, { json: Boolean(flags.json) });
  const incremental = flags.changedSince !== undefined ? await changedSince(desired, paths, flags.changedSince, { env: io.env, cwd: io.cwd }) : undefined;
  if (incremental?.warning) io.stderr.write(`${incremental.warning}\n`);
  const { api, target } = connect(io, shardRate(flags));
  const progress = createProgress(io, 'Reading live state', { silent: Boolean(flags.json) });
  let plan: Plan;
  try {
    ({ plan } = await createPlan({ api, now: () => new Date() }, desired, {
      destination: target,
      concurrency: flags.concurrency,
      // Nothing here needs live state after diffing: drop each snapshot once its profile is planned.
      keepSnapshots: false,
      // Nor the desired profiles: the plan's operations take their place in memory.
      releaseDesired: true,
      ...(flags.target ? { target: flags.target } : {}),
      ...(flags.exclude ? { exclude: flags.exclude } : {}),
      ...(incremental ? { only: incremental.only, scope: incremental.scope } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (done, total) => progress.update(done, total),
    }));
  } catch (e) {
    progress.stop();
    if (io.signal?.aborted) return reportInterruptedRead(io, Boolean(flags.json), 'no plan was made');
    throw e;
  } finally {
    progress.stop();
  }

  if (flags.out) await writePlanFile(path.resolve(io.cwd, flags.out), plan);

  if (flags.json) await writeChunks(io.stdout, renderJsonChunks(plan));
  else if (flags.markdown) io.stdout.write(renderMarkdown(plan));
  else await writeChunks(io.stdout, renderTextChunks(plan, { style: createStyle(colourFor(io.stdoutIsTTY, io.env, !flags.color)) }));

  if (plan.issues.length > 0) return EXIT.error;
  if (flags.detailedExitcode && plan.operations.length > 0) return EXIT.changes;
  return EXIT.ok;
}

/** Write-then-rename, so a crash never leaves half a plan where a whole one is expected. */
export async function writePlanFile(file: string, plan: Plan): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    // In pieces: a plan of a million operations is never one string in memory.
    await pipeline(Readable.from(serializePlanChunks(plan)), createWriteStream(tmp, { mode: 0o600 }));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    // A user's path problem (no such directory, a directory in the way), not an internal error.
    const code = (e as NodeJS.ErrnoException).code;
    throw new FynoSyncError('config.invalid', `cannot write the plan to ${file}: ${code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`, { file });
  }
}
