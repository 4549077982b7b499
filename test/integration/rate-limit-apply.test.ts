/**
 * Issue #13 item 8, over real HTTP: plan and apply against an emulator that allows 20 requests
 * per second (429 + Retry-After above it) and injects 10% failures. The client is built as the
 * CLI builds it — no `--rps`, the default retry policy — so it must find the rate by itself:
 * no request gives up, the apply converges in one run, and few requests are answered 429
 * (before the fix about a fifth were, and a read could give up after 6 attempts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import { duplicatesIn, emulatorAdmin, planFor, replanFor, scenario } from './apply-support.js';

const KEY = 'rate-limit-key';
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, latencyMs: 2, propertyDelayMs: 15, faultSeed: 11 });
});
afterAll(async () => {
  await emu.close();
});

const admin = (path: string, body?: unknown): Promise<Record<string, unknown>> => emulatorAdmin(emu.adminUrl, path, body);

describe('plan and apply under a server-side rate limit (issue #13 item 8)', () => {
  it('finds the rate by itself: converges in one apply, no give-up, few 429s', async () => {
    const s = scenario(36, true);
    await admin('/reset', {});
    await admin('/seed', s.seed);
    await admin('/faults', { failRate: 0.1, failKinds: ['error', 'hangup', 'lost'], rateLimit: { rps: 20 } });
    await admin('/stats/reset', {});

    const api = new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: emu.workspace, env: 'live' }, apiKey: KEY, timeoutMs: 2000 });
    const plan = await planFor(api, s.desired);
    const summary = await applyPlan(plan, { api, replan: replanFor(s.desired) }, { concurrency: 8, allowDelete: true, maxDeletes: 100, verify: { timeoutMs: 10_000, intervalMs: 100 } });
    const stats = await admin('/stats');

    expect(summary.failures).toEqual([]);
    expect(summary.not_converged).toBe(0);
    expect(summary.interrupted).toBe(false);
    const total = stats.total as number;
    const limited = (stats.statuses as Record<string, number>)['429'] ?? 0;
    // The limit was really hit, and the client backed off instead of hammering it.
    expect(limited).toBeGreaterThan(0);
    expect(api.sendingRate).toBeLessThan(40);
    expect(limited / total).toBeLessThan(0.08);

    await admin('/faults', { failRate: 0, rateLimit: null });
    await admin('/flush', {});
    expect((await planFor(api, s.desired)).operations).toEqual([]);
    expect(await duplicatesIn(api, s.desired)).toEqual([]);
  }, 120_000);
});
