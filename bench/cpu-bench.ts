/**
 * Client CPU per request (issue #17): `plan` of N existing profiles against the emulator in its
 * own process, no latency, concurrency 64, so the client's CPU is what limits the run. The
 * figure is the client process's CPU time (user + system, `process.cpuUsage`) while planning,
 * divided by the requests the emulator recorded; the desired files are loaded before the clock
 * starts. For reference, the same count of bare GETs through got, fetch and undici.
 *   npx tsx bench/cpu-bench.ts [profiles]           prints the figures
 *   CPU_PROFILE=plan.cpuprofile npx tsx bench/…     also writes a V8 CPU profile of the measured
 *                                                   plan alone (open it in Chrome DevTools)
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import got from 'got';
import { Agent, request } from 'undici';
import { createPlan } from '../src/create-plan.js';
import { forEachLimited } from '../src/fyno/pool.js';
import { naiveUpsert } from './naive.js';
import { BENCH_KEY, BENCH_WS, clientFor, timed } from './util.js';
import { profileAt, seededWorld } from './gen.js';

export interface CpuBenchResult {
  profiles: number;
  concurrency: number;
  requests: number;
  cpuUsPerRequest: number;
  /** The emulator's CPU per request over the same plan, from its process (a yardstick). */
  emulatorCpuUsPerRequest: number;
  wallMs: number;
  /** The naive upsert script (bench/naive.ts) over the same profiles, same client and concurrency. */
  naive: { requests: number; cpuUsPerRequest: number };
  /** Bare GETs of the same profiles through each HTTP client, for reference. */
  bare: { client: string; cpuUsPerRequest: number }[];
}

/** `fn` under the V8 profiler, written to `file`. */
async function profiled(file: string, fn: () => Promise<void>): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  }
}

async function cpuOf(fn: () => Promise<void>): Promise<{ cpuUs: number; ms: number }> {
  const c0 = process.cpuUsage();
  const r = await timed(fn);
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, ms: r.ms };
}

export async function benchCpu(o: { count: number; concurrency: number; bare?: number }): Promise<CpuBenchResult> {
  const world = await seededWorld('cpu', { count: o.count, differ: 0.05, missing: 0 });
  const { emu, state } = world;
  try {
    const api = clientFor(emu);
    const plan = (): Promise<unknown> =>
      createPlan({ api, now: () => new Date() }, state, { destination: { base_url: emu.baseUrl, workspace: BENCH_WS, env: 'live' }, concurrency: o.concurrency, keepSnapshots: false });
    // Warm up (JIT, sockets) on a plan of its own, then measure the next one.
    await plan();
    await emu.resetCounts();
    const emuCpu0 = await emu.cpuUs();
    const run = await cpuOf(async () => void (await plan()));
    const requests = (await emu.counts()).total;
    const emulatorCpuUs = (await emu.cpuUs()) - emuCpu0;
    const profileFile = process.env.CPU_PROFILE;
    if (profileFile) await profiled(profileFile, async () => void (await plan()));

    await emu.resetCounts();
    const naiveRun = await cpuOf(async () => void (await naiveUpsert(api, state.profiles, o.concurrency)));
    const naiveRequests = (await emu.counts()).total;

    const n = o.bare ?? o.count;
    const urls = Array.from({ length: n }, (_, i) => `${emu.baseUrl}/${BENCH_WS}/live/profiles/${profileAt(i).distinct_id}`);
    const headers = { authorization: `Bearer ${BENCH_KEY}`, accept: 'application/json' };
    const gotClient = got.extend({ headers, responseType: 'text', retry: { limit: 0 } });
    const agent = new Agent({ connections: o.concurrency, pipelining: 1 });
    const bareClients: [string, (u: string) => Promise<unknown>][] = [
      ['got (got.extend once, no hooks)', (u) => gotClient(u).then((r) => JSON.parse(r.body) as unknown)],
      ['fetch', (u) => fetch(u, { headers }).then((r) => r.json())],
      ['undici.request', (u) => request(u, { headers, dispatcher: agent }).then((r) => r.body.json())],
    ];
    const bare: CpuBenchResult['bare'] = [];
    for (const [client, get] of bareClients) {
      await forEachLimited(urls.slice(0, 1000), o.concurrency, async (u) => void (await get(u)));
      const r = await cpuOf(() => forEachLimited(urls, o.concurrency, async (u) => void (await get(u))));
      bare.push({ client, cpuUsPerRequest: r.cpuUs / n });
    }
    await agent.close();
    return {
      profiles: o.count,
      concurrency: o.concurrency,
      requests,
      cpuUsPerRequest: run.cpuUs / requests,
      emulatorCpuUsPerRequest: emulatorCpuUs / requests,
      wallMs: run.ms,
      naive: { requests: naiveRequests, cpuUsPerRequest: naiveRun.cpuUs / naiveRequests },
      bare,
    };
  } finally {
    await world.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 10_000);
  console.log(JSON.stringify(await benchCpu({ count, concurrency: 64 }), null, 2));
}
