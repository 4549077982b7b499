/**
 * The apply lifecycle, the counterpart of `createPlan` for plan (issue #13), and like it the
 * effectful shell around the pure parts: it loads desired state and plans (fresh plans, and the
 * re-plan of a profile after its merge), so it stands beside create-plan.ts, not in src/apply,
 * whose applier never decides what to change. One library call
 * that takes a run from its flags to its outcome, in this order:
 *
 * 1. refuse what needs no reading (mode, confirmation without a TTY);
 * 2. lock the state directory (not for a dry run, which writes nothing there);
 * 3. look at the journal before anything is read or shown: an unfinished one is named with what
 *    to run; `--discard-journal` drops it;
 * 4. the plan: fresh from desired state (`createPlan`), a saved plan, or the kept plan of the run
 *    being resumed — with the flags that authorised that run, and refused when its desired files
 *    changed;
 * 5. every refusal: issues, target, protected profiles, delete permission, staleness;
 * 6. the secrets of what remains to do (operations already done never need theirs again);
 * 7. confirmation (fresh plans on a TTY), or the dry run's requests;
 * 8. keep the plan, open the journal, execute (`applyPlan`), verify, finish.
 *
 * Nothing refused before step 8 leaves anything in the state directory but the lock, which is
 * released on every way out. The library never prints: it reports through `onEvent`, returns an
 * outcome, or throws a `FynoSyncError` for a refusal.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { changedSince, createPlan, readsFor } from './create-plan.js';
import { hashFiles } from './desired/files.js';
import { loadDesired, type LoadResult } from './desired/load.js';
import type { DesiredProfile, DesiredState } from './desired/types.js';
import { FynoSyncError, isFynoSyncError, messageOf } from './errors.js';
import { fetchActual } from './fyno/fetch-actual.js';
import { forEachLimited } from './fyno/pool.js';
import type { DistinctId, FynoApi, Target } from './fyno/types.js';
import type { RequestSpec } from './fyno/wire.js';
import { planProfile } from './plan/diff.js';
import { savedPlan } from './plan/plan-file.js';
import { collectSecretCandidates, hasSecrets, resolvePlanSecrets } from './plan/secrets.js';
import type { Shard } from './plan/shard.js';
import { profileIdOf, type ActualSnapshot, type Operation, type Plan, type PlanScope, type PlanTarget } from './plan/types.js';
import { applyPlan } from './apply/apply.js';
import { planRequests } from './apply/dry-run.js';
import { DISCARD_HINT, discardJournal, inspectJournal, openJournal, planHash, unfinishedMessage, type JournalRecord, type Loaded, type RunConfig } from './apply/journal.js';
import { copyPlanFile, keepScannedCopy, readPlanOperations, scanPlanFile, writePlanFile, type PlanVisitor, type ScannedPlan } from './apply/kept-plan.js';
import { acquireLock, checkLockFree, type LockHolder } from './apply/lock.js';
import { OutlineBuilder, type PlanOutline } from './apply/outline.js';
import type { KeyedOp } from './apply/groups.js';
import { CallCounter, Ledger } from './apply/ledger.js';
import { Settler } from './apply/settler.js';
import { checkFreshness, checkPlanSafety, checkPlanTarget, concernsSafety, touchedBy, touchedProfiles, touchedSuppressionList, type SafetyOptions } from './apply/safety.js';
import type { ApplyEvent, ApplySummary, OperationSource } from './apply/types.js';

export type ApplySource =
  | { kind: 'paths'; paths: string[]; changedSince?: string; shard?: Shard; target?: string[]; exclude?: string[] }
  | { kind: 'plan'; file: string }
  | { kind: 'resume' }
  /** Only `--discard-journal`: drop the journal, apply nothing. */
  | { kind: 'none' };

export interface ApplyRequest {
  source: ApplySource;
  /** The state directory (absolute); the run keeps its plan and journal in `last-apply/` below it. */
  stateDir: string;
  /** For loading desired state: relative paths and `${VAR}`. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  dryRun?: boolean;
  /** Drop the journal of an unfinished apply first. */
  discardJournal?: boolean;
  /** No confirmation asked. */
  yes?: boolean;
  /** `undefined`: as recorded when resuming, else false / 0 (unlimited with allowDelete). */
  allowDelete?: boolean;
  maxDeletes?: number;
  /** The global request rate; a shard takes its share. On resume: as recorded unless given. */
  rps?: number;
  concurrency: number;
  verify?: { timeoutMs: number; intervalMs: number };
  /** Longest wait for the state directory's lock (default 0: refuse at once). */
  lockTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ApplyLifecycleDeps {
  /** The API client, built once the request rate is known (a resumed run's comes from its journal). */
  connect: (o: { rps?: number }) => FynoApi;
  /**
   * Where the run writes, known before any client is made: a saved plan for elsewhere is then
   * refused from its head. It may throw (no API key…): the refusal then comes from `connect`.
   */
  target?: () => Target;
  /** Every request sent so far, by `METHOD route`, as the client counts its attempts. */
  requestCounts?: () => Readonly<Record<string, number>>;
  now?: () => Date;
  /** Ask to apply a fresh plan (a TTY); absent: a fresh plan needs `yes`. */
  confirm?: (plan: Plan) => Promise<boolean>;
  onEvent?: (e: LifecycleEvent) => void;
  /**
   * Show a plan that passed every check, before it is confirmed or applied, or (`refused`) a
   * fresh plan with issues right before it is refused. Awaited: a big plan is written in pieces.
   * As in `plan.ready`, a saved or resumed plan comes without its operations.
   */
  showPlan?: (plan: Plan, o: { fresh: boolean; refused?: boolean }) => Promise<void>;
  /** Test seam for crash tests: see `OpenJournalOptions.onRecord`. */
  onJournalRecord?: (n: number, record: JournalRecord) => void;
}

export type LifecycleEvent =
  | ApplyEvent
  | { type: 'lock.stale'; path: string; holder: LockHolder }
  | { type: 'journal.discarded'; path: string; dry_run: boolean }
  | { type: 'read.progress'; done: number; total: number }
  /**
   * The plan is complete and passed every check; `fresh`: made in this run from desired state.
   * A saved or resumed plan is read from its file as it runs: its `operations` are empty here.
   */
  | { type: 'plan.ready'; plan: Plan; fresh: boolean }
  /** The plan has issues: it is refused with `plan.conflict` right after this event. */
  | { type: 'plan.issues'; plan: Plan }
  | { type: 'warning'; message: string };

/** A request of a dry run; `refused` says why a real run would not send it. */
export interface DryRunRequest {
  spec: RequestSpec;
  refused?: string;
}

export type ApplyOutcome =
  /** `scope`: the plan was narrowed (`--target`, `--exclude`, `--shard`, `--changed-since`); nothing to do within it. */
  | { kind: 'no_changes'; requests: Record<string, number>; scope?: PlanScope }
  | { kind: 'cancelled'; requests: Record<string, number> }
  | { kind: 'discarded'; journal: boolean }
  /** `refusal`: what the real run would have refused with (it would send none of `requests`). */
  | { kind: 'dry_run'; plan: Plan; requests: DryRunRequest[]; refusal?: FynoSyncError; read_requests: Record<string, number> }
  | { kind: 'applied'; summary: ApplySummary; requests: Record<string, number> };

interface Prepared {
  /** What is executed: secrets resolved (those of the operations that remain). */
  plan: Plan;
  /** The saved form (placeholders): what the journal and the kept plan are bound to. */
  saved: Plan;
  api: FynoApi;
  safety: SafetyOptions;
  config: RunConfig;
  /** The profiles re-planned after their merges. */
  desiredById: ReadonlyMap<DistinctId, DesiredProfile>;
  /** Check live state against the plan's fingerprints before writing (saved and resumed plans). */
  checkFresh: boolean;
  /** The journal being continued (resume). */
  resumed?: Loaded;
  /** Plan operations (keys) whose effect is already there: recorded done without a request. */
  alreadyApplied: Set<string>;
  fresh: boolean;
  /** What `checkPlanSafety` refuses the plan with (deletes, protected profiles); a dry run goes on with it. */
  refused: FynoSyncError | undefined;
  /** A saved or resumed plan: read from its file as it runs, so `plan.operations` and `saved.operations` are empty. */
  streamed?: Streamed;
}

/** A fresh plan with no operation; `scope` when it was narrowed. */
interface NoChanges {
  none: true;
  scope?: PlanScope;
}

interface Streamed {
  /** The file as given (`--plan`) or the kept plan (resume). */
  file: string;
  shown: string;
  scanned: ScannedPlan;
  facts: PlanFacts;
  /** The operations, secrets resolved: from `file`, or from the kept copy once it is made. */
  source: OperationSource;
  /** Set once `file` is copied to the state directory: the run reads its copy. */
  kept?: string;
}

const KEPT_PLAN = 'plan.json';

/**
 * Where a saved plan is copied as it is read (in the state directory, beside the lock: one apply
 * at a time writes it), until the first write puts it in place as `last-apply/plan.json`.
 * Removed on every way out; a run killed meanwhile leaves it, and the next one writes it anew.
 */
function scanCopyOf(req: ApplyRequest): string {
  return path.join(req.stateDir, '.last-apply-plan.tmp');
}

/** Runs one apply from flags to outcome; see the module comment for the steps. */
export async function runApplyLifecycle(req: ApplyRequest, deps: ApplyLifecycleDeps): Promise<ApplyOutcome> {
  const emit = (e: LifecycleEvent): void => deps.onEvent?.(e);
  const dir = path.join(req.stateDir, 'last-apply');
  const src = req.source;
  // 1. What needs no reading.
  if (src.kind === 'resume' && req.discardJournal) throw new FynoSyncError('config.invalid', '--resume and --discard-journal cannot be combined');
  if (src.kind === 'paths' && !req.yes && !req.dryRun && !deps.confirm) {
    throw new FynoSyncError('apply.needs_confirmation', 'no TTY to confirm on: pass --yes, or apply a reviewed saved plan with --plan FILE; nothing was written');
  }
  // 2. The lock: one apply at a time per state directory.
  // A dry run takes no lock (it writes nothing there) but is refused as the real run would be.
  if (req.dryRun) await checkLockFree(req.stateDir);
  const lock = req.dryRun ? undefined : await lockStateDir(req);
  if (lock?.staleHolder) emit({ type: 'lock.stale', path: lock.path, holder: lock.staleHolder });
  try {
    // 3. The journal, before anything is read or shown.
    let journal = req.discardJournal ? undefined : inspectJournal(dir);
    if (req.discardJournal) {
      const had = req.dryRun ? existsJournal(dir) : await dropJournal(dir);
      if (had) emit({ type: 'journal.discarded', path: path.join(dir, 'fyno-sync-apply.jsonl'), dry_run: Boolean(req.dryRun) });
      if (src.kind === 'none') return { kind: 'discarded', journal: had };
    }
    if (src.kind === 'none') return { kind: 'discarded', journal: false };
    if (src.kind !== 'resume' && journal && !journal.finished) {
      throw new FynoSyncError('apply.journal', unfinishedMessage(journal.path), { file: journal.path });
    }
    if (src.kind === 'resume' && !journal) {
      throw new FynoSyncError('apply.journal', `there is no interrupted apply to resume in ${req.stateDir} (no journal at ${path.join(dir, 'fyno-sync-apply.jsonl')})`, { dir });
    }
    if (src.kind !== 'resume') journal = undefined;

    // 4–6. The plan, every refusal, the secrets of what remains.
    const p = await prepare(req, deps, src, dir, journal, emit);
    if ('none' in p) return { kind: 'no_changes', requests: counts(deps), ...(p.scope ? { scope: p.scope } : {}) };
    const { plan } = p;
    const deleteRefusal = p.refused;
    if (deleteRefusal && !(req.dryRun && deleteRefusal.code === 'apply.delete_refused')) throw deleteRefusal;
    if (p.checkFresh) {
      const f = p.streamed?.facts;
      await checkFreshness(plan, snapshotReader(p.api), {
        concurrency: req.concurrency,
        skip: f ? f.touched : touchedProfiles(plan, p.resumed),
        readSuppressions: () => p.api.listSuppressions(),
        listTouched: f ? f.listTouched : touchedSuppressionList(plan, p.resumed),
        ...(f ? { created: f.created } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    }
    emit({ type: 'plan.ready', plan, fresh: p.fresh });
    await deps.showPlan?.(plan, { fresh: p.fresh });

    // 7. A dry run stops here; a fresh plan on a TTY is confirmed.
    if (req.dryRun) return await dryRun(p, deleteRefusal, deps, req);
    if (p.fresh && !req.yes) {
      if (!deps.confirm) throw new FynoSyncError('apply.needs_confirmation', 'no TTY to confirm on: pass --yes, or apply a reviewed saved plan with --plan FILE; nothing was written');
      if (!(await deps.confirm(plan))) return { kind: 'cancelled', requests: counts(deps) };
    }

    // 8. Keep the plan, open the journal at the first write, execute.
    const j = openJournalOrFail(dir, p, deps);
    const summary = await applyPlan(
      plan,
      {
        api: p.api,
        journal: j,
        ...(p.streamed ? { operations: p.streamed.source } : {}),
        ...(deps.requestCounts ? { requestCounts: deps.requestCounts } : {}),
        ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
        replan: (id, snapshot) => replanAfterMerge(p.desiredById, id, snapshot),
        beforeFirstWrite: async () => {
          if (!p.resumed) await keepPlan(dir, p);
          j.begin();
        },
      },
      {
        concurrency: req.concurrency,
        allowDelete: p.safety.allowDelete,
        maxDeletes: p.safety.maxDeletes,
        protectedIds: p.safety.protectedIds ?? [],
        alreadyApplied: p.alreadyApplied,
        ...(req.verify ? { verify: req.verify } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      },
    );
    return { kind: 'applied', summary, requests: counts(deps) };
  } catch (e) {
    // Ctrl-C while live state was read: whatever the aborted reads failed with, nothing was written.
    if (req.signal?.aborted && (!isFynoSyncError(e) || e.code.startsWith('api.'))) {
      throw new FynoSyncError('apply.interrupted', 'interrupted while reading live state; nothing was written', {}, { cause: e });
    }
    throw e;
  } finally {
    if (lock) await rm(scanCopyOf(req), { force: true }).catch(() => undefined);
    await lock?.release();
  }
}

function counts(deps: ApplyLifecycleDeps): Record<string, number> {
  return deps.requestCounts ? { ...deps.requestCounts() } : {};
}

function refusal(check: () => void): FynoSyncError | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (isFynoSyncError(e)) return e;
    throw e;
  }
}

async function lockStateDir(req: ApplyRequest): Promise<Awaited<ReturnType<typeof acquireLock>>> {
  try {
    return await acquireLock(req.stateDir, { timeoutMs: req.lockTimeoutMs ?? 0, command: 'apply', ...(req.signal ? { signal: req.signal } : {}) });
  } catch (e) {
    if (isFynoSyncError(e)) throw e;
    throw stateDirError(req.stateDir, e);
  }
}

/** The state dir is the user's setting (a file in the way, no permission): not an internal error. */
function stateDirError(dir: string, e: unknown): FynoSyncError {
  const reason = (e as NodeJS.ErrnoException).code ?? (messageOf(e));
  return new FynoSyncError('apply.journal', `cannot keep the apply journal in ${dir} (${reason}); check --state-dir; nothing was written`, { dir });
}

function existsJournal(dir: string): boolean {
  try {
    return inspectJournal(dir) !== undefined;
  } catch {
    return true; // corrupt, but there
  }
}

async function dropJournal(dir: string): Promise<boolean> {
  const had = discardJournal(dir);
  await rm(path.join(dir, KEPT_PLAN), { force: true });
  return had;
}

/** Keeps the plan beside the journal for `--resume`: a saved plan's file as it was read, else the plan written out. */
async function keepPlan(dir: string, p: Prepared): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw stateDirError(dir, e);
  }
  const kept = path.join(dir, KEPT_PLAN);
  const s = p.streamed;
  if (!s) return writePlanFile(kept, p.saved);
  if (s.scanned.copy) await keepScannedCopy(s.file, s.scanned.copy, kept, s.shown);
  else await copyPlanFile(s.file, kept, s.scanned.digest, s.shown);
  s.kept = kept;
}

function openJournalOrFail(dir: string, p: Prepared, deps: ApplyLifecycleDeps): ReturnType<typeof openJournal> {
  try {
    return openJournal(dir, p.saved, {
      ...(p.resumed ? { resume: true, loaded: p.resumed } : { config: p.config }),
      ...(p.streamed ? { hash: p.streamed.scanned.hash } : {}),
      ...(deps.onJournalRecord ? { onRecord: deps.onJournalRecord } : {}),
    });
  } catch (e) {
    if (isFynoSyncError(e)) throw e;
    throw stateDirError(dir, e);
  }
}

function snapshotReader(api: FynoApi) {
  return async (id: DistinctId, withPreferences: boolean): Promise<ActualSnapshot> => {
    const profile = await api.getProfile(id);
    if (!withPreferences || !profile) return { profile };
    return { profile, preferences: await api.getPreferences(id) };
  };
}

/**
 * Loads and validates desired state. `spare`: profiles whose desired values nothing still needs
 * (a resume whose remaining operations are elsewhere): a `${VAR}` missing only in those is no
 * error, since operations already done never need their values again (issue #13 part 1).
 */
async function loadOrFail(paths: readonly string[], req: ApplyRequest, spare?: (id: DistinctId) => boolean, keep?: (d: DesiredProfile) => boolean): Promise<DesiredState> {
  return checked(await loadDesired(paths, { env: req.env, cwd: req.cwd, ...(keep ? { keep } : {}) }), spare);
}

/** The loaded state (`keep`: the profiles kept of it), or the refusal of its issues (see `loadOrFail`). */
function checked({ state, issues }: Pick<LoadResult, 'state' | 'issues'>, spare?: (id: DistinctId) => boolean, keep?: (d: DesiredProfile) => boolean): DesiredState {
  if (keep) state.profiles = state.profiles.filter(keep);
  if (issues.length === 0) return state;
  if (spare && issues.every((i) => i.distinct_id !== undefined && spare(i.distinct_id) && /^environment variable \S+ is not set$/.test(i.message))) return state;
  throw new FynoSyncError('desired.invalid', `${issues.length} error${issues.length === 1 ? '' : 's'} in the desired state; nothing was sent to Fyno`, { issues });
}

function safetyFrom(allowDelete: boolean, maxDeletes: number | undefined, desired: DesiredState): SafetyOptions {
  return {
    allowDelete,
    maxDeletes: maxDeletes ?? (allowDelete ? Number.MAX_SAFE_INTEGER : 0),
    protectedIds: desired.profiles.filter((d) => d.protected).map((d) => d.distinct_id),
  };
}

/**
 * The desired files of a saved plan, loaded from the sources its head names while the rest of the
 * file is read (issue #17: ~6 s before the first write of a 100,000-profile plan, after a 15 s
 * scan). Which profiles the plan needs is known only at its end: the load keeps those it may
 * need (the `saved-plan` prefilter, on the worker threads) and notes the ids of the others, and
 * `take` hands it over only when none of those turned out to be needed after all; otherwise the
 * files are loaded again (`loadOrFail`).
 */
class EarlyDesired {
  #sources: readonly string[] | undefined;
  #load: Promise<{ result: LoadResult } | { error: unknown }> | undefined;
  readonly #abort = new AbortController();

  constructor(private readonly req: ApplyRequest) {}

  /** Starts loading `sources` (from a head not yet checked: left alone unless a list of paths). */
  start(sources: unknown): void {
    if (this.#load || !Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === 'string')) return;
    this.#sources = [...(sources as string[])];
    this.#load = loadDesired(this.#sources, { env: this.req.env, cwd: this.req.cwd, prefilter: 'saved-plan', signal: this.#abort.signal }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
  }

  /** The load of exactly `sources`, when it let go of no profile in `needed`; else stopped. */
  async take(sources: readonly string[], needed: readonly ReadonlySet<DistinctId>[]): Promise<LoadResult | undefined> {
    const same = this.#sources !== undefined && this.#sources.length === sources.length && this.#sources.every((s, i) => s === sources[i]);
    if (!same) {
      await this.stop();
      return undefined;
    }
    const r = await this.#load!;
    if ('error' in r) throw r.error;
    const letGo = r.result.letGo ?? new Set<DistinctId>();
    for (const ids of needed) for (const id of ids) if (letGo.has(id)) return undefined;
    return r.result;
  }

  /** Ends a load no longer needed (the plan is refused): its workers stop. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#load;
  }
}

/** A head whose summary counts deletes or merges: its files will be needed (a hint; `needsFiles` decides). */
function announcesDeletesOrMerges(h: Readonly<Record<string, unknown>>): boolean {
  const s = h.summary as { delete?: unknown; merge?: unknown } | null | undefined;
  return s !== null && typeof s === 'object' && ((typeof s.delete === 'number' && s.delete > 0) || (typeof s.merge === 'number' && s.merge > 0));
}

/** The profiles apply still needs of the desired state: those re-planned after their merges (`merged`: targets and sources). */
function mergedProfiles(merged: ReadonlySet<DistinctId>, desired: DesiredState): Map<DistinctId, DesiredProfile> {
  return new Map(desired.profiles.filter((d) => merged.has(d.distinct_id)).map((d) => [d.distinct_id, d] as const));
}

function mergeIds(op: Operation): DistinctId[] {
  return op.type === 'profile.merge' ? [op.distinct_id, op.from] : [];
}

/**
 * What the checks of a saved or resumed plan need of its operations, gathered as the file is read
 * once (`scanPlanFile`), so that none of them is kept: a plan of a million operations leaves a few
 * sets of ids and the operations with secrets (issue #17, "Memory").
 */
class PlanFacts implements PlanVisitor {
  /** What `checkPlanSafety` looks at besides the head (`concernsSafety`). */
  risky: Operation[] = [];
  /** Profiles the plan creates. */
  created = new Set<DistinctId>();
  /** Merge targets and sources. */
  merged = new Set<DistinctId>();
  /** Resuming: the profiles the remaining operations name. */
  needed = new Set<DistinctId>();
  /** Resuming: what an earlier run wrote to (not checked for drift). */
  touched = new Set<DistinctId>();
  listTouched = false;
  /** The remaining operations that hold secret placeholders, by index (a sparse array). */
  secretOps: Operation[] = [];
  withSecrets = new Set<DistinctId>();
  /**
   * An operation needs the desired files: a delete or merge (the files' protected profiles are
   * never deleted or merged away, merged profiles are re-planned from them) or a remaining one
   * with secrets (their values come from the files). Decided from the operations, not the head.
   */
  needsFiles = false;
  /** What the applier would read the plan once more for before its first write (not resuming). */
  outline: OutlineBuilder | undefined;
  /** The head's preconditions, once a head read line by line gave them. */
  read: Readonly<Record<string, unknown>> | undefined;
  /** The first operation naming a profile `read` lacks. */
  unread: { id: DistinctId; index: number } | undefined;
  /** Without a head yet (a plan read whole): each profile named, with its first operation. */
  named = new Map<DistinctId, number>();

  constructor(
    private readonly resumed: Loaded | undefined,
    /** Where this apply writes: a plan for elsewhere is refused from its head. */
    private readonly target: Target | undefined,
  ) {
    if (!resumed) this.outline = new OutlineBuilder();
  }

  /**
   * A plan for another target is refused as soon as its head is read, as `checkPlanSafety` would
   * refuse it after the whole file (issue #17: 15.6 s for a 100,000-profile plan). Only a head
   * that checkPlanSafety would get to the target with: one without issues, its target well formed.
   */
  head(h: Readonly<Record<string, unknown>>): void {
    const pre = h.preconditions;
    if (pre !== null && typeof pre === 'object' && !Array.isArray(pre)) this.read = pre as Record<string, unknown>;
    const t = h.target as Record<string, unknown> | undefined;
    if (this.target === undefined || (Array.isArray(h.issues) && h.issues.length > 0)) return;
    if (t === null || typeof t !== 'object' || typeof t.base_url !== 'string' || typeof t.workspace !== 'string' || (t.env !== 'live' && t.env !== 'test')) return;
    checkPlanTarget({ base_url: t.base_url, workspace: t.workspace, env: t.env }, this.target);
  }

  todo(i: number): boolean {
    return !this.resumed?.done.has(`p:${i}`);
  }

  op(op: Operation, i: number): void {
    this.outline?.add({ key: `p:${i}`, op });
    for (const id of namedBy(op)) this.name(id, i);
    if (concernsSafety(op)) this.risky.push(op);
    if (op.type === 'profile.delete' || op.type === 'profile.merge') this.needsFiles = true;
    if (op.type === 'profile.create') this.created.add(op.distinct_id);
    for (const id of mergeIds(op)) this.merged.add(id);
    const todo = this.todo(i);
    if (this.resumed) {
      if (todo) for (const id of namedBy(op)) this.needed.add(id);
      const t = touchedBy(op, i, this.resumed);
      if (t === 'list') this.listTouched = true;
      else if (t) for (const id of t) this.touched.add(id);
    }
    if (todo && hasSecrets(op)) {
      this.needsFiles = true;
      this.secretOps[i] = op;
      const id = profileIdOf(op);
      if (id !== undefined) this.withSecrets.add(id);
    }
  }

  reset(): void {
    Object.assign(this, new PlanFacts(this.resumed, this.target));
  }

  private name(id: DistinctId, i: number): void {
    if (this.unread) return;
    if (!this.read) {
      if (!this.named.has(id)) this.named.set(id, i);
    } else if (!Object.hasOwn(this.read, id)) this.unread = { id, index: i };
  }

  /**
   * Refuses (`plan.invalid`) a plan with an operation for a profile it has no precondition of: the
   * planner reads every profile it writes to, so such a plan was edited or put together by hand,
   * and no staleness check could cover that profile.
   */
  checkRead(preconditions: Readonly<Record<string, string>>, file: string, shown: string): void {
    let unread = this.unread;
    if (!unread) for (const [id, index] of this.named) if (!Object.hasOwn(preconditions, id)) unread = { id, index };
    if (!unread) return;
    throw new FynoSyncError(
      'plan.invalid',
      `${shown}: operation ${unread.index + 1} is for profile ${unread.id}, which was not read when the plan was made (the plan has no precondition for it, so its live state cannot be checked): the file was edited or is not as plan wrote it; plan again; nothing was written`,
      { file, distinct_id: unread.id, operation: unread.index },
    );
  }
}

/** The profiles an operation writes to: its own, and a merge's source. */
function namedBy(op: Operation): DistinctId[] {
  const id = profileIdOf(op);
  if (id === undefined) return [];
  return op.type === 'profile.merge' ? [id, op.from] : [id];
}

/** `outline` with the resolved operations (by index) in place of its own. */
function resolvedOutline(outline: PlanOutline, resolved: readonly Operation[]): PlanOutline {
  const swap = (k: KeyedOp): KeyedOp => ({ key: k.key, op: resolved[Number(k.key.slice(2))] ?? k.op });
  return { ...outline, deletes: outline.deletes.map(swap), suppressions: outline.suppressions.map(swap) };
}

/** `ops` with the resolved operations (by index) in place of theirs. */
async function* withResolved(ops: AsyncIterable<Operation>, resolved: readonly Operation[]): AsyncGenerator<Operation> {
  let i = 0;
  for await (const op of ops) yield resolved[i++] ?? op;
}

function rateFor(rps: number | undefined, shard: { count: number } | undefined): { rps?: number } {
  if (rps === undefined) return {};
  return { rps: shard ? rps / shard.count : rps };
}

function targetOf(deps: ApplyLifecycleDeps): Target | undefined {
  try {
    return deps.target?.();
  } catch {
    return undefined;
  }
}

async function prepare(
  req: ApplyRequest,
  deps: ApplyLifecycleDeps,
  src: Exclude<ApplySource, { kind: 'none' }>,
  dir: string,
  journal: (Loaded & { path: string }) | undefined,
  emit: (e: LifecycleEvent) => void,
): Promise<Prepared | NoChanges> {
  if (src.kind === 'paths') return prepareFresh(req, deps, src, emit);
  const resumed = src.kind === 'resume' ? journal : undefined;
  const file = resumed ? path.join(dir, KEPT_PLAN) : path.resolve(req.cwd, src.kind === 'plan' ? src.file : '');
  const shown = path.relative(req.cwd, file) || file;
  // One pass over the file that keeps none of its operations: what the checks below need of them.
  // A plan for elsewhere is refused from its head (`deps.target`); a target that cannot be
  // resolved (no API key…) is refused where it always was, by `connect` after the plan is read.
  const facts = new PlanFacts(resumed, targetOf(deps));
  // The desired files are read only for what the operations need of them (`PlanFacts.needsFiles`):
  // a plan without deletes, merges or secrets is executed from the plan alone. They load (worker
  // threads) while the rest of the file is read (this thread), from the sources its head names,
  // as soon as the head announces deletes or merges or an operation turns out to need them; every
  // refusal of the plan still comes first.
  const early = new EarlyDesired(req);
  let headSources: unknown;
  let scanned: ScannedPlan;
  let desired: DesiredState;
  const visit: PlanVisitor = {
    op: (op, i) => {
      facts.op(op, i);
      if (facts.needsFiles) early.start(headSources);
    },
    reset: () => facts.reset(),
    head: (h) => {
      facts.head(h);
      headSources = h.sources;
      if (announcesDeletesOrMerges(h)) early.start(h.sources);
    },
  };
  try {
    // A saved plan is copied as it is read: what is kept for --resume is what was checked.
    const copyTo = src.kind === 'plan' && !req.dryRun ? scanCopyOf(req) : undefined;
    scanned = await scanPlanFile(file, shown, resumed ? `; ${DISCARD_HINT}` : '', visit, copyTo !== undefined ? { copyTo } : {});
    if (resumed && resumed.plan !== scanned.hash) {
      throw new FynoSyncError('apply.journal', `the kept plan ${shown} is not the plan of journal ${resumed.path}; ${DISCARD_HINT}`, { file, journal: resumed.path });
    }
    facts.checkRead(scanned.head.preconditions, file, shown);
    // The desired state the plan came from: protected ids, re-plans after merges, secret values.
    // Resuming, the profiles no remaining operation names (as itself, a merge source or a delete).
    const needed = facts.needed;
    const spare = resumed ? (id: DistinctId) => !needed.has(id) : undefined;
    // Of the desired profiles, a saved plan needs only the protected ones, those re-planned after
    // their merges and those whose secrets it resolves: the others are validated and let go.
    const keep = (d: DesiredProfile): boolean => d.protected || facts.merged.has(d.distinct_id) || facts.withSecrets.has(d.distinct_id);
    const sources = facts.needsFiles ? scanned.head.sources : [];
    if (sources.length === 0) await early.stop();
    const loaded = sources.length > 0 ? await early.take(sources, [facts.merged, facts.withSecrets]) : undefined;
    desired = sources.length === 0 ? { profiles: [], files: [] } : loaded ? checked(loaded, spare, keep) : await loadOrFail([...sources], req, spare, keep);
  } catch (e) {
    await early.stop();
    throw e;
  }
  const saved = scanned.head;
  const recorded = resumed?.config;
  const hashes = await hashFiles(saved.sources, req.cwd);
  if (recorded?.desired) {
    const changed = Object.keys({ ...recorded.desired, ...hashes }).filter((f) => recorded.desired![f] !== hashes[f]);
    if (changed.length > 0) {
      throw new FynoSyncError(
        'apply.journal',
        `${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''} changed since the interrupted apply was planned; resuming would run the old plan: apply the files afresh with --discard-journal, or restore them to resume; nothing was written`,
        { changed },
      );
    }
  }
  // Profiles with merges are re-planned after them from the desired files: those must be the
  // files the plan was reviewed from, or apply would write what nobody reviewed.
  if (!resumed && saved.source_hashes) {
    const changed = Object.keys({ ...saved.source_hashes, ...hashes }).filter((f) => saved.source_hashes![f] !== hashes[f]);
    if (changed.length > 0) {
      throw new FynoSyncError(
        'plan.stale',
        `${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''} changed since the plan was made, and the plan's merged profiles are re-planned from them after their merges: plan again; nothing was written`,
        { changed },
      );
    }
  }
  const allowDelete = req.allowDelete ?? recorded?.allow_delete ?? false;
  const maxDeletes = req.maxDeletes ?? (req.allowDelete === undefined ? recorded?.max_deletes : undefined);
  const shard = recorded?.shard ?? saved.scope?.shard;
  const rps = req.rps ?? recorded?.rps;
  const safety = safetyFrom(allowDelete, maxDeletes, desired);
  const api = deps.connect(rateFor(rps, shard));
  // A plan for another target (or one that would be refused anyway) is refused before any read.
  const refused = refusal(() => checkPlanSafety({ ...saved, operations: facts.risky }, api.target, safety));
  if (refused && !(req.dryRun && refused.code === 'apply.delete_refused')) throw refused;

  // Secrets: only the operations still to do, from their own profiles' values (desired and live).
  const todo = (i: number): boolean => facts.todo(i);
  const withSecrets = facts.withSecrets;
  let resolvedOps: readonly Operation[] = [];
  const alreadyApplied = new Set<string>();
  if (withSecrets.size > 0) {
    // A profile the plan creates was absent and is checked by its create: its values come from
    // the desired files alone, so it is not read.
    const creates = new Set([...facts.created].filter((id) => saved.preconditions[id] === 'absent'));
    const { snapshots } = await fetchActual(api, readsFor(desired.profiles.filter((d) => withSecrets.has(d.distinct_id) && !creates.has(d.distinct_id))), {
      concurrency: req.concurrency,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    let resolved: ReturnType<typeof resolvePlanSecrets>;
    try {
      resolved = resolvePlanSecrets({ ...saved, operations: facts.secretOps }, collectSecretCandidates(desired, snapshots, withSecrets), { skip: (i) => !todo(i) });
    } catch (e) {
      // Resuming, the advice is not to plan again but to give the run back its environment.
      if (resumed && isFynoSyncError(e) && e.code === 'plan.invalid') {
        throw new FynoSyncError('plan.invalid', `${e.message.replace(/; re-run plan with the same environment$/, '')}; set the environment variables (\${VAR}) as in the interrupted run, or apply afresh with --discard-journal`, e.details, { cause: e });
      }
      throw e;
    }
    resolvedOps = resolved.plan.operations;
    for (const i of resolved.satisfied) alreadyApplied.add(`p:${i}`);
  }
  const streamed: Streamed = {
    file,
    shown,
    scanned,
    facts,
    source: {
      total: scanned.total,
      read: () => withResolved(readPlanOperations(streamed.kept ?? file, scanned, shown), resolvedOps),
      ...(facts.outline ? { outline: resolvedOutline(facts.outline.done(), resolvedOps) } : {}),
    },
  };
  const config: RunConfig = {
    allow_delete: allowDelete,
    max_deletes: safety.maxDeletes,
    ...(rps !== undefined ? { rps } : {}),
    ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
    desired: hashes,
  };
  return {
    plan: saved,
    saved,
    api,
    safety,
    config: resumed ? (recorded ?? config) : config,
    desiredById: mergedProfiles(facts.merged, desired),
    checkFresh: true,
    ...(resumed ? { resumed } : {}),
    alreadyApplied,
    fresh: false,
    refused,
    streamed,
  };
}

async function prepareFresh(
  req: ApplyRequest,
  deps: ApplyLifecycleDeps,
  src: Extract<ApplySource, { kind: 'paths' }>,
  emit: (e: LifecycleEvent) => void,
): Promise<Prepared | NoChanges> {
  const desired = await loadOrFail(src.paths, req);
  const hashes = await hashFiles(desired.files, req.cwd);
  const incremental = src.changedSince !== undefined ? await changedSince(desired, src.paths, src.changedSince, { env: req.env, cwd: req.cwd }) : undefined;
  if (incremental?.warning) emit({ type: 'warning', message: incremental.warning });
  const allowDelete = req.allowDelete ?? false;
  const safety = safetyFrom(allowDelete, req.maxDeletes, desired);
  const api = deps.connect(rateFor(req.rps, src.shard));
  const target: PlanTarget = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
  const { plan } = await createPlan({ api, now: deps.now ?? (() => new Date()) }, desired, {
    destination: target,
    sourceHashes: hashes,
    concurrency: req.concurrency,
    // The plan is executed as made; secrets are still in it, so no snapshot is needed later.
    keepSnapshots: false,
    ...(src.target?.length ? { target: src.target } : {}),
    ...(src.exclude?.length ? { exclude: src.exclude } : {}),
    ...(incremental ? { only: incremental.only, scope: incremental.scope } : {}),
    ...(src.shard ? { shard: src.shard } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    onProgress: (done, total) => emit({ type: 'read.progress', done, total }),
  });
  if (plan.issues.length > 0) {
    emit({ type: 'plan.issues', plan });
    await deps.showPlan?.(plan, { fresh: true, refused: true });
    throw new FynoSyncError('plan.conflict', `the plan has ${plan.issues.length} issue(s) and cannot be applied; nothing was written`, { issues: plan.issues });
  }
  if (plan.operations.length === 0) return { none: true, ...(plan.scope ? { scope: plan.scope } : {}) };
  return {
    plan,
    saved: savedPlan(plan, 'plan'),
    api,
    safety,
    config: {
      allow_delete: allowDelete,
      max_deletes: safety.maxDeletes,
      ...(req.rps !== undefined ? { rps: req.rps } : {}),
      ...(src.shard ? { shard: { index: src.shard.index, count: src.shard.count } } : {}),
      desired: hashes,
    },
    desiredById: mergedProfiles(new Set(plan.operations.flatMap(mergeIds)), desired),
    checkFresh: false,
    alreadyApplied: new Set(),
    fresh: true,
    refused: refusal(() => checkPlanSafety(plan, api.target, safety)),
  };
}

/** After a merge the target is re-read; its remaining operations come from the planner again. */
function replanAfterMerge(desiredById: ReadonlyMap<DistinctId, DesiredProfile>, id: DistinctId, snapshot: ActualSnapshot): Operation[] {
  const d = desiredById.get(id);
  if (!d) return [];
  // The sources are merged away now: they no longer exist.
  const actual = new Map<DistinctId, ActualSnapshot>([[id, snapshot], ...d.merge_from.map((s) => [s, { profile: null }] as [DistinctId, ActualSnapshot])]);
  return planProfile(d, actual, desiredById).ops;
}

/** The requests a real run would send for what remains, the deletes marked when they would be refused. */
async function dryRun(p: Prepared, deleteRefusal: FynoSyncError | undefined, deps: ApplyLifecycleDeps, req: ApplyRequest): Promise<ApplyOutcome> {
  const done = p.resumed?.done ?? new Set<string>();
  const all: Operation[] = [];
  if (p.streamed) for await (const op of p.streamed.source.read()) all.push(op);
  const keyed = (p.streamed ? all : p.plan.operations).flatMap((op, i): KeyedOp[] => (done.has(`p:${i}`) || p.alreadyApplied.has(`p:${i}`) ? [] : [{ key: `p:${i}`, op }]));
  const left = (await settleUncertain(p, keyed, req)).map((k) => k.op);
  // The real run writes nothing of a profile whose create finds it existing (drift, exit 1).
  const existing = await existingCreates(p, left, req);
  const remaining: Plan = { ...p.plan, operations: left };
  const sent: Plan = existing.size > 0 ? { ...p.plan, operations: left.filter((op) => !existing.has(profileIdOf(op) ?? '') || op.type === 'profile.create') } : remaining;
  const drift =
    existing.size > 0
      ? new FynoSyncError(
          'plan.stale',
          `${existing.size} profile(s) the plan creates exist in Fyno by now (created since the plan was made): ${[...existing].sort().slice(0, 20).join(', ')}${existing.size > 20 ? ', …' : ''}; apply would write nothing of them and exit 1 — plan again`,
          { drifted: [...existing].sort() },
        )
      : undefined;
  // Which requests the refusal is about: the deletes, or the merge of a protected source.
  const why = deleteRefusal?.code === 'apply.delete_refused' ? deleteRefusal.message.replace(/; nothing was written$/, '') : undefined;
  const mergeOf = deleteRefusal?.details.op === 'profile.merge' ? String(deleteRefusal.details.distinct_id) : undefined;
  const requests = planRequests(sent, p.api.target).map((spec): DryRunRequest => {
    if (why && mergeOf === undefined && spec.route.endsWith('/profiles/delete')) return { spec, refused: why };
    if (why && mergeOf !== undefined && spec.route.includes('/merge/') && spec.path.includes(`/${encodeURIComponent(mergeOf)}/merge/`)) return { spec, refused: why };
    const created = spec.method === 'POST' && spec.route.endsWith('/profiles') ? (spec.body as { distinct_id?: unknown } | undefined)?.distinct_id : undefined;
    if (typeof created === 'string' && existing.has(created)) return { spec, refused: `profile ${created} exists in Fyno: it was created since the plan was made (drift); nothing of it would be written` };
    return { spec };
  });
  const refusal = deleteRefusal ?? drift;
  return { kind: 'dry_run', plan: remaining, requests, ...(refusal ? { refusal } : {}), read_requests: counts(deps) };
}

/**
 * Resuming: the operations the interrupted run started but did not record done are settled by
 * re-reading before anything is sent (the runner's `dropApplied`); the dry run settles them the
 * same way, so what it lists is what the resume sends.
 */
async function settleUncertain(p: Prepared, ops: KeyedOp[], req: ApplyRequest): Promise<KeyedOp[]> {
  const r = p.resumed;
  const maybe = r ? ops.filter((k) => r.started.has(k.key)) : [];
  if (maybe.length === 0) return ops;
  const settler = new Settler(p.api, new CallCounter(req.concurrency), new Ledger(0, undefined, undefined), req.concurrency, undefined);
  const left = new Map((await settler.unsatisfied(maybe)).map((k) => [k.key, k] as const));
  return ops.flatMap((k) => (!r!.started.has(k.key) ? [k] : left.has(k.key) ? [left.get(k.key)!] : []));
}

/**
 * The profiles a saved or resumed plan creates (they were absent when it was made) that exist by
 * now. The real run learns it from the create Fyno refuses; a dry run sends none, so it reads
 * them (PRODUCT.md: the dry run exits as the real apply would).
 */
async function existingCreates(p: Prepared, ops: readonly Operation[], req: ApplyRequest): Promise<Set<DistinctId>> {
  const out = new Set<DistinctId>();
  if (!p.checkFresh) return out;
  const touched = p.streamed?.facts.touched;
  const ids = new Set(ops.flatMap((op) => (op.type === 'profile.create' && p.plan.preconditions[op.distinct_id] === 'absent' && !touched?.has(op.distinct_id) ? [op.distinct_id] : [])));
  await forEachLimited(ids, req.concurrency, async (id) => {
    if (req.signal?.aborted) return;
    if (await p.api.getProfile(id)) out.add(id);
  });
  if (req.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted while reading live state; nothing was written');
  return out;
}
