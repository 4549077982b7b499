/**
 * What the transport and the emulator allow on this machine, before any planning or applying:
 * `count` bare reads of absent profiles, then `count` bare creates, through HttpFynoClient at
 * `concurrency` in flight against the emulator (its own process) at `latencyMs`; then the same
 * through a bare undici Pool (the transport alone: no retries, timeouts or rate), and reads through
 * it from a bare node:http server that only waits `latencyMs` (the machine alone: no emulator).
 * The issue #17 "ideal" (requests × latency ÷ concurrency) assumes every request takes exactly
 * the latency; this shows how close a client doing nothing else gets to it.
 *
 *   npx tsx bench/ceiling.ts [count=30000] [latencyMs=20] [concurrency=64]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { BENCH_KEY, BENCH_WS, benchEmulator, clientFor } from './util.js';

export interface CeilingRow {
  requests: string;
  /** What sent them: our client, or the transport alone. */
  via: 'HttpFynoClient' | 'bare undici Pool';
  /** What answered: the emulator, or a server that only waits the latency (emulator CPU 0). */
  server: 'emulator' | 'bare node:http';
  kind: 'read' | 'create';
  count: number;
  wallS: number;
  /** wall ÷ (count × latency ÷ concurrency). */
  ratio: number;
  clientCpuUs: number;
  emulatorCpuUs: number;
}

export async function benchCeiling(o: { count: number; latencyMs: number; concurrency: number }): Promise<CeilingRow[]> {
  const emu = await benchEmulator({ latencyMs: o.latencyMs });
  const bare = await bareServer(o.latencyMs);
  const api = clientFor(emu);
  const origin = new URL(emu.baseUrl).origin;
  const pool = new Pool(origin, { headersTimeout: 0, bodyTimeout: 0 });
  const barePool = new Pool(bare.origin, { headersTimeout: 0, bodyTimeout: 0 });
  const headers = { authorization: `Bearer ${BENCH_KEY}`, accept: 'application/json' };
  const json = { ...headers, 'content-type': 'application/json' };
  const profiles = `/v1/${BENCH_WS}/live/profiles`;
  const person = (i: number, tag: string) => ({ distinct_id: `${tag}-${i}`, name: `Person ${i}`, timezone: 'Asia/Kolkata', channels: { email: `p${i}@example.com` } });
  const raw = async (p: Pool, opts: Parameters<Pool['request']>[0]): Promise<void> => {
    const res = await p.request(opts);
    await res.body.text();
  };
  try {
    const rows: CeilingRow[] = [];
    const runs: [Omit<CeilingRow, 'count' | 'wallS' | 'ratio' | 'clientCpuUs' | 'emulatorCpuUs'>, (i: number) => Promise<unknown>][] = [
      [{ requests: 'GET profile (absent)', via: 'HttpFynoClient', server: 'emulator', kind: 'read' }, (i) => api.getProfile(`nobody-${i}`)],
      [{ requests: 'POST create profile', via: 'HttpFynoClient', server: 'emulator', kind: 'create' }, (i) => api.createProfile(person(i, 'new'))],
      [{ requests: 'GET profile (absent)', via: 'bare undici Pool', server: 'emulator', kind: 'read' }, (i) => raw(pool, { path: `${profiles}/nobody-${i}`, method: 'GET', headers })],
      [
        { requests: 'POST create profile', via: 'bare undici Pool', server: 'emulator', kind: 'create' },
        (i) => {
          const p = person(i, 'raw');
          const body = JSON.stringify({ distinct_id: p.distinct_id, name: p.name, timezone: p.timezone, channel: p.channels });
          return raw(pool, { path: profiles, method: 'POST', headers: json, body });
        },
      ],
      [{ requests: 'GET', via: 'bare undici Pool', server: 'bare node:http', kind: 'read' }, (i) => raw(barePool, { path: `/x/${i}`, method: 'GET', headers })],
    ];
    // Each sender first warms up (compiled code, open connections) on requests not counted.
    const warm = Math.min(2000, Math.ceil(o.count / 10));
    const inFlight = async (from: number, to: number, send: (i: number) => Promise<unknown>): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < to) await send(next++);
        }),
      );
    };
    for (const [row, send] of runs) {
      await inFlight(o.count, o.count + warm, send);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const emu0 = await emu.cpuUs();
      await inFlight(0, o.count, send);
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const emuUs = row.server === 'emulator' ? (await emu.cpuUs()) - emu0 : 0;
      rows.push({ ...row, count: o.count, wallS, ratio: wallS / ((o.count * o.latencyMs) / o.concurrency / 1000), clientCpuUs: (cpu.user + cpu.system) / o.count, emulatorCpuUs: emuUs / o.count });
    }
    // Reads of absent profiles answer 400 (Fyno's "no such profile"), creates 2xx: else the run is broken.
    const answered = (await emu.counts()).statuses;
    const each = o.count + warm;
    const reads = runs.filter(([r]) => r.server === 'emulator' && r.kind === 'read').length * each;
    const ok = Object.entries(answered).reduce((n, [status, k]) => n + (/^2/.test(status) ? k : 0), 0);
    if (answered['400'] !== reads || ok !== runs.filter(([r]) => r.kind === 'create').length * each) throw new Error(`ceiling: unexpected answers ${JSON.stringify(answered)}`);
    return rows;
  } finally {
    await Promise.all([pool.close(), barePool.close(), api.close()]);
    await Promise.all([bare.close(), emu.close()]);
  }
}

/** A server in its own process that answers every request with `{}` after `latencyMs`, and does nothing else. */
async function bareServer(latencyMs: number): Promise<{ origin: string; close: () => Promise<void> }> {
  const code = `const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => setTimeout(() => res.end('{}'), ${latencyMs})); });
s.keepAliveTimeout = 65000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(l.trim()));
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [count, latencyMs, concurrency] = [Number(process.argv[2] ?? 30000), Number(process.argv[3] ?? 20), Number(process.argv[4] ?? 64)];
  console.log(`| requests (${concurrency} in flight, ${latencyMs} ms) | sent through | answered by | count | wall | wall ÷ ideal | client CPU per request | emulator CPU per request |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of await benchCeiling({ count, latencyMs, concurrency })) console.log(ceilingLine(r));
}

/** One row of the Ceiling table. */
export function ceilingLine(r: CeilingRow): string {
  return `| ${r.requests} | ${r.via} | ${r.server} | ${r.count} | ${r.wallS.toFixed(2)} s | ${r.ratio.toFixed(2)}× | ${Math.round(r.clientCpuUs)} µs | ${r.server === 'emulator' ? `${Math.round(r.emulatorCpuUs)} µs` : ''} |`;
}
