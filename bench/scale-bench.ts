/**
 * Scale (issue #6): import, validate, plan and apply of 100,000 imported profiles through the real
 * CLI (separate processes, so each command's peak memory is its own), against the emulator in
 * another process.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeContacts } from '../scripts/gen-crm-export.js';
import { benchEmulator, BENCH_KEY, BENCH_WS, CLI, sum, timeNode } from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const NAIVE = path.join(ROOT, 'bench/naive-upsert.ts');

export interface CommandRun {
  command: string;
  exitCode: number;
  wallS: number;
  /** User + system CPU time of the command's process. */
  cpuS: number;
  peakRssMb: number;
  requests: number;
  /** Of them, reads (GET). */
  reads: number;
  /** requests × latency ÷ concurrency, for the commands that send requests. */
  idealS?: number;
}

export interface ScaleRun {
  /** Rows in the generated export, and the profiles `import` made of them (the rest rejected). */
  rows: number;
  profiles: number;
  latencyMs: number;
  concurrency: number;
  runs: CommandRun[];
  /** The naive upsert script (bench/naive.ts) migrating the same profiles into an empty workspace. */
  naive: CommandRun;
}

/**
 * A migration as users run it: a HubSpot-style export (scripts/gen-crm-export.ts, with its mess)
 * large enough to give `count` profiles after rejects, `import`ed with the example's mapping, then
 * validate → plan → apply → plan again, each command in its own process.
 */
export async function benchScale(o: { count: number; latencyMs: number; concurrency: number }): Promise<ScaleRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-scale-'));
  const emu = await benchEmulator({ propertyDelayMs: 0 });
  const runs: CommandRun[] = [];
  // About 5% of the generated rows are rejected (bad phones and emails, repeated ids).
  const rows = Math.ceil(o.count / 0.95);
  try {
    await writeContacts(path.join(dir, 'contacts.csv'), { rows, seed: 7 });
    await copyFile(path.join(ROOT, 'examples/crm-migration/mapping.yaml'), path.join(dir, 'mapping.yaml'));
    await emu.faults({ latencyMs: o.latencyMs });
    const env = { FYNO_BASE_URL: emu.baseUrl, FYNO_API_KEY: BENCH_KEY, FYNO_WSID: BENCH_WS, NO_COLOR: '1' };
    const conc = ['--concurrency', String(o.concurrency)];
    const steps: string[][] = [
      ['import', 'contacts.csv', '--mapping', 'mapping.yaml', '-o', 'profiles', '--allow-rejects'],
      ['validate', 'profiles'],
      ['plan', 'profiles', '--out', 'plan.json', '--detailed-exitcode', ...conc],
      ['apply', '--plan', 'plan.json', '--json', '--verify-timeout', '60000', ...conc],
      ['plan', 'profiles', '--detailed-exitcode', ...conc],
    ];
    let profiles = 0;
    const ideal = (requests: number): number => (requests * o.latencyMs) / o.concurrency / 1000;
    for (const args of steps) {
      await emu.resetCounts();
      // import's report is on stdout; the others' output (a 100k plan's text is ~100 MB) goes to a file.
      const r = await timeNode([CLI, ...args], env, dir, args[0] === 'import' ? true : `${args[0]}.out`);
      if (args[0] === 'import') profiles = Number(/Imported ([\d,]+) profiles/.exec(r.stderr + r.stdout)?.[1]?.replace(/,/g, '') ?? NaN);
      const byRoute = (await emu.counts()).requests;
      const requests = sum(byRoute);
      const reads = sum(Object.fromEntries(Object.entries(byRoute).filter(([route]) => route.startsWith('GET '))));
      runs.push({
        command: `fyno-sync ${args.filter((a) => a !== '--json').join(' ')}`,
        exitCode: r.code,
        wallS: r.wallS,
        cpuS: r.cpuS,
        peakRssMb: r.rssMb,
        requests,
        reads,
        ...(requests > 0 ? { idealS: ideal(requests) } : {}),
      });
    }
    // The same migration by the naive script, into an emptied workspace.
    await emu.reset();
    await emu.faults({ latencyMs: o.latencyMs });
    // tsx by its own location: the data directory has no node_modules to find it in.
    const n = await timeNode(['--import', import.meta.resolve('tsx'), NAIVE, 'profiles', String(o.concurrency)], env, dir);
    const byRoute = (await emu.counts()).requests;
    const requests = sum(byRoute);
    const reads = sum(Object.fromEntries(Object.entries(byRoute).filter(([route]) => route.startsWith('GET '))));
    const naive: CommandRun = { command: `node --import tsx bench/naive-upsert.ts profiles ${o.concurrency}`, exitCode: n.code, wallS: n.wallS, cpuS: n.cpuS, peakRssMb: n.rssMb, requests, reads, idealS: ideal(requests) };
    return { rows, profiles, latencyMs: o.latencyMs, concurrency: o.concurrency, runs, naive };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
