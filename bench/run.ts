/**
 * `npm run bench`: every number PRODUCT.md ("Numbers we hold ourselves to") lists, measured on
 * this machine against the emulator, written to bench/RESULTS.md (and printed).
 *   npm run bench              full sizes (10,000 for speed, 100,000 for scale)
 *   npm run bench -- --quick   small sizes, to check the benchmarks themselves run
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { benchApply } from './apply-bench.js';
import { benchCpu, type CpuBenchResult } from './cpu-bench.js';
import { benchFaults } from './faults-bench.js';
import { benchIncremental } from './incremental-bench.js';
import { benchPlan } from './plan-bench.js';
import { benchPureDiff } from './plan-diff.js';
import { benchRateLimit, rateLimitTable } from './rate-limit-bench.js';
import { benchScale, type ScaleRun } from './scale-bench.js';
import { benchCeiling, ceilingLine, type CeilingRow } from './ceiling.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (s: string): boolean => !only || only.includes(s);
const N = quick ? 1000 : 10_000;
const SCALE = quick ? 5000 : 100_000;
const LAT = 20;
const CONC = 16;

const lines: string[] = [];
const out = (s = ''): void => {
  lines.push(s);
  console.log(s);
};
/** A table's header row and the separator under it. */
const table = (header: string): void => {
  out(header);
  out(`|${'---|'.repeat(header.split('|').length - 2)}`);
};
/** What the floor below needs of a command's run. */
type CommandRunLike = { requests: number; reads: number; idealS?: number };
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

out('# fyno-sync benchmark results');
out();
out(`Run ${new Date().toISOString()} with \`npm run bench${quick ? ' -- --quick' : ''}\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at start.`);
out('The emulator runs in its own process (`fyno-sync emulator`), with the injected latency stated; the client is the real HttpFynoClient.');

if (want('plan')) {
  const r = await benchPlan({ count: N, latencyMs: LAT, concurrency: CONC });
  out();
  out(`## Plan: ${N.toLocaleString('en')} profiles, ${LAT} ms latency, concurrency ${CONC}`);
  out();
  table('| profiles named | reads sent | reads per profile | wall time | ideal (reads × latency ÷ concurrency) | ratio | operations planned | load + validate |');
  out(`| ${r.profiles} | ${r.reads} | ${r.readsPerProfile.toFixed(2)} | ${ms(r.wallMs)} | ${ms(r.idealMs)} | ${r.ratio.toFixed(2)}× | ${r.operations} | ${ms(r.loadMs)} |`);
}

let diffResult: Awaited<ReturnType<typeof benchPureDiff>> | undefined;
if (want('diff')) {
  const r = await benchPureDiff(SCALE);
  diffResult = r;
  out();
  out(`## Pure diff: ${SCALE.toLocaleString('en')} profiles in-process (no I/O)`);
  out();
  out(`Median of ${r.rounds.length} rounds after a warm-up (\`npx tsx bench/plan-diff.ts ${SCALE}\`); buildPlan in each round: ${r.rounds.map((x) => ms(x.ms)).join(', ')}.`);
  out();
  table('| profiles | buildPlan (diff + JSON Patch + summary + fingerprints) | diff alone | fingerprints | operations | peak RSS of the process |');
  out(`| ${r.profiles} | ${ms(r.ms)} | ${ms(r.diffMs)} | ${ms(r.fingerprintMs)} | ${r.operations} | ${r.peakRssMb} MB |`);
}

let cpuResult: CpuBenchResult | undefined;
if (want('cpu')) {
  const r = await benchCpu({ count: N, concurrency: 64 });
  cpuResult = r;
  out();
  out(`## Client CPU per request: plan of ${N.toLocaleString('en')} existing profiles, no latency, concurrency 64`);
  out();
  out('CPU time (user + system) of the client process while planning (desired files loaded before the clock starts), divided by the requests the emulator recorded; the emulator\'s own CPU from its process. `npx tsx bench/cpu-bench.ts 10000`; `CPU_PROFILE=plan.cpuprofile` adds a V8 profile of the measured plan.');
  out();
  table('| client | requests | client CPU per request | emulator CPU per request | wall time |');
  out(`| fyno-sync plan | ${r.requests} | ${Math.round(r.cpuUsPerRequest)} µs | ${Math.round(r.emulatorCpuUsPerRequest)} µs | ${ms(r.wallMs)} |`);
  out(`| naive upsert (bench/naive.ts) of the same profiles | ${r.naive.requests} | ${Math.round(r.naive.cpuUsPerRequest)} µs | | |`);
  for (const b of r.bare) out(`| bare GET: ${b.client} | ${N} | ${Math.round(b.cpuUsPerRequest)} µs | | |`);
}

if (want('apply')) {
  const r = await benchApply({ count: N, differ: 0.05, latencyMs: LAT, concurrency: CONC });
  out();
  out(`## Apply: ${N.toLocaleString('en')} profiles, 5% differ, ${LAT} ms latency, concurrency ${CONC}`);
  out();
  table('| | value |');
  out(`| profiles that differ | ${r.differing} |`);
  out(`| operations in the plan | ${r.planOperations} |`);
  out(`| writes needed (the plan's requests, grouped as the applier groups them) | ${r.writesNeeded} |`);
  out(`| writes sent (recorded by the emulator) | ${r.writesSent} |`);
  out(`| writes to profiles that did not differ | ${r.writesToUnchanged} |`);
  out(`| requests incl. verification reads | ${r.applyRequests} |`);
  out(`| wall time / ideal (requests × latency ÷ concurrency) | ${ms(r.applyMs)} / ${ms(r.idealMs)} = ${r.ratio.toFixed(2)}× |`);
  out(`| succeeded / failed / not converged | ${r.succeeded} / ${r.failed} / ${r.notConverged} |`);
  out(`| no-op: operations in the next plan / writes its apply sent | ${r.noopOperations} / ${r.noopWrites} |`);
  out();
  out('Naive script on the same data (upsert every profile every time: PUT profile, PATCH channels, POST properties):');
  out();
  table('| | requests | writes | wall time | ideal |');
  out(`| fyno-sync apply | ${r.applyRequests} | ${r.writesSent} | ${ms(r.applyMs)} | ${ms(r.idealMs)} |`);
  out(`| naive upsert | ${r.naive.requests} | ${r.naive.writes} | ${ms(r.naive.ms)} | ${ms(r.naive.idealMs)} |`);
}

if (want('faults')) {
  const count = quick ? 300 : 2000;
  const r = await benchFaults({ count, failRate: 0.1 });
  out();
  out(`## Faults: ${count} profiles (10% differ, 10% to create), 10% injected failures + 429 bursts`);
  out();
  table('| | value |');
  out(`| operations | ${r.operations} |`);
  out(`| faults injected | ${Object.entries(r.faultsInjected).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  out(`| answers by status | ${Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} |`);
  out(`| succeeded / failed / not converged | ${r.succeeded} / ${r.failed} / ${r.notConverged} |`);
  out(`| requests in the summary / recorded by the emulator | ${r.summaryRequests} / ${r.emulatorRequests} |`);
  out(`| operations in the following plan | ${r.replanOperations} |`);
  out(`| duplicated list values or tokens | ${r.duplicateListValues} |`);
  out(`| wall time | ${ms(r.applyMs)} |`);
}

if (want('ratelimit')) {
  const count = quick ? 50 : 200;
  const seeds = quick ? [1, 2] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const runs = await benchRateLimit({ count, seeds, failRate: 0.2, rateLimit: 20 });
  out();
  out(`## Rate limit: ${count} profiles, emulator at 20 requests per second with 20% injected failures, ${seeds.length} seeds`);
  out();
  out('Plan and apply with the CLI defaults (concurrency 8, no `--rps`): the client finds the rate by itself.');
  out();
  for (const l of rateLimitTable(runs)) out(l);
}

if (want('incremental')) {
  const r = await benchIncremental({ count: N, changed: 10, latencyMs: LAT, concurrency: CONC });
  out();
  out(`## Incremental plan: ${N.toLocaleString('en')} profiles in git, a change touching 10, ${LAT} ms latency, concurrency ${CONC}`);
  out();
  table('| | reads | wall time | operations |');
  out(`| full plan | ${r.fullReads} | ${ms(r.fullMs)} | ${r.fullOperations} |`);
  out(`| \`plan --changed-since\` | ${r.incReads} | ${ms(r.incMs)} (of which loading both revisions: ${ms(r.incLoadMs)}) | ${r.incOperations} |`);
}

let ceilingResult: CeilingRow[] | undefined;
if (want('ceiling')) {
  const count = quick ? 3000 : 30_000;
  ceilingResult = await benchCeiling({ count, latencyMs: LAT, concurrency: 64 });
  out();
  out(`## Ceiling: bare requests through the client, ${LAT} ms latency, concurrency 64`);
  out();
  out(`What the transport and the emulator allow on this machine before any planning (bench/ceiling.ts): ${count.toLocaleString('en')} reads of absent profiles, then ${count.toLocaleString('en')} creates, through HttpFynoClient and nothing else; the same through a bare undici Pool (the transport alone: no retries, timeouts or rate); and reads through it from a bare node:http server in its own process that only waits ${LAT} ms (the machine alone). Ideal as below: requests × latency ÷ concurrency.`);
  out();
  table('| requests | sent through | answered by | count | wall time | wall ÷ ideal | client CPU per request | emulator CPU per request |');
  for (const r of ceilingResult) out(ceilingLine(r));
}

let scaleResult: ScaleRun | undefined;
if (want('scale')) {
  const r = await benchScale({ count: SCALE, latencyMs: LAT, concurrency: 64 });
  scaleResult = r;
  out();
  out(`## Scale: ${r.profiles.toLocaleString('en')} imported profiles through the CLI (${LAT} ms latency, concurrency 64)`);
  out();
  out(`A HubSpot-style export of ${r.rows.toLocaleString('en')} rows (scripts/gen-crm-export.ts, seed 7, with its bad phones, bad emails and repeated ids), imported with examples/crm-migration/mapping.yaml into ${r.profiles.toLocaleString('en')} profiles; then each command in its own process under \`/usr/bin/time\` (peak RSS, CPU), against an empty emulator (bench/scale-bench.ts). Ideal: requests × latency ÷ concurrency. Last row: the naive upsert script (bench/naive.ts) migrating the same profiles into an emptied workspace.`);
  out();
  table('| command | exit | wall time | ideal | wall ÷ ideal | peak RSS | requests | requests per profile | client CPU per request |');
  for (const c of [...r.runs, r.naive]) {
    const perReq = c.requests > 0 ? `${Math.round((c.cpuS * 1e6) / c.requests)} µs` : '';
    const ideal = c.idealS !== undefined ? `${c.idealS.toFixed(1)} s` : '';
    const ratio = c.idealS ? `${(c.wallS / c.idealS).toFixed(2)}×` : '';
    out(`| \`${c.command}\` | ${c.exitCode} | ${c.wallS} s | ${ideal} | ${ratio} | ${c.peakRssMb} MB | ${c.requests} | ${c.requests > 0 ? (c.requests / r.profiles).toFixed(2) : ''} | ${perReq} |`);
  }
}

if (want('cpu') && want('diff') && want('scale') && cpuResult && diffResult && scaleResult) {
  const planRun = scaleResult.runs.find((c) => c.command.includes('plan profiles --out'))!;
  const applyRun = scaleResult.runs.find((c) => c.command.includes('apply --plan'))!;
  const naive = scaleResult.naive;
  const p = scaleResult.profiles;
  const ratio = (c: { wallS: number; idealS?: number }): string => `${c.wallS} s ÷ ${c.idealS!.toFixed(1)} s = ${(c.wallS / c.idealS!).toFixed(2)}×`;
  const head: string[] = [];
  head.push('', '## Issue #17: the figures and their targets', '');
  head.push('"Before" is main as issue #17 measured it (2026-11-23, the tables of that run); "now" is this run, from the sections below; the naive upsert script (bench/naive.ts) does the same job blindly: no reads, no verification, no record, no resume.', '');
  head.push('| figure | before | target | now | naive upsert |');
  head.push('|---|---|---|---|---|');
  head.push(`| requests for a ${p.toLocaleString('en')}-profile migration into an empty workspace (plan + apply + verification) | 6.2 per profile | ≤ 4.0 per profile | plan ${planRun.requests} + apply ${applyRun.requests} = ${((planRun.requests + applyRun.requests) / p).toFixed(2)} per profile | ${naive.requests} = ${(naive.requests / p).toFixed(2)} per profile |`);
  head.push(`| client CPU per request, \`plan\` of ${N.toLocaleString('en')} existing profiles, no latency, concurrency 64 | ~600 µs | ≤ 150 µs | ${Math.round(cpuResult.cpuUsPerRequest)} µs (emulator ${Math.round(cpuResult.emulatorCpuUsPerRequest)} µs) | ${Math.round(cpuResult.naive.cpuUsPerRequest)} µs |`);
  head.push(`| \`plan\` of ${p.toLocaleString('en')} profiles at ${LAT} ms latency, concurrency 64: wall ÷ ideal | 222.8 s ÷ 59.3 s = 3.8× | ≤ 1.25× | ${ratio(planRun)} | (no plan) |`);
  head.push(`| \`apply --plan\` of that migration: wall ÷ ideal | 391.9 s ÷ 133.6 s = 2.9× | ≤ 1.25× | ${ratio(applyRun)} | ${ratio(naive)} |`);
  head.push(`| peak RSS: \`plan\` / \`apply --plan\` of ${p.toLocaleString('en')} profiles | 579 MB / 955 MB | ≤ 512 MB each | ${planRun.peakRssMb} MB / ${applyRun.peakRssMb} MB | ${naive.peakRssMb} MB |`);
  head.push(`| pure diff of ${SCALE.toLocaleString('en')} profiles (buildPlan, no I/O) | 3.5 s | ≤ 2 s | ${ms(diffResult.ms)} | |`);
  if (ceilingResult) {
    const rows = (via: CeilingRow['via'], server: CeilingRow['server']) => ceilingResult!.filter((r) => r.via === via && r.server === server);
    const ratios = (rs: CeilingRow[]) => rs.map((r) => `${r.ratio.toFixed(2)}× (${r.kind}s)`).join(', ');
    head.push('', `The ideal assumes each request takes exactly ${LAT} ms. Bare requests with nothing else to do (section "Ceiling") take ${ratios(rows('HttpFynoClient', 'emulator'))} of it through our client, ${ratios(rows('bare undici Pool', 'emulator'))} through a bare undici Pool, and ${ratios(rows('bare undici Pool', 'bare node:http'))} from a server that only waits ${LAT} ms, on this machine.`);
    const validate = scaleResult.runs.find((c) => c.command.startsWith('fyno-sync validate'));
    const raw = (kind: CeilingRow['kind']) => rows('bare undici Pool', 'emulator').find((r) => r.kind === kind)?.ratio;
    const [rawRead, rawWrite] = [raw('read'), raw('create')];
    if (validate && rawRead !== undefined && rawWrite !== undefined) {
      // Before its first request each command loads and validates the files (as `validate` does);
      // then its requests take at least what the transport alone takes for them.
      const floor = (c: CommandRunLike): number => validate.wallS + (LAT / 64 / 1000) * (c.reads * rawRead + (c.requests - c.reads) * rawWrite);
      const row = (name: string, c: CommandRunLike) => `${name} ≥ ${validate.wallS} s + ${(floor(c) - validate.wallS).toFixed(1)} s = ${floor(c).toFixed(1)} s against a target of ${(1.25 * c.idealS!).toFixed(1)} s`;
      head.push('', `A floor under the two wall-clock rows: the files are loaded and validated before the first request (\`validate\` took ${validate.wallS} s), then ${planRun.reads} + ${applyRun.reads} reads and ${planRun.requests - planRun.reads} + ${applyRun.requests - applyRun.reads} writes take at least what the bare undici Pool takes (reads ${rawRead.toFixed(2)}×, every write counted as a create ${rawWrite.toFixed(2)}×): ${row('`plan`', planRun)}; ${row('`apply --plan`', applyRun)}. That is before any planning, journaling, plan-file check, or our client's own cost.`);
    }
  }
  head.push('', 'Reproduce: `npm run bench` (all), or one section: `npx tsx bench/run.ts --only=cpu|diff|ceiling|scale|plan|apply|faults|ratelimit|incremental`.');
  // After the run header, before the sections.
  lines.splice(4, 0, ...head);
  for (const l of head) console.log(l);
}

if (!only) await writeFile(new URL('./RESULTS.md', import.meta.url), `${lines.join('\n')}\n`);
