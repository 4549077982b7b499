/**
 * Reading live state for exactly the profiles the desired state names (and their merge
 * sources): each distinct id's profile once, its preferences once when they are managed.
 * A missing profile is "to create", not an error. Any read that still fails after the
 * client's retries fails the whole fetch: a partial live state must never become a plan.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { FynoSyncError } from '../errors.js';
import { isFynoApiError } from './errors.js';
import type { ActualPreferences, ActualProfile, DistinctId, FynoApi } from './types.js';

/** What the planner needs to know of one profile. */
export interface LiveSnapshot {
  profile: ActualProfile | null;
  /** Present when preferences were read (the desired profile manages some). */
  preferences?: ActualPreferences;
}

export interface ReadRequest {
  distinct_id: DistinctId;
  preferences: boolean;
}

export interface FetchOptions {
  /** Reads in flight at once (default 8). The request rate is limited by the client. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called after each read completes. */
  onProgress?: (done: number, total: number) => void;
}

export interface FetchResult {
  snapshots: Map<DistinctId, LiveSnapshot>;
  /** Requests issued: one per profile, one more per profile whose preferences are managed. */
  reads: number;
}

/** Merge duplicate requests for the same id (a source named twice, a target also a source). */
export function dedupeReads(requests: Iterable<ReadRequest>): ReadRequest[] {
  const byId = new Map<DistinctId, ReadRequest>();
  for (const r of requests) {
    const seen = byId.get(r.distinct_id);
    if (seen) seen.preferences ||= r.preferences;
    else byId.set(r.distinct_id, { ...r });
  }
  return [...byId.values()];
}

/**
 * Read live state. Profile and preference reads are scheduled as separate tasks under one
 * concurrency limit so the pipeline stays full (the ideal time is reads × latency ÷ concurrency).
 */
export async function fetchActual(api: FynoApi, requests: Iterable<ReadRequest>, o: FetchOptions = {}): Promise<FetchResult> {
  const reads = dedupeReads(requests);
  const limit = pLimit(o.concurrency ?? 8);
  const controller = new AbortController();
  // Every in-flight request listens to it; with high concurrency that is many listeners by design.
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  const profiles = new Map<DistinctId, ActualProfile | null>();
  const preferences = new Map<DistinctId, ActualPreferences>();
  const failures: { id: DistinctId; error: unknown }[] = [];
  const total = reads.reduce((n, r) => n + (r.preferences ? 2 : 1), 0);
  let done = 0;

  const task = (id: DistinctId, run: () => Promise<void>) =>
    limit(async () => {
      if (signal.aborted) return;
      try {
        await run();
      } catch (error) {
        failures.push({ id, error });
        // One failed read makes the plan impossible; stop issuing the rest. Queued tasks see the
        // aborted signal and return at once (not `limit.clearQueue()`: it drops them unsettled,
        // so `Promise.all` below would never settle and the CLI would exit silently).
        controller.abort();
        return;
      }
      done += 1;
      o.onProgress?.(done, total);
    });

  const tasks: Promise<void>[] = [];
  for (const r of reads) {
    tasks.push(task(r.distinct_id, async () => void profiles.set(r.distinct_id, await api.getProfile(r.distinct_id, { signal }))));
    if (r.preferences) {
      tasks.push(task(r.distinct_id, async () => void preferences.set(r.distinct_id, await api.getPreferences(r.distinct_id, { signal }))));
    }
  }
  try {
    await Promise.all(tasks);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }

  if (failures.length > 0) throw readFailure(failures, total, api.target.baseUrl);
  if (o.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted while reading live state; no plan was made');

  const snapshots = new Map<DistinctId, LiveSnapshot>();
  for (const r of reads) {
    const snap: LiveSnapshot = { profile: profiles.get(r.distinct_id) ?? null };
    const prefs = preferences.get(r.distinct_id);
    if (prefs) snap.preferences = prefs;
    snapshots.set(r.distinct_id, snap);
  }
  return { snapshots, reads: total };
}

function readFailure(failures: { id: DistinctId; error: unknown }[], total: number, baseUrl: string): FynoSyncError {
  // Report the first real failure (later ones are usually aborts caused by it).
  const first = failures.find((f) => !(isFynoApiError(f.error) && f.error.code === 'api.network' && /abort/i.test(f.error.message))) ?? failures[0]!;
  const e = first.error;
  if (isFynoApiError(e)) {
    if (e.code === 'api.unauthorized') {
      return new FynoSyncError(
        'api.unauthorized',
        `Fyno refused the credentials (${e.api.status ?? 401} ${e.api.fynoMessage ?? 'Invalid API details'}): check FYNO_API_KEY and the workspace (FYNO_WSID / --workspace); no plan was made`,
        { status: e.api.status, path: e.api.path },
      );
    }
    if (e.code === 'api.network' && e.api.status === undefined && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(e.message)) {
      // Nothing answered at all: name where we tried, the usual culprit is FYNO_BASE_URL.
      return new FynoSyncError('api.network', `cannot reach Fyno at ${baseUrl} (${e.message}); check FYNO_BASE_URL / --base-url; no plan was made`, {
        base_url: baseUrl,
        path: e.api.path,
        attempts: e.api.attempts,
      });
    }
    return new FynoSyncError(
      e.code,
      `could not read live state of profile "${first.id}": ${e.message}; no plan was made (a partial live state is never planned)`,
      { distinct_id: first.id, status: e.api.status, path: e.api.path, attempts: e.api.attempts, reads_planned: total },
    );
  }
  if (e instanceof FynoSyncError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FynoSyncError('internal', `reading live state of "${first.id}" failed unexpectedly: ${message}`);
}
