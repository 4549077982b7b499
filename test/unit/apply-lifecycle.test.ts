/**
 * The apply lifecycle's bookkeeping of what authorised a run (issue #13 part 4, issue #16: "the
 * shard and its share of the rate must come back with the journal"): a resumed run and a saved
 * sharded plan get their share of the workspace's `--rps` with no flag repeated.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectJournal, JOURNAL_FILE } from '../../src/apply/journal.js';
import { runApplyLifecycle, type ApplyRequest } from '../../src/apply-lifecycle.js';
import { writePlanFile } from '../../src/apply/kept-plan.js';
import { createPlan } from '../../src/create-plan.js';
import { loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { useTempTree } from '../support/temp-tree.js';

const tree = useTempTree('fyno-lifecycle-');

async function setUp(): Promise<{ root: string; file: string; store: MemoryFyno }> {
  const root = tree.dir;
  const lines = ['version: 1', 'profiles:'];
  for (let i = 0; i < 40; i++) lines.push(`  - distinct_id: u-${i}`, `    name: User ${i}`, '    properties: { plan: gold }');
  const file = path.join(root, 'p.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return { root, file, store: new MemoryFyno() };
}

const base = (root: string, source: ApplyRequest['source']): ApplyRequest => ({ source, stateDir: path.join(root, 'st'), cwd: root, env: {}, yes: true, concurrency: 2 });

describe('the rate a run was authorised with', () => {
  it('a resumed shard runs at its share of the recorded --rps, with no flag repeated', async () => {
    const { root, file, store } = await setUp();
    const rates: (number | undefined)[] = [];
    const ac = new AbortController();
    let writes = 0;
    const first = await runApplyLifecycle(
      { ...base(root, { kind: 'paths', paths: [file], shard: { index: 1, count: 4 } }), rps: 80, signal: ac.signal },
      {
        connect: ({ rps }) => (rates.push(rps), store),
        onEvent: (e) => void (e.type === 'op.done' && ++writes === 2 && ac.abort()),
      },
    );
    expect(first).toMatchObject({ kind: 'applied', summary: { interrupted: true } });
    const resumed = await runApplyLifecycle(base(root, { kind: 'resume' }), { connect: ({ rps }) => (rates.push(rps), store) });
    expect(resumed).toMatchObject({ kind: 'applied', summary: { interrupted: false, failures: [] } });
    expect(rates).toEqual([20, 20]);
    // A rate given to the resume is again the whole workspace's budget.
    const again = await runApplyLifecycle({ ...base(root, { kind: 'resume' }), rps: 40 }, { connect: ({ rps }) => (rates.push(rps), store) });
    expect(again.kind).toBe('applied');
    expect(rates.at(-1)).toBe(10);
  });

  it('a saved sharded plan applied with --plan takes its share of --rps', async () => {
    const { root, file, store } = await setUp();
    const { state } = await loadDesired([file], { env: {}, cwd: root });
    const t = store.target;
    const { plan } = await createPlan({ api: store, now: () => new Date() }, state, {
      destination: { base_url: t.baseUrl, workspace: t.workspace, env: t.env },
      shard: { index: 2, count: 8 },
    });
    await writePlanFile(path.join(root, 'plan.json'), plan);
    const rates: (number | undefined)[] = [];
    const r = await runApplyLifecycle({ ...base(root, { kind: 'plan', file: 'plan.json' }), rps: 80 }, { connect: ({ rps }) => (rates.push(rps), store) });
    expect(r.kind).toBe('applied');
    expect(rates).toEqual([10]);
  });
});

describe('interruptions around the writes (review of issue #13)', () => {
  it('Ctrl-C after every check but before the first write leaves no journal: the next apply runs', async () => {
    const { root, file, store } = await setUp();
    const ac = new AbortController();
    const r = runApplyLifecycle({ ...base(root, { kind: 'paths', paths: [file] }), signal: ac.signal }, { connect: () => store, showPlan: async () => ac.abort() });
    await expect(r).rejects.toMatchObject({ code: 'apply.interrupted', message: expect.stringMatching(/before the first write; nothing was written/) });
    expect(existsSync(path.join(root, 'st', 'last-apply', JOURNAL_FILE))).toBe(false);
    expect(store.writeCount).toBe(0);
    await expect(runApplyLifecycle(base(root, { kind: 'paths', paths: [file] }), { connect: () => store })).resolves.toMatchObject({ kind: 'applied' });
  });

  it('Ctrl-C while verifying: interrupted, and what was not seen yet is not reported as diverged', async () => {
    const { root, file } = await setUp();
    const store = new MemoryFyno({ propertyDelayMs: 60_000 });
    const ac = new AbortController();
    try {
      const r = await runApplyLifecycle(
        { ...base(root, { kind: 'paths', paths: [file] }), signal: ac.signal, verify: { timeoutMs: 30_000, intervalMs: 20 } },
        { connect: () => store, onEvent: (e) => void (e.type === 'verify.started' && setTimeout(() => ac.abort(), 50)) },
      );
      expect(r).toMatchObject({ kind: 'applied', summary: { interrupted: true, not_converged: 0, divergences: [] } });
    } finally {
      store.close();
    }
  });

  it('a resume after a torn last journal line appends cleanly: the journal stays readable', async () => {
    const { root, file, store } = await setUp();
    const ac = new AbortController();
    let done = 0;
    await runApplyLifecycle({ ...base(root, { kind: 'paths', paths: [file] }), signal: ac.signal }, { connect: () => store, onEvent: (e) => void (e.type === 'op.done' && ++done === 3 && ac.abort()) });
    const dir = path.join(root, 'st', 'last-apply');
    appendFileSync(path.join(dir, JOURNAL_FILE), '{"t":"done","keys":["torn-key"'); // killed mid-write
    const resumed = await runApplyLifecycle(base(root, { kind: 'resume' }), { connect: () => store });
    expect(resumed).toMatchObject({ kind: 'applied', summary: { interrupted: false, failures: [] } });
    expect(() => inspectJournal(dir)).not.toThrow();
    expect(readFileSync(path.join(dir, JOURNAL_FILE), 'utf8')).not.toContain('torn-key');
  });
});

describe('a resume and the ${VAR}s of operations already done', () => {
  async function interruptedAfterFirstProfile(): Promise<{ root: string; file: string; store: MemoryFyno }> {
    const root = tree.dir;
    const lines = ['version: 1', 'profiles:', '  - distinct_id: u-0', '    name: First', '    channels: { push: [{ token: "${PUSH_TOKEN}" }] }'];
    for (let i = 1; i < 30; i++) lines.push(`  - distinct_id: u-${i}`, `    name: User ${i}`);
    const file = path.join(root, 'p.yaml');
    await writeFile(file, `${lines.join('\n')}\n`);
    const store = new MemoryFyno();
    const ac = new AbortController();
    const first = await runApplyLifecycle(
      { ...base(root, { kind: 'paths', paths: [file] }), env: { PUSH_TOKEN: 'ExponentPushToken[envtok]' }, concurrency: 1, signal: ac.signal },
      { connect: () => store, onEvent: (e) => void (e.type === 'profile.done' && e.distinct_id === 'u-0' && ac.abort()) },
    );
    expect(first).toMatchObject({ kind: 'applied', summary: { interrupted: true } });
    return { root, file, store };
  }

  it('resumes without the variable once every operation that used it is done', async () => {
    const { root, store } = await interruptedAfterFirstProfile();
    const resumed = await runApplyLifecycle(base(root, { kind: 'resume' }), { connect: () => store });
    expect(resumed).toMatchObject({ kind: 'applied', summary: { interrupted: false, failures: [] } });
    expect((await store.getProfile('u-29'))?.name).toBe('User 29');
    expect((await store.getProfile('u-0'))?.channels.push).toEqual([expect.objectContaining({ token: 'ExponentPushToken[envtok]' })]);
  });

  it('still refuses when a remaining operation needs it, naming the variable', async () => {
    const { root, store } = await interruptedAfterFirstProfile();
    // Put u-0's operations back to "not done": a resume would need the token again.
    const j = path.join(root, 'st', 'last-apply', JOURNAL_FILE);
    const kept = readFileSync(j, 'utf8').split('\n').filter((l) => !l.startsWith('{"t":"done"'));
    await writeFile(j, `${kept.join('\n')}\n`);
    await expect(runApplyLifecycle(base(root, { kind: 'resume' }), { connect: () => store })).rejects.toMatchObject({
      code: 'desired.invalid',
      details: { issues: [expect.objectContaining({ distinct_id: 'u-0', message: 'environment variable PUSH_TOKEN is not set' })] },
    });
  });
});
