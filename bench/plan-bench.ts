/**
 * Planning 10,000 profiles against the emulator (20 ms latency, concurrency 16): wall time
 * against the ideal (reads × latency ÷ concurrency), and reads issued against profiles named.
 */
import { createPlan } from '../src/create-plan.js';
import { BENCH_WS, clientFor, splitCounts, timed } from './util.js';
import { seededWorld } from './gen.js';

export interface PlanBenchResult {
  profiles: number;
  latencyMs: number;
  concurrency: number;
  reads: number;
  readsPerProfile: number;
  wallMs: number;
  idealMs: number;
  ratio: number;
  operations: number;
  loadMs: number;
}

export async function benchPlan(o: { count: number; latencyMs: number; concurrency: number; differ?: number; missing?: number }): Promise<PlanBenchResult> {
  const world = await seededWorld('plan', { count: o.count, differ: o.differ ?? 0.05, missing: o.missing ?? 0 });
  const { emu, state } = world;
  try {
    await emu.faults({ latencyMs: o.latencyMs });
    await emu.resetCounts();
    const api = clientFor(emu);
    const run = await timed(() =>
      createPlan({ api, now: () => new Date() }, state, {
        destination: { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' },
        concurrency: o.concurrency,
      }),
    );
    const { reads } = splitCounts((await emu.counts()).requests);
    const idealMs = (reads * o.latencyMs) / o.concurrency;
    return {
      profiles: o.count,
      latencyMs: o.latencyMs,
      concurrency: o.concurrency,
      reads,
      readsPerProfile: reads / o.count,
      wallMs: run.ms,
      idealMs,
      ratio: run.ms / idealMs,
      operations: run.value.plan.operations.length,
      loadMs: world.loadMs,
    };
  } finally {
    await world.close();
  }
}
