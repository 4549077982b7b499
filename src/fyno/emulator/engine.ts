/**
 * EmulatorEngine: the state machine both front ends share (the HTTP server in server.ts and
 * MemoryFyno). It owns the store, the clock, the asynchronous property queue, request counts,
 * and reports every state change as a journal entry so that persistence.ts can replay it.
 *
 * Everything that changes state goes through `handle`, `applyPending`, `reset` or `seed`, each
 * with an explicit `now`, so replaying the journal with the same `now` values rebuilds the
 * same state (ids come from the store's counter, never from randomness or the wall clock).
 */
import { fail, type ApiRequest, type Reply } from './api-common.js';
import { handleApi, matchRoute } from './core.js';
import { applyPropertyOp } from './api-properties.js';
import { seedStore, type SeedInput } from './seed.js';
import { FynoStore } from './store.js';

/** One state change, in the order it happened (persistence.ts writes these to the WAL). */
export type JournalEntry =
  | { op: 'api'; t: string; req: ApiRequest }
  | { op: 'apply'; t: string; count: number }
  | { op: 'reset'; t: string }
  | { op: 'seed'; t: string; input: SeedInput };

export interface EngineOptions {
  store?: FynoStore;
  /**
   * The only workspace id the emulator knows; requests for another get 401 `Invalid API
   * details` (components/responses/APIKeyInvalid: "API Key or Workspace ID is invalid").
   * Undefined accepts every workspace.
   */
  workspace?: string;
  /** Delay before an accepted property request is applied; 0 applies it before answering. */
  propertyDelayMs?: number;
  now?: () => Date;
  /** Called synchronously after every state change, before the request is answered. */
  onJournal?: (e: JournalEntry) => void;
}

export interface RequestCounts {
  /** Every request received, by `METHOD template` (e.g. `PATCH /{WSID}/{version}/profiles/{distinct_id}/channel`). */
  requests: Record<string, number>;
  /** Requests that changed state (also when the answer was then lost by fault injection). */
  writes: Record<string, number>;
  /** Answers by status code. */
  statuses: Record<string, number>;
  total: number;
}

export function emptyCounts(): RequestCounts {
  return { requests: {}, writes: {}, statuses: {}, total: 0 };
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

export class EmulatorEngine {
  readonly store: FynoStore;
  workspace: string | undefined;
  propertyDelayMs: number;
  counts: RequestCounts = emptyCounts();
  private readonly clock: () => Date;
  private readonly onJournal: ((e: JournalEntry) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: EngineOptions = {}) {
    this.store = opts.store ?? new FynoStore();
    this.workspace = opts.workspace;
    this.propertyDelayMs = Math.max(0, opts.propertyDelayMs ?? 0);
    this.clock = opts.now ?? (() => new Date());
    this.onJournal = opts.onJournal;
  }

  now(): string {
    return this.clock().toISOString();
  }

  /** `METHOD template` of a request, `METHOD <unmatched>` when no route matches. */
  routeKey(method: string, segments: string[]): string {
    const m = matchRoute(method, segments);
    return `${method} ${m ? m.route.template : '<unmatched>'}`;
  }

  /** Count a received request (the server counts before faults; MemoryFyno per call). */
  countRequest(key: string): void {
    bump(this.counts.requests, key);
    this.counts.total += 1;
  }

  countStatus(status: number): void {
    bump(this.counts.statuses, String(status));
  }

  /**
   * Handle one API request: workspace check, the shared core, journal, property scheduling.
   * Never throws. Returns whether state changed so fault injection can "lose" the answer of a
   * write that was applied.
   */
  handle(req: ApiRequest, now: string = this.now()): Reply & { changed: boolean } {
    const m = matchRoute(req.method, req.segments);
    if (m && this.workspace !== undefined && m.params.WSID !== this.workspace) {
      return { ...fail(401, 'Invalid API details'), changed: false };
    }
    const before = this.store.mutations;
    const pendingBefore = this.store.pending.length;
    const reply = handleApi(this.store, req, now);
    const changed = this.store.mutations !== before;
    if (changed) {
      bump(this.counts.writes, `${req.method} ${m ? m.route.template : '<unmatched>'}`);
      this.onJournal?.({ op: 'api', t: now, req: structuredClone(req) });
    }
    if (this.store.pending.length > pendingBefore) {
      if (this.propertyDelayMs === 0) this.applyPending(now);
      else this.schedule();
    }
    return { ...reply, changed };
  }

  /**
   * Apply accepted property requests: all of them (`flush`), or those accepted at least
   * `propertyDelayMs` ago. Pending requests are applied in the order they were accepted, so
   * the applied ones are always a prefix of the queue and the journal records only a count.
   */
  applyPending(now: string = this.now(), all = true): number {
    const cutoff = Date.parse(now) - this.propertyDelayMs;
    let n = 0;
    while (n < this.store.pending.length) {
      const op = this.store.pending[n]!;
      if (!all && Date.parse(op.accepted_at) > cutoff) break;
      n += 1;
    }
    if (n === 0) return 0;
    this.applyCount(n, now);
    this.onJournal?.({ op: 'apply', t: now, count: n });
    return n;
  }

  /** Apply the first `n` pending requests (also used by journal replay). */
  applyCount(n: number, now: string): void {
    const ops = this.store.pending.splice(0, n);
    for (const op of ops) applyPropertyOp(this.store, op, now);
  }

  flush(): number {
    return this.applyPending(this.now(), true);
  }

  reset(now: string = this.now()): void {
    this.store.reset();
    this.onJournal?.({ op: 'reset', t: now });
  }

  /** Load profiles/topics/preferences (admin `POST /_emulator/seed`). Throws a message on bad input. */
  seed(input: SeedInput, now: string = this.now()): { profiles: number } {
    // Journaled even when it fails part-way: replay then fails at the same point, leaving the
    // same partial state (seeding is deterministic).
    try {
      return seedStore(this.store, input, now, this.workspace);
    } finally {
      this.onJournal?.({ op: 'seed', t: now, input: structuredClone(input) });
    }
  }

  /** (Re)arm the timer for the oldest pending property request. */
  schedule(minWaitMs = 0): void {
    if (this.closed || this.timer !== undefined) return;
    const head = this.store.pending[0];
    if (!head) return;
    const due = Date.parse(head.accepted_at) + this.propertyDelayMs;
    const wait = Math.max(minWaitMs, due - this.clock().getTime());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n = this.applyPending(this.now(), false);
      // An injected clock may not have moved: do not spin.
      this.schedule(n === 0 ? Math.max(10, this.propertyDelayMs) : 0);
    }, wait);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
