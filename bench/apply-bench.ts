/**
 * Apply to N profiles of which a fraction differ (emulator latency L, concurrency C): writes
 * sent against writes needed, wall time against the ideal, the no-op re-plan, and the same data
 * pushed by a naive script that upserts every profile every time.
 */
import pLimit from 'p-limit';
import { applyPlan, planRequests } from '../src/apply/index.js';
import { createPlan } from '../src/create-plan.js';
import type { DesiredState } from '../src/desired/types.js';
import { profileIdOf } from '../src/plan/types.js';
import type { HttpFynoClient } from '../src/fyno/http-client.js';
import { BENCH_WS, clientFor, recordingApi, sum, timed, type BenchEmulator } from './util.js';
import { profileAt, seededWorld } from './gen.js';

export interface ApplyBenchResult {
  profiles: number;
  differing: number;
  latencyMs: number;
  concurrency: number;
  planOperations: number;
  writesNeeded: number;
  writesSent: number;
  writesToUnchanged: number;
  applyRequests: number;
  applyMs: number;
  idealMs: number;
  ratio: number;
  succeeded: number;
  failed: number;
  notConverged: number;
  noopOperations: number;
  noopWrites: number;
  naive: { requests: number; writes: number; ms: number; idealMs: number };
}

async function plan(api: HttpFynoClient, emu: BenchEmulator, desired: DesiredState, concurrency: number) {
  return createPlan({ api, now: () => new Date() }, desired, {
    destination: { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' },
    concurrency,
  });
}

export async function benchApply(o: { count: number; differ: number; latencyMs: number; concurrency: number }): Promise<ApplyBenchResult> {
  const world = await seededWorld('apply', { count: o.count, differ: o.differ, missing: 0 }, { propertyDelayMs: 0 });
  const { emu, state } = world;
  try {
    const api = clientFor(emu);
    const { plan: p } = await plan(api, emu, state, o.concurrency);
    const changedIds = new Set(p.operations.flatMap((op) => profileIdOf(op) ?? []));
    const writesNeeded = planRequests(p, api.target).length;

    await emu.faults({ latencyMs: o.latencyMs });
    await emu.resetCounts();
    const rec = recordingApi(api);
    const run = await timed(() => applyPlan(p, { api: rec.api }, { concurrency: o.concurrency, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 10_000, intervalMs: 100 } }));
    const counts = await emu.counts();
    const writesSent = sum(counts.writes);
    const applyRequests = counts.total;
    const writesToUnchanged = [...rec.written].filter((id) => !changedIds.has(id)).length;

    // No-op: plan again right after; apply what it says.
    await emu.faults({ latencyMs: 0 });
    const again = await plan(api, emu, state, o.concurrency);
    await emu.resetCounts();
    await applyPlan(again.plan, { api }, { concurrency: o.concurrency, allowDelete: false, maxDeletes: 0 });
    const noopWrites = sum((await emu.counts()).writes);

    // Naive: upsert every profile every time (fields, channels, properties), same concurrency.
    await emu.faults({ latencyMs: o.latencyMs });
    await emu.resetCounts();
    const limit = pLimit(o.concurrency);
    const naive = await timed(() =>
      Promise.all(
        Array.from({ length: o.count }, (_, i) =>
          limit(async () => {
            const g = profileAt(i);
            await api.updateProfile(g.distinct_id, { name: g.name });
            await api.upsertChannels(g.distinct_id, { email: g.email, sms: g.sms });
            await api.setProperties(g.distinct_id, { plan: g.plan, ltv: g.ltv, tags: g.tags });
          }),
        ),
      ),
    );
    const naiveCounts = await emu.counts();
    const naiveRequests = naiveCounts.total;
    const idealMs = (applyRequests * o.latencyMs) / o.concurrency;
    return {
      profiles: o.count,
      differing: changedIds.size,
      latencyMs: o.latencyMs,
      concurrency: o.concurrency,
      planOperations: p.operations.length,
      writesNeeded,
      writesSent,
      writesToUnchanged,
      applyRequests,
      applyMs: run.ms,
      idealMs,
      ratio: run.ms / idealMs,
      succeeded: run.value.operations.succeeded,
      failed: run.value.operations.failed,
      notConverged: run.value.not_converged,
      noopOperations: again.plan.operations.length,
      noopWrites,
      naive: { requests: naiveRequests, writes: sum(naiveCounts.writes), ms: naive.ms, idealMs: (naiveRequests * o.latencyMs) / o.concurrency },
    };
  } finally {
    await world.close();
  }
}
