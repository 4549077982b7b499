/**
 * What the transport and the emulator allow on this machine, before any planning or applying:
 * `count` bare reads of absent profiles, then `count` bare creates, through HttpFynoClient at
 * `concurrency` in flight against the emulator (its own process) at `latencyMs`. The issue #17
 * "ideal" (requests × latency ÷ concurrency) assumes every request takes exactly the latency;
 * this shows how close a client doing nothing else gets to it.
 *
 *   npx tsx bench/ceiling.ts [count=30000] [latencyMs=20] [concurrency=64]
 */
import { pathToFileURL } from 'node:url';
import { benchEmulator, clientFor } from './util.js';

export interface CeilingRow {
  requests: string;
  count: number;
  wallS: number;
  /** wall ÷ (count × latency ÷ concurrency). */
  ratio: number;
  clientCpuUs: number;
  emulatorCpuUs: number;
}

export async function benchCeiling(o: { count: number; latencyMs: number; concurrency: number }): Promise<CeilingRow[]> {
  const emu = await benchEmulator({ latencyMs: o.latencyMs });
  try {
    const api = clientFor(emu);
    const rows: CeilingRow[] = [];
    for (const [requests, send] of [
      ['GET profile (absent)', (i: number) => api.getProfile(`nobody-${i}`)],
      ['POST create profile', (i: number) => api.createProfile({ distinct_id: `new-${i}`, name: `Person ${i}`, timezone: 'Asia/Kolkata', channels: { email: `p${i}@example.com` } })],
    ] as const) {
      let next = 0;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const emu0 = await emu.cpuUs();
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < o.count) await send(next++);
        }),
      );
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const emuUs = (await emu.cpuUs()) - emu0;
      rows.push({ requests, count: o.count, wallS, ratio: wallS / ((o.count * o.latencyMs) / o.concurrency / 1000), clientCpuUs: (cpu.user + cpu.system) / o.count, emulatorCpuUs: emuUs / o.count });
    }
    return rows;
  } finally {
    await emu.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [count, latencyMs, concurrency] = [Number(process.argv[2] ?? 30000), Number(process.argv[3] ?? 20), Number(process.argv[4] ?? 64)];
  console.log(`| requests (${concurrency} in flight, ${latencyMs} ms) | count | wall | wall ÷ ideal | client CPU per request | emulator CPU per request |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of await benchCeiling({ count, latencyMs, concurrency })) {
    console.log(`| ${r.requests} | ${r.count} | ${r.wallS.toFixed(2)} s | ${r.ratio.toFixed(2)}× | ${Math.round(r.clientCpuUs)} µs | ${Math.round(r.emulatorCpuUs)} µs |`);
  }
}
