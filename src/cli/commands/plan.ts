/** `fyno-sync plan PATH…`: read live state, print the operations, optionally save the plan. */
import path from 'node:path';
import type { Command } from 'commander';
import { changedSince, createPlan } from '../../create-plan.js';
import { FynoSyncError } from '../../errors.js';
import { openPlanOutput } from '../../plan-output.js';
import { renderJsonChunks } from '../../plan/render/json.js';
import { renderMarkdown } from '../../plan/render/markdown.js';
import { renderTextChunks } from '../../plan/render/text.js';
import type { Plan } from '../../plan/types.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { colourFor, createStyle, envelopeChunks, writeLine, type CliIO, type JsonError, type JsonStatus } from '../output.js';
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
  // The plan's JSON Patch and its operations wait on disk, written while live state is still
  // being read, until the plan is written out (issue #17).
  const outFile = flags.out !== undefined ? path.resolve(io.cwd, flags.out) : undefined;
  const output = openPlanOutput({
    ...(outFile !== undefined ? { outFile } : {}),
    format: flags.json ? 'json' : flags.markdown ? 'markdown' : 'text',
    text: { style: createStyle(colourFor(io.stdoutIsTTY, io.env, !flags.color)) },
  });
  try {
    // Nowhere to write the plan: said before a single read.
    await output.opened();
    let plan: Plan;
    try {
      ({ plan } = await createPlan({ api, now: () => new Date() }, desired, {
        destination: target,
        cwd: io.cwd,
        concurrency: flags.concurrency,
        // Nothing here needs live state after diffing: drop each snapshot once its profile is planned.
        keepSnapshots: false,
        // Nor the desired profiles, nor (but for Markdown) the operations once written ahead.
        releaseDesired: true,
        ...output.planOptions,
        ...(flags.target ? { target: flags.target } : {}),
        ...(flags.exclude ? { exclude: flags.exclude } : {}),
        ...(incremental ? { only: incremental.only, scope: incremental.scope } : {}),
        ...(flags.shard ? { shard: flags.shard } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: (done, total) => progress.update(done, total),
      }));
    } catch (e) {
      progress.stop();
      if (io.signal?.aborted) return reportInterruptedRead(io, Boolean(flags.json), 'no plan was made', 'plan');
      throw e;
    } finally {
      progress.stop();
    }

    await output.savePlan(plan);
    if (desired.suppressions && !plan.suppression_list) {
      writeLine(io.stderr, 'warning: the files manage the suppression list, but a plan narrowed by --target, --exclude, --shard or --changed-since leaves it out; plan without them to change it');
    }

    const count = plan.summary.operations;
    if (flags.markdown) await renderPlanOutput(io, plan, { ...flags, command: 'plan' });
    else if (flags.json) await writeChunks(io.stdout, envelopeChunks('plan', planStatus(plan, count), await output.jsonDocument(plan), planError(plan)));
    else await writeChunks(io.stdout, output.text(plan));
    if (flags.out && count > 0 && plan.issues.length === 0) {
      // As terraform does: the reviewed file, and the exact command that applies it.
      const hint = `Saved the plan to ${flags.out}. To apply exactly these operations, run:\n  ${applyCommandFor(plan, flags.out)}`;
      if (flags.json || flags.markdown) writeLine(io.stderr, hint);
      else writeLine(io.stdout, `\n${hint}`);
    }

    if (plan.issues.length > 0) return EXIT.error;
    if (flags.detailedExitcode && count > 0) return EXIT.changes;
    return EXIT.ok;
  } finally {
    await output.close();
  }
}

/** `fyno-sync apply --plan F`, with the flags that plan needs (deletes are refused without one). */
export function applyCommandFor(plan: Plan, file: string): string {
  const quoted = /^[\w./@:+-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
  const deletes = (plan.summary.by_type['profile.delete'] ?? 0) > 0;
  return `fyno-sync apply --plan ${quoted}${deletes ? ' --allow-delete' : ''}`;
}

/** `status` of a plan's `--json` document: `error` when it cannot be applied, `changes` when it has operations (`count`). */
export function planStatus(plan: Plan, count = plan.operations.length): JsonStatus {
  return plan.issues.length > 0 ? 'error' : count > 0 ? 'changes' : 'ok';
}

/** The `error` of a plan's `--json` document, when it has issues. */
function planError(plan: Plan): JsonError | undefined {
  return plan.issues.length > 0 ? { code: 'plan.conflict', message: `the plan has ${plan.issues.length} issue(s) and cannot be applied`, issues: plan.issues } : undefined;
}

/**
 * A plan on stdout as `plan` and `show` print it: text (coloured on a TTY), Markdown, or the
 * plan's JSON document inside the `--json` envelope (the same renderer as the saved plan file).
 */
export async function renderPlanOutput(io: CliIO, plan: Plan, o: { json?: boolean | undefined; markdown?: boolean | undefined; color: boolean; command: string }): Promise<void> {
  if (o.json) {
    await writeChunks(io.stdout, envelopeChunks(o.command, planStatus(plan), renderJsonChunks(plan), planError(plan)));
  } else if (o.markdown) io.stdout.write(renderMarkdown(plan));
  else await writeChunks(io.stdout, renderTextChunks(plan, { style: createStyle(colourFor(io.stdoutIsTTY, io.env, !o.color)) }));
}
