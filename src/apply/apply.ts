/**
 * `applyPlan`: executes a plan's operations as given — it groups, limits, retries refused
 * requests and settles unknown outcomes, but never decides what to change (STYLE.md, "obedient
 * applier"). Outcomes are values in the summary and events; nothing is printed.
 *
 * 1. Safety checks and, for saved plans, the staleness check: before any write.
 * 2. Profiles in parallel under p-limit; per profile the order of PRODUCT.md ("Applying"):
 *    merges (then re-read + re-plan), create, fields, channels, properties, preferences.
 *    Properties of many profiles share `POST /profiles/properties/batch` requests (batcher.ts).
 * 3. Deletes of whole profiles last, in bulk `POST /profiles/delete` requests.
 * 4. Verification of what was written (verify.ts).
 *
 * A write the API documents as idempotent is sent with `idempotent: true` and the client
 * retries it. Any other write whose outcome is unknown (timeout, lost response, 5xx) is settled
 * by re-reading the profile: what shows applied is done, only the rest is sent again. A refused
 * one (429) is sent again after `Retry-After`. Every completed request group is journalled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { InternalError, isFynoSyncError } from '../errors.js';
import { isFynoApiError } from '../fyno/errors.js';
import type { DistinctId, FynoApi, Token } from '../fyno/types.js';
import * as wire from '../fyno/wire.js';
import type { ActualSnapshot, Operation, Plan } from '../plan/types.js';
import { PropertyBatcher } from './batcher.js';
import { itemsIdempotent, propertyItems, routeKey, sendStep, stepRequest, stepsForProfile, type KeyedOp, type Step } from './groups.js';
import type { Journal } from './journal.js';
import { checkFreshness, checkPlanSafety } from './safety.js';
import { mergeSettled, missingTokens, opSatisfied } from './settle.js';
import type { ApplyDeps, ApplyEvent, ApplyFailure, ApplyOptions, ApplySummary } from './types.js';
import { forEachLimited } from '../fyno/pool.js';
import { verifyConvergence } from './verify.js';

const DUMMY = { baseUrl: 'http://127.0.0.1', workspace: 'W', env: 'live' as const };
const ROUTE = {
  getProfile: routeKey(wire.buildGetProfile(DUMMY, 'x')),
  getPreferences: routeKey(wire.buildGetPreferences(DUMMY, 'x')),
  batch: routeKey(wire.buildBatchProperties(DUMMY, [])),
  delete: routeKey(wire.buildDeleteProfiles(DUMMY, [])),
};

type GroupResult = 'ok' | 'failed' | 'interrupted';

interface Group {
  /** `METHOD route` for events. */
  request: string;
  ops: KeyedOp[];
  /** Send the request(s) for these (remaining) operations. */
  send: (ops: KeyedOp[]) => Promise<void>;
}

/**
 * Apply `plan` (secrets already resolved). Throws `FynoSyncError` only for refusals before any
 * write (`plan.conflict`, `plan.target_mismatch`, `apply.delete_refused`, `plan.stale`,
 * `apply.interrupted` during the staleness check); every later outcome is in the summary.
 */
export async function applyPlan(plan: Plan, deps: ApplyDeps, opts: ApplyOptions): Promise<ApplySummary> {
  checkPlanSafety(plan, deps.api.target, opts);
  const runner = new Runner(plan, deps, opts);
  return runner.run();
}

class Runner {
  private readonly api: FynoApi;
  private readonly journal: Journal | undefined;
  private readonly limit;
  private readonly readLimit;
  private readonly signal: AbortSignal | undefined;
  private readonly maxRounds: number;
  private readonly retryBaseMs: number;
  private readonly batchSize: number;
  private readonly counts: Record<string, number> = {};
  private readonly countsBefore: Readonly<Record<string, number>> | undefined;
  private readonly failures: ApplyFailure[] = [];
  /** Operations written in this run, per profile, for verification. */
  private readonly written = new Map<DistinctId, Operation[]>();
  private readonly batcher: PropertyBatcher;
  /** Plan operations replaced by a re-plan, per profile: journalled done once the re-plan is applied. */
  private readonly pendingSuperseded = new Map<DistinctId, KeyedOp[]>();
  private succeeded = 0;
  private failed = 0;
  private skipped = 0;
  private alreadyDone = 0;
  private superseded = 0;
  private journalError: string | undefined;
  private readonly failedIds = new Set<DistinctId>();
  private readonly startedIds = new Set<DistinctId>();

  constructor(
    private readonly plan: Plan,
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
  ) {
    this.api = deps.api;
    this.journal = deps.journal;
    this.limit = pLimit(Math.max(1, opts.concurrency));
    this.readLimit = pLimit(Math.max(1, opts.concurrency));
    this.signal = opts.signal;
    this.maxRounds = opts.maxRounds ?? 6;
    this.retryBaseMs = opts.retryBaseMs ?? 200;
    this.batchSize = Math.max(1, opts.batchSize ?? 100);
    this.countsBefore = deps.requestCounts ? { ...deps.requestCounts() } : undefined;
    this.batcher = new PropertyBatcher({
      maxItems: this.batchSize,
      // No timer by default: a batch goes when full or when no profile can add to it any more
      // (every profile has passed its property step), so a run sends the fewest batches.
      lingerMs: opts.batchLingerMs ?? Number.POSITIVE_INFINITY,
      send: (ops) => this.sendBatch(ops),
      skip: (ops) => this.skip(ops, 'interrupted'),
      isAborted: () => this.aborted,
    });
  }

  /** Stop scheduling: the caller aborted, or the journal can no longer record what is done. */
  private get aborted(): boolean {
    return this.signal?.aborted === true || this.journalError !== undefined;
  }

  private emit(e: ApplyEvent): void {
    this.deps.onEvent?.(e);
  }

  // ---- requests and reads ------------------------------------------------------------------

  private bump(key: string, n: number): void {
    if (n > 0) this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** Every API call goes through here so the summary can count it. */
  private async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.bump(key, 1);
      return r;
    } catch (e) {
      this.bump(key, isFynoApiError(e) ? e.api.attempts : 1);
      throw e;
    }
  }

  readSnapshot = async (id: DistinctId, withPreferences: boolean): Promise<ActualSnapshot> => {
    const profile = await this.call(ROUTE.getProfile, () => this.api.getProfile(id));
    if (!withPreferences || !profile) return { profile };
    const preferences = await this.call(ROUTE.getPreferences, () => this.api.getPreferences(id));
    return { profile, preferences };
  };

  // ---- bookkeeping -------------------------------------------------------------------------

  /** Waits for a journal record to be durable; a failing journal stops the run (nothing more is sent). */
  private async record(p: Promise<void> | undefined): Promise<void> {
    if (!p) return;
    try {
      await p;
    } catch (e) {
      this.journalError ??= e instanceof Error ? e.message : String(e);
    }
  }

  private async succeed(ops: readonly KeyedOp[], settled: ReadonlySet<string>): Promise<void> {
    await this.record(this.journal?.completed(ops.map((k) => k.key)));
    for (const k of ops) {
      this.succeeded += 1;
      const list = this.written.get(k.op.distinct_id) ?? [];
      list.push(k.op);
      this.written.set(k.op.distinct_id, list);
      this.emit({ type: 'op.done', distinct_id: k.op.distinct_id, op: k.op, settled: settled.has(k.key) });
    }
  }

  private async fail(ops: readonly KeyedOp[], message: string): Promise<void> {
    await this.record(
      this.journal?.failed(
        ops.map((k) => k.key),
        message,
      ),
    );
    for (const k of ops) {
      this.failed += 1;
      this.failedIds.add(k.op.distinct_id);
      this.failures.push({ distinct_id: k.op.distinct_id, op: k.op.type, message });
      this.emit({ type: 'op.failed', distinct_id: k.op.distinct_id, op: k.op, message });
    }
  }

  private skip(ops: readonly KeyedOp[], reason: string): void {
    for (const k of ops) {
      this.skipped += 1;
      this.emit({ type: 'op.skipped', distinct_id: k.op.distinct_id, op: k.op, reason });
    }
  }

  /** Operations found applied by an earlier run (journal or re-read): skipped, journalled done. */
  private async markAlreadyDone(ops: readonly KeyedOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.record(this.journal?.completed(ops.map((k) => k.key)));
    this.alreadyDone += ops.length;
    this.skip(ops, 'already applied');
  }

  // ---- settling ----------------------------------------------------------------------------

  /**
   * The operations whose effect the live state does not show, re-reading each profile once
   * (with preferences when needed; a merge also reads its source). A token insert shrinks to
   * the tokens still missing, so a token is never inserted twice.
   */
  private async unsatisfied(ops: readonly KeyedOp[]): Promise<KeyedOp[]> {
    const byId = new Map<DistinctId, KeyedOp[]>();
    for (const k of ops) byId.set(k.op.distinct_id, [...(byId.get(k.op.distinct_id) ?? []), k]);
    const left: KeyedOp[] = [];
    await Promise.all(
      [...byId].map(([id, list]) =>
        this.readLimit(async () => {
          const snap = await this.readSnapshot(id, list.some((k) => k.op.type === 'preference.set'));
          for (const k of list) {
            const op = k.op;
            if (op.type === 'profile.merge') {
              const source = await this.call(ROUTE.getProfile, () => this.api.getProfile(op.from));
              if (!mergeSettled(source, snap.profile)) left.push(k);
              continue;
            }
            if (opSatisfied(op, snap) === true) continue;
            if (op.type === 'channel.set' && Array.isArray(op.value)) {
              left.push({ key: k.key, op: { ...op, value: missingTokens(snap.profile, op.channel, op.value as Token[]) } });
              continue;
            }
            left.push(k);
          }
        }),
      ),
    );
    // Keep the given order (the batcher builds items from it).
    const order = new Map(ops.map((k, i) => [k.key, i]));
    return left.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  }

  /**
   * Send one request group until it succeeds, fails for good, or the run is interrupted.
   * Unknown outcome → re-read and send only what is not applied; refused (429 and other
   * retryable failures the client did not retry) → wait (`Retry-After` first) and send again.
   */
  private async execGroup(g: Group): Promise<GroupResult> {
    if (this.aborted) {
      this.skip(g.ops, 'interrupted');
      return 'interrupted';
    }
    await this.record(this.journal?.started(g.ops.map((k) => k.key)));
    if (this.journalError !== undefined) {
      this.skip(g.ops, 'interrupted');
      return 'interrupted';
    }
    const settled = new Set<string>();
    let remaining = g.ops;
    let lastMessage = 'no attempt was made';
    for (let round = 0; round < this.maxRounds; round += 1) {
      try {
        await g.send(remaining);
        await this.succeed(g.ops, settled);
        return 'ok';
      } catch (e) {
        if (!isFynoApiError(e)) {
          await this.fail(g.ops, e instanceof Error ? e.message : String(e));
          return 'failed';
        }
        lastMessage = e.message;
        if (e.api.aborted) {
          this.skip(g.ops, 'interrupted');
          return 'interrupted';
        }
        if (e.api.outcomeUnknown) {
          this.emit({ type: 'settle', request: g.request, profiles: new Set(remaining.map((k) => k.op.distinct_id)).size, reason: e.message });
          let left: KeyedOp[];
          try {
            left = await this.unsatisfied(remaining);
          } catch (readError) {
            await this.fail(g.ops, `${e.message}; re-reading to settle it failed: ${readError instanceof Error ? readError.message : String(readError)}`);
            return 'failed';
          }
          const leftKeys = new Set(left.map((k) => k.key));
          for (const k of remaining) if (!leftKeys.has(k.key)) settled.add(k.key);
          remaining = left.filter((k) => !(k.op.type === 'channel.set' && Array.isArray(k.op.value) && k.op.value.length === 0));
          if (remaining.length === 0) {
            await this.succeed(g.ops, settled);
            return 'ok';
          }
        } else if (e.api.retryable) {
          const delayMs =
            e.api.retryAfterSeconds !== undefined ? e.api.retryAfterSeconds * 1000 : Math.floor(this.retryBaseMs * 2 ** round * (0.5 + Math.random() / 2));
          this.emit({ type: 'retry', request: g.request, reason: e.message, delayMs });
          try {
            await sleep(delayMs, undefined, this.signal ? { signal: this.signal } : {});
          } catch {
            // Aborted while waiting: nothing in flight for this group.
          }
        } else {
          await this.fail(g.ops, e.message);
          return 'failed';
        }
        if (this.aborted) {
          this.skip(g.ops, 'interrupted');
          return 'interrupted';
        }
      }
    }
    await this.fail(g.ops, `${lastMessage} (gave up after ${this.maxRounds} rounds)`);
    return 'failed';
  }

  // ---- steps -------------------------------------------------------------------------------

  private stepGroup(id: DistinctId, step: Exclude<Step, { kind: 'properties' | 'delete' }>): Group {
    const t = this.api.target;
    const request = routeKey(stepRequest(t, id, step));
    const send = async (ops: KeyedOp[]): Promise<void> => {
      // Re-group what is left after settling: the request body covers only those operations.
      const again = stepsForProfile(ops).find((s) => s.kind === step.kind) as typeof step | undefined;
      if (!again) throw new InternalError(`lost step ${step.kind} of ${id}`);
      await this.call(request, () => sendStep(this.api, id, again));
    };
    return { request, ops: step.ops, send };
  }

  private async sendBatch(ops: KeyedOp[]): Promise<void> {
    await this.execGroup({
      request: ROUTE.batch,
      ops,
      send: async (remaining) => {
        const items = propertyItems(remaining);
        await this.call(ROUTE.batch, () => this.api.batchProperties(items, { idempotent: itemsIdempotent(items) }));
      },
    });
  }

  /** Before sending operations an earlier run may have sent: keep only those not applied yet. */
  private async dropApplied(ops: KeyedOp[]): Promise<KeyedOp[] | undefined> {
    const uncertain = this.journal?.uncertain;
    const maybe = uncertain ? ops.filter((k) => uncertain.has(k.key)) : [];
    if (maybe.length === 0) return ops;
    try {
      const left = new Set((await this.unsatisfied(maybe)).map((k) => k.key));
      await this.markAlreadyDone(maybe.filter((k) => !left.has(k.key)));
      return ops.filter((k) => !uncertain!.has(k.key) || left.has(k.key));
    } catch (e) {
      await this.fail(ops, `could not re-read to resume: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  // ---- profiles ----------------------------------------------------------------------------

  /**
   * One profile, start to end. The parts before properties and the preferences run under the
   * concurrency limit; waiting for a property batch holds no slot, so batches fill up.
   */
  private async runProfile(id: DistinctId, ops: KeyedOp[], hadMerge: boolean, doneStageA: () => void): Promise<void> {
    let stageADone = false;
    const leaveStageA = (): void => {
      if (!stageADone) (stageADone = true), doneStageA();
    };
    try {
      const after = await this.limit(() => this.runUntilProperties(id, ops, hadMerge));
      if (!after) return;
      const { props, prefs } = after;
      if (props.length > 0) {
        if (this.aborted) {
          this.skip([...props, ...prefs], 'interrupted');
          return;
        }
        // Queue before leaving stage A, so the last profile's items are in the final drain.
        const queued = this.batcher.add(props);
        leaveStageA();
        await queued;
      }
      leaveStageA();
      if (prefs.length > 0) {
        await this.limit(async () => {
          if (this.aborted) return this.skip(prefs, 'interrupted');
          const step = stepsForProfile(prefs)[0]!;
          if (step.kind !== 'preferences') throw new InternalError('preferences step expected');
          await this.execGroup(this.stepGroup(id, step));
        });
      }
    } finally {
      leaveStageA();
      if (this.startedIds.has(id)) this.emit({ type: 'profile.done', distinct_id: id, ok: !this.failedIds.has(id) });
    }
  }

  /** Merges (and re-plan), create, fields, channels. Returns what is left, or undefined when the profile stops. */
  private async runUntilProperties(id: DistinctId, planned: KeyedOp[], hadMerge: boolean): Promise<{ props: KeyedOp[]; prefs: KeyedOp[] } | undefined> {
    if (this.aborted) {
      this.skip(planned, 'interrupted');
      return undefined;
    }
    this.startedIds.add(id);
    this.emit({ type: 'profile.started', distinct_id: id });
    let ops = planned;

    // 1. Merges, each settled on its own; then the target is re-read and re-planned.
    const merges = ops.filter((k) => k.op.type === 'profile.merge');
    ops = ops.filter((k) => k.op.type !== 'profile.merge');
    for (let i = 0; i < merges.length; i += 1) {
      const m = merges[i]!;
      if (this.aborted) {
        this.skip([...merges.slice(i), ...ops], 'interrupted');
        return undefined;
      }
      const todo = await this.dropApplied([m]);
      if (!todo) return (this.skip([...merges.slice(i + 1), ...ops], 'a merge before it failed'), undefined);
      if (todo.length === 0) continue;
      const step = stepsForProfile(todo)[0]!;
      if (step.kind !== 'merge') throw new InternalError('merge step expected');
      const r = await this.execGroup(this.stepGroup(id, step));
      if (r !== 'ok') {
        this.skip([...merges.slice(i + 1), ...ops], r === 'interrupted' ? 'interrupted' : 'a merge before it failed');
        return undefined;
      }
    }
    if (hadMerge && this.deps.replan) {
      let snap: ActualSnapshot;
      try {
        snap = await this.readSnapshot(id, true);
      } catch (e) {
        await this.fail(ops, `could not re-read ${id} after its merge: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
      let fresh: Operation[];
      try {
        fresh = this.deps.replan(id, snap).filter((op) => op.distinct_id === id && op.type !== 'profile.merge' && op.type !== 'profile.delete');
      } catch (e) {
        await this.fail(ops, `re-planning ${id} after its merge failed: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
      const run = this.journal?.run ?? 1;
      const supersededOps = ops;
      this.superseded += supersededOps.length;
      this.skip(supersededOps, 'superseded by the re-plan after the merge');
      ops = fresh.map((op, n) => ({ key: `r${run}:${id}:${n}`, op }));
      await this.record(this.journal?.replanDone(id));
      this.emit({ type: 'replanned', distinct_id: id, operations: ops.length });
      // The plan's own operations are done once the re-planned ones are (see runProfile's caller).
      this.pendingSuperseded.set(id, supersededOps);
    } else {
      const kept = await this.dropApplied(ops);
      if (!kept) return undefined;
      ops = kept;
    }

    // 2. Create, fields, channels: one request each at most.
    const steps = stepsForProfile(ops);
    const props: KeyedOp[] = [];
    const prefs: KeyedOp[] = [];
    for (let i = 0; i < steps.length; i += 1) {
      const step = steps[i]!;
      if (step.kind === 'properties') {
        props.push(...step.ops);
        continue;
      }
      if (step.kind === 'preferences') {
        prefs.push(...step.ops);
        continue;
      }
      if (step.kind === 'delete' || step.kind === 'merge') throw new InternalError(`${step.kind} in a profile's steps`);
      if (this.aborted) {
        this.skip(
          steps.slice(i).flatMap((s) => s.ops),
          'interrupted',
        );
        return undefined;
      }
      const r = await this.execGroup(this.stepGroup(id, step));
      if (r === 'interrupted') {
        this.skip(
          steps.slice(i + 1).flatMap((s) => s.ops),
          'interrupted',
        );
        return undefined;
      }
      if (r === 'failed' && step.kind === 'create') {
        this.skip(
          steps.slice(i + 1).flatMap((s) => s.ops),
          'the profile could not be created',
        );
        return undefined;
      }
    }
    return { props, prefs };
  }

  // ---- deletes -----------------------------------------------------------------------------

  private async runDeletes(ops: KeyedOp[]): Promise<void> {
    const todo = await this.dropApplied(ops);
    if (!todo) return;
    const chunks: KeyedOp[][] = [];
    for (let i = 0; i < todo.length; i += this.batchSize) chunks.push(todo.slice(i, i + this.batchSize));
    await Promise.all(
      chunks.map((chunk) =>
        this.limit(async () => {
          if (this.aborted) return this.skip(chunk, 'interrupted');
          await this.execGroup({
            request: ROUTE.delete,
            ops: chunk,
            send: async (remaining) => {
              const ids = remaining.map((k) => k.op.distinct_id);
              // `POST /profiles/delete` answers 400 when a repeat finds nothing: not idempotent.
              await this.call(ROUTE.delete, () => this.api.deleteProfiles(ids, { idempotent: false }));
            },
          });
        }),
      ),
    );
  }

  // ---- run ---------------------------------------------------------------------------------

  async run(): Promise<ApplySummary> {
    const done = this.journal?.done ?? new Set<string>();
    const keyed: KeyedOp[] = this.plan.operations.map((op, i) => ({ key: `p:${i}`, op }));
    const todo = keyed.filter((k) => !done.has(k.key));
    const resumedDone = keyed.length - todo.length;

    try {
      if (this.opts.checkPreconditions) {
        // Profiles an earlier run already wrote to have changed by our own hand: not drift.
        const touched = new Set(
          keyed
            .filter((k) => done.has(k.key) || this.journal?.uncertain.has(k.key))
            .flatMap((k) => (k.op.type === 'profile.merge' ? [k.op.distinct_id, k.op.from] : [k.op.distinct_id])),
        );
        const n = await checkFreshness(this.plan, this.readSnapshot, {
          concurrency: this.opts.concurrency,
          skip: touched,
          ...(this.signal ? { signal: this.signal } : {}),
        });
        this.emit({ type: 'preconditions.checked', profiles: n });
      }
    } catch (e) {
      await this.journal?.close();
      throw e;
    }

    this.alreadyDone = resumedDone;
    this.skipped = resumedDone;
    const byProfile = new Map<DistinctId, KeyedOp[]>();
    const deletes: KeyedOp[] = [];
    for (const k of todo) {
      if (k.op.type === 'profile.delete') deletes.push(k);
      else {
        const list = byProfile.get(k.op.distinct_id);
        if (list) list.push(k);
        else byProfile.set(k.op.distinct_id, [k]);
      }
    }
    const hadMerge = new Set(this.plan.operations.filter((op) => op.type === 'profile.merge').map((op) => op.distinct_id));
    this.emit({ type: 'apply.started', profiles: byProfile.size + deletes.length, operations: keyed.length, alreadyDone: resumedDone });

    let stageA = byProfile.size;
    const leftStageA = (): void => {
      stageA -= 1;
      if (stageA === 0) this.batcher.drain();
    };
    if (stageA === 0) this.batcher.drain();
    // Profiles are taken in plan order by a bounded number of workers, so what is in flight is
    // bounded by the concurrency and the batch size, not by the plan. Enough of them that batches
    // still fill: at most 2 × (batchSize − 1) can wait in the batcher's two unsent batches, and
    // the others keep taking profiles until every one has passed its property step (then the
    // batcher drains).
    const inFlight = 2 * Math.max(1, this.opts.concurrency) + 2 * this.batchSize;
    await forEachLimited(byProfile, inFlight, async ([id, ops]) => {
      const failedBefore = this.failed;
      await this.runProfile(id, ops, hadMerge.has(id), leftStageA);
      const sup = this.pendingSuperseded.get(id);
      // Re-planned profile fully applied: its superseded plan operations need no resume.
      if (sup && this.failed === failedBefore && !this.aborted) await this.record(this.journal?.completed(sup.map((k) => k.key)));
    });
    await this.batcher.drain();
    if (deletes.length > 0) {
      if (this.aborted) this.skip(deletes, 'interrupted');
      else await this.runDeletes(deletes);
    }

    const interrupted = this.aborted;
    let divergences: ApplySummary['divergences'] = [];
    if (!interrupted && this.opts.verify && this.written.size > 0) {
      this.emit({ type: 'verify.started', profiles: this.written.size });
      divergences = await verifyConvergence(this.written, this.readSnapshot, {
        ...this.opts.verify,
        concurrency: this.opts.concurrency,
        ...(this.signal ? { signal: this.signal } : {}),
      });
      this.emit({ type: 'verify.done', notConverged: divergences.length });
    }
    if (interrupted) this.emit({ type: 'apply.interrupted' });
    await this.record(this.journal?.finish({ interrupted, failed: this.failed }));
    await this.journal?.close();

    const summary: ApplySummary = {
      total: keyed.length,
      succeeded: this.succeeded,
      failed: this.failed,
      skipped: this.skipped,
      alreadyDone: this.alreadyDone,
      superseded: this.superseded,
      notConverged: divergences.length,
      divergences,
      requests: this.requestCounts(),
      failures: this.failures,
      interrupted,
      ...(this.journalError !== undefined ? { journalError: this.journalError } : {}),
    };
    this.emit({ type: 'apply.done', summary });
    return summary;
  }

  private requestCounts(): Record<string, number> {
    if (!this.deps.requestCounts || !this.countsBefore) return { ...this.counts };
    const now = this.deps.requestCounts();
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) {
      const d = v - (this.countsBefore[k] ?? 0);
      if (d > 0) out[k] = d;
    }
    return out;
  }
}

/** For callers that want to tell a refusal from an unexpected failure. */
export function isRefusal(e: unknown): boolean {
  return isFynoSyncError(e) && ['plan.conflict', 'plan.target_mismatch', 'apply.delete_refused', 'plan.stale'].includes(e.code);
}
