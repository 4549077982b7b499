/**
 * The GitOps example end to end (issues #7, #16): the composite action at the repository root
 * (action.yml) whose steps the three workflows of examples/gitops use — its fyno-sync step
 * (action/run.sh) run for real, as the runner runs it (bash, INPUT_* variables, GITHUB_OUTPUT),
 * with the built CLI on PATH, against the emulator over HTTP in a temp git repository with an
 * `origin`; and its comment step (action/plan-comment.cjs) against GitHub's API in memory. Not the
 * Actions runtime: the workflow files are checked to use the action with these inputs.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { HttpFynoClient } from '../../src/fyno/http-client.js';
import { commitAll, envFor, git, gitRepo, KEY, requestCounts, resetCounts, runCli, startSeeded, WSID } from './incremental-support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GITOPS = path.join(ROOT, 'examples/gitops');
const WORKFLOWS = path.join(GITOPS, '.github/workflows');
const ACTION = path.join(ROOT, 'action');

interface Step {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

let emu: RunningEmulator;
let repo: { dir: string; cleanup: () => Promise<void> };
let origin: { dir: string; cleanup: () => Promise<void> };
let bin: string;
const runs: Step[] = [];

/** action/run.sh COMMAND as the composite action's step runs it: inputs as INPUT_*, outputs to GITHUB_OUTPUT. */
async function step(command: 'plan' | 'apply' | 'drift', inputs: Record<string, string> = {}): Promise<Step> {
  const outFile = path.join(bin, `output-${runs.length}`);
  await writeFile(outFile, '');
  const env: NodeJS.ProcessEnv = { ...envFor(emu), PATH: `${bin}${path.delimiter}${process.env.PATH}`, HOME: process.env.HOME, GITHUB_OUTPUT: outFile };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase().replace(/-/g, '_')}`] = v;
  const r = await new Promise<Omit<Step, 'outputs'>>((resolve) =>
    execFile('bash', [path.join(ACTION, 'run.sh'), command], { cwd: repo.dir, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  const outputs = Object.fromEntries((await readFile(outFile, 'utf8')).split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
  const done = { ...r, outputs };
  runs.push(done);
  return done;
}

/** The workflows' inputs for the action. */
const PR_PLAN = { path: 'fyno/', 'base-ref': 'origin/main', 'plan-file': 'fyno-plan.json', 'markdown-file': 'plan.md' };
const MERGE_APPLY = { 'plan-file': 'fyno-plan.json' };
const DRIFT = { path: 'fyno/', 'markdown-file': 'drift.md', 'plan-file': 'drift-plan.json' };

const api = () => new HttpFynoClient({ target: { baseUrl: emu.baseUrl, workspace: WSID, env: 'live' }, apiKey: KEY });

async function editFile(file: string, from: string, to: string): Promise<void> {
  const p = path.join(repo.dir, file);
  const text = await readFile(p, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  await writeFile(p, text.replace(from, to));
}

/** What the PR job does: fetch, then the action's plan step (merge base with origin/main inside). */
async function prPlan(): Promise<Step> {
  git(repo.dir, 'fetch', '-q', 'origin');
  return step('plan', PR_PLAN);
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
  // The action's install step puts `fyno-sync` on PATH; here it is the built CLI of this checkout.
  bin = await mkdtemp(path.join(os.tmpdir(), 'fyno-action-bin-'));
  await writeFile(path.join(bin, 'fyno-sync'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'dist/cli/bin.js')}" "$@"\n`);
  await chmod(path.join(bin, 'fyno-sync'), 0o755);
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
  if (bin) await rm(bin, { recursive: true, force: true });
  for (const r of runs) expect(r.stdout + r.stderr).not.toContain(KEY);
});

type Workflow = { env?: Record<string, string>; jobs: Record<string, { steps: { uses?: string; id?: string; with?: Record<string, string>; run?: string }[] }> };
const workflow = async (name: string) => YAML.parse(await readFile(path.join(WORKFLOWS, name), 'utf8')) as Workflow;
const actionSteps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith('YOUR-ORG/fyno-sync@'));

describe('the workflows use the action', () => {
  it('fyno-plan.yml, fyno-apply.yml and fyno-drift.yml call it with these inputs; the key only from secrets', async () => {
    const [plan, apply, drift] = await Promise.all(['fyno-plan.yml', 'fyno-apply.yml', 'fyno-drift.yml'].map(workflow));
    expect(actionSteps(plan!).map((s) => s.with)).toEqual([{ command: 'plan', path: 'fyno/', 'base-ref': 'origin/${{ github.base_ref }}', 'plan-file': 'fyno-plan.json' }]);
    expect(actionSteps(apply!).map((s) => s.with)).toEqual([{ command: 'apply', 'plan-file': 'fyno-plan.json' }]);
    expect(actionSteps(drift!).map((s) => s.with)).toEqual([{ command: 'drift', path: 'fyno/', 'markdown-file': 'drift.md', 'plan-file': 'drift-plan.json' }]);
    // The drift issue carries each profile's JSON Patch (issue #19) from the saved drift plan.
    expect(JSON.stringify(drift)).toContain('node .github/scripts/drift-patch.cjs drift-plan.json');
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const w of [plan!, apply!, drift!]) {
      expect(w.env?.FYNO_API_KEY).toBe('${{ secrets.FYNO_API_KEY }}');
      // The ref is a release of this repository; nothing installs an unpublished npm version.
      expect(actionSteps(w).every((s) => s.uses === `YOUR-ORG/fyno-sync@v${version}`)).toBe(true);
      expect(JSON.stringify(w)).not.toMatch(/npm install/);
    }
    const text = await readFile(path.join(WORKFLOWS, 'fyno-drift.yml'), 'utf8');
    expect(text).toContain("if: steps.plan.outputs.drift == 'true'");
  });

  it('action.yml runs action/install.sh, action/run.sh with the command, and the comment script', async () => {
    const action = YAML.parse(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as { runs: { using: string; steps: { run?: string; uses?: string; with?: { script?: string } }[] } };
    expect(action.runs.using).toBe('composite');
    const runs = action.runs.steps.map((s) => s.run ?? s.with?.script ?? s.uses ?? '');
    expect(runs.some((r) => r.includes('action/install.sh'))).toBe(true);
    expect(runs).toContain('bash "$GITHUB_ACTION_PATH/action/run.sh" "${{ inputs.command }}"');
    expect(runs.some((r) => r.includes("'action/plan-comment.cjs'"))).toBe(true);
  });
});

describe('pull request → merge → drift check, through the action', () => {
  it('PR: the incremental plan of the change as Markdown, has-changes, saved; only the changed profiles read', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'rename-marcus');
    await editFile('fyno/customers-us.yaml', 'name: Marcus Lee', 'name: Marcus A. Lee');
    await editFile('fyno/customers-us.yaml', '  - distinct_id: am-jordan', '  - distinct_id: cust-2003\n    name: Dana Ruiz\n    channels:\n      email: dana.ruiz@example.com\n\n  - distinct_id: am-jordan');
    commitAll(repo.dir, 'Rename Marcus, add Dana');
    await resetCounts(emu);
    const r = await prPlan();
    expect(r.code, r.stderr).toBe(0);
    expect(r.outputs).toEqual({ exitcode: '2', 'has-changes': 'true' });
    const md = await readFile(path.join(repo.dir, 'plan.md'), 'utf8');
    expect(md).toMatch(/^#+ .*\n*.*Plan: 1 to create, 1 to update, 0 to merge, 0 to delete, 0 unchanged\./m);
    expect(md).toContain('changed since');
    expect(md).toContain('cust-2002');
    expect(md).toContain('cust-2003');
    expect(md).not.toContain('cust-1001');
    const c = await requestCounts(emu);
    expect(c.total).toBe(c.reads);
    expect(c.requests['GET /{WSID}/{version}/profiles/{distinct_id}']).toBe(2);
  });

  it('merge: apply of the saved plan writes it; the drift check then finds nothing', async () => {
    merge('rename-marcus');
    const a = await step('apply', MERGE_APPLY);
    expect(a.code, a.stdout).toBe(0);
    expect(JSON.parse(await readFile(path.join(repo.dir, 'apply.json'), 'utf8'))).toMatchObject({ status: 'ok' });
    expect((await api().getProfile('cust-2002'))?.name).toBe('Marcus A. Lee');
    expect((await api().getProfile('cust-2003'))?.name).toBe('Dana Ruiz');
    const d = await step('drift', DRIFT);
    expect(d.code, d.stderr).toBe(0);
    expect(d.outputs).toEqual({ exitcode: '0', drift: 'false' });
  });

  it('drift: a change made outside git is found by the scheduled full plan', async () => {
    await api().updateProfile('cust-2001', { name: 'Emily (edited in the dashboard)' });
    const d = await step('drift', DRIFT);
    expect(d.code).toBe(0);
    expect(d.outputs.drift).toBe('true');
    const md = await readFile(path.join(repo.dir, 'drift.md'), 'utf8');
    expect(md).toContain('cust-2001');
    expect(md).toContain('Emily (edited in the dashboard)');
    // The issue's JSON Patch section (issue #19): the patch that puts back what git says.
    const { renderDriftPatch } = createRequire(import.meta.url)(path.join(GITOPS, '.github/scripts/drift-patch.cjs')) as { renderDriftPatch: (plan: string, max: number) => string };
    const planText = await readFile(path.join(repo.dir, 'drift-plan.json'), 'utf8');
    const section = renderDriftPatch(planText, 65_000);
    expect(section).toContain('Drift as JSON Patch (RFC 6902): 1 profile(s)');
    expect(section).toContain('{"distinct_id":"cust-2001","patch":[{"op":"replace","path":"/name","value":"Emily Carter"}]}');
    expect(renderDriftPatch(planText, 100)).toBe('');
    // The incremental plan of a PR that does not touch her does not see it: out of its scope.
    git(repo.dir, 'checkout', '-q', '-b', 'noop');
    commitAll(repo.dir, 'nothing');
    const pr = await prPlan();
    expect(pr.outputs).toEqual({ exitcode: '0', 'has-changes': 'false' });
    git(repo.dir, 'checkout', '-q', 'main');
  });

  it('merge of a plan that went stale: refused with plan.stale and a message to re-plan, nothing written', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'trial-off');
    await editFile('fyno/customers-us.yaml', 'trial: true', 'trial: false');
    commitAll(repo.dir, 'Marcus trial ends');
    expect((await prPlan()).outputs['has-changes']).toBe('true');
    await api().updateProfile('cust-2002', { name: 'Marcus (dashboard)' });
    merge('trial-off');
    await resetCounts(emu);
    const a = await step('apply', MERGE_APPLY);
    expect(a.code).toBe(1);
    expect(JSON.parse(await readFile(path.join(repo.dir, 'apply.json'), 'utf8'))).toMatchObject({ status: 'error', error: { code: 'plan.stale' } });
    expect(a.stdout).toContain('::error::Live Fyno changed since this plan was reviewed; NOTHING was written.');
    expect((await requestCounts(emu)).total).toBe((await requestCounts(emu)).reads);
  });

  it('a broken file fails the plan step before any request', async () => {
    git(repo.dir, 'checkout', '-q', '-b', 'broken');
    await editFile('fyno/customers-us.yaml', 'name: Marcus A. Lee', 'name: [unclosed');
    commitAll(repo.dir, 'oops');
    await resetCounts(emu);
    const r = await prPlan();
    expect(r.code).toBe(1);
    expect(r.outputs).toEqual({});
    expect((await requestCounts(emu)).total).toBe(0);
    git(repo.dir, 'checkout', '-q', 'main');
  });
});

describe('the PR comment step (action/plan-comment.cjs)', () => {
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
    const { upsertPlanComment, MARKER } = createRequire(import.meta.url)(path.join(ACTION, 'plan-comment.cjs')) as {
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


describe('the drift issue JSON Patch step (.github/scripts/drift-patch.cjs)', () => {
  const { renderDriftPatch } = createRequire(import.meta.url)(path.join(GITOPS, '.github/scripts/drift-patch.cjs')) as { renderDriftPatch: (plan: string, max: number) => string };
  const patch = (v: string) => ({ patch: [{ op: 'replace', path: '/name', value: v }] });
  const planText = JSON.stringify({ profiles: { a: patch('x'.repeat(200)), b: patch('```` tricky'), c: patch('z'.repeat(200)) } });

  it('stays within its budget and counts what it left out', () => {
    const full = renderDriftPatch(planText, 65_000);
    expect(full).toContain('3 profile(s)');
    expect(full).not.toContain('not shown');
    const cut = renderDriftPatch(planText, full.length - 10);
    expect(cut.length).toBeLessThanOrEqual(full.length - 10);
    expect(cut).toContain('… 1 more profile(s) not shown.');
  });

  it('fences the patches so that no value can close the code block', () => {
    const text = renderDriftPatch(planText, 65_000);
    expect(text).toContain('\n`````json\n');
    expect(text.trimEnd().endsWith('`````\n</details>'.trimEnd())).toBe(true);
    expect(renderDriftPatch(JSON.stringify({ profiles: {} }), 65_000)).toBe('');
  });
});
