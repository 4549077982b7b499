/**
 * Small helpers shared by the benchmarks. The emulator runs in its own process (the built CLI,
 * `fyno-sync emulator`), as Fyno would: the client's CPU time and the server's do not compete
 * for one event loop, and request counts come from its admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpFynoClient } from '../src/fyno/http-client.js';
import type { DistinctId, FynoApi } from '../src/fyno/types.js';

export const BENCH_KEY = 'bench-key';
export const BENCH_WS = 'FYBENCH001';
export const CLI = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));

export interface Counts {
  requests: Record<string, number>;
  writes: Record<string, number>;
  statuses: Record<string, number>;
  total: number;
}

export interface BenchEmulator {
  baseUrl: string;
  /** CPU time the emulator process has used so far, µs (Linux /proc; 10 ms resolution). */
  cpuUs(): Promise<number>;
  adminUrl: string;
  counts(): Promise<Counts>;
  resetCounts(): Promise<void>;
  /** Empties the emulator's state and its counts. */
  reset(): Promise<void>;
  faults(f: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function benchEmulator(o: { latencyMs?: number; propertyDelayMs?: number; failRate?: number; faultSeed?: number } = {}): Promise<BenchEmulator> {
  const args = [CLI, 'emulator', '--port', '0', '--api-key', BENCH_KEY, '--workspace', BENCH_WS, '--property-delay', String(o.propertyDelayMs ?? 0)];
  if (o.latencyMs) args.push('--latency', String(o.latencyMs));
  if (o.failRate) args.push('--fail-rate', String(o.failRate));
  if (o.faultSeed !== undefined) args.push('--fault-seed', String(o.faultSeed));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l.trim()));
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const baseUrl = first;
  const adminUrl = baseUrl.replace(/\/v1$/, '/_emulator');
  const post = async (p: string, body: unknown = {}): Promise<void> => {
    const res = await fetch(`${adminUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  };
  return {
    baseUrl,
    adminUrl,
    cpuUs: async () => {
      // Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks (100 per second).
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) * 10_000;
    },
    counts: async () => (await (await fetch(`${adminUrl}/stats`)).json()) as Counts,
    resetCounts: () => post('/stats/reset'),
    reset: () => post('/reset'),
    faults: (f) => post('/faults', f),
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

export function clientFor(emu: { baseUrl: string }, o: { rps?: number; timeoutMs?: number; onRequest?: ConstructorParameters<typeof HttpFynoClient>[0]['onRequest'] } = {}): HttpFynoClient {
  return new HttpFynoClient({
    target: { baseUrl: emu.baseUrl, workspace: BENCH_WS, env: 'live' },
    apiKey: BENCH_KEY,
    ...(o.rps !== undefined ? { rps: o.rps } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.onRequest ? { onRequest: o.onRequest } : {}),
  });
}

const READS = new Set(['getProfile', 'getPreferences', 'listSuppressions']);

/**
 * Wraps a FynoApi and records which profiles each write names (batch items and bulk deletes
 * included), so a benchmark can show that no unchanged profile was written.
 */
export function recordingApi(api: FynoApi): { api: FynoApi; written: Set<DistinctId> } {
  const written = new Set<DistinctId>();
  const proxy = new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      // Methods run on the client itself (it keeps private fields).
      if (typeof prop !== 'string' || READS.has(prop)) return (v as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const a0 = args[0];
        if (typeof a0 === 'string') written.add(a0);
        else if (Array.isArray(a0)) for (const x of a0) written.add(typeof x === 'string' ? x : (x as { distinct_id: string }).distinct_id);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { api: proxy, written };
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Requests by kind: reads are GETs, everything else writes. */
export function splitCounts(counts: Record<string, number>): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const [k, n] of Object.entries(counts)) {
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

/**
 * Runs `node …args` under /usr/bin/time, for its peak RSS and CPU time; the command's stdout is
 * kept when `keepStdout` is true, written to the file it names when a string (as a user saves a
 * big plan's output; the bench process then holds none of it), else discarded; the tail of its
 * stderr is always kept.
 */
export function timeNode(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  keepStdout: boolean | string = true,
): Promise<{ code: number; wallS: number; cpuS: number; rssMb: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out = typeof keepStdout === 'string' ? openSync(path.resolve(cwd, keepStdout), 'w') : undefined;
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', out ?? (keepStdout ? 'pipe' : 'ignore'), 'pipe'],
    });
    if (out !== undefined) closeSync(out);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (!m) return reject(new Error(`no timing for ${args.join(' ')}: ${stderr.slice(-500)}`));
      resolve({ code: code ?? 1, wallS: Number(m[1]), cpuS: Number(m[3]) + Number(m[4]), rssMb: Math.round(Number(m[2]) / 1024), stdout, stderr });
    });
  });
}
