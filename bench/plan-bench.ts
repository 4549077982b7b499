/**
 * Planning 10,000 profiles against the emulator (20 ms latency, concurrency 16): wall time
 * against the ideal (reads × latency ÷ concurrency), and reads issued against profiles named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPlan } from '../src/create-plan.js';
import { loadDesired } from '../src/desired/load.js';
import { benchEmulator, BENCH_WS, clientFor, splitCounts, timed } from './util.js';
import { seedEmulator, writeDesired, type GenOptions } from './gen.js';

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
  const gen: GenOptions = { count: o.count, differ: o.differ ?? 0.05, missing: o.missing ?? 0 };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-plan-'));
  const emu = await benchEmulator();
  try {
    await writeDesired(dir, gen);
    await seedEmulator(emu.adminUrl, gen);
    const loaded = await timed(() => loadDesired([dir], { env: {}, cwd: dir }));
    if (loaded.value.issues.length > 0) throw new Error(`bench data invalid: ${loaded.value.issues[0]!.message}`);
    await emu.faults({ latencyMs: o.latencyMs });
    await emu.resetCounts();
    const api = clientFor(emu);
    const run = await timed(() =>
      createPlan({ api, now: () => new Date() }, loaded.value.state, {
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
      loadMs: loaded.ms,
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
