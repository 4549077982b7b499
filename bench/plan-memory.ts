/**
 * Peak memory and time of `validate`, `plan --out`, `apply --plan` and a second `plan` over an
 * existing desired-state directory (e.g. the 100k import set), each command in its own process
 * under /usr/bin/time, against a fresh emulator in another process.
 *
 *   npm run build && npx tsx bench/plan-memory.ts /tmp/scale/profiles [--concurrency 64] [--node-flag=--foo]
 *
 * The directory is copied into a temporary one (plans name their sources relative to the cwd).
 * Prints one line per command: exit code, wall time, peak RSS, requests by route.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchEmulator, BENCH_KEY, BENCH_WS, CLI, sum, timeNode } from './util.js';

interface Run {
  command: string;
  code: number;
  wallS: number;
  peakRssMb: number;
  requests: Record<string, number>;
}

export async function benchPlanMemory(o: { profiles: string; concurrency: number; nodeFlags: string[] }): Promise<Run[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-plan-memory-'));
  const emu = await benchEmulator({ propertyDelayMs: 0 });
  const runs: Run[] = [];
  try {
    await cp(o.profiles, path.join(dir, 'profiles'), { recursive: true });
    const env = { FYNO_BASE_URL: emu.baseUrl, FYNO_API_KEY: BENCH_KEY, FYNO_WSID: BENCH_WS, NO_COLOR: '1' };
    const conc = ['--concurrency', String(o.concurrency)];
    const steps: string[][] = [
      ['validate', 'profiles'],
      ['plan', 'profiles', '--out', 'plan.json', '--detailed-exitcode', ...conc],
      ['apply', '--plan', 'plan.json', '--json', '--verify-timeout', '60000', ...conc],
      ['plan', 'profiles', '--detailed-exitcode', ...conc],
    ];
    for (const args of steps) {
      await emu.resetCounts();
      const r = await timeNode([...o.nodeFlags, CLI, ...args], env, dir, false);
      const requests = (await emu.counts()).requests;
      const run = { command: `fyno-sync ${args.join(' ')}`, code: r.code, wallS: r.wallS, peakRssMb: r.rssMb, requests };
      runs.push(run);
      console.log(`${run.command}: exit ${run.code}, ${run.wallS} s, ${run.peakRssMb} MB peak RSS, ${sum(requests)} requests ${JSON.stringify(requests)}`);
    }
    return runs;
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const profiles = args.find((a) => !a.startsWith('--'));
  if (!profiles) throw new Error('usage: tsx bench/plan-memory.ts PROFILES_DIR [--concurrency N] [--node-flag=FLAG ...]');
  const ci = args.indexOf('--concurrency');
  const concurrency = ci >= 0 ? Number(args[ci + 1]) : 64;
  const nodeFlags = args.filter((a) => a.startsWith('--node-flag=')).map((a) => a.slice('--node-flag='.length));
  await benchPlanMemory({ profiles: path.resolve(profiles), concurrency, nodeFlags });
}
