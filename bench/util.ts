/** Small helpers shared by the benchmarks. */
import { performance } from 'node:perf_hooks';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../src/fyno/http-client.js';

export const BENCH_KEY = 'bench-key';
export const BENCH_WS = 'FYBENCH001';

export async function benchEmulator(o: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ apiKey: BENCH_KEY, workspace: BENCH_WS, propertyDelayMs: 0, ...o });
}

export function clientFor(emu: RunningEmulator, o: { rps?: number } = {}): HttpFynoClient {
  return new HttpFynoClient({
    target: { baseUrl: emu.baseUrl, workspace: BENCH_WS, env: 'live' },
    apiKey: BENCH_KEY,
    ...(o.rps !== undefined ? { rps: o.rps } : {}),
  });
}

export async function stats(emu: RunningEmulator): Promise<Record<string, number>> {
  const res = await fetch(`${emu.adminUrl}/stats`);
  const body = (await res.json()) as { requests?: Record<string, number> } & Record<string, unknown>;
  return (body.requests ?? body) as Record<string, number>;
}

export async function resetStats(emu: RunningEmulator): Promise<void> {
  await fetch(`${emu.adminUrl}/stats/reset`, { method: 'POST' });
}

/** Requests by kind: reads are GETs, everything else writes. */
export function splitCounts(counts: Record<string, number>): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const [k, n] of Object.entries(counts)) {
    if (typeof n !== 'number') continue;
    if (k.startsWith('GET ')) reads += n;
    else writes += n;
  }
  return { reads, writes };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
