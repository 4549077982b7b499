/**
 * What a profile costs in requests (PRODUCT.md "Numbers": a profile migrated into an empty
 * workspace costs at most 1 read at plan, 1 create, 1 preference write when it has preferences,
 * its share of full property batches and 1 verification read — ≤ 4.1 requests with
 * preferences), pinned by the emulator's counts per route (issue #17). docs/requests.md lists the
 * cost per command.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envFor, resetStats, runCli, startSeeded, stats, tempDir } from '../cli/harness.js';

const N = 250;
let tmp: { dir: string; cleanup: () => Promise<void> };
let dir: string;
beforeAll(async () => {
  tmp = await tempDir('fyno-requests-');
  dir = path.join(tmp.dir, 'desired');
  await mkdir(dir, { recursive: true });
  const lines = ['version: 1', 'profiles:'];
  for (let i = 0; i < N; i++) {
    lines.push(
      `  - distinct_id: m-${i}`,
      `    name: Migrated ${i}`,
      `    channels: { email: m${i}@example.com }`,
      `    properties: { plan: gold, tags: [a, b] }`,
      '    preferences: { S000000003: { sms: opted-out } }',
    );
  }
  await writeFile(path.join(dir, 'p.yaml'), `${lines.join('\n')}\n`);
});
afterAll(async () => tmp?.cleanup());

const P = {
  getProfile: 'GET /{WSID}/{version}/profiles/{distinct_id}',
  getPrefs: 'GET /{WSID}/{version}/subscriptions/preference',
  create: 'POST /{WSID}/{version}/profiles',
  batch: 'POST /{WSID}/{version}/profiles/properties/batch',
  setPrefs: 'PUT /{WSID}/{version}/subscriptions/preference',
};

describe('requests per profile, migrating into an empty workspace', () => {
  it('plan: one read per profile (the default preferences once); apply of the saved plan: create, preferences, full batches, one verification read', async () => {
    const emu = await startSeeded();
    try {
      const cwd = tmp.dir;
      const plan = await runCli(['plan', dir, '--out', 'plan.json', '--concurrency', '16'], envFor(emu), { cwd });
      expect(plan.code, plan.stderr).toBe(0);
      const planned = (await stats(emu)).requests;
      expect(planned).toEqual({ [P.getProfile]: N, [P.getPrefs]: 1 });
      await resetStats(emu);
      const apply = await runCli(['apply', '--plan', 'plan.json', '--state-dir', 'st', '--concurrency', '16'], envFor(emu), { cwd });
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      const applied = (await stats(emu)).requests;
      expect(applied).toEqual({ [P.create]: N, [P.setPrefs]: N, [P.batch]: Math.ceil(N / 100), [P.getProfile]: N });
      const total = Object.values(planned).reduce((a, b) => a + b, 0) + Object.values(applied).reduce((a, b) => a + b, 0);
      expect(total / N).toBeLessThanOrEqual(4.1);
      // And the next plan is empty: nothing was skipped to save requests.
      expect((await runCli(['plan', dir, '--detailed-exitcode'], envFor(emu), { cwd })).code).toBe(0);
    } finally {
      await emu.close();
    }
  }, 60_000);
});
