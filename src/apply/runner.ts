/**
 * Scheduling a plan's operations (the applier's "obedient" core, STYLE.md): profiles in plan
 * order, their requests under the concurrency limit; per profile the order of PRODUCT.md ("Applying"): merges
 * (then re-read + re-plan), create, fields, channels, properties, preferences. Properties of many
 * profiles share `POST /profiles/properties/batch` requests (batcher.ts); deletes of whole
 * profiles go last, in bulk `POST /profiles/delete` requests; then verification (verify.ts).
 * Sending and settling one request group is send-group.ts and settler.ts; what is recorded and
 * counted is ledger.ts.
 */
import { FynoSyncError, InternalError, messageOf } from '../errors.js';
import { isAlreadyExists } from '../fyno/errors.js';
import type { DistinctId, FynoApi } from '../fyno/types.js';
import { forEachLimited } from '../fyno/pool.js';
import { isSuppressionOp, profileIdOf, type ActualSnapshot, type Operation, type Plan } from '../plan/types.js';
import { PropertyBatcher } from './batcher.js';
import { itemsIdempotent, propertyItems, routeKey, sendStep, sendSuppression, stepRequest, stepsForProfile, suppressionRequest, type KeyedOp, type Step } from './groups.js';
import { CallCounter, Ledger } from './ledger.js';
import { OutlineBuilder } from './outline.js';
import { sendGroup, type Group, type GroupResult } from './send-group.js';
import { ROUTE, Settler } from './settler.js';
import { checkFreshness, touchedProfiles, touchedSuppressionList } from './safety.js';
import type { ApplyDeps, ApplyOptions, ApplySummary, OperationSource } from './types.js';
import { verifyConvergence } from './verify.js';

/** A plan's operations as they are in memory. */
function arraySource(operations: readonly Operation[]): OperationSource {
  return {
    total: operations.length,
    // eslint-disable-next-line @typescript-eslint/require-await
    read: async function* () {
      yield* operations;
    },
  };
}

export class Runner {
  private readonly api: FynoApi;
  private readonly signal: AbortSignal | undefined;
  private readonly batchSize: number;
  /** Counts every request, and holds them to `concurrency` in flight (journal waits hold no slot). */
  private readonly calls: CallCounter;
  private readonly countsBefore: Readonly<Record<string, number>> | undefined;
  private readonly batcher: PropertyBatcher;
  private readonly ledger: Ledger;
  private readonly settler: Settler;
  private readonly startedIds = new Set<DistinctId>();
  private readonly source: OperationSource;

  constructor(
    private readonly plan: Plan,
    private readonly deps: ApplyDeps,
    private readonly opts: ApplyOptions,
  ) {
    this.api = deps.api;
    this.calls = new CallCounter(opts.concurrency, () => this.aborted);
    this.signal = opts.signal;
    this.batchSize = Math.max(1, opts.batchSize ?? 100);
    this.countsBefore = deps.requestCounts ? { ...deps.requestCounts() } : undefined;
    this.source = deps.operations ?? arraySource(plan.operations);
    this.ledger = new Ledger(this.source.total, deps.journal, deps.onEvent);
    this.settler = new Settler(this.api, this.calls, this.ledger, opts.concurrency, deps.journal?.uncertain);
    this.batcher = new PropertyBatcher({
      maxItems: this.batchSize,
      // No timer by default: a batch goes when full or when no profile can add to it any more
      // (every profile has passed its property step), so a run sends the fewest batches.
      lingerMs: opts.batchLingerMs ?? Number.POSITIVE_INFINITY,
      send: (ops) => this.sendBatch(ops),
      skip: (ops) => this.ledger.skip(ops, 'interrupted'),
      isAborted: () => this.aborted,
    });
  }

  /** Stop scheduling: the caller aborted, or the journal can no longer record what is done. */
  private get aborted(): boolean {
    return this.signal?.aborted === true || this.ledger.journalError !== undefined;
  }

  private exec(g: Group): Promise<GroupResult> {
    return sendGroup(g, this.ledger, this.settler, {
      maxRounds: this.opts.maxRounds ?? 6,
      retryBaseMs: this.opts.retryBaseMs ?? 200,
      signal: this.signal,
      aborted: () => this.aborted,
    });
  }

  // ---- steps -------------------------------------------------------------------------------

  private stepGroup(id: DistinctId, step: Exclude<Step, { kind: 'properties' | 'delete' }>): Group {
    const t = this.api.target;
    const request = routeKey(stepRequest(t, id, step));
    const send = async (ops: KeyedOp[]): Promise<void> => {
      // Re-group what is left after settling: the request body covers only those operations.
      const again = stepsForProfile(ops).find((s) => s.kind === step.kind) as typeof step | undefined;
      if (!again) throw new InternalError(`lost step ${step.kind} of ${id}`);
      await this.calls.send(request, () => sendStep(this.api, id, again));
    };
    // A create is checked by the create itself (PRODUCT.md, "Commands" → apply): an id that
    // exists by now is drift, not a failure to retry.
    const drift = step.kind === 'create' ? (e: unknown) => (isAlreadyExists(e) ? `profile ${id} exists in Fyno: it was created since the plan was made (drift); nothing of it was written — plan again` : undefined) : undefined;
    return { request, ops: step.ops, send, ...(drift ? { drift } : {}) };
  }

  private async sendBatch(ops: KeyedOp[]): Promise<void> {
    await this.exec({
      request: ROUTE.batch,
      ops,
      send: async (remaining) => {
        const items = propertyItems(remaining);
        await this.calls.send(ROUTE.batch, () => this.api.batchProperties(items, { idempotent: itemsIdempotent(items) }));
      },
    });
  }

  // ---- profiles ----------------------------------------------------------------------------

  /**
   * One profile, start to end. Only its requests take one of the `concurrency` slots (CallCounter):
   * waiting for the journal or for a property batch holds none, so the slots stay busy and
   * batches fill up (issue #17: a slot held across the journal's fsyncs left a quarter idle).
   */
  private async runProfile(id: DistinctId, ops: KeyedOp[], hadMerge: boolean, doneStageA: () => void): Promise<void> {
    let stageADone = false;
    const leaveStageA = (): void => {
      if (!stageADone) (stageADone = true), doneStageA();
    };
    try {
      const after = await this.runUntilProperties(id, ops, hadMerge);
      if (!after) return;
      const { props, prefs } = after;
      if (props.length > 0) {
        if (this.aborted) {
          this.ledger.skip([...props, ...prefs], 'interrupted');
          return;
        }
        // Queue before leaving stage A, so the last profile's items are in the final drain.
        const queued = this.batcher.add(props);
        leaveStageA();
        await queued;
      }
      leaveStageA();
      if (prefs.length > 0) {
        if (this.aborted) return this.ledger.skip(prefs, 'interrupted');
        const step = stepsForProfile(prefs)[0]!;
        if (step.kind !== 'preferences') throw new InternalError('preferences step expected');
        await this.exec(this.stepGroup(id, step));
      }
    } finally {
      leaveStageA();
      await this.ledger.finishProfile(id, this.aborted);
      if (this.startedIds.has(id)) this.ledger.emit({ type: 'profile.done', distinct_id: id, ok: !this.ledger.failedIds.has(id) });
    }
  }

  /** Merges (and re-plan), create, fields, channels. Returns what is left, or undefined when the profile stops. */
  private async runUntilProperties(id: DistinctId, planned: KeyedOp[], hadMerge: boolean): Promise<{ props: KeyedOp[]; prefs: KeyedOp[] } | undefined> {
    if (this.aborted) {
      this.ledger.skip(planned, 'interrupted');
      return undefined;
    }
    this.startedIds.add(id);
    this.ledger.emit({ type: 'profile.started', distinct_id: id });
    let ops = planned;

    // 1. Merges, each settled on its own; then the target is re-read and re-planned.
    const merges = ops.filter((k) => k.op.type === 'profile.merge');
    ops = ops.filter((k) => k.op.type !== 'profile.merge');
    for (let i = 0; i < merges.length; i += 1) {
      const m = merges[i]!;
      if (this.aborted) {
        this.ledger.skip([...merges.slice(i), ...ops], 'interrupted');
        return undefined;
      }
      const todo = await this.settler.dropApplied([m]);
      if (!todo) return (this.ledger.skip([...merges.slice(i + 1), ...ops], 'a merge before it failed'), undefined);
      if (todo.length === 0) continue;
      const step = stepsForProfile(todo)[0]!;
      if (step.kind !== 'merge') throw new InternalError('merge step expected');
      const r = await this.exec(this.stepGroup(id, step));
      if (r !== 'ok') {
        this.ledger.skip([...merges.slice(i + 1), ...ops], r === 'interrupted' ? 'interrupted' : 'a merge before it failed');
        return undefined;
      }
    }
    if (hadMerge && this.deps.replan) {
      let snap: ActualSnapshot;
      try {
        snap = await this.settler.readSnapshot(id, true);
      } catch (e) {
        await this.ledger.fail(ops, `could not re-read ${id} after its merge: ${messageOf(e)}`);
        return undefined;
      }
      let fresh: Operation[];
      try {
        fresh = this.deps.replan(id, snap).filter((op) => profileIdOf(op) === id && op.type !== 'profile.merge' && op.type !== 'profile.delete');
      } catch (e) {
        await this.ledger.fail(ops, `re-planning ${id} after its merge failed: ${messageOf(e)}`);
        return undefined;
      }
      const run = this.deps.journal?.run ?? 1;
      // The plan's own operations take the outcome of the re-plan (Ledger.finishProfile).
      this.ledger.supersede(id, ops);
      ops = fresh.map((op, n) => ({ key: `r${run}:${id}:${n}`, op }));
      await this.ledger.record(this.deps.journal?.replanDone(id));
      this.ledger.emit({ type: 'replanned', distinct_id: id, operations: ops.length });
    } else {
      const kept = await this.settler.dropApplied(ops);
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
        this.ledger.skip(
          steps.slice(i).flatMap((s) => s.ops),
          'interrupted',
        );
        return undefined;
      }
      const r = await this.exec(this.stepGroup(id, step));
      if (r === 'interrupted') {
        this.ledger.skip(
          steps.slice(i + 1).flatMap((s) => s.ops),
          'interrupted',
        );
        return undefined;
      }
      if ((r === 'failed' || r === 'drifted') && step.kind === 'create') {
        // Nothing else of a profile that could not be created, or that exists by now, is written.
        this.ledger.skip(
          steps.slice(i + 1).flatMap((s) => s.ops),
          r === 'drifted' ? 'drifted' : 'the profile could not be created',
        );
        return undefined;
      }
    }
    return { props, prefs };
  }

  // ---- deletes -----------------------------------------------------------------------------

  private async runDeletes(ops: KeyedOp[]): Promise<void> {
    const todo = await this.settler.dropApplied(ops);
    if (!todo) return;
    const chunks: KeyedOp[][] = [];
    for (let i = 0; i < todo.length; i += this.batchSize) chunks.push(todo.slice(i, i + this.batchSize));
    await Promise.all(
      chunks.map(async (chunk) => {
        if (this.aborted) return this.ledger.skip(chunk, 'interrupted');
        await this.exec({
          request: ROUTE.delete,
          ops: chunk,
          send: async (remaining) => {
            const ids = remaining.map((k) => profileIdOf(k.op)!);
            // `POST /profiles/delete` answers 400 when a repeat finds nothing: not idempotent.
            await this.calls.send(ROUTE.delete, () => this.api.deleteProfiles(ids, { idempotent: false }));
          },
        });
      }),
    );
  }

  // ---- the suppression list ----------------------------------------------------------------

  /** One request per operation, in plan order (adds, then removals), each settled on its own. */
  private async runSuppressions(ops: KeyedOp[]): Promise<void> {
    const todo = await this.settler.dropApplied(ops);
    if (!todo) return;
    for (const k of todo) {
      if (this.aborted) {
        this.ledger.skip(todo.slice(todo.indexOf(k)), 'interrupted');
        return;
      }
      const op = k.op;
      if (!isSuppressionOp(op)) throw new InternalError(`${op.type} among suppression operations`);
      const request = routeKey(suppressionRequest(this.api.target, op));
      await this.exec({ request, ops: [k], send: async () => this.calls.send(request, () => sendSuppression(this.api, op)) });
    }
  }

  // ---- run ---------------------------------------------------------------------------------

  /** The profile operations still to do (not deletes, not the suppression list's), in plan order. */
  private async *profileOps(todo: (key: string) => string): AsyncGenerator<KeyedOp & { op: { distinct_id: DistinctId } }> {
    let i = 0;
    for await (const op of this.source.read()) {
      const key = `p:${i++}`;
      if (todo(key) !== 'todo' || isSuppressionOp(op) || op.type === 'profile.delete') continue;
      yield { key, op };
    }
  }

  /** The operations to run of each profile, in plan order, read as the workers take them (each profile's are together). */
  private async *profileGroups(todo: (key: string) => string): AsyncGenerator<[DistinctId, KeyedOp[]]> {
    let current: [DistinctId, KeyedOp[]] | undefined;
    for await (const k of this.profileOps(todo)) {
      if (current && current[0] === k.op.distinct_id) {
        current[1].push(k);
        continue;
      }
      if (current) yield current;
      current = [k.op.distinct_id, [k]];
    }
    if (current) yield current;
  }

  /** The same grouped at once, in first-seen order (a plan in memory, or one whose profiles' operations are not together). */
  private async groupProfiles(todo: (key: string) => string): Promise<Map<DistinctId, KeyedOp[]>> {
    const byProfile = new Map<DistinctId, KeyedOp[]>();
    for await (const k of this.profileOps(todo)) {
      const list = byProfile.get(k.op.distinct_id);
      if (list) list.push(k);
      else byProfile.set(k.op.distinct_id, [k]);
    }
    return byProfile;
  }

  async run(): Promise<ApplySummary> {
    const journal = this.deps.journal;
    const done = journal?.done ?? new Set<string>();
    const source = this.source;

    if (this.opts.checkPreconditions) {
      // Profiles an earlier run already wrote to have changed by our own hand: not drift.
      const touched = touchedProfiles(this.plan, journal && { done: journal.done, uncertain: journal.uncertain });
      const n = await checkFreshness(this.plan, this.settler.readSnapshot, {
        concurrency: this.opts.concurrency,
        skip: touched,
        readSuppressions: () => this.settler.readSuppressions(),
        listTouched: touchedSuppressionList(this.plan, journal && { done: journal.done, uncertain: journal.uncertain }),
        ...(this.signal ? { signal: this.signal } : {}),
      });
      this.ledger.emit({ type: 'preconditions.checked', profiles: n });
    }
    // From here on every refusal has been made: `beforeFirstWrite` opens the journal. A Ctrl-C
    // before it leaves nothing behind (PRODUCT.md: nothing refused before the first write leaves
    // an unfinished journal).
    if (this.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted before the first write; nothing was written');
    if (this.deps.beforeFirstWrite) await this.deps.beforeFirstWrite();
    else journal?.begin();

    // What there is to do, in one pass that keeps only the deletes, the suppression list's
    // operations and the ids of the profiles (a plan read from its file is read again to run it).
    const todo = (key: string): 'earlier' | 'applied' | 'todo' => (done.has(key) ? 'earlier' : this.opts.alreadyApplied?.has(key) ? 'applied' : 'todo');
    let earlier = 0;
    const applied: KeyedOp[] = [];
    // A saved plan's outline was gathered as its file was scanned: it is not read once more here.
    let outline = done.size === 0 && !this.opts.alreadyApplied?.size ? source.outline : undefined;
    if (!outline) {
      const o = new OutlineBuilder();
      let i = 0;
      for await (const op of source.read()) {
        const key = `p:${i++}`;
        const t = todo(key);
        if (t === 'earlier') earlier += 1;
        else if (t === 'applied') applied.push({ key, op });
        o.add({ key, op }, t === 'todo');
      }
      outline = o.done();
    }
    const { merged: hadMerge, together, profiles: profileCount } = outline;
    const deletes = [...outline.deletes];
    const suppressions = [...outline.suppressions];
    this.ledger.emit({ type: 'apply.started', profiles: profileCount + deletes.length, operations: source.total, alreadyDone: earlier + applied.length });
    if (earlier > 0) {
      // The run that did them may have stopped before verifying them: verified with this run's
      // writes. Not a merged profile's: its plan operations were replaced by a re-plan after the merge.
      const verify = (k: KeyedOp): boolean => !hadMerge.has(profileIdOf(k.op)!);
      const chunk: KeyedOp[] = [];
      let n = 0;
      for await (const op of source.read()) {
        const key = `p:${n++}`;
        if (todo(key) !== 'earlier') continue;
        chunk.push({ key, op });
        if (chunk.length >= 1000) await this.ledger.doneEarlier(chunk.splice(0), true, verify);
      }
      await this.ledger.doneEarlier(chunk, true, verify);
    }
    await this.ledger.doneEarlier(applied);
    // A plan in memory is grouped at once, as it always was; one read from its file as it runs.
    const byProfile = this.deps.operations && together ? this.profileGroups(todo) : await this.groupProfiles(todo);
    let stageA = profileCount;
    const leftStageA = (): void => {
      stageA -= 1;
      if (stageA === 0) this.batcher.drain();
    };
    if (stageA === 0) this.batcher.drain();
    // Profiles are taken in plan order by a bounded number of workers, so the profiles in progress
    // are bounded by the concurrency and the batch size, not by the plan. Enough of them that batches
    // still fill: at most 2 × (batchSize − 1) can wait in the batcher's two unsent batches, and
    // the others keep taking profiles until every one has passed its property step (then the
    // batcher drains).
    const workers = 2 * Math.max(1, this.opts.concurrency) + 2 * this.batchSize;
    await forEachLimited(byProfile, workers, ([id, ops]) => this.runProfile(id, ops, hadMerge.has(id), leftStageA));
    await this.batcher.drain();
    if (deletes.length > 0) {
      if (this.aborted) this.ledger.skip(deletes, 'interrupted');
      else await this.runDeletes(deletes);
    }
    // The suppression list after every profile (issue #18).
    if (suppressions.length > 0) {
      if (this.aborted) this.ledger.skip(suppressions, 'interrupted');
      else await this.runSuppressions(suppressions);
    }

    let interrupted = this.aborted;
    let divergences: ApplySummary['divergences'] = [];
    const toVerify = this.ledger.asynchronousWrites();
    if (!interrupted && this.opts.verify && toVerify.size > 0) {
      this.ledger.emit({ type: 'verify.started', profiles: toVerify.size });
      divergences = await verifyConvergence(toVerify, this.settler.readSnapshot, {
        ...this.opts.verify,
        concurrency: this.opts.concurrency,
        ...(this.signal ? { signal: this.signal } : {}),
      });
      // Ctrl-C during the wait: what was not seen yet is unverified, not diverged.
      if (this.aborted) {
        interrupted = true;
        divergences = [];
      }
      this.ledger.emit({ type: 'verify.done', notConverged: divergences.length });
    }
    if (interrupted) this.ledger.emit({ type: 'apply.interrupted' });
    const counts = this.ledger.counts();
    await this.ledger.record(journal?.finish({ interrupted, failed: counts.failed }));

    const summary: ApplySummary = {
      operations: counts,
      profiles: this.ledger.profiles(),
      not_converged: divergences.length,
      divergences,
      requests: this.requestCounts(),
      failures: this.ledger.failures,
      drifted: this.ledger.drifted,
      interrupted,
      ...(this.ledger.journalError !== undefined ? { journal_error: this.ledger.journalError } : {}),
    };
    this.ledger.emit({ type: 'apply.done', summary });
    return summary;
  }

  private requestCounts(): Record<string, number> {
    if (!this.deps.requestCounts || !this.countsBefore) return { ...this.calls.counts };
    const now = this.deps.requestCounts();
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) {
      const d = v - (this.countsBefore[k] ?? 0);
      if (d > 0) out[k] = d;
    }
    return out;
  }
}
