/**
 * The applier's bookkeeping, in one place: what the journal records, what each operation's
 * outcome is, and what the events and the summary say (issue #13, "Counts": one vocabulary).
 *
 * Every operation of the plan ends with exactly one outcome — succeeded, failed or skipped — so
 * `succeeded + failed + skipped = total` always holds and progress never exceeds its total.
 * Operations the applier makes itself (the re-plan of a profile after its merge) are counted
 * apart (`replanned`); the plan operations they replace take the re-plan's outcome as a whole.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { messageOf } from '../errors.js';
import { FynoApiError, isFynoApiError } from '../fyno/errors.js';
import type { DistinctId } from '../fyno/types.js';
import { PROFILE_ACTION_RANK, profileAction } from '../plan/build.js';
import { opSubject, profileIdOf, type Operation, type ProfileAction } from '../plan/types.js';
import type { KeyedOp } from './groups.js';
import type { Journal } from './journal.js';
import type { ApplyDeps, ApplyEvent, ApplyFailure, OperationCounts, ProfileCounts } from './types.js';
import { isAsynchronous, type WrittenOps } from './verify.js';

type Outcome = 'succeeded' | 'failed' | 'skipped';

/** Keys of plan operations: `p:<index>`; re-planned ones start with `r`. */
export function isPlanKey(key: string): boolean {
  return key.startsWith('p:');
}

/** The index of a plan key (`p:<index>`). */
function planIndex(key: string): number {
  return Number(key.slice(2));
}

/** Where a verified operation came from is not needed to verify it: one shared ref for all. */
const NO_REF = Object.freeze({ file: '', line: 0, column: 0 });

/**
 * Keeps what a run must remember of its operations small (issue #17, "Memory": a 100,000-profile
 * plan has a million operations): an outcome is a byte per plan operation, a profile's succeeded
 * operations are only its most significant action, and its asynchronous writes, kept for
 * verification, are packed into one JSON string once the profile is done.
 */
export class Ledger {
  /** Outcome of each plan operation by index: 0 none yet, 1 succeeded, 2 failed, 3 skipped. */
  private readonly outcomes: Uint8Array;
  private settledCount = 0;
  private readonly skippedBy: Record<string, number> = {};
  private readonly replannedCounts = { succeeded: 0, failed: 0, skipped: 0 };
  /** Plan operations replaced by a re-plan, per profile, until the re-plan's outcome is known. */
  private readonly superseded = new Map<DistinctId, KeyedOp[]>();
  /** Re-planned profiles with a failed or skipped operation. */
  private readonly replanTrouble = new Map<DistinctId, 'failed' | 'skipped'>();
  /** Per profile, the action of its succeeded operations (`profileAction`). */
  private readonly actions = new Map<DistinctId, ProfileAction>();
  readonly failures: ApplyFailure[] = [];
  /** Profiles found changed since the plan was made (a create refused: the id exists by now). */
  readonly drifted: DistinctId[] = [];
  /** Profiles written to in this run. */
  private readonly writtenIds = new Set<DistinctId>();
  /** Asynchronous operations written in this run, per profile not done yet. */
  private readonly asyncOpen = new Map<DistinctId, Operation[]>();
  /** The same of the profiles done: JSON of `[type, key, value?]` per operation. */
  private readonly asyncPacked = new Map<DistinctId, string>();
  readonly failedIds = new Set<DistinctId>();
  journalError: string | undefined;
  private succeeded = 0;
  private failed = 0;
  private skipped = 0;

  constructor(
    private readonly total: number,
    private readonly journal: Journal | undefined,
    private readonly onEvent: ApplyDeps['onEvent'],
  ) {
    this.outcomes = new Uint8Array(total);
  }

  emit(e: ApplyEvent): void {
    this.onEvent?.(e);
  }

  /** Waits for a journal record to be durable; a failing journal stops the run (nothing more is sent). */
  async record(p: Promise<void> | undefined): Promise<void> {
    if (!p) return;
    try {
      await p;
    } catch (e) {
      this.journalError ??= messageOf(e);
    }
  }

  /** Write-ahead intent of a request group; false when the journal can no longer record. */
  async started(ops: readonly KeyedOp[]): Promise<boolean> {
    await this.record(this.journal?.started(ops.map((k) => k.key)));
    return this.journalError === undefined;
  }

  /** Operations `started` whose request was never sent (the run stopped first): skipped as interrupted, not left uncertain. */
  async unsent(ops: readonly KeyedOp[]): Promise<void> {
    await this.record(this.journal?.unsent(ops.map((k) => k.key)));
    this.skip(ops, 'interrupted');
  }

  /** The final outcome of one operation; a plan operation gets exactly one. */
  private settle(k: KeyedOp, outcome: Outcome, reason?: string): void {
    if (!isPlanKey(k.key)) {
      this.replannedCounts[outcome] += 1;
      // Re-planned operations are a profile's (runner.ts, after a merge).
      const id = opSubject(k.op);
      if (outcome === 'failed') this.replanTrouble.set(id, 'failed');
      else if (outcome === 'skipped' && !this.replanTrouble.has(id)) this.replanTrouble.set(id, 'skipped');
      return;
    }
    const i = planIndex(k.key);
    if (this.outcomes[i] !== 0) return;
    this.outcomes[i] = outcome === 'succeeded' ? 1 : outcome === 'failed' ? 2 : 3;
    this.settledCount += 1;
    if (outcome === 'succeeded') {
      this.succeeded += 1;
      const id = profileIdOf(k.op);
      if (id !== undefined) {
        const a = profileAction([k.op]);
        const was = this.actions.get(id);
        this.actions.set(id, was === undefined ? a : moreSignificant(was, a));
      }
    } else if (outcome === 'failed') this.failed += 1;
    else {
      this.skipped += 1;
      const r = reason ?? 'not run';
      this.skippedBy[r] = (this.skippedBy[r] ?? 0) + 1;
    }
    this.emit({ type: 'progress', done: this.settledCount, total: this.total, failed: this.failed });
  }

  async succeed(ops: readonly KeyedOp[], settled: ReadonlySet<string> = new Set()): Promise<void> {
    await this.record(this.journal?.completed(ops.map((k) => k.key)));
    for (const k of ops) {
      // Verification re-reads profiles; the suppression list is not one.
      const id = profileIdOf(k.op);
      if (id !== undefined) {
        this.writtenIds.add(id);
        if (isAsynchronous(k.op)) this.keepAsync(id, k.op);
      }
      this.settle(k, 'succeeded');
      this.emit({ type: 'op.done', distinct_id: opSubject(k.op), op: k.op, settled: settled.has(k.key), planned: isPlanKey(k.key) });
    }
  }

  async fail(ops: readonly KeyedOp[], message: string): Promise<void> {
    await this.record(this.journal?.failed(ops.map((k) => k.key), message));
    for (const k of ops) {
      const id = profileIdOf(k.op);
      if (id !== undefined) this.failedIds.add(id);
      this.failures.push({ distinct_id: opSubject(k.op), op: k.op.type, message });
      this.settle(k, 'failed');
      this.emit({ type: 'op.failed', distinct_id: opSubject(k.op), op: k.op, message, planned: isPlanKey(k.key) });
    }
  }

  /** A refusal that shows drift: the operations fail with `message`, their profiles are named drifted. */
  async markDrifted(ops: readonly KeyedOp[], message: string): Promise<void> {
    for (const id of new Set(ops.flatMap((k) => profileIdOf(k.op) ?? []))) this.drifted.push(id);
    await this.fail(ops, message);
  }

  skip(ops: readonly KeyedOp[], reason: string): void {
    for (const k of ops) {
      this.settle(k, 'skipped', reason);
      this.emit({ type: 'op.skipped', distinct_id: opSubject(k.op), op: k.op, reason, planned: isPlanKey(k.key) });
    }
  }

  /**
   * Operations an earlier run completed (journal or re-read): skipped as `done earlier`, journalled
   * done. `verify`: those whose asynchronous writes are verified with this run's, since the run
   * that did them may have stopped before verifying them (killed or Ctrl-C while it waited).
   */
  async doneEarlier(ops: readonly KeyedOp[], journalled = false, verify?: (k: KeyedOp) => boolean): Promise<void> {
    if (ops.length === 0) return;
    if (!journalled) await this.record(this.journal?.completed(ops.map((k) => k.key)));
    if (verify) {
      for (const k of ops) {
        const id = profileIdOf(k.op);
        if (id === undefined || !isAsynchronous(k.op) || !verify(k)) continue;
        this.keepAsync(id, k.op);
        this.pack(id);
      }
    }
    this.skip(ops, 'done earlier');
  }

  private keepAsync(id: DistinctId, op: Operation): void {
    const packed = this.asyncPacked.get(id);
    if (packed !== undefined) {
      // Done already (a delete or a late settle): added to what is packed.
      this.asyncPacked.set(id, JSON.stringify([...(JSON.parse(packed) as unknown[]), packOp(op)]));
      return;
    }
    const list = this.asyncOpen.get(id);
    if (list) list.push(op);
    else this.asyncOpen.set(id, [op]);
  }

  private pack(id: DistinctId): void {
    const list = this.asyncOpen.get(id);
    if (!list) return;
    this.asyncOpen.delete(id);
    this.asyncPacked.set(id, JSON.stringify(list.map(packOp)));
  }

  /** The asynchronous operations written in this run (and those `doneEarlier` keeps), per profile, for verification (verify.ts). */
  asynchronousWrites(): Map<DistinctId, WrittenOps> {
    const out = new Map<DistinctId, WrittenOps>();
    for (const [id, ops] of this.asyncOpen) out.set(id, ops);
    for (const [id, packed] of this.asyncPacked) out.set(id, () => unpack(id, packed));
    return out;
  }

  /** The plan's operations of `id` are replaced by a re-plan; they take its outcome (`finishProfile`). */
  supersede(id: DistinctId, ops: KeyedOp[]): void {
    this.superseded.set(id, ops);
  }

  /** After a profile's last step: resolve the plan operations its re-plan replaced. */
  async finishProfile(id: DistinctId, interrupted: boolean): Promise<void> {
    await this.resolveSuperseded(id, interrupted);
    this.pack(id);
  }

  private async resolveSuperseded(id: DistinctId, interrupted: boolean): Promise<void> {
    const ops = this.superseded.get(id);
    if (!ops) return;
    this.superseded.delete(id);
    const trouble = this.replanTrouble.get(id);
    if (trouble === 'failed') {
      await this.fail(ops, 'its re-plan after the merge did not complete: see the failures of the re-planned operations');
    } else if (trouble === 'skipped' || interrupted) {
      this.skip(ops, 'interrupted');
    } else if (!this.writtenIds.has(id)) {
      // Nothing written for it in this run (its merge and re-planned writes were an earlier run's).
      await this.doneEarlier(ops);
    } else {
      await this.succeed(ops);
    }
  }

  counts(): OperationCounts {
    const skippedBy: Record<string, number> = {};
    for (const k of Object.keys(this.skippedBy).sort()) skippedBy[k] = this.skippedBy[k]!;
    return {
      total: this.total,
      succeeded: this.succeeded,
      failed: this.failed,
      skipped: this.skipped,
      skipped_by_reason: skippedBy,
      replanned: { ...this.replannedCounts },
    };
  }

  /** Profiles by what this run did to them: each once, by its most significant succeeded operation. */
  profiles(): ProfileCounts {
    const out: ProfileCounts = { created: 0, updated: 0, merged: 0, deleted: 0 };
    for (const [id, a] of this.actions) {
      if (this.failedIds.has(id)) continue;
      if (a === 'create') out.created += 1;
      else if (a === 'update') out.updated += 1;
      else if (a === 'merge') out.merged += 1;
      else if (a === 'delete') out.deleted += 1;
    }
    return out;
  }
}

/** The more significant of two actions, as `profileAction` ranks them. */
function moreSignificant(a: ProfileAction, b: ProfileAction): ProfileAction {
  return PROFILE_ACTION_RANK[b] > PROFILE_ACTION_RANK[a] ? b : a;
}

/** What verification needs of an asynchronous (property) operation: its type, key and value. */
function packOp(op: Operation): unknown[] {
  const o = op as { type: string; key?: string; value?: unknown };
  return o.value === undefined ? [o.type, o.key] : [o.type, o.key, o.value];
}

function unpack(id: DistinctId, packed: string): Operation[] {
  return (JSON.parse(packed) as [Operation['type'], string, unknown?][]).map(
    ([type, key, value]) => ({ type, distinct_id: id, key, ...(value !== undefined ? { value } : {}), at: NO_REF, idempotent: true }) as unknown as Operation,
  );
}

/** Counts the calls the applier makes, when no external per-attempt counter is given. */
export class CallCounter {
  readonly counts: Record<string, number> = {};
  readonly #limit: LimitFunction | undefined;

  /**
   * With `concurrency`, at most that many calls run at once; the others wait their turn.
   * `stopped`: once true, a write still waiting for its turn is not sent (`send`).
   */
  constructor(concurrency?: number, private readonly stopped: () => boolean = () => false) {
    this.#limit = concurrency === undefined ? undefined : pLimit(Math.max(1, concurrency));
  }

  /**
   * A write: `call`, except that one still waiting for its turn when the run stops (Ctrl-C) is
   * not sent at all but ends as aborted. Ctrl-C lets the requests in flight finish; a write
   * that was only queued is not in flight (it is journalled as started: a resume settles it).
   */
  send<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.call(key, () => {
      if (this.stopped()) throw notSent(key);
      return fn();
    });
  }

  async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await (this.#limit ? this.#limit(fn) : fn());
      this.bump(key, 1);
      return r;
    } catch (e) {
      this.bump(key, isFynoApiError(e) ? e.api.attempts : 1);
      throw e;
    }
  }

  private bump(key: string, n: number): void {
    if (n > 0) this.counts[key] = (this.counts[key] ?? 0) + n;
  }
}

/** A write `CallCounter.send` did not send because the run stopped first (no attempt made). */
function notSent(key: string): FynoApiError {
  const [method = '', path = ''] = key.split(' ', 2);
  return new FynoApiError('apply.interrupted', `${key} not sent: interrupted`, { method, path, retryable: false, outcomeUnknown: false, attempts: 0, aborted: true });
}
