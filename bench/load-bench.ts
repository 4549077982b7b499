/**
 * Loading + validating N generated profiles (issue #6 "Scale", PRODUCT.md "Numbers").
 *
 * `benchLoad(n)` writes N profiles the way the other benchmarks do (bench/gen.ts
 * `writeDesired`, 10,000 per file by default), then times `loadDesired` in this process.
 * Peak RSS is the process's maximum resident set so far, so run it in a fresh process for a
 * clean number: `npx tsx bench/load-bench.ts 100000`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDesired } from '../src/desired/load.js';
import { writeDesired } from './gen.js';

export interface LoadBenchResult {
  profiles: number;
  files: number;
  issues: number;
  /** Wall time of `loadDesired` alone (the files are written before the clock starts). */
  ms: number;
  /** CPU time (user + system) of `loadDesired`, all threads. */
  cpuMs: number;
  /** Peak resident set of this process so far. */
  peakRssMb: number;
}

export async function benchLoad(n: number, o: { perFile?: number } = {}): Promise<LoadBenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fyno-load-bench-'));
  try {
    const files = await writeDesired(dir, { count: n, differ: 0, missing: 0, perFile: o.perFile ?? 10_000 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { state, issues } = await loadDesired([dir], { env: {}, cwd: dir });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      profiles: state.profiles.length,
      files: files.length,
      issues: issues.length,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      // maxRSS is in kilobytes.
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('load-bench.ts')) {
  const n = Number(process.argv[2] ?? 100_000);
  const r = await benchLoad(n);
  console.log(JSON.stringify({ ...r, ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs) }));
}
