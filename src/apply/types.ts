/**
 * The applier's public types: what it needs (deps, options), what it reports while it runs
 * (`ApplyEvent`, rendered by the CLI — the library never prints) and what it returns
 * (`ApplySummary`, outcomes as values, never a throw for a failed operation).
 */
import type { DistinctId, FynoApi } from '../fyno/types.js';
import type { ActualSnapshot, Operation, OperationType } from '../plan/types.js';
import type { Journal } from './journal.js';
import type { PlanOutline } from './outline.js';

/**
 * A plan's operations read in order without holding them all (issue #17, "Memory"): a saved plan
 * of a million operations is read from its file, profile by profile, as the applier goes.
 */
export interface OperationSource {
  /** How many operations the plan has. */
  readonly total: number;
  /** The operations in plan order; each call reads them again from the start. */
  read(): AsyncIterable<Operation>;
  /**
   * The outline of the operations, when whoever read them gathered it (a saved plan, as its file
   * was scanned): the applier then reads them only to run them. Used when nothing of the plan is
   * done yet (no journal's `done`, no `alreadyApplied`); its operations have their secrets.
   */
  readonly outline?: PlanOutline;
}

export interface ApplyDeps {
  api: FynoApi;
  /**
   * The plan's operations, when `plan.operations` does not hold them (a saved plan read from its
   * file); then the plan given is read only for its other fields. Default: `plan.operations`.
   */
  operations?: OperationSource;
  /** Durable record of completed operations (`openJournal`); resume skips what it holds. */
  journal?: Journal;
  /**
   * Progress. Events carry operations as planned, with their values: a renderer must mask them
   * (`redactOperation` in src/plan/secrets.ts). Must not throw.
   */
  onEvent?: (e: ApplyEvent) => void;
  /**
   * The remaining operations of `distinctId` given its live state right after its merges
   * (PRODUCT.md, "Applying": a merge's outcome is not defined exactly, so the target is re-read
   * and re-planned). Without it the plan's own (predicted) operations are executed.
   */
  replan?: (distinctId: DistinctId, snapshot: ActualSnapshot) => Operation[];
  /**
   * Snapshot of an external per-attempt request counter (`METHOD route` → count), e.g. fed by
   * `HttpFynoClient`'s `onRequest`. When given, `ApplySummary.requests` is its growth during the
   * apply (client retries included); otherwise the applier counts the calls it makes.
   */
  requestCounts?: () => Readonly<Record<string, number>>;
  /**
   * Called once every check is made (safety, staleness) and right before the first write: the
   * lifecycle keeps the plan and opens the journal here, so a refusal leaves nothing behind.
   * Default: `journal.begin()`.
   */
  beforeFirstWrite?: () => Promise<void>;
}

export interface ApplyOptions {
  /** Requests in flight at most, property batches and settling reads included (CallCounter). The request rate is the client's business. */
  concurrency: number;
  allowDelete: boolean;
  /** Never more profile deletes than this, whatever `allowDelete` says. */
  maxDeletes: number;
  /** Stop scheduling; requests in flight finish, the journal is flushed, `interrupted: true`. */
  signal?: AbortSignal;
  /** After the writes, re-read changed profiles until they converge or `timeoutMs` passes. */
  verify?: { timeoutMs: number; intervalMs: number };
  /** Saved plans: re-read every profile in `plan.preconditions` and refuse when one drifted. */
  checkPreconditions?: boolean;
  /** Plan operations (keys `p:<index>`) whose effect live state already shows: recorded done, not sent. */
  alreadyApplied?: ReadonlySet<string>;
  /** Profiles the desired state marks `protected`: never deleted or merged away. */
  protectedIds?: readonly DistinctId[];
  /** Items per `POST /profiles/properties/batch` and ids per `POST /profiles/delete` (default 100). */
  batchSize?: number;
  /** Longest wait for more items before a partial property batch is sent (default: no limit — sent when full or when no profile can add more). */
  batchLingerMs?: number;
  /** Rounds of settle-and-resend for one request group (default 6). */
  maxRounds?: number;
  /** Delay unit for the applier's own retries of refused (429) non-idempotent writes (default 200 ms). */
  retryBaseMs?: number;
}

/** A field that did not reach the planned value after the bounded wait. */
export interface Divergence {
  distinct_id: DistinctId;
  op: OperationType;
  /** `properties.plan`, `channels.email`, `preferences.TOPIC.sms`, `name`, … */
  field: string;
  reason: string;
}

export interface ApplyFailure {
  distinct_id: DistinctId;
  op: OperationType;
  message: string;
}

/**
 * Every operation of the plan ends with one outcome: `succeeded + failed + skipped = total`.
 * The operations the applier makes itself (the re-plan of a profile after its merge) are counted
 * in `replanned`; the plan operations they replace take the re-plan's outcome as a whole.
 */
export interface OperationCounts {
  /** Operations in the plan. */
  total: number;
  /** Completed in this run (including ones found already applied when settling an unknown outcome). */
  succeeded: number;
  failed: number;
  /** Not executed in this run; why, in `skipped_by_reason` (`done earlier`, `interrupted`, …). */
  skipped: number;
  skipped_by_reason: Record<string, number>;
  replanned: { succeeded: number; failed: number; skipped: number };
}

/** Profiles by what this run did to them, each once by its most significant operation (as the plan's summary). */
export interface ProfileCounts {
  created: number;
  updated: number;
  merged: number;
  deleted: number;
}

export interface ApplySummary {
  operations: OperationCounts;
  profiles: ProfileCounts;
  /** Fields that did not converge in verification. */
  not_converged: number;
  divergences: Divergence[];
  /** Requests sent while applying (and verifying), by `METHOD route` (route as the OpenAPI path template). */
  requests: Record<string, number>;
  failures: ApplyFailure[];
  /** Profiles found changed since the plan was made while applying (a create of an id that exists by now): nothing of them was written. */
  drifted: DistinctId[];
  interrupted: boolean;
  /** Set when the journal could not be written: the run stopped scheduling (`interrupted`). */
  journal_error?: string;
}

export type ApplyEvent =
  | { type: 'apply.started'; profiles: number; operations: number; alreadyDone: number }
  | { type: 'preconditions.checked'; profiles: number }
  | { type: 'profile.started'; distinct_id: DistinctId }
  | { type: 'profile.done'; distinct_id: DistinctId; ok: boolean }
  /** `planned`: false for an operation of a re-plan after a merge (not one of the plan's). */
  | { type: 'op.done'; distinct_id: DistinctId; op: Operation; settled: boolean; planned: boolean }
  | { type: 'op.failed'; distinct_id: DistinctId; op: Operation; message: string; planned: boolean }
  | { type: 'op.skipped'; distinct_id: DistinctId; op: Operation; reason: string; planned: boolean }
  /** A plan operation reached its outcome: `done` of `total` (never more), `failed` of them. */
  | { type: 'progress'; done: number; total: number; failed: number }
  | { type: 'retry'; request: string; reason: string; delayMs: number }
  | { type: 'settle'; request: string; profiles: number; reason: string }
  | { type: 'replanned'; distinct_id: DistinctId; operations: number }
  | { type: 'verify.started'; profiles: number }
  | { type: 'verify.done'; notConverged: number }
  | { type: 'apply.interrupted' }
  | { type: 'apply.done'; summary: ApplySummary };
