/**
 * `fyno-sync apply [PATH… | --plan FILE | --resume]`: execute a plan.
 *
 * The command only wires things together: the plan comes from `createPlan` (fresh) or a saved
 * file, `applyPlan` executes it verbatim (src/apply), and this file renders progress and the
 * summary. Every run keeps its plan and journal under `<state-dir>/last-apply/` so that
 * `--resume` continues it after a crash, a kill or Ctrl-C.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { applyPlan, checkPlanSafety, openJournal, planRequests, type ApplySummary, type Journal, type SafetyOptions } from '../../apply/index.js';
import { changedSince, createPlan, readsFor } from '../../create-plan.js';
import { FynoSyncError, isFynoSyncError } from '../../errors.js';
import { formatRequest, maskRequest } from '../../fyno/dry-run.js';
import { fetchActual } from '../../fyno/fetch-actual.js';
import type { DesiredState } from '../../desired/types.js';
import type { DistinctId, FynoApi } from '../../fyno/types.js';
import { planProfile } from '../../plan/diff.js';
import { parsePlan, savedPlan } from '../../plan/plan-file.js';
import { renderTextChunks } from '../../plan/render/text.js';
import { collectSecretCandidates, hasSecrets, isSecretRef, redactOperation, resolveSecrets } from '../../plan/secrets.js';
import type { ActualSnapshot, Operation, Plan } from '../../plan/types.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { colourFor, createStyle, writeJson, writeLine, type CliIO } from '../output.js';
import { createProgress } from '../progress.js';
import {
  addRateOptions,
  addShardOption,
  addTargetOptions,
  connect,
  limitHeapGrowth,
  loadDesiredOrFail,
  nonNegativeInt,
  reportInterruptedRead,
  positiveInt,
  shardRate,
  writeChunks,
  type RateOpts,
  type TargetOpts,
} from './common.js';
import type { Shard } from '../../plan/shard.js';
import { writePlanFile } from './plan.js';

interface ApplyFlags extends TargetOpts, RateOpts {
  plan?: string;
  dryRun?: boolean;
  allowDelete?: boolean;
  maxDeletes?: number;
  yes?: boolean;
  resume?: boolean;
  json?: boolean;
  color: boolean;
  verify: boolean;
  verifyTimeout: number;
  stateDir: string;
  changedSince?: string;
  shard?: Shard;
}

export function registerApply(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('apply')
    .description('Execute a plan: fresh from desired-state files, a saved plan (--plan), or the interrupted last run (--resume)')
    .argument('[paths...]', 'desired-state files, directories or globs (plans them first)')
    .option('--plan <file>', 'execute this saved plan verbatim, after checking live state has not drifted')
    .option('--changed-since <ref>', 'with PATHs: plan and apply only profiles whose desired state differs from git revision REF')
    .option('--resume', 'continue the last apply (its plan and journal in --state-dir) without repeating completed operations')
    .option('--dry-run', 'print every request apply would send, with secrets masked; send no write')
    .option('--allow-delete', 'allow profile deletes (state: absent)')
    .option('--max-deletes <n>', 'refuse plans deleting more profiles than this (default: 0, unlimited with --allow-delete)', nonNegativeInt('--max-deletes'))
    .option('-y, --yes', 'do not ask for confirmation (needed without a TTY unless a saved plan is given)')
    .option('--json', 'print the summary as one JSON document')
    .option('--no-verify', 'do not re-read changed profiles to check that they converged')
    .option('--verify-timeout <ms>', 'longest wait for Fyno to apply properties asynchronously', positiveInt('--verify-timeout'), 30_000)
    .option('--state-dir <dir>', 'where the last apply keeps its plan and journal', '.fyno-sync')
    .option('--no-color', 'no colours in the output');
  addTargetOptions(cmd);
  addRateOptions(cmd);
  addShardOption(cmd);
  cmd.action(async (paths: string[], flags: ApplyFlags) => {
    ctx.setExitCode(await runApply(ctx.io, paths, flags));
  });
}

interface Prepared {
  /** The plan with secrets resolved: what is executed. */
  plan: Plan;
  /** The plan as saved (secrets as hashes): what the journal is bound to. */
  saved: Plan;
  desired: DesiredState;
  actual: ReadonlyMap<DistinctId, ActualSnapshot>;
  /** A saved plan: check live state against its fingerprints before writing. */
  checkPreconditions: boolean;
}

export async function runApply(io: CliIO, paths: string[], flags: ApplyFlags): Promise<number> {
  const modes = [paths.length > 0, flags.plan !== undefined, Boolean(flags.resume)].filter(Boolean).length;
  if (modes !== 1) {
    throw new FynoSyncError('config.invalid', 'apply needs exactly one of: desired-state PATHs, --plan FILE, or --resume');
  }
  if (flags.changedSince !== undefined && paths.length === 0) {
    throw new FynoSyncError('config.invalid', '--changed-since applies to desired-state PATHs; a saved or resumed plan keeps the scope it was made with');
  }
  const json = Boolean(flags.json);
  limitHeapGrowth();
  const lastDir = path.resolve(io.cwd, flags.stateDir, 'last-apply');
  const lastPlan = path.join(lastDir, 'plan.json');
  if (flags.shard && paths.length === 0) {
    throw new FynoSyncError('config.invalid', '--shard applies to desired-state PATHs; a saved or resumed plan is already narrowed to its shard');
  }
  const { api, target, requestCounts } = connectCounting(io, shardRate(flags));
  // Refuse what can be refused before reading anything.
  if (paths.length > 0 && !flags.yes && !flags.dryRun && !io.confirm) {
    throw new FynoSyncError('apply.needs_confirmation', 'no TTY to confirm on: pass --yes, or apply a reviewed saved plan with --plan FILE; nothing was written');
  }

  let prepared: Prepared | undefined;
  try {
    prepared =
      paths.length > 0
        ? await prepareFresh(io, api, target, paths, flags)
        : await prepareSaved(io, api, flags.resume ? lastPlan : path.resolve(io.cwd, flags.plan!), json, flags);
  } catch (e) {
    if (io.signal?.aborted) return reportInterruptedRead(io, json, 'nothing was written');
    throw e;
  }
  const { plan, saved, checkPreconditions } = prepared;
  // What apply still needs of the desired state: the protected ids, and the profiles that are
  // re-planned after a merge. The rest of it (100,000 profiles) is not kept while the plan runs.
  const safety = safetyOptions(flags, prepared.desired);
  const merged = new Set(plan.operations.flatMap((op) => (op.type === 'profile.merge' ? [op.distinct_id, op.from] : [])));
  const desiredById = new Map(prepared.desired.profiles.filter((d) => merged.has(d.distinct_id)).map((d) => [d.distinct_id, d] as const));
  prepared = undefined;

  if (plan.operations.length === 0 && plan.issues.length === 0) {
    if (json) writeJson(io.stdout, { status: 'ok', changes: false, summary: emptySummary() });
    else writeLine(io.stdout, 'No changes. Live state matches the desired state; nothing to apply.');
    return EXIT.ok;
  }

  // Every refusal (issues, target, protected, deletes) before the journal or the kept plan of an
  // interrupted run is touched, and before a dry run shows requests a real run would refuse.
  checkPlanSafety(plan, api.target, safety);
  const style = createStyle(colourFor(io.stdoutIsTTY, io.env, !flags.color));
  if (flags.dryRun) return dryRun(io, plan, api.target, json);

  // Confirmation: fresh plans need --yes without a TTY; on a TTY, show the plan and ask.
  if (!flags.yes && !flags.resume) {
    if (io.confirm) {
      await writeChunks(io.stderr, renderTextChunks(plan, { style: createStyle(colourFor(io.stderrIsTTY, io.env, !flags.color)) }));
      if (!(await io.confirm(`Apply these ${plan.operations.length} operations to ${plan.target.workspace} (${plan.target.env})?`))) {
        writeLine(io.stderr, 'Apply cancelled; nothing was written.');
        return EXIT.error;
      }
    } else if (paths.length > 0) {
      throw new FynoSyncError('apply.needs_confirmation', 'no TTY to confirm on: pass --yes, or apply a reviewed saved plan with --plan FILE; nothing was written');
    }
  } else if (!json && paths.length > 0) {
    await writeChunks(io.stdout, renderTextChunks(plan, { style }));
  }

  // Journal: bound to the saved form of the plan, which is also kept for --resume.
  let journal: Journal;
  try {
    if (flags.resume) {
      journal = openJournal(lastDir, saved, { resume: true });
    } else {
      await mkdir(lastDir, { recursive: true });
      journal = openJournal(lastDir, saved);
      await writePlanFile(lastPlan, saved);
    }
  } catch (e) {
    if (isFynoSyncError(e)) throw e;
    // The state dir is the user's setting (a file in the way, no permission): not an internal error.
    const reason = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new FynoSyncError('apply.journal', `cannot keep the apply journal in ${lastDir} (${reason}); check --state-dir; nothing was written`, { dir: lastDir });
  }

  const progress = createProgress(io, 'Applying', { silent: json });
  let done = 0;
  let failed = 0;
  let summary: ApplySummary;
  try {
    summary = await applyPlan(
      plan,
      {
        api,
        journal,
        requestCounts,
        onEvent: (e) => {
          if (e.type === 'op.done' || e.type === 'op.skipped') done += 1;
          else if (e.type === 'op.failed') (done += 1), (failed += 1);
          else return;
          progress.update(done, plan.operations.length, failed > 0 ? `${failed} failed` : undefined);
        },
        replan: (id, snapshot) => replanAfterMerge(desiredById, id, snapshot),
      },
      {
        concurrency: flags.concurrency,
        allowDelete: safety.allowDelete,
        maxDeletes: safety.maxDeletes,
        checkPreconditions,
        protectedIds: safety.protectedIds ?? [],
        ...(flags.verify ? { verify: { timeoutMs: flags.verifyTimeout, intervalMs: 250 } } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
      },
    );
  } finally {
    progress.stop();
    await journal.close();
  }
  return report(io, summary, json, requestCounts());
}

function safetyOptions(flags: ApplyFlags, desired: DesiredState): SafetyOptions {
  const allowDelete = Boolean(flags.allowDelete);
  return {
    allowDelete,
    maxDeletes: flags.maxDeletes ?? (allowDelete ? Number.MAX_SAFE_INTEGER : 0),
    protectedIds: desired.profiles.filter((d) => d.protected).map((d) => d.distinct_id),
  };
}

/** The HTTP client with a per-attempt request counter, so the summary counts retries too. */
function connectCounting(io: CliIO, flags: TargetOpts & RateOpts): ReturnType<typeof connect> & { requestCounts: () => Record<string, number> } {
  const counts: Record<string, number> = {};
  const conn = connect(io, { ...flags, onRequest: (r) => void (counts[`${r.method} ${r.route}`] = (counts[`${r.method} ${r.route}`] ?? 0) + 1) });
  return { ...conn, requestCounts: () => ({ ...counts }) };
}

async function prepareFresh(io: CliIO, api: FynoApi, target: Plan['target'], paths: string[], flags: ApplyFlags): Promise<Prepared> {
  const desired = await loadDesiredOrFail(io, paths, { json: Boolean(flags.json) });
  const incremental = flags.changedSince !== undefined ? await changedSince(desired, paths, flags.changedSince, { env: io.env, cwd: io.cwd }) : undefined;
  if (incremental?.warning) io.stderr.write(`${incremental.warning}\n`);
  const progress = createProgress(io, 'Reading live state', { silent: Boolean(flags.json) });
  try {
    const { plan, actual } = await createPlan({ api, now: () => new Date() }, desired, {
      destination: target,
      concurrency: flags.concurrency,
      // The plan is executed as made; secrets are still in it, so no snapshot is needed later.
      keepSnapshots: false,
      ...(incremental ? { only: incremental.only, scope: incremental.scope } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (d, t) => progress.update(d, t),
    });
    if (plan.issues.length > 0) {
      if (!flags.json) await writeChunks(io.stderr, renderTextChunks(plan));
      throw new FynoSyncError('plan.conflict', `the plan has ${plan.issues.length} issue(s) and cannot be applied; nothing was written`, { issues: plan.issues });
    }
    return { plan, saved: savedPlan(plan, 'plan'), desired, actual, checkPreconditions: false };
  } finally {
    progress.stop();
  }
}

/** The saved plan in `file`, parsed; its text (hundreds of MB for 100,000 profiles) is not kept. */
async function readSavedPlan(io: CliIO, file: string, flags: ApplyFlags): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = flags.resume ? ' (there is no interrupted apply to resume)' : '';
    throw new FynoSyncError('plan.invalid', `cannot read plan ${path.relative(io.cwd, file) || file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}${hint}`, { file });
  }
  return parsePlan(text, path.relative(io.cwd, file) || file);
}

async function prepareSaved(io: CliIO, api: FynoApi, file: string, json: boolean, flags: ApplyFlags): Promise<Prepared> {
  const saved = await readSavedPlan(io, file, flags);
  // The desired state the plan came from: for secret values, protected ids and re-plans after merges.
  const desired = saved.sources.length > 0 ? await loadDesiredOrFail(io, [...saved.sources], { json }) : { profiles: [], files: [] };
  let actual: ReadonlyMap<DistinctId, ActualSnapshot> = new Map();
  let plan = saved;
  // A plan for another target (or one that would be refused anyway) is refused before any read.
  checkPlanSafety(saved, api.target, safetyOptions(flags, desired));
  // Placeholders are resolved per operation from its own profile's values (desired and live, and
  // its merge sources'): only the profiles with such operations are read, not the whole plan.
  const withSecrets = new Set(saved.operations.filter(hasSecrets).map((op) => op.distinct_id));
  if (withSecrets.size > 0) {
    ({ snapshots: actual } = await fetchActual(api, readsFor(desired.profiles.filter((d) => withSecrets.has(d.distinct_id))), {
      concurrency: flags.concurrency,
      ...(io.signal ? { signal: io.signal } : {}),
    }));
    plan = resolveSecrets(saved, collectSecretCandidates(desired, actual, withSecrets));
  }
  return { plan, saved, desired, actual, checkPreconditions: true };
}

/** After a merge the target is re-read; its remaining operations come from the planner again. */
function replanAfterMerge(desiredById: ReadonlyMap<DistinctId, import('../../desired/types.js').DesiredProfile>, id: DistinctId, snapshot: ActualSnapshot): Operation[] {
  const d = desiredById.get(id);
  if (!d) return [];
  // The sources are merged away now: they no longer exist.
  const actual = new Map<DistinctId, ActualSnapshot>([[id, snapshot], ...d.merge_from.map((s) => [s, { profile: null }] as [DistinctId, ActualSnapshot])]);
  return planProfile(d, actual, desiredById).ops;
}

/** Values the saved form of an operation hides: masked in dry-run output. */
function secretValues(plan: Plan): string[] {
  const out = new Set<string>();
  const walk = (orig: unknown, red: unknown): void => {
    if (isSecretRef(red)) {
      if (typeof orig === 'string' || typeof orig === 'number') out.add(String(orig));
      else if (Array.isArray(orig)) for (const x of orig) if (typeof x === 'string' || typeof x === 'number') out.add(String(x));
      return;
    }
    if (Array.isArray(orig) && Array.isArray(red)) orig.forEach((x, i) => walk(x, red[i]));
    else if (orig && red && typeof orig === 'object' && typeof red === 'object') {
      for (const [k, v] of Object.entries(orig)) walk(v, (red as Record<string, unknown>)[k]);
    }
  };
  for (const op of plan.operations) if (hasSecrets(op)) walk(op, redactOperation(op));
  return [...out];
}

function dryRun(io: CliIO, plan: Plan, target: FynoApi['target'], json: boolean): number {
  const secrets = secretValues(plan);
  const specs = planRequests(plan, target).map((s) => maskRequest(s, secrets));
  if (json) {
    writeJson(io.stdout, { status: 'ok', dry_run: true, operations: plan.operations.length, requests: specs.map((s) => ({ method: s.method, path: s.path, query: s.query, body: s.body })) });
  } else {
    writeLine(io.stdout, `Dry run: ${specs.length} request${specs.length === 1 ? '' : 's'} for ${plan.operations.length} operations would be sent; none was.`);
    for (const s of specs) writeLine(io.stdout, formatRequest(s));
  }
  return EXIT.ok;
}

function emptySummary(): Pick<ApplySummary, 'total' | 'succeeded' | 'failed' | 'skipped' | 'notConverged'> {
  return { total: 0, succeeded: 0, failed: 0, skipped: 0, notConverged: 0 };
}

/** `run` counts every request of the command (reading live state too), as Fyno saw them. */
function report(io: CliIO, s: ApplySummary, json: boolean, run: Record<string, number>): number {
  const applying = Object.values(s.requests).reduce((a, b) => a + b, 0);
  const requests = Object.values(run).reduce((a, b) => a + b, 0);
  const reading = requests - applying;
  const code = s.interrupted ? EXIT.interrupted : s.failed > 0 || s.notConverged > 0 || s.journalError ? EXIT.error : EXIT.ok;
  if (json) {
    writeJson(io.stdout, { status: code === EXIT.ok ? 'ok' : s.interrupted ? 'interrupted' : 'failed', summary: s, run_requests: run, run_requests_total: requests });
    return code;
  }
  for (const f of s.failures.slice(0, 50)) writeLine(io.stderr, `failed: ${f.distinct_id}: ${f.op}: ${f.message}`);
  if (s.failures.length > 50) writeLine(io.stderr, `… and ${s.failures.length - 50} more failures (see --json)`);
  for (const d of s.divergences.slice(0, 50)) writeLine(io.stderr, `not converged: ${d.distinct_id}: ${d.field}: ${d.reason}`);
  if (s.journalError) writeLine(io.stderr, `journal: ${s.journalError}`);
  const skipped = s.skipped > 0 ? ` (${[s.alreadyDone ? `${s.alreadyDone} done earlier` : '', s.superseded ? `${s.superseded} re-planned after merges` : ''].filter(Boolean).join(', ') || 'not run'})` : '';
  writeLine(
    io.stdout,
    `${s.interrupted ? 'Apply interrupted' : 'Apply complete'}: ${s.succeeded} succeeded, ${s.failed} failed, ${s.skipped} skipped${skipped}, ${s.notConverged} not converged; ${requests} request${requests === 1 ? '' : 's'} sent${reading > 0 ? ` (${reading} reading live state, ${applying} applying)` : ''}.`,
  );
  if (s.interrupted) writeLine(io.stderr, 'Completed operations are recorded; run `fyno-sync apply --resume` to continue.');
  else if (s.failed > 0) writeLine(io.stderr, 'Failed operations can be retried with `fyno-sync apply --resume`, or plan again.');
  return code;
}
