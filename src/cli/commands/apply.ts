/**
 * `fyno-sync apply [PATH… | --plan FILE | --resume]`: execute a plan.
 *
 * The command parses flags, calls `runApplyLifecycle` (src/apply-lifecycle.ts: lock, journal,
 * freshness, secrets, execution, verification), renders its events and outcome, and maps the
 * outcome to an exit code. Every run keeps its plan and journal under `<state-dir>/last-apply/`
 * so that `--resume` continues it after a crash, a kill or Ctrl-C.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { runApplyLifecycle, type ApplyOutcome, type ApplySource, type LifecycleEvent } from '../../apply-lifecycle.js';
import { staleLockNote, type ApplySummary } from '../../apply/index.js';
import type { JournalRecord } from '../../apply/journal.js';
import { FynoSyncError, isFynoSyncError } from '../../errors.js';
import { formatIssue } from '../../desired/load.js';
import type { ValidationIssue } from '../../desired/types.js';
import { formatRequest, maskRequest } from '../../fyno/dry-run.js';
import { scopeLine } from '../../plan/render/describe.js';
import { renderTextChunks } from '../../plan/render/text.js';
import { secretValuesOf } from '../../plan/secrets.js';
import type { Plan } from '../../plan/types.js';
import type { Shard } from '../../plan/shard.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../main.js';
import { colourFor, createStyle, errorDetails, writeEnvelope, writeLine, type CliIO } from '../output.js';
import { createProgress, type Progress } from '../progress.js';
import { addRateOptions, addShardOption, addTargetOptions, connect, targetFor, limitHeapGrowth, nonNegativeInt, positiveInt, reportInterruptedRead, writeChunks, type RateOpts, type TargetOpts } from './common.js';

interface ApplyFlags extends TargetOpts, RateOpts {
  plan?: string;
  dryRun?: boolean;
  allowDelete?: boolean;
  maxDeletes?: number;
  yes?: boolean;
  resume?: boolean;
  discardJournal?: boolean;
  lockTimeout?: number;
  json?: boolean;
  color: boolean;
  verify: boolean;
  verifyTimeout: number;
  stateDir: string;
  changedSince?: string;
  shard?: Shard;
  target?: string[];
  exclude?: string[];
}

/** `--lock-timeout`: `30s`, `2m`, `500ms` or a number of seconds. */
function duration(name: string): (v: string) => number {
  return (v) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
    if (!m) throw new FynoSyncError('config.invalid', `${name} must be a duration such as 30s, 2m or 500ms, got '${v}'`, { option: name });
    const n = Number(m[1]);
    return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
  };
}

export function registerApply(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('apply')
    .description('Execute a plan: fresh from desired-state files, a saved plan (--plan), or the interrupted last run (--resume)')
    .argument('[paths...]', 'desired-state files, directories or globs (plans them first)')
    .option('--plan <file>', 'execute this saved plan verbatim, after checking live state has not drifted')
    .option('--changed-since <ref>', 'with PATHs: plan and apply only profiles whose desired state differs from git revision REF')
    .option('--target <id...>', 'with PATHs: only these distinct_ids (globs allowed)')
    .option('--exclude <id...>', 'with PATHs: leave out these distinct_ids (globs allowed)')
    .option('--resume', 'continue the last apply (its plan, journal and authorising flags in --state-dir) without repeating completed operations')
    .option('--discard-journal', 'drop the journal of an apply that did not finish (what it completed stays applied in Fyno); alone, or before a new apply')
    .option('--dry-run', 'run every check, print every request apply would send (secret values masked), send no write')
    .option('--allow-delete', 'allow profile deletes (state: absent)')
    .option('--max-deletes <n>', 'refuse plans deleting more profiles than this (default: 0, unlimited with --allow-delete)', nonNegativeInt('--max-deletes'))
    .option('-y, --yes', 'do not ask for confirmation (needed without a TTY unless a saved plan is given)')
    .option('--json', 'print the summary as one JSON document')
    .option('--no-verify', 'do not re-read changed profiles to check that they converged')
    .option('--verify-timeout <ms>', 'longest wait for Fyno to apply properties asynchronously', positiveInt('--verify-timeout'), 30_000)
    .option('--state-dir <dir>', 'where the last apply keeps its lock, plan and journal', '.fyno-sync')
    .option('--lock-timeout <duration>', 'wait this long (30s, 2m) for another apply holding --state-dir, instead of refusing at once', duration('--lock-timeout'))
    .option('--no-color', 'no colours in the output');
  addTargetOptions(cmd);
  addRateOptions(cmd);
  addShardOption(cmd);
  cmd.action(async (paths: string[], flags: ApplyFlags) => {
    ctx.setExitCode(await runApply(ctx.io, paths, flags));
  });
}

function sourceOf(paths: string[], flags: ApplyFlags): ApplySource {
  const modes = [paths.length > 0, flags.plan !== undefined, Boolean(flags.resume)].filter(Boolean).length;
  if (modes === 0 && flags.discardJournal) return { kind: 'none' };
  if (modes !== 1) throw new FynoSyncError('config.invalid', 'apply needs exactly one of: desired-state PATHs, --plan FILE, or --resume');
  if (paths.length === 0) {
    for (const [set, name] of [[flags.changedSince !== undefined, '--changed-since'], [flags.shard !== undefined, '--shard'], [Boolean(flags.target?.length || flags.exclude?.length), '--target/--exclude']] as const) {
      if (set) throw new FynoSyncError('config.invalid', `${name} applies to desired-state PATHs; a saved or resumed plan keeps the scope it was made with`);
    }
  }
  if (flags.plan !== undefined) return { kind: 'plan', file: flags.plan };
  if (flags.resume) return { kind: 'resume' };
  return {
    kind: 'paths',
    paths,
    ...(flags.changedSince !== undefined ? { changedSince: flags.changedSince } : {}),
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(flags.target?.length ? { target: flags.target } : {}),
    ...(flags.exclude?.length ? { exclude: flags.exclude } : {}),
  };
}

/**
 * Test seam for crash tests (test/integration/apply-crash.test.ts): `FYNO_SYNC_TEST_CRASH=journal:N`
 * kills the process (SIGKILL) just before journal record N is written, `request:N` right after
 * write request N is sent (reads are not counted). Never set outside tests.
 */
function crashSeam(io: CliIO): { journal?: (n: number, r: JournalRecord) => void; request?: (method: string) => void } {
  const m = /^(journal|request):(\d+)$/.exec(io.env.FYNO_SYNC_TEST_CRASH ?? '');
  if (!m) return {};
  const at = Number(m[2]);
  const die = (): void => void process.kill(process.pid, 'SIGKILL');
  if (m[1] === 'journal') return { journal: (n) => (n === at ? die() : undefined) };
  let sent = 0;
  return { request: (method) => (method !== 'GET' && (sent += 1) === at ? void setImmediate(die) : undefined) };
}

export async function runApply(io: CliIO, paths: string[], flags: ApplyFlags): Promise<number> {
  const source = sourceOf(paths, flags);
  const json = Boolean(flags.json);
  limitHeapGrowth();
  const seam = crashSeam(io);
  const counts: Record<string, number> = {};
  const stderrStyle = createStyle(colourFor(io.stderrIsTTY, io.env, !flags.color));
  const stdoutStyle = createStyle(colourFor(io.stdoutIsTTY, io.env, !flags.color));
  let progress: Progress | undefined;
  const stopProgress = (): void => {
    progress?.stop();
    progress = undefined;
  };
  const onEvent = (e: LifecycleEvent): void => {
    switch (e.type) {
      case 'read.progress':
        (progress ??= createProgress(io, 'Reading live state', { silent: json })).update(e.done, e.total);
        return;
      case 'progress':
        if (progress && e.done === 1) stopProgress();
        (progress ??= createProgress(io, 'Applying', { silent: json })).update(e.done, e.total, e.failed > 0 ? `${e.failed} failed` : undefined);
        return;
      case 'lock.stale':
        writeLine(io.stderr, `Warning: ${staleLockNote(e.holder, e.path)}.`);
        return;
      case 'journal.discarded':
        writeLine(io.stderr, `${e.dry_run ? 'Would discard' : 'Discarded'} the journal ${e.path}.`);
        return;
      case 'warning':
        writeLine(io.stderr, e.message);
        return;
      case 'plan.issues':
        stopProgress();
        return;
      case 'plan.ready':
        stopProgress();
        return;
      default:
        return;
    }
  };

  let outcome: ApplyOutcome;
  try {
    outcome = await runApplyLifecycle(
      {
        source,
        stateDir: path.resolve(io.cwd, flags.stateDir),
        cwd: io.cwd,
        env: io.env,
        dryRun: Boolean(flags.dryRun),
        discardJournal: Boolean(flags.discardJournal),
        yes: Boolean(flags.yes),
        ...(flags.allowDelete ? { allowDelete: true } : {}),
        ...(flags.maxDeletes !== undefined ? { maxDeletes: flags.maxDeletes } : {}),
        ...(flags.rps !== undefined ? { rps: flags.rps } : {}),
        concurrency: flags.concurrency,
        ...(flags.verify ? { verify: { timeoutMs: flags.verifyTimeout, intervalMs: 250 } } : {}),
        ...(flags.lockTimeout !== undefined ? { lockTimeoutMs: flags.lockTimeout } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
      },
      {
        connect: ({ rps }) =>
          connect(io, {
            ...flags,
            ...(rps !== undefined ? { rps } : { rps: undefined }),
            onRequest: (r) => {
              const k = `${r.method} ${r.route}`;
              counts[k] = (counts[k] ?? 0) + 1;
              seam.request?.(r.method);
            },
          }).api,
        target: () => targetFor(io, flags).target,
        requestCounts: () => counts,
        onEvent,
        // A fresh plan applied with --yes is shown first (on a TTY it is shown by the question).
        showPlan: async (plan, { fresh, refused }) => {
          if (refused) {
            if (!json) await writeChunks(io.stderr, renderTextChunks(plan));
          } else if (fresh && flags.yes && !json && !flags.dryRun) await writeChunks(io.stdout, renderTextChunks(plan, { style: stdoutStyle }));
        },
        ...(seam.journal ? { onJournalRecord: seam.journal } : {}),
        ...(io.confirm
          ? {
              confirm: async (plan: Plan) => {
                await writeChunks(io.stderr, renderTextChunks(plan, { style: stderrStyle }));
                try {
                  return await io.confirm!(`Apply these ${plan.operations.length} operations to ${plan.target.workspace} (${plan.target.env})?`);
                } catch (e) {
                  // Ctrl-C at the question (readline ends it with an AbortError): not a yes.
                  if ((e as Error).name === 'AbortError' || (e as NodeJS.ErrnoException).code === 'ABORT_ERR') return false;
                  throw e;
                }
              },
            }
          : {}),
      },
    );
  } catch (e) {
    stopProgress();
    if (isFynoSyncError(e) && e.code === 'apply.interrupted' && io.signal?.aborted) return reportInterruptedRead(io, json, 'nothing was written', 'apply');
    if (isFynoSyncError(e) && e.code === 'desired.invalid' && !json) for (const i of (e.details.issues ?? []) as ValidationIssue[]) writeLine(io.stderr, formatIssue(i));
    throw e;
  } finally {
    stopProgress();
  }
  return renderOutcome(io, outcome, json);
}

function requestsDoc(r: Record<string, number>): { total: number; by_route: Record<string, number> } {
  const by_route: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) by_route[k] = r[k]!;
  return { total: Object.values(r).reduce((a, b) => a + b, 0), by_route };
}

function renderOutcome(io: CliIO, o: ApplyOutcome, json: boolean): number {
  switch (o.kind) {
    case 'discarded':
      if (json) writeEnvelope(io.stdout, 'apply', 'ok', { discarded: o.journal });
      else if (!o.journal) writeLine(io.stdout, 'No journal to discard.');
      return EXIT.ok;
    case 'no_changes':
      if (json) writeEnvelope(io.stdout, 'apply', 'ok', { changes: false, requests: requestsDoc(o.requests) });
      else if (o.scope) {
        // Narrowed: what was left out is not known to match.
        writeLine(io.stdout, scopeLine(o));
        writeLine(io.stdout, 'No changes to the profiles in scope; nothing to apply.');
      } else writeLine(io.stdout, 'No changes. Live state matches the desired state; nothing to apply.');
      return EXIT.ok;
    case 'cancelled':
      writeLine(io.stderr, 'Apply cancelled; nothing was written.');
      return EXIT.error;
    case 'dry_run':
      return renderDryRun(io, o, json);
    case 'applied':
      return renderSummary(io, o.summary, o.requests, json);
    default:
      return o satisfies never;
  }
}

function renderDryRun(io: CliIO, o: Extract<ApplyOutcome, { kind: 'dry_run' }>, json: boolean): number {
  const secrets = secretValuesOf(o.plan.operations);
  const shown = o.requests.map((r) => ({ spec: maskRequest(r.spec, secrets), refused: r.refused }));
  const code = o.refusal ? EXIT.error : EXIT.ok;
  if (json) {
    writeEnvelope(
      io.stdout,
      'apply',
      o.refusal ? 'error' : 'ok',
      {
        dry_run: true,
        operations: o.plan.operations.length,
        would_send: shown.map((s) => ({ method: s.spec.method, path: s.spec.path, ...(s.spec.query ? { query: s.spec.query } : {}), ...(s.spec.body !== undefined ? { body: s.spec.body } : {}), ...(s.refused ? { refused: s.refused } : {}) })),
        requests: requestsDoc(o.read_requests),
      },
      o.refusal ? { ...errorDetails(o.refusal.details), code: o.refusal.code, message: o.refusal.message } : undefined,
    );
    return code;
  }
  const n = shown.length;
  const refused = shown.filter((s) => s.refused).length;
  writeLine(
    io.stdout,
    `Dry run: ${n} request${n === 1 ? '' : 's'} for ${o.plan.operations.length} operations would be sent; none was.${refused > 0 ? ` ${refused} of them would be refused.` : ''}`,
  );
  for (const s of shown) writeLine(io.stdout, s.refused ? `${formatRequest(s.spec)}  # refused: ${refusalHint(s.refused)}` : formatRequest(s.spec));
  if (o.refusal) writeLine(io.stderr, `Error: ${o.refusal.message}`);
  return code;
}

function refusalHint(message: string): string {
  return /--allow-delete/.test(message) ? 'pass --allow-delete' : message;
}

function summaryLine(s: ApplySummary, requests: number): string {
  const p = s.profiles;
  const o = s.operations;
  const extra: string[] = [`${o.total} operations`, `${o.failed} failed`];
  if (o.skipped > 0) extra.push(`${o.skipped} skipped: ${Object.entries(o.skipped_by_reason).map(([r, n]) => `${n} ${r}`).join(', ')}`);
  if (s.not_converged > 0) extra.push(`${s.not_converged} not converged`);
  const head = s.interrupted ? 'Apply interrupted' : 'Apply complete';
  return `${head}: ${p.created} created, ${p.updated} updated, ${p.merged} merged, ${p.deleted} deleted (${extra.join(', ')}); ${requests} request${requests === 1 ? '' : 's'} sent.`;
}

function renderSummary(io: CliIO, s: ApplySummary, run: Record<string, number>, json: boolean): number {
  const failed = s.operations.failed > 0 || s.not_converged > 0 || s.journal_error !== undefined;
  const code = s.interrupted ? EXIT.interrupted : failed ? EXIT.error : EXIT.ok;
  const requests = requestsDoc(run);
  if (json) {
    const { requests: _applying, ...rest } = s;
    writeEnvelope(
      io.stdout,
      'apply',
      code === EXIT.ok ? 'ok' : 'error',
      { summary: rest, requests },
      code === EXIT.ok
        ? undefined
        : s.interrupted
          ? { code: 'apply.interrupted', message: 'interrupted; completed operations are recorded: run `fyno-sync apply --resume` to continue' }
          : { code: 'apply.failed', message: summaryLine(s, requests.total) },
    );
    return code;
  }
  for (const f of s.failures.slice(0, 50)) writeLine(io.stderr, `failed: ${f.distinct_id}: ${f.op}: ${f.message}`);
  if (s.failures.length > 50) writeLine(io.stderr, `… and ${s.failures.length - 50} more failures (see --json)`);
  for (const d of s.divergences.slice(0, 50)) writeLine(io.stderr, `not converged: ${d.distinct_id}: ${d.field}: ${d.reason}`);
  if (s.journal_error) writeLine(io.stderr, `journal: ${s.journal_error}`);
  if (s.drifted.length > 0) {
    writeLine(io.stderr, `${s.drifted.length} profile(s) changed since the plan was made (created meanwhile; nothing of them was written): ${s.drifted.slice(0, 20).join(', ')}${s.drifted.length > 20 ? ', …' : ''} — plan again`);
  }
  writeLine(io.stdout, summaryLine(s, requests.total));
  if (s.interrupted) writeLine(io.stderr, 'Completed operations are recorded; run `fyno-sync apply --resume` to continue.');
  else if (s.operations.failed > 0) writeLine(io.stderr, 'Failed operations can be retried with `fyno-sync apply --resume`, or plan again.');
  return code;
}
