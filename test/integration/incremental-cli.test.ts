/**
 * `plan --changed-since` / `apply --changed-since` through the real CLI against the emulator over
 * HTTP: only the changed profile is read and planned, the scope is said in every output format and
 * saved in the plan, and git problems are one clear error before any request.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { commitAll, envFor, git, gitRepo, KEY, requestCounts, resetCounts, runCli, startSeeded, type CliRun } from './incremental-support.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/basic');

let emu: RunningEmulator;
let repo: { dir: string; cleanup: () => Promise<void> };
let base: string;
const runs: CliRun[] = [];
async function cli(argv: string[], cwd = repo.dir): Promise<CliRun> {
  const r = await runCli(argv, envFor(emu), cwd);
  runs.push(r);
  return r;
}

beforeAll(async () => {
  emu = await startSeeded(JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')));
  repo = await gitRepo();
  await cp(EXAMPLE, path.join(repo.dir, 'fyno'), { recursive: true });
  base = commitAll(repo.dir, 'base');
  // The change under review: one profile edited, one file of two profiles deleted.
  const us = path.join(repo.dir, 'fyno/customers-us.yaml');
  await writeFile(us, (await readFile(us, 'utf8')).replace('name: Marcus Lee', 'name: Marcus A. Lee'));
  await rm(path.join(repo.dir, 'fyno/cleanup.yaml'));
});
afterAll(async () => {
  await emu?.close();
  await repo?.cleanup();
  for (const r of runs) expect(r.stdout + r.stderr).not.toContain(KEY);
});

describe('plan --changed-since', () => {
  it('reads and plans only the changed profile; text says incremental, against which revision, how many skipped and removed', async () => {
    await resetCounts(emu);
    const r = await cli(['plan', 'fyno', '--changed-since', 'main']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('~ name: "Marcus Lee" → "Marcus A. Lee"');
    expect(r.stdout).not.toContain('cust-1002');
    expect(r.stdout).toContain(`Scope: 6 profile(s) of the desired state left out (changed since main = ${base.slice(0, 12)}: 6 unchanged, 2 no longer in the files, left unmanaged).`);
    expect(r.stdout).toContain('drift in unchanged profiles is not checked');
    const c = await requestCounts(emu);
    expect(c.total).toBe(1);
    expect(c.requests['GET /{WSID}/{version}/profiles/{distinct_id}']).toBe(1);
  });

  it('--json and --out record scope.incremental with the resolved revision; --markdown shows it', async () => {
    const j = await cli(['plan', 'fyno', '--changed-since', 'main', '--json', '--out', 'plan.json']);
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { scope: unknown; operations: { distinct_id: string }[] };
    expect(doc.scope).toEqual({ incremental: { since: 'main', revision: base, skipped: 6, removed: 2 }, skipped: 6 });
    expect(new Set(doc.operations.map((o) => o.distinct_id))).toEqual(new Set(['cust-2002']));
    const saved = JSON.parse(await readFile(path.join(repo.dir, 'plan.json'), 'utf8')) as { scope: unknown };
    expect(saved.scope).toEqual(doc.scope);
    const m = await cli(['plan', 'fyno', '--changed-since', base, '--markdown']);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain(`changed since ${base.slice(0, 12)}: 6 unchanged`);
  });

  it('a committed change compares with the merge base the same way', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'feature');
    commitAll(repo.dir, 'feature');
    const mb = git(repo.dir, 'merge-base', 'main', 'HEAD');
    const r = await cli(['plan', 'fyno', '--changed-since', mb, '--detailed-exitcode']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Marcus A. Lee');
    // Against itself nothing is changed: nothing read, exit 0.
    await resetCounts(emu);
    const same = await cli(['plan', 'fyno', '--changed-since', 'HEAD', '--detailed-exitcode']);
    expect(same.code, same.stderr).toBe(0);
    expect((await requestCounts(emu)).total).toBe(0);
  });

  it('outside a git repository, or with an unknown revision: one git.error line, exit 1, no request', async () => {
    const plain = await mkdtemp(path.join(os.tmpdir(), 'fyno-nogit-'));
    try {
      await cp(path.join(EXAMPLE, 'customers-us.yaml'), path.join(plain, 'us.yaml'));
      await resetCounts(emu);
      const a = await cli(['plan', 'us.yaml', '--changed-since', 'main'], plain);
      expect(a.code).toBe(1);
      expect(a.stderr.trim().split('\n')).toHaveLength(1);
      expect(a.stderr).toMatch(/^Error: --changed-since main: .* is not inside a git repository/);
      const b = await cli(['plan', 'fyno', '--changed-since', 'no-such-branch', '--json']);
      expect(b.code).toBe(1);
      const err = JSON.parse(b.stdout) as { status: string; error: { code: string; message: string } };
      expect(err.status).toBe('error');
      expect(err.error.code).toBe('git.error');
      expect(err.error.message).toContain("unknown revision 'no-such-branch'");
      expect((await requestCounts(emu)).total).toBe(0);
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
  });

  it('an invalid desired state at the base revision: a warning naming the file, and every profile planned', async () => {
    const { dir, cleanup } = await gitRepo();
    try {
      await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: a\n    name: [not, a, name]\n  - distinct_id: b\n    name: Same\n');
      commitAll(dir, 'broken');
      await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: a\n    name: Fixed\n  - distinct_id: b\n    name: Same\n');
      await resetCounts(emu);
      const r = await cli(['plan', 'p.yaml', '--changed-since', 'HEAD', '--json'], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^Warning: the desired state at HEAD \([0-9a-f]{12}\) is invalid \(p\.yaml:4:\d+: .*planning every profile\.\n$/);
      const doc = JSON.parse(r.stdout) as { scope: { incremental: { skipped: number } }; summary: { create: number } };
      expect(doc.scope.incremental.skipped).toBe(0);
      expect(doc.summary.create).toBe(2);
      expect((await requestCounts(emu)).reads).toBe(2);
    } finally {
      await cleanup();
    }
  });
});

describe('apply --changed-since', () => {
  it('is refused with --plan; applies only the changed profile from PATHs', async () => {
    const refused = await cli(['apply', '--plan', 'plan.json', '--changed-since', 'main']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--changed-since applies to desired-state PATHs');
    const r = await cli(['apply', 'fyno', '--changed-since', 'main', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const after = await cli(['plan', 'fyno', '--changed-since', 'main', '--detailed-exitcode']);
    expect(after.code, after.stdout).toBe(0);
    // The other profiles were not touched: a full plan still has their changes.
    const full = await cli(['plan', 'fyno', '--json']);
    const ids = new Set((JSON.parse(full.stdout) as { operations: { distinct_id: string }[] }).operations.map((o) => o.distinct_id));
    expect(ids.has('cust-2002')).toBe(false);
    expect(ids.has('cust-1002')).toBe(true);
  });
});
