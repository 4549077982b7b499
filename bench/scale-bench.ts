/**
 * Scale: validate, plan and apply of 100,000 profiles through the real CLI (separate processes,
 * so each command's peak memory is its own), against the emulator in another process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchEmulator, BENCH_KEY, BENCH_WS, CLI, sum } from './util.js';
import { seedEmulator, writeDesired, type GenOptions } from './gen.js';

export interface CommandRun {
  command: string;
  exitCode: number;
  wallS: number;
  peakRssMb: number;
  requests: number;
}

/** Runs `node CLI args` under /usr/bin/time for the peak RSS. */
function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number; wallS: number; rssMb: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const m = /TIME ([\d.]+) (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no timing for ${args.join(' ')}: ${stderr.slice(-500)}`));
      resolve({ code: code ?? 1, wallS: Number(m[1]), rssMb: Math.round(Number(m[2]) / 1024), stdout });
    });
  });
}

export async function benchScale(o: { count: number; latencyMs: number; concurrency: number }): Promise<CommandRun[]> {
  // A migration: none of the profiles exist yet.
  const gen: GenOptions = { count: o.count, differ: 0, missing: 1 };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-scale-'));
  const emu = await benchEmulator({ propertyDelayMs: 0 });
  const runs: CommandRun[] = [];
  try {
    await writeDesired(path.join(dir, 'profiles'), gen);
    await seedEmulator(emu.adminUrl, gen);
    await emu.faults({ latencyMs: o.latencyMs });
    const env = { FYNO_BASE_URL: emu.baseUrl, FYNO_API_KEY: BENCH_KEY, FYNO_WSID: BENCH_WS, NO_COLOR: '1' };
    const conc = ['--concurrency', String(o.concurrency)];
    const steps: [string, string[]][] = [
      ['validate', ['validate', 'profiles']],
      ['plan', ['plan', 'profiles', '--out', 'plan.json', '--detailed-exitcode', ...conc]],
      ['apply', ['apply', '--plan', 'plan.json', '--json', '--verify-timeout', '60000', ...conc]],
      ['plan (again)', ['plan', 'profiles', '--detailed-exitcode', ...conc]],
    ];
    for (const [name, args] of steps) {
      await emu.resetCounts();
      const r = await runCli(args, env, dir);
      runs.push({ command: `fyno-sync ${args.filter((a) => a !== '--json').join(' ')}`, exitCode: r.code, wallS: r.wallS, peakRssMb: r.rssMb, requests: sum((await emu.counts()).requests) });
      void name;
    }
    return runs;
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
