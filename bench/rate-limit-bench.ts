/**
 * Plan + apply under a server-side rate limit and injected failures (issue #13 item 8): the
 * emulator answers above `rateLimit` requests per second with 429 + Retry-After, and `failRate`
 * of the requests with a fault of any kind. The client runs as the CLI would, with no `--rps`
 * (the user does not know the server's limit) and concurrency 8. Reported per seed: the share of
 * requests answered 429, whether the one plan and the one apply went through (no give-up, no
 * failed operation, nothing unconverged) and whether a following plan (faults off) is empty.
 *
 * Run alone: `npx tsx bench/rate-limit-bench.ts [profiles] [seeds] [failRate] [rateLimit]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyPlan } from '../src/apply/index.js';
import { createPlan } from '../src/create-plan.js';
import { loadDesired } from '../src/desired/load.js';
import { benchEmulator, BENCH_WS, clientFor } from './util.js';
import { seedEmulator, writeDesired, type GenOptions } from './gen.js';

export interface RateLimitRun {
  seed: number;
  requests: number;
  rateLimited: number;
  /** `rateLimited / requests`. */
  share429: number;
  operations: number;
  /** Plan and apply both finished with no failure and nothing unconverged. */
  converged: boolean;
  /** Operations of a plan made right after the apply, faults off. */
  replanOperations: number;
  error?: string;
  /** Wall time of the plan and the apply (seeding and the check after them excluded). */
  ms: number;
}

export async function benchRateLimit(o: { count: number; seeds: number[]; failRate: number; rateLimit: number }): Promise<RateLimitRun[]> {
  const gen: GenOptions = { count: o.count, differ: 0.3, missing: 0.1 };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-429-'));
  const runs: RateLimitRun[] = [];
  try {
    await writeDesired(dir, gen);
    const { state } = await loadDesired([dir], { env: {}, cwd: dir });
    for (const seed of o.seeds) {
      const emu = await benchEmulator({ propertyDelayMs: 20, faultSeed: seed });
      try {
        await seedEmulator(emu.adminUrl, gen);
        // The 'timeout' fault holds the connection until the client gives up: a short timeout.
        const api = clientFor(emu, { timeoutMs: 2000 });
        const destination = { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' as const };
        await emu.faults({ failRate: o.failRate, rateLimit: { rps: o.rateLimit } });
        await emu.resetCounts();
        const t0 = Date.now();
        let converged = false;
        let operations = 0;
        let error: string | undefined;
        try {
          const { plan } = await createPlan({ api, now: () => new Date() }, state, { destination, concurrency: 8 });
          operations = plan.operations.length;
          const s = await applyPlan(plan, { api }, { concurrency: 8, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 15_000, intervalMs: 250 } });
          converged = s.operations.failed === 0 && s.not_converged === 0 && !s.interrupted;
          if (!converged) error = `${s.operations.failed} failed, ${s.not_converged} not converged: ${s.failures[0]?.message ?? s.divergences[0]?.reason ?? ''}`;
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        const ms = Date.now() - t0;
        const stats = await emu.counts();
        const rateLimited = stats.statuses['429'] ?? 0;
        await emu.faults({ failRate: 0, rateLimit: null });
        // A fresh client: the one above may still be paced at the rate it learned.
        const again = await createPlan({ api: clientFor(emu, { timeoutMs: 2000 }), now: () => new Date() }, state, { destination, concurrency: 8 });
        runs.push({
          seed,
          requests: stats.total,
          rateLimited,
          share429: stats.total > 0 ? rateLimited / stats.total : 0,
          operations,
          converged,
          replanOperations: again.plan.operations.length,
          ...(error !== undefined ? { error } : {}),
          ms,
        });
      } finally {
        await emu.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return runs;
}

export function rateLimitTable(runs: RateLimitRun[]): string[] {
  const lines = ['| seed | requests | 429 | 429 share | operations | converged in one apply | next plan | plan + apply |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of runs) {
    lines.push(
      `| ${r.seed} | ${r.requests} | ${r.rateLimited} | ${(r.share429 * 100).toFixed(1)}% | ${r.operations} | ${r.converged ? 'yes' : `no (${r.error ?? ''})`} | ${r.replanOperations} | ${(r.ms / 1000).toFixed(1)} s |`,
    );
  }
  const total = runs.reduce((a, r) => a + r.requests, 0);
  const limited = runs.reduce((a, r) => a + r.rateLimited, 0);
  lines.push(`| all | ${total} | ${limited} | ${((limited / Math.max(1, total)) * 100).toFixed(1)}% | | ${runs.filter((r) => r.converged && r.replanOperations === 0).length}/${runs.length} | | |`);
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const [count = '200', seeds = '10', failRate = '0.2', rateLimit = '20'] = process.argv.slice(2);
  const runs = await benchRateLimit({ count: Number(count), seeds: Array.from({ length: Number(seeds) }, (_, i) => i + 1), failRate: Number(failRate), rateLimit: Number(rateLimit) });
  console.log(rateLimitTable(runs).join('\n'));
}
