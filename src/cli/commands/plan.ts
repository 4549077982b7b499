/** `fyno-sync plan PATH…`: read live state, print the operations, optionally save the plan. */
import path from 'node:path';
import type { Command } from 'commander';
import { changedSince, createPlan } from '../../create-plan.js';
import { FynoSyncError } from '../../errors.js';
import { OperationSpool, writePlanFile } from '../../apply/kept-plan.js';
import { renderJsonChunks } from '../../plan/render/json.js';
import { renderMarkdown } from '../../plan/render/markdown.js';
import { renderTextChunks } from '../../plan/render/text.js';
import type { Plan } from '../../plan/types.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { colourFor, createStyle, envelopeChunks, writeLine, type CliIO, type JsonStatus } from '../output.js';
import { createProgress } from '../progress.js';
import { addRateOptions, addShardOption, addTargetOptions, connect, loadDesiredOrFail, limitHeapGrowth, reportInterruptedRead, shardRate, writeChunks, type RateOpts, type TargetOpts } from './common.js';
import type { Shard } from '../../plan/shard.js';
import { openDriftSpool } from '../../drift-spool.js';

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
    .option('--json', 'print the plan as one JSON document: the envelope (status, command) and the plan (format_version, summary, operations); docs/json.md')
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
  // The plan's JSON Patch waits on disk until the plan is written out (issue #17).
  const drift = openDriftSpool();
  try {
    const outFile = flags.out !== undefined ? path.resolve(io.cwd, flags.out) : undefined;
    // The plan file's operations are written while live state is still being read.
    const spool = outFile !== undefined ? new OperationSpool(outFile) : undefined;
    let plan: Plan;
    try {
      ({ plan } = await createPlan({ api, now: () => new Date() }, desired, {
        destination: target,
        cwd: io.cwd,
        concurrency: flags.concurrency,
        // Nothing here needs live state after diffing: drop each snapshot once its profile is planned.
        keepSnapshots: false,
        // Nor the desired profiles: the plan's operations take their place in memory.
        releaseDesired: true,
        driftSpool: drift,
        ...(flags.target ? { target: flags.target } : {}),
        ...(flags.exclude ? { exclude: flags.exclude } : {}),
        ...(incremental ? { only: incremental.only, scope: incremental.scope } : {}),
        ...(flags.shard ? { shard: flags.shard } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: (done, total) => progress.update(done, total),
        ...(spool ? { onOperations: (ops) => spool.add(ops) } : {}),
      }));
    } catch (e) {
      progress.stop();
      await spool?.discard();
      if (io.signal?.aborted) return reportInterruptedRead(io, Boolean(flags.json), 'no plan was made', 'plan');
      throw e;
    } finally {
      progress.stop();
    }

    if (outFile !== undefined) await writePlanFile(outFile, plan, spool);
    if (desired.suppressions && !plan.suppression_list) {
      writeLine(io.stderr, 'warning: the files manage the suppression list, but a plan narrowed by --target, --exclude, --shard or --changed-since leaves it out; plan without them to change it');
    }

    await renderPlanOutput(io, plan, { ...flags, command: 'plan' });
    if (flags.out && plan.operations.length > 0 && plan.issues.length === 0) {
      // As terraform does: the reviewed file, and the exact command that applies it.
      const hint = `Saved the plan to ${flags.out}. To apply exactly these operations, run:\n  ${applyCommandFor(plan, flags.out)}`;
      if (flags.json || flags.markdown) writeLine(io.stderr, hint);
      else writeLine(io.stdout, `\n${hint}`);
    }

    if (plan.issues.length > 0) return EXIT.error;
    if (flags.detailedExitcode && plan.operations.length > 0) return EXIT.changes;
    return EXIT.ok;
  } finally {
    drift.close();
  }
}

/** `fyno-sync apply --plan F`, with the flags that plan needs (deletes are refused without one). */
export function applyCommandFor(plan: Plan, file: string): string {
  const quoted = /^[\w./@:+-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
  const deletes = plan.operations.some((op) => op.type === 'profile.delete');
  return `fyno-sync apply --plan ${quoted}${deletes ? ' --allow-delete' : ''}`;
}

/** `status` of a plan's `--json` document: `error` when it cannot be applied, `changes` when it has operations. */
export function planStatus(plan: Plan): JsonStatus {
  return plan.issues.length > 0 ? 'error' : plan.operations.length > 0 ? 'changes' : 'ok';
}

/**
 * A plan on stdout as `plan` and `show` print it: text (coloured on a TTY), Markdown, or the
 * plan's JSON document inside the `--json` envelope (the same renderer as the saved plan file).
 */
export async function renderPlanOutput(io: CliIO, plan: Plan, o: { json?: boolean | undefined; markdown?: boolean | undefined; color: boolean; command: string }): Promise<void> {
  if (o.json) {
    const status = planStatus(plan);
    const error = status === 'error' ? { code: 'plan.conflict', message: `the plan has ${plan.issues.length} issue(s) and cannot be applied`, issues: plan.issues } : undefined;
    await writeChunks(io.stdout, envelopeChunks(o.command, status, renderJsonChunks(plan), error));
  } else if (o.markdown) io.stdout.write(renderMarkdown(plan));
  else await writeChunks(io.stdout, renderTextChunks(plan, { style: createStyle(colourFor(io.stdoutIsTTY, io.env, !o.color)) }));
}
