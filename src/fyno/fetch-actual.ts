/**
 * Reading live state for exactly the profiles the desired state names (and their merge
 * sources): each distinct id's profile once, its preferences once when they are managed.
 * A missing profile is "to create", not an error. Any read that still fails after the
 * client's retries fails the whole fetch: a partial live state must never become a plan.
 */
import { setMaxListeners } from 'node:events';
import { FynoSyncError, messageOf } from '../errors.js';
import { isFynoApiError } from './errors.js';
import { forEachLimited } from './pool.js';
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
  /**
   * Asked before each profile's read: a promise holds the read back until it settles (a consumer
   * of the snapshots that writes them out and must not fall behind, as the `plan` command's
   * scratch files).
   */
  pace?: () => Promise<void> | undefined;
}

export interface FetchResult {
  snapshots: Map<DistinctId, LiveSnapshot>;
  /** Requests issued: one per profile, one more per existing profile whose preferences are managed, and the default preferences once (docs/requests.md). */
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
 * Read live state. Each profile is read first; the preferences of one that exists are read next
 * (before further profiles are started, so what is half-read stays bounded), and those of one
 * that does not are the workspace's defaults, read once. All under one concurrency limit so the
 * pipeline stays full (the ideal time is reads × latency ÷ concurrency).
 */
export async function fetchActual(api: FynoApi, requests: Iterable<ReadRequest>, o: FetchOptions = {}): Promise<FetchResult> {
  const reads = dedupeReads(requests);
  const read = new Map<DistinctId, LiveSnapshot>();
  const total = await readLive(api, reads, o, (id, snap) => void read.set(id, snap));
  // In request order, whatever order the reads completed in.
  const snapshots = new Map<DistinctId, LiveSnapshot>();
  for (const r of reads) snapshots.set(r.distinct_id, read.get(r.distinct_id)!);
  return { snapshots, reads: total };
}

/**
 * `fetchActual` without keeping anything: `onSnapshot` gets each id's snapshot as soon as its
 * reads (profile, and preferences when asked for) are complete, in completion order, and the
 * caller decides what to keep. Jobs are taken in request order by `concurrency` workers, so
 * what is in flight or half-read is bounded by the concurrency. Returns the number of requests.
 * An exception thrown by `onSnapshot` fails the read like a failed request.
 */
export async function readLive(
  api: FynoApi,
  requests: Iterable<ReadRequest>,
  o: FetchOptions,
  onSnapshot: (id: DistinctId, snapshot: LiveSnapshot) => void,
): Promise<number> {
  const reads = dedupeReads(requests);
  const controller = new AbortController();
  // Every in-flight request listens to it; with high concurrency that is many listeners by design.
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  const failures: { id: DistinctId; error: unknown }[] = [];
  // Upper bound until each profile is read: an absent profile's preferences are not read.
  let total = reads.reduce((n, r) => n + (r.preferences ? 2 : 1), 0);
  let sent = 0;
  let done = 0;
  const progress = (): void => o.onProgress?.(done, total);
  /**
   * A profile that does not exist has the workspace's default preferences (every topic at its
   * default; an unknown distinct_id gets them, fyno-manage-user-subscriptions-preferences-api
   * `GET /subscriptions/preference`): read once, for the first absent profile that needs them,
   * and shared by the others (issue #17: no preference read for a profile to create).
   */
  let defaults: Promise<ActualPreferences> | undefined;

  const readPreferences = async (id: DistinctId): Promise<ActualPreferences> => {
    sent += 1;
    const preferences = await api.getPreferences(id, { signal });
    done += 1;
    progress();
    return preferences;
  };
  // A profile's preferences are read by the worker that read the profile, before it starts
  // another one, so what is half-read stays bounded by the concurrency.
  const readOne = async (r: ReadRequest): Promise<void> => {
    const id = r.distinct_id;
    sent += 1;
    const snap: LiveSnapshot = { profile: await api.getProfile(id, { signal }) };
    done += 1;
    if (r.preferences && !snap.profile && defaults) total -= 1;
    progress();
    if (r.preferences) {
      if (snap.profile) {
        if (signal.aborted) return;
        snap.preferences = await readPreferences(id);
      } else {
        snap.preferences = await (defaults ??= readPreferences(id));
      }
    }
    onSnapshot(id, snap);
  };
  // Once one read failed the plan is impossible: the jobs left are passed over, not sent.
  const run = async (r: ReadRequest): Promise<void> => {
    const wait = o.pace?.();
    if (wait) await wait;
    if (signal.aborted) return;
    try {
      await readOne(r);
    } catch (error) {
      failures.push({ id: r.distinct_id, error });
      controller.abort();
    }
  };
  try {
    await forEachLimited(reads, Math.max(1, Math.min(o.concurrency ?? 8, reads.length)), run);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }

  if (failures.length > 0) throw readFailure(failures, total, api.target.baseUrl);
  if (o.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted while reading live state; no plan was made');
  return sent;
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
  const message = messageOf(e);
  return new FynoSyncError('internal', `reading live state of "${first.id}" failed unexpectedly: ${message}`);
}
