/**
 * The built CLI (`node dist/cli/bin.js`, built by `npm test`) killed mid-apply against a real
 * emulator: SIGKILL and Ctrl-C (SIGINT), then `apply --resume` completes without repeating
 * completed operations, and a following plan is empty.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { BIN, envFor, KEY, resetStats, runCli, spawnCli, startSeeded, stats, tempDir, waitFor } from '../cli/harness.js';

const PROFILES = 60;

function desiredYaml(): string {
  const out = ['version: 1', 'profiles:'];
  for (let i = 0; i < PROFILES; i++) {
    const id = `user-${String(i).padStart(3, '0')}`;
    out.push(
      `  - distinct_id: ${id}`,
      `    name: User ${i}`,
      '    channels:',
      `      email: ${id}@example.com`,
      '      push:',
      `        - { token: "ExponentPushToken[tok-${i}-a]" }`,
      `        - { token: "ExponentPushToken[tok-${i}-b]" }`,
      '    properties:',
      `      plan: ${i % 2 ? 'basic' : 'premium'}`,
      `      tags: [t${i}, common]`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** Half the profiles exist already with one of the tokens and a tag: updates, inserts, appends. */
function seed(): unknown {
  return {
    profiles: Array.from({ length: PROFILES / 2 }, (_, i) => ({
      distinct_id: `user-${String(i * 2).padStart(3, '0')}`,
      name: `Old ${i}`,
      channel: { push: [{ token: `ExponentPushToken[tok-${i * 2}-a]` }] },
      properties: { tags: ['common'] },
    })),
  };
}

interface LiveProfile {
  channel: { push?: { token: string }[] };
  properties: { tags?: unknown[] };
}

async function expectNoDuplicates(emu: RunningEmulator): Promise<void> {
  emu.faults.update({ latencyMs: 0 });
  for (let i = 0; i < PROFILES; i++) {
    const id = `user-${String(i).padStart(3, '0')}`;
    const res = await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status, id).toBe(200);
    const p = (await res.json()) as LiveProfile;
    const tokens = (p.channel.push ?? []).map((t) => t.token);
    expect(tokens.sort(), id).toEqual([`ExponentPushToken[tok-${i}-a]`, `ExponentPushToken[tok-${i}-b]`]);
    expect([...(p.properties.tags ?? [])].sort(), id).toEqual(['common', `t${i}`].sort());
  }
}

let tmp: { dir: string; cleanup: () => Promise<void> };
let desiredDir: string;
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  tmp = await tempDir('fyno-cli-resume-');
  desiredDir = path.join(tmp.dir, 'desired');
  await mkdir(desiredDir, { recursive: true });
  await writeFile(path.join(desiredDir, 'users.yaml'), desiredYaml());
});
afterAll(async () => tmp?.cleanup());

/** Writes a clean apply of this desired state needs, from the dry run's request list. */
async function writesNeeded(emu: RunningEmulator, cwd: string): Promise<number> {
  const r = await runCli(['apply', desiredDir, '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
  const m = /^Dry run: (\d+) requests?/m.exec(r.stdout);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  return Number(m![1]);
}

describe.each([
  { signal: 'SIGKILL' as const, expectCode: null },
  { signal: 'SIGINT' as const, expectCode: 130 },
  // A cancelled CI job or a stopped pod: the same graceful stop as Ctrl-C.
  { signal: 'SIGTERM' as const, expectCode: 130 },
])('apply killed with $signal, then --resume', ({ signal, expectCode }) => {
  it('resumes to convergence without repeating completed writes', async () => {
    const emu = await startSeeded(seed());
    const cwd = path.join(tmp.dir, signal);
    await mkdir(cwd, { recursive: true });
    try {
      const needed = await writesNeeded(emu, cwd);

      expect(needed).toBeGreaterThan(60);
      // Slow enough that the kill lands mid-run.
      emu.faults.update({ latencyMs: 30 });
      const child = spawnCli(['apply', desiredDir, '--yes', '--state-dir', 'st', '--concurrency', '4'], envFor(emu), cwd);
      // Let it write a while, then stop it mid-run.
      await waitFor(async () => (await stats(emu)).writes >= 20 || child.child.exitCode !== null);
      expect(child.child.exitCode, child.stderr()).toBeNull();
      child.child.kill(signal);
      const exit = await child.exit;
      const firstWrites = (await stats(emu)).writes;
      expect(firstWrites).toBeLessThan(needed);
      if (signal === 'SIGKILL') {
        expect(exit.signal).toBe('SIGKILL');
      } else {
        expect(exit.code, child.stderr()).toBe(expectCode);
        expect(child.stdout()).toMatch(/^Apply interrupted: \d+ created, \d+ updated/m);
        expect(child.stderr()).toMatch(/fyno-sync apply --resume/);
      }
      expect(child.stdout() + child.stderr()).not.toContain(KEY);

      const resumed = await runCli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/^Apply complete: .* \(\d+ operations, 0 failed, \d+ skipped: \d+ done earlier\)/m);
      const totalWrites = (await stats(emu)).writes;
      // Completed operations are not repeated: at most the writes in flight at the kill again.
      expect(totalWrites).toBeLessThanOrEqual(needed + 4);

      const again = await runCli(['plan', desiredDir, '--detailed-exitcode'], envFor(emu), { cwd });
      expect(again.code, again.stdout).toBe(0);
      await expectNoDuplicates(emu);
    } finally {
      await emu.close();
    }
  }, 30_000);
});

describe('Ctrl-C while reading live state', () => {
  it.each([['plan'], ['apply']])('%s: exit 130, no plan printed, nothing written', async (cmd) => {
    const emu = await startSeeded(seed(), { latencyMs: 100 });
    const cwd = path.join(tmp.dir, `read-${cmd}`);
    await mkdir(cwd, { recursive: true });
    try {
      const args = cmd === 'plan' ? ['plan', desiredDir, '--concurrency', '2'] : ['apply', desiredDir, '--yes', '--concurrency', '2', '--state-dir', 'st'];
      const child = spawnCli(args, envFor(emu), cwd);
      await waitFor(async () => (await stats(emu)).total >= 2 || child.child.exitCode !== null);
      child.child.kill('SIGINT');
      const exit = await child.exit;
      expect(exit.code, child.stderr()).toBe(130);
      expect(child.stdout()).not.toMatch(/Plan:|No changes|Apply complete/);
      expect(child.stderr()).toMatch(/interrupted/i);
      expect(child.stderr()).not.toMatch(/could not read/);
      expect((await stats(emu)).writes).toBe(0);
    } finally {
      await emu.close();
    }
  }, 20_000);
});

/**
 * Verification is part of the run: an apply stopped while it waits for Fyno's asynchronous
 * properties to show has not verified them, so its resume must, or a value Fyno ignored (here a
 * type mismatch: `ltv` is a number in the workspace) goes unreported and the resume exits 0.
 */
describe('apply stopped during verification, then --resume', () => {
  const mismatch = ['version: 1', 'profiles:', '  - distinct_id: vb', '    name: Bee', '    properties:', '      ltv: high', ''].join('\n');
  const seeded = { profiles: [{ distinct_id: 'va', properties: { ltv: 5 } }] };

  it.each([['SIGKILL' as const], ['SIGINT' as const]])('%s: the resume verifies what the stopped run wrote and reports what did not converge', async (signal) => {
    const emu = await startSeeded(seeded);
    const cwd = path.join(tmp.dir, `verify-${signal}`);
    await mkdir(cwd, { recursive: true });
    await writeFile(path.join(cwd, 'p.yaml'), mismatch);
    try {
      const child = spawnCli(['apply', 'p.yaml', '--yes', '--state-dir', 'st', '--verify-timeout', '30000'], envFor(emu), cwd);
      // Both writes (the create, the property batch) are in, then a verification read.
      await waitFor(async () => {
        const s = await stats(emu);
        return (s.writes >= 2 && (s.requests['GET /{WSID}/{version}/profiles/{distinct_id}'] ?? 0) >= 2) || child.child.exitCode !== null;
      });
      expect(child.child.exitCode, child.stderr()).toBeNull();
      child.child.kill(signal);
      const exit = await child.exit;
      if (signal === 'SIGINT') expect(exit.code, child.stderr()).toBe(130);
      const writes = (await stats(emu)).writes;

      const resumed = await runCli(['apply', '--resume', '--state-dir', 'st', '--verify-timeout', '600'], envFor(emu), { cwd });
      expect(resumed.stdout + resumed.stderr).toMatch(/not converged: vb: properties\.ltv/);
      expect(resumed.stdout).toMatch(/\(2 operations, 0 failed, 2 skipped: 2 done earlier, 1 not converged\)/);
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(1);
      // Verifying sends reads only.
      expect((await stats(emu)).writes).toBe(writes);
    } finally {
      await emu.close();
    }
  }, 30_000);
});

describe('apply --resume --dry-run after a crash', () => {
  it('counts the requests the resume then sends: writes in flight at the crash that Fyno applied are settled, not listed', () =>
    withEmulator('dry-resume', async (emu, cwd) => {
      // Killed right after its 6th write is sent, with others in flight (concurrency 4).
      const child = spawnCli(['apply', desiredDir, '--yes', '--state-dir', 'st', '--concurrency', '4'], envFor(emu, { FYNO_SYNC_TEST_CRASH: 'request:6' }), cwd);
      expect((await child.exit).signal).toBe('SIGKILL');
      await waitFor(async () => (await stats(emu)).writes >= 6);
      const dry = await runCli(['apply', '--resume', '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(dry.code, dry.stdout + dry.stderr).toBe(0);
      // `METHOD /WSID/live/profiles…` of each listed request, ids left out.
      const listed: Record<string, number> = {};
      for (const l of dry.stdout.split('\n').slice(1).filter(Boolean)) {
        const k = l.split(' ').slice(0, 2).join(' ').replace(/\/user-\d+/, '/{distinct_id}').replace(/^(\w+) \/FYCLITEST1\/live/, '$1 /{WSID}/{version}');
        listed[k] = (listed[k] ?? 0) + 1;
      }
      await resetStats(emu);
      const resumed = await runCli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const sent = (await stats(emu)).requests;
      // Property batches are cut where profiles reach them (src/apply/dry-run.ts): compared apart.
      const BATCH = 'POST /{WSID}/{version}/profiles/properties/batch';
      const writesOf = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('GET ') && k !== BATCH));
      expect(writesOf(listed)).toEqual(writesOf(sent));
      expect(Object.keys(writesOf(listed)).length).toBeGreaterThan(0);
      expect(sent[BATCH] ?? 0).toBeGreaterThanOrEqual(listed[BATCH] ?? 0);
    }), 30_000);
});

describe('apply --dry-run', () => {
  it('lists the property batches the run sends: profiles with a non-idempotent action ($append) go in batches of their own', () =>
    withEmulator('dry-batches', async (emu, cwd) => {
      const dry = await runCli(['apply', desiredDir, '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(dry.code, dry.stdout + dry.stderr).toBe(0);
      const listed = dry.stdout.split('\n').filter((l) => l.startsWith('POST /FYCLITEST1/live/profiles/properties/batch ')).length;
      await resetStats(emu);
      const r = await runCli(['apply', desiredDir, '--yes', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await stats(emu)).requests['POST /{WSID}/{version}/profiles/properties/batch']).toBe(listed);
    }));
});

/** `run` against an emulator seeded with `seed()`, in a directory of its own; the emulator closed after. */
async function withEmulator(name: string, run: (emu: RunningEmulator, cwd: string) => Promise<void>): Promise<void> {
  const emu = await startSeeded(seed());
  const cwd = path.join(tmp.dir, name);
  await mkdir(cwd, { recursive: true });
  try {
    await run(emu, cwd);
  } finally {
    await emu.close();
  }
}
