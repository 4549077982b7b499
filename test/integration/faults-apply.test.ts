/**
 * Apply under faults, over real HTTP: HttpFynoClient → the emulator with injected failures
 * (5xx, hang-ups, timeouts, "applied but the response was lost"), 429 bursts with Retry-After,
 * and interruptions at many points followed by a resume. Every run must converge: the next
 * plan is empty, no token or list value is duplicated, and the summary's request counts equal
 * what the emulator recorded (issue #5, "Faults").
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { openJournal } from '../../src/apply/journal.js';
import type { ApplyOptions, ApplySummary } from '../../src/apply/types.js';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import type { FaultKind } from '../../src/fyno/emulator/faults.js';
import { HttpFynoClient, type RequestInfo } from '../../src/fyno/http-client.js';
import type { Plan } from '../../src/plan/types.js';
import { duplicatesIn, emulatorAdmin, planFor, replanFor, scenario, type Scenario } from './apply-support.js';

const KEY = 'fault-test-key';
let emu: RunningEmulator;
const dirs: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, latencyMs: 1, propertyDelayMs: 15, faultSeed: 7 });
});
afterAll(async () => {
  await emu.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const admin = (path: string, body?: unknown): Promise<Record<string, unknown>> => emulatorAdmin(emu.adminUrl, path, body);

interface Counted {
  api: HttpFynoClient;
  counts: Record<string, number>;
}

function client(): Counted {
  const counts: Record<string, number> = {};
  const api = new HttpFynoClient({
    target: { baseUrl: emu.baseUrl, workspace: emu.workspace, env: 'live' },
    apiKey: KEY,
    timeoutMs: 1000,
    retry: { limit: 6, baseDelayMs: 5, maxDelayMs: 1500 },
    onRequest: (i: RequestInfo) => void (counts[`${i.method} ${i.route}`] = (counts[`${i.method} ${i.route}`] ?? 0) + 1),
  });
  return { api, counts };
}

const ALL_KINDS: FaultKind[] = ['error', 'hangup', 'timeout', 'lost'];
/** Without `timeout`, whose every hit costs a full client timeout: for the many resume runs. */
const QUICK_KINDS: FaultKind[] = ['error', 'hangup', 'lost'];

async function faults(failRate: number, extra: Record<string, unknown> = {}, kinds: FaultKind[] = ALL_KINDS): Promise<void> {
  await admin('/faults', { failRate, failKinds: kinds, rateLimit: null, ...extra });
}

/** Fresh state, no faults while seeding and planning. */
async function prepare(s: Scenario): Promise<{ plan: Plan; c: Counted }> {
  await faults(0);
  await admin('/reset', {});
  await admin('/seed', s.seed);
  const c = client();
  const plan = await planFor(c.api, s.desired);
  return { plan, c };
}

const OPTS: ApplyOptions = { concurrency: 4, allowDelete: true, maxDeletes: 100, batchSize: 5, batchLingerMs: 5, retryBaseMs: 20, verify: { timeoutMs: 3000, intervalMs: 50 } };

/** Run one apply and check that its summary's requests equal the emulator's counts for it. */
async function applyCounted(plan: Plan, s: Scenario, c: Counted, extra: Partial<ApplyOptions> = {}, journal?: ReturnType<typeof openJournal>): Promise<ApplySummary> {
  await admin('/stats/reset', {});
  const summary = await applyPlan(plan, { api: c.api, replan: replanFor(s.desired), requestCounts: () => c.counts, ...(journal ? { journal } : {}) }, { ...OPTS, ...extra });
  const stats = await admin('/stats');
  expect(summary.requests).toEqual(stats.requests);
  return summary;
}

async function expectConverged(s: Scenario): Promise<void> {
  await faults(0);
  await admin('/flush', {});
  const c = client();
  expect((await planFor(c.api, s.desired)).operations).toEqual([]);
  expect(await duplicatesIn(c.api, s.desired)).toEqual([]);
}

describe('apply under injected faults (HTTP)', () => {
  it.each([1, 2, 3])('converges with a 10 percent failure rate incl. lost responses (seed %i)', async (seed) => {
    const s = scenario(24, true);
    const { plan, c } = await prepare(s);
    // 10% random faults of every kind, and the first three answers certainly lost.
    await faults(0.1, { seed, failNext: { count: 3, kind: 'lost' } });
    const summary = await applyCounted(plan, s, c);
    const stats = await admin('/stats');
    expect(summary.failures).toEqual([]);
    expect(summary.not_converged).toBe(0);
    expect(summary.interrupted).toBe(false);
    // Faults were really injected, lost answers included.
    const f = stats.faults as Record<string, number>;
    expect(f.lost).toBeGreaterThanOrEqual(3);
    expect((f.error ?? 0) + (f.hangup ?? 0) + (f.timeout ?? 0)).toBeGreaterThan(0);
    await expectConverged(s);
  });

  it('converges through 429 bursts, honouring Retry-After', async () => {
    const s = scenario(6, true);
    const { plan, c } = await prepare(s);
    await faults(0, { rateLimit: { rps: 40, burst: 6 } });
    const started = Date.now();
    const summary = await applyCounted(plan, s, c);
    const stats = await admin('/stats');
    expect(summary.failures).toEqual([]);
    expect((stats.faults as Record<string, number>).rateLimited).toBeGreaterThan(0);
    expect((stats.statuses as Record<string, number>)['429']).toBeGreaterThan(0);
    // Retry-After is a whole second: at least one wait of it happened.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await expectConverged(s);
  });
});

describe('interrupted and resumed under faults (HTTP)', () => {
  // 11 kill points × {graceful abort, crash} = 22 interruptions, each resumed under faults.
  const POINTS = [1, 3, 5, 8, 11, 15, 19, 24, 30, 37, 45];
  it.each(POINTS.flatMap((k) => [[k, 'abort'] as const, [k, 'crash'] as const]))('converges after an interruption at %i completed operations (%s)', async (k, mode) => {
    const s = scenario(12, true);
    const { plan, c } = await prepare(s);
    await faults(0.1, { seed: k * 31 + (mode === 'crash' ? 1 : 0) }, QUICK_KINDS);
    const dir = mkdtempSync(join(tmpdir(), 'fyno-faults-'));
    dirs.push(dir);
    const controller = new AbortController();
    const j1 = openJournal(dir, plan);
    let done = 0;
    let linesAtKill = -1;
    await admin('/stats/reset', {});
    const first = await applyPlan(
      plan,
      {
        api: c.api,
        journal: j1,
        replan: replanFor(s.desired),
        requestCounts: () => c.counts,
        onEvent: (e) => {
          if (e.type === 'op.done' && ++done === k) {
            linesAtKill = readFileSync(j1.path, 'utf8').split('\n').filter(Boolean).length;
            controller.abort();
          }
        },
      },
      { ...OPTS, signal: controller.signal },
    );
    expect(first.requests).toEqual((await admin('/stats')).requests);
    if (mode === 'crash' && linesAtKill > 0) {
      const lines = readFileSync(j1.path, 'utf8').split('\n').filter(Boolean);
      // What a kill -9 leaves: every write-ahead `start`, no completion after the kill point.
      writeFileSync(j1.path, `${[...lines.slice(0, linesAtKill), ...lines.slice(linesAtKill).filter((l) => l.startsWith('{"t":"start"'))].join('\n')}\n`);
    }
    const second = await applyCounted(plan, s, c, {}, openJournal(dir, plan, { resume: true }));
    expect(second.failures).toEqual([]);
    expect(second.interrupted).toBe(false);
    expect(second.not_converged).toBe(0);
    await expectConverged(s);
  });
});

describe('killed with SIGKILL and resumed (HTTP, child process)', () => {
  it.each([2, 9])('converges after kill -9 once %i operations are journalled', async (k) => {
    const s = scenario(12, true);
    const { plan, c } = await prepare(s);
    await faults(0.05, { seed: k }, QUICK_KINDS);
    const dir = mkdtempSync(join(tmpdir(), 'fyno-kill-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
    writeFileSync(join(dir, 'desired.json'), JSON.stringify(s.desired));
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'apply-child.ts'), dir], {
      env: { ...process.env, FYNO_BASE_URL: emu.baseUrl, FYNO_WSID: emu.workspace, FYNO_API_KEY: KEY },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const journalPath = join(dir, 'fyno-sync-apply.jsonl');
    const deadline = Date.now() + 20_000;
    let killed = false;
    while (Date.now() < deadline) {
      const doneLines = existsSync(journalPath) ? readFileSync(journalPath, 'utf8').split('\n').filter((l) => l.startsWith('{"t":"done"')).length : 0;
      if (doneLines >= k) {
        killed = child.kill('SIGKILL');
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await exited;
    expect(killed, stderr).toBe(true);
    const second = await applyCounted(plan, s, c, {}, openJournal(dir, plan, { resume: true }));
    expect(second.failures).toEqual([]);
    expect(second.operations.skipped_by_reason['done earlier']).toBeGreaterThan(0);
    await expectConverged(s);
  }, 40_000);
});
