/**
 * The GitOps example end to end (issue #7, examples/gitops): the fyno-sync commands its three
 * workflows run, in the same order, against the emulator over HTTP in a temp git repository with
 * an `origin` — not the Actions runtime. The workflow files are checked to run these very commands.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import { commitAll, envFor, git, gitRepo, KEY, requestCounts, resetCounts, runCli, startSeeded, WSID, type CliRun } from './incremental-support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GITOPS = path.join(ROOT, 'examples/gitops');
const WORKFLOWS = path.join(GITOPS, '.github/workflows');

/** The commands as the workflows spell them (`$BASE` is the merge base the PR job computes). */
const PR_VALIDATE = 'fyno-sync validate fyno/';
const PR_PLAN = 'fyno-sync plan fyno/ --changed-since "$BASE" --markdown --out fyno-plan.json --detailed-exitcode > plan.md';
const MERGE_APPLY = 'fyno-sync apply --plan fyno-plan.json --json > apply.json';
const DRIFT_PLAN = 'fyno-sync plan fyno/ --detailed-exitcode --markdown > drift.md';

/** `fyno-sync a b "$BASE" > file` → argv with $BASE substituted; the redirection is the caller's. */
function argv(command: string, vars: Record<string, string> = {}): string[] {
  const words = command.replace(/\s*>\s*\S+$/, '').split(/\s+/).slice(1);
  return words.map((w) => w.replace(/^"\$(\w+)"$/, (_, v: string) => vars[v] ?? ''));
}

let emu: RunningEmulator;
let repo: { dir: string; cleanup: () => Promise<void> };
let origin: { dir: string; cleanup: () => Promise<void> };
const runs: CliRun[] = [];
async function cli(command: string, vars: Record<string, string> = {}): Promise<CliRun> {
  const r = await runCli(argv(command, vars), envFor(emu), repo.dir);
  runs.push(r);
  return r;
}
const api = () => new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: WSID, env: 'live' }, apiKey: KEY });

async function editFile(file: string, from: string, to: string): Promise<void> {
  const p = path.join(repo.dir, file);
  const text = await readFile(p, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  await writeFile(p, text.replace(from, to));
}

/** What the PR job does: merge base with origin/main, then the incremental plan. */
async function prPlan(): Promise<CliRun> {
  git(repo.dir, 'fetch', '-q', 'origin');
  const BASE = git(repo.dir, 'merge-base', 'origin/main', 'HEAD');
  expect((await cli(PR_VALIDATE)).code).toBe(0);
  return cli(PR_PLAN, { BASE });
}

/** Merge the branch into main and push, as the merge button does. */
function merge(branch: string): void {
  git(repo.dir, 'checkout', '-q', 'main');
  git(repo.dir, 'merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch);
  git(repo.dir, 'push', '-q', 'origin', 'main');
}

beforeAll(async () => {
  emu = await startSeeded(JSON.parse(await readFile(path.join(ROOT, 'examples/basic/emulator-seed.json'), 'utf8')));
  origin = await gitRepo('fyno-origin-');
  repo = await gitRepo('fyno-gitops-');
  await cp(path.join(GITOPS, 'fyno'), path.join(repo.dir, 'fyno'), { recursive: true });
  await cp(path.join(GITOPS, '.github'), path.join(repo.dir, '.github'), { recursive: true });
  await cp(path.join(GITOPS, '.gitignore'), path.join(repo.dir, '.gitignore'));
  commitAll(repo.dir, 'desired state');
  git(origin.dir, 'config', 'receive.denyCurrentBranch', 'ignore');
  git(repo.dir, 'remote', 'add', 'origin', origin.dir);
  git(repo.dir, 'push', '-q', 'origin', 'main');
  // Bootstrap: live Fyno made to match main once, by hand (the README's first step).
  const boot = await runCli(['apply', 'fyno/', '--yes'], envFor(emu), repo.dir);
  expect(boot.code, boot.stderr).toBe(0);
});
afterAll(async () => {
  await emu?.close();
  await repo?.cleanup();
  await origin?.cleanup();
  for (const r of runs) expect(r.stdout + r.stderr).not.toContain(KEY);
});

describe('the workflows run these commands', () => {
  it('fyno-plan.yml, fyno-apply.yml and fyno-drift.yml contain them; the key only from secrets', async () => {
    const plan = await readFile(path.join(WORKFLOWS, 'fyno-plan.yml'), 'utf8');
    const apply = await readFile(path.join(WORKFLOWS, 'fyno-apply.yml'), 'utf8');
    const drift = await readFile(path.join(WORKFLOWS, 'fyno-drift.yml'), 'utf8');
    expect(plan).toContain(PR_VALIDATE);
    expect(plan).toContain('BASE="$(git merge-base "origin/${{ github.base_ref }}" HEAD)"');
    expect(plan).toContain(PR_PLAN);
    expect(apply).toContain(MERGE_APPLY);
    expect(drift).toContain(DRIFT_PLAN);
    expect(drift).not.toContain('--changed-since');
    // fyno-sync is not published: each installs the tarball `npm pack` makes of this version (issue #16).
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const text of [plan, apply, drift]) {
      expect(text).toContain(`  FYNO_SYNC_PACKAGE: ./vendor/fyno-sync-${version}.tgz\n`);
      expect(text).toContain('- run: npm install --global "$FYNO_SYNC_PACKAGE"');
      expect(text).toMatch(/- uses: actions\/checkout@v4[^\n]*\n(?:.*\n)*?\s+- run: npm install --global "\$FYNO_SYNC_PACKAGE"/);
      expect(text).not.toMatch(/fyno-sync@\$|fyno-sync@1/);
      const keys = text.split('\n').filter((l) => l.includes('FYNO_API_KEY'));
      expect(keys).toEqual(['  FYNO_API_KEY: ${{ secrets.FYNO_API_KEY }}' + (text === plan ? ' # the key comes from repository secrets, nowhere else' : '')]);
    }
  });
});

describe('pull request → merge → drift check', () => {
  it('PR: the incremental plan of the change as Markdown, exit 2, saved; only the changed profiles read', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'rename-marcus');
    await editFile('fyno/customers-us.yaml', 'name: Marcus Lee', 'name: Marcus A. Lee');
    await editFile('fyno/customers-us.yaml', '  - distinct_id: am-jordan', '  - distinct_id: cust-2003\n    name: Dana Ruiz\n    channels:\n      email: dana.ruiz@example.com\n\n  - distinct_id: am-jordan');
    commitAll(repo.dir, 'Rename Marcus, add Dana');
    await resetCounts(emu);
    const r = await prPlan();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^#+ .*\n*.*Plan: 1 to create, 1 to update, 0 to merge, 0 to delete, 0 unchanged\./m);
    expect(r.stdout).toContain('changed since');
    expect(r.stdout).toContain('cust-2002');
    expect(r.stdout).toContain('cust-2003');
    expect(r.stdout).not.toContain('cust-1001');
    const c = await requestCounts(emu);
    expect(c.total).toBe(c.reads);
    expect(c.requests['GET /{WSID}/{version}/profiles/{distinct_id}']).toBe(2);
  });

  it('merge: apply of the saved plan writes it; the drift check then finds nothing (exit 0)', async () => {
    merge('rename-marcus');
    const a = await cli(MERGE_APPLY);
    expect(a.code, a.stdout).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ status: 'ok' });
    expect((await api().getProfile('cust-2002'))?.name).toBe('Marcus A. Lee');
    expect((await api().getProfile('cust-2003'))?.name).toBe('Dana Ruiz');
    const d = await cli(DRIFT_PLAN);
    expect(d.code, d.stdout).toBe(0);
  });

  it('drift: a change made outside git is found by the scheduled full plan (exit 2)', async () => {
    await api().updateProfile('cust-2001', { name: 'Emily (edited in the dashboard)' });
    const d = await cli(DRIFT_PLAN);
    expect(d.code).toBe(2);
    expect(d.stdout).toContain('cust-2001');
    expect(d.stdout).toContain('Emily (edited in the dashboard)');
    // The incremental plan of a PR that does not touch her does not see it: out of its scope.
    git(repo.dir, 'checkout', '-q', '-b', 'noop');
    commitAll(repo.dir, 'nothing');
    const pr = await prPlan();
    expect(pr.code).toBe(0);
    git(repo.dir, 'checkout', '-q', 'main');
  });

  it('merge of a plan that went stale: refused with plan.stale, nothing written', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'trial-off');
    await editFile('fyno/customers-us.yaml', 'trial: true', 'trial: false');
    commitAll(repo.dir, 'Marcus trial ends');
    expect((await prPlan()).code).toBe(2);
    await api().updateProfile('cust-2002', { name: 'Marcus (dashboard)' });
    merge('trial-off');
    await resetCounts(emu);
    const a = await cli(MERGE_APPLY);
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout)).toMatchObject({ status: 'error', error: { code: 'plan.stale' } });
    expect((await requestCounts(emu)).total).toBe((await requestCounts(emu)).reads);
  });
});

describe('the PR comment step (.github/scripts/plan-comment.cjs)', () => {
  /** GitHub's issue-comment API in memory: the Octokit methods the script calls, nothing else. */
  function fakeGitHub() {
    const comments: { id: number; body: string; user: { type: string } }[] = [{ id: 1, body: 'LGTM', user: { type: 'User' } }];
    const rest = {
      issues: {
        listComments: async (_: unknown) => ({ data: comments }),
        createComment: async (a: { body: string }) => {
          const c = { id: comments.length + 1, body: a.body, user: { type: 'Bot' } };
          comments.push(c);
          return { data: c };
        },
        updateComment: async (a: { comment_id: number; body: string }) => {
          comments.find((c) => c.id === a.comment_id)!.body = a.body;
          return { data: {} };
        },
      },
    };
    const paginate = async (fn: (a: unknown) => Promise<{ data: unknown[] }>, a: unknown) => (await fn(a)).data;
    return { comments, github: { rest, paginate } };
  }
  const context = (sha: string) => ({
    serverUrl: 'https://github.com',
    repo: { owner: 'acme', repo: 'crm' },
    runId: 42,
    issue: { number: 7 },
    payload: { pull_request: { head: { sha } } },
  });

  it('creates one comment, then updates it on every push instead of adding another', async () => {
    const { upsertPlanComment, MARKER } = createRequire(import.meta.url)(path.join(GITOPS, '.github/scripts/plan-comment.cjs')) as {
      upsertPlanComment: (a: unknown) => Promise<{ action: string; id: number }>;
      MARKER: string;
    };
    const { comments, github } = fakeGitHub();
    expect(await upsertPlanComment({ github, context: context('a'.repeat(40)), plan: 'Plan: 1 to create' })).toEqual({ action: 'created', id: 2 });
    expect(await upsertPlanComment({ github, context: context('b'.repeat(40)), plan: 'Plan: 2 to create' })).toEqual({ action: 'updated', id: 2 });
    expect(comments).toHaveLength(2);
    expect(comments[1]!.body.startsWith(MARKER)).toBe(true);
    expect(comments[1]!.body).toContain('Plan: 2 to create');
    expect(comments[1]!.body).toContain('for bbbbbbb');
    expect(comments[0]!.body).toBe('LGTM');
  });
});

