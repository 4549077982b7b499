/**
 * The naive upsert script (bench/naive.ts) as a process of its own, so that its peak RSS is its
 * own, for the 100,000-profile migration of bench/scale-bench.ts:
 *   FYNO_BASE_URL=… FYNO_API_KEY=… FYNO_WSID=… node --import tsx bench/naive-upsert.ts DIR [concurrency]
 * Prints one JSON line: profiles, requests sent, client CPU in µs.
 */
import { loadDesired } from '../src/desired/load.js';
import { HttpFynoClient } from '../src/fyno/http-client.js';
import { naiveUpsert } from './naive.js';

const [dir, conc] = process.argv.slice(2);
if (!dir) throw new Error('usage: naive-upsert.ts DIR [concurrency]');
const { state, issues } = await loadDesired([dir], { env: {}, cwd: process.cwd() });
if (issues.length > 0) throw new Error(`invalid desired state: ${issues[0]!.message}`);
const api = new HttpFynoClient({
  target: { baseUrl: process.env.FYNO_BASE_URL!, workspace: process.env.FYNO_WSID!, env: 'live' },
  apiKey: process.env.FYNO_API_KEY!,
});
const c0 = process.cpuUsage();
const requests = await naiveUpsert(api, state.profiles, Number(conc ?? 64));
const c = process.cpuUsage(c0);
await api.close();
console.log(JSON.stringify({ profiles: state.profiles.length, requests, cpuUs: c.user + c.system }));
