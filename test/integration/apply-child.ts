/**
 * Child process for the kill -9 tests (faults-apply.test.ts): applies `<dir>/plan.json` with a
 * journal in `<dir>` against FYNO_BASE_URL, until the parent kills it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPlan } from '../../src/apply/apply.js';
import { openJournal } from '../../src/apply/journal.js';
import type { DesiredState } from '../../src/desired/types.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import type { Plan } from '../../src/plan/types.js';
import { replanFor } from './apply-support.js';

const dir = process.argv[2]!;
const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as Plan;
const desired = JSON.parse(readFileSync(join(dir, 'desired.json'), 'utf8')) as DesiredState;
const api = new HttpFynoClient({
  target: { baseUrl: process.env.FYNO_BASE_URL!, workspace: process.env.FYNO_WSID!, env: 'live' },
  apiKey: process.env.FYNO_API_KEY!,
  timeoutMs: 1000,
  retry: { limit: 6, baseDelayMs: 5, maxDelayMs: 1500 },
});
await applyPlan(plan, { api, journal: openJournal(dir, plan), replan: replanFor(desired) }, { concurrency: 1, allowDelete: true, maxDeletes: 100, batchSize: 2, batchLingerMs: 5, retryBaseMs: 20 });
