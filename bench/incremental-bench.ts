/**
 * Incremental plans (issue #8): a git repository of N profiles, a change that edits `changed` of
 * them, live state equal to the base revision. Reads sent and wall time of the full plan against
 * `--changed-since` the base (loading, and for the incremental plan reading the base from git,
 * included in the times).
 *
 *   npx tsx bench/incremental-bench.ts [count=10000] [changed=10] [latencyMs=20] [concurrency=8] [fullConcurrency=concurrency, 0 = skip] [spread|clustered]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { changedSince, createPlan } from '../src/create-plan.js';
import { loadDesired } from '../src/desired/load.js';
import { benchEmulator, BENCH_WS, clientFor, timed } from './util.js';
import { seedEmulator, writeDesired, type GenOptions } from './gen.js';

export interface IncrementalBenchResult {
  count: number;
  changed: number;
  latencyMs: number;
  concurrency: number;
  fullConcurrency: number;
  layout: 'spread' | 'clustered';
  fullReads: number;
  fullMs: number;
  fullOperations: number;
  incReads: number;
  incMs: number;
  incOperations: number;
  /** Of incMs: loading the working tree, and reading + loading the base revision from git. */
  incLoadMs: number;
  incBaseMs: number;
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore' });
}

export async function benchIncremental(o: {
  count: number;
  changed: number;
  latencyMs: number;
  concurrency: number;
  /** Concurrency of the full plan (default `concurrency`); `0` skips it (its reads are `count`). */
  fullConcurrency?: number;
  /** `spread` (default): the changed profiles lie in different files; `clustered`: consecutive, in one file. */
  layout?: 'spread' | 'clustered';
}): Promise<IncrementalBenchResult> {
  const gen: GenOptions = { count: o.count, differ: 0, missing: 0 };
  const repo = await mkdtemp(path.join(os.tmpdir(), 'fyno-bench-inc-'));
  const emu = await benchEmulator();
  try {
    const files = await writeDesired(path.join(repo, 'fyno'), gen);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, '-c', 'user.email=bench@example.com', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'base');
    await seedEmulator(emu.adminUrl, gen);

    // The change: `changed` profiles spread over the repository get a new name.
    const step = o.layout === 'clustered' ? 1 : Math.max(1, Math.floor(o.count / o.changed));
    const perFile = Math.ceil(o.count / files.length);
    for (let k = 0; k < o.changed; k++) {
      const i = k * step;
      const file = files[Math.floor(i / perFile)]!;
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(new RegExp(`^    name: Customer ${i}$`, 'm'), `    name: Customer ${i} (renamed)`));
    }

    const res = await fetch(`${emu.adminUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: o.latencyMs }) });
    if (!res.ok) throw new Error(`faults: ${res.status}`);
    const destination = { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' as const };
    const now = () => new Date();
    const load = { env: {}, cwd: repo };

    const fullConcurrency = o.fullConcurrency ?? o.concurrency;
    const full =
      fullConcurrency === 0
        ? undefined
        : await timed(async () => {
            const { state, issues } = await loadDesired(['fyno'], load);
            if (issues.length > 0) throw new Error(`bench data invalid: ${issues[0]!.message}`);
            return createPlan({ api: clientFor(emu), now }, state, { destination, concurrency: fullConcurrency });
          });
    let incLoadMs = 0;
    let incBaseMs = 0;
    const inc = await timed(async () => {
      const loaded = await timed(() => loadDesired(['fyno'], load));
      incLoadMs = loaded.ms;
      const { state, issues } = loaded.value;
      if (issues.length > 0) throw new Error(`bench data invalid: ${issues[0]!.message}`);
      const base = await timed(() => changedSince(state, ['fyno'], 'main', load));
      incBaseMs = base.ms;
      return createPlan({ api: clientFor(emu), now }, state, { destination, concurrency: o.concurrency, ...base.value });
    });
    if (inc.value.plan.scope?.incremental?.skipped !== o.count - o.changed) throw new Error(`expected ${o.changed} changed profiles, scope ${JSON.stringify(inc.value.plan.scope)}`);
    return {
      ...o,
      layout: o.layout ?? 'spread',
      fullConcurrency,
      fullReads: full ? full.value.reads : o.count,
      fullMs: full ? Math.round(full.ms) : NaN,
      fullOperations: full ? full.value.plan.operations.length : NaN,
      incReads: inc.value.reads,
      incMs: Math.round(inc.ms),
      incOperations: inc.value.plan.operations.length,
      incLoadMs: Math.round(incLoadMs),
      incBaseMs: Math.round(incBaseMs),
    };
  } finally {
    await emu.close();
    await rm(repo, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [count = 10_000, changed = 10, latencyMs = 20, concurrency = 8, fullConcurrency = concurrency] = process.argv.slice(2, 7).map(Number);
  const layout = process.argv[7] === 'clustered' ? 'clustered' : 'spread';
  const r = await benchIncremental({ count, changed, latencyMs, concurrency, fullConcurrency, layout });
  console.log(JSON.stringify(r));
}
