/**
 * Apply under faults: 10% injected failures (5xx, hang-ups, timeouts, lost responses) and 429
 * bursts with Retry-After. Converged means: a following plan is empty, no list value or token is
 * duplicated, and the summary's request count matches what the emulator recorded.
 */
import { applyPlan } from '../src/apply/index.js';
import { createPlan } from '../src/create-plan.js';
import type { DesiredState } from '../src/desired/types.js';
import type { HttpFynoClient } from '../src/fyno/http-client.js';
import { BENCH_WS, clientFor, sum, timed, type BenchEmulator } from './util.js';
import { seededWorld } from './gen.js';

export interface FaultsBenchResult {
  profiles: number;
  operations: number;
  failRate: number;
  applyMs: number;
  succeeded: number;
  failed: number;
  notConverged: number;
  summaryRequests: number;
  emulatorRequests: number;
  faultsInjected: Record<string, number>;
  statuses: Record<string, number>;
  replanOperations: number;
  duplicateListValues: number;
}

async function plan(api: HttpFynoClient, emu: BenchEmulator, desired: DesiredState) {
  return createPlan({ api, now: () => new Date() }, desired, { destination: { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' }, concurrency: 16 });
}

export async function benchFaults(o: { count: number; failRate: number }): Promise<FaultsBenchResult> {
  const world = await seededWorld('faults', { count: o.count, differ: 0.1, missing: 0.1 }, { propertyDelayMs: 20, faultSeed: 42 });
  const { emu, state } = world;
  try {
    const counted: Record<string, number> = {};
    // A short timeout, as a migration would configure: the 'timeout' fault holds the connection open.
    const api = clientFor(emu, { timeoutMs: 2000, onRequest: (r) => void (counted[`${r.method} ${r.route}`] = (counted[`${r.method} ${r.route}`] ?? 0) + 1) });
    const { plan: p } = await plan(api, emu, state);
    // Faults on: failures of every kind, and a token bucket that answers bursts with 429.
    await emu.faults({ latencyMs: 5, failRate: o.failRate, rateLimit: { rps: 400, burst: 40 } });
    await emu.resetCounts();
    const run = await timed(() =>
      applyPlan(p, { api, requestCounts: () => ({ ...counted }) }, { concurrency: 16, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 15_000, intervalMs: 200 } }),
    );
    const stats = (await (await fetch(`${emu.adminUrl}/stats`)).json()) as { total: number; statuses: Record<string, number>; faults: Record<string, number> };
    if (typeof stats.total !== 'number') throw new Error(`unexpected stats: ${JSON.stringify(stats).slice(0, 200)}`);
    await emu.faults({ failRate: 0, rateLimit: null, latencyMs: 0 });
    const again = await plan(api, emu, state);
    let duplicates = 0;
    for (const d of state.profiles) {
      const live = await api.getProfile(d.distinct_id);
      for (const v of Object.values(live?.properties ?? {})) if (Array.isArray(v) && new Set(v.map(String)).size !== v.length) duplicates += 1;
      for (const v of Object.values(live?.channels ?? {})) if (Array.isArray(v) && new Set(v.map((t) => t.token)).size !== v.length) duplicates += 1;
    }
    return {
      profiles: o.count,
      operations: p.operations.length,
      failRate: o.failRate,
      applyMs: run.ms,
      succeeded: run.value.operations.succeeded,
      failed: run.value.operations.failed,
      notConverged: run.value.not_converged,
      summaryRequests: sum(run.value.requests),
      emulatorRequests: stats.total,
      faultsInjected: stats.faults,
      statuses: stats.statuses,
      replanOperations: again.plan.operations.length,
      duplicateListValues: duplicates,
    };
  } finally {
    await world.close();
  }
}
