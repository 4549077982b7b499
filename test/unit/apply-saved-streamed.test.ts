/**
 * `apply --plan` reads the saved plan from its file as it runs (issue #17, "Memory"): what it
 * keeps for `--resume` is the file as it was checked, a plan in another layout applies the same,
 * and a file changed between the checks and the first write is refused with nothing written.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runApplyLifecycle, type ApplyRequest, type LifecycleEvent } from '../../src/apply-lifecycle.js';
import { writePlanFile } from '../../src/apply/kept-plan.js';
import { createPlan } from '../../src/create-plan.js';
import { loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { useTempTree } from '../support/temp-tree.js';

const tree = useTempTree('fyno-saved-streamed-');

async function savedPlan(): Promise<{ root: string; store: MemoryFyno; planFile: string }> {
  const root = tree.dir;
  const lines = ['version: 1', 'profiles:'];
  for (let i = 0; i < 30; i++) lines.push(`  - distinct_id: u-${i}`, `    name: User ${i}`, '    properties: { plan: gold, seats: 3 }');
  const file = path.join(root, 'p.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  const store = new MemoryFyno();
  const { state } = await loadDesired([file], { env: {}, cwd: root });
  const t = store.target;
  const { plan } = await createPlan({ api: store, now: () => new Date() }, state, { destination: { base_url: t.baseUrl, workspace: t.workspace, env: t.env } });
  const planFile = path.join(root, 'plan.json');
  await writePlanFile(planFile, plan);
  return { root, store, planFile };
}

const request = (root: string): ApplyRequest => ({ source: { kind: 'plan', file: 'plan.json' }, stateDir: path.join(root, 'st'), cwd: root, env: {}, concurrency: 3 });

describe('a saved plan applied from its file', () => {
  it('applies every operation in plan order, and keeps the file as it was read for --resume', async () => {
    const { root, store, planFile } = await savedPlan();
    const started: string[] = [];
    const events: LifecycleEvent[] = [];
    const r = await runApplyLifecycle(request(root), {
      connect: () => store,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'profile.started') started.push(e.distinct_id);
      },
    });
    expect(r).toMatchObject({ kind: 'applied', summary: { operations: { total: 90, succeeded: 90, failed: 0 }, profiles: { created: 30 } } });
    expect(started).toEqual(Array.from({ length: 30 }, (_, i) => `u-${i}`));
    expect(events.find((e) => e.type === 'apply.started')).toMatchObject({ profiles: 30, operations: 90, alreadyDone: 0 });
    expect(readFileSync(path.join(root, 'st', 'last-apply', 'plan.json'), 'utf8')).toBe(await readFile(planFile, 'utf8'));
    expect((await store.getProfile('u-7'))?.properties).toMatchObject({ plan: 'gold', seats: 3 });
  });

  it('applies a plan in another layout (reformatted by hand) the same way', async () => {
    const { root, store, planFile } = await savedPlan();
    const text = JSON.stringify(JSON.parse(await readFile(planFile, 'utf8')), null, 4);
    await writeFile(planFile, text);
    const r = await runApplyLifecycle(request(root), { connect: () => store });
    expect(r).toMatchObject({ kind: 'applied', summary: { operations: { total: 90, succeeded: 90 } } });
    expect(readFileSync(path.join(root, 'st', 'last-apply', 'plan.json'), 'utf8')).toBe(text);
  });

  it('refuses a plan file changed after it was checked, before anything is written', async () => {
    const { root, store, planFile } = await savedPlan();
    const r = runApplyLifecycle(request(root), {
      connect: () => store,
      // Right after every check: the file is edited before the run keeps it.
      onEvent: (e) => void (e.type === 'plan.ready' && editPlanFile(planFile)),
    });
    await expect(r).rejects.toThrow('plan plan.json changed while it was being checked; nothing was written: apply it again');
    expect(await store.getProfile('u-0')).toBeNull();
    // Nothing is left of the copy made while the plan was read.
    expect(readdirSync(path.join(root, 'st')).filter((f) => f.includes('plan'))).toEqual([]);
    const again = await runApplyLifecycle(request(root), { connect: () => store });
    expect(again.kind).toBe('applied');
  });
});

/** Same plan, another byte: a run must not apply what it did not check. */
function editPlanFile(file: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace('"format_version": 1', '"format_version":  1'));
}

describe('a saved plan for another target', () => {
  // Issue #17: a 100,000-profile plan for the wrong workspace was refused only after its 305 MB
  // had been read (15.6 s). The head says where the plan goes: the refusal needs nothing more.
  it('is refused from its head, before its operations are read', async () => {
    const { root, planFile } = await savedPlan();
    const elsewhere = new MemoryFyno({ workspace: 'FYOTHER01' });
    // What follows the head cannot be read at all: only the head can have decided.
    const text = await readFile(planFile, 'utf8');
    const opsAt = text.indexOf('  "operations": [\n') + '  "operations": [\n'.length;
    await writeFile(planFile, `${text.slice(0, opsAt)}    {"type": "profile.create", "distinct_id": "u-0", "at": 12, !!!\n`);
    const r = runApplyLifecycle(request(root), { connect: () => elsewhere, target: () => elsewhere.target });
    await expect(r).rejects.toMatchObject({ code: 'plan.target_mismatch' });
    await expect(r).rejects.toThrow(/workspace FYEMULATOR \(live\), not .* workspace FYOTHER01 \(live\); nothing was written/);
    expect(elsewhere.requestCount).toBe(0);
  });

  it('with the right target and a broken tail is still refused as an invalid plan', async () => {
    const { root, store, planFile } = await savedPlan();
    const text = await readFile(planFile, 'utf8');
    await writeFile(planFile, text.slice(0, Math.floor(text.length * 0.6)));
    await expect(runApplyLifecycle(request(root), { connect: () => store })).rejects.toMatchObject({ code: 'plan.invalid' });
    expect(await store.getProfile('u-0')).toBeNull();
  });
});

/**
 * The desired files of a saved plan are loaded while the plan is still being read (issue #17),
 * keeping only the profiles a plan may need; which it does need is known at its end.
 */
describe('the desired files of a saved plan, loaded while the plan is read', () => {
  async function planWithMerge(): Promise<{ root: string; store: MemoryFyno; planFile: string; file: string }> {
    const root = tree.dir;
    const file = path.join(root, 'p.yaml');
    await writeFile(file, ['version: 1', 'profiles:', '  - distinct_id: u-1', '    merge_from: [lead-1]', '    properties: { plan: gold }', '  - distinct_id: u-2', '    properties: { plan: free }', ''].join('\n'));
    const store = new MemoryFyno();
    await store.createProfile({ distinct_id: 'u-1', name: 'U' });
    await store.createProfile({ distinct_id: 'lead-1', name: 'Lead' });
    const { state } = await loadDesired([file], { env: {}, cwd: root });
    const t = store.target;
    const { plan } = await createPlan({ api: store, now: () => new Date() }, state, { destination: { base_url: t.baseUrl, workspace: t.workspace, env: t.env } });
    expect(plan.operations.map((op) => op.type)).toContain('profile.merge');
    const planFile = path.join(root, 'plan.json');
    await writePlanFile(planFile, plan);
    return { root, store, planFile, file };
  }

  it('still has every profile the plan needs when the files no longer say why (a merge target without merge_from)', async () => {
    const { root, store, file } = await planWithMerge();
    // The plan (made without source hashes) merges into u-1; the file now names no merge for it.
    await writeFile(file, (await readFile(file, 'utf8')).replace('    merge_from: [lead-1]\n', ''));
    const events: LifecycleEvent[] = [];
    const r = await runApplyLifecycle(request(root), { connect: () => store, onEvent: (e) => void events.push(e) });
    expect(r).toMatchObject({ kind: 'applied', summary: { operations: { failed: 0 } } });
    // Re-planned after its merge from the desired profile: which must have been kept.
    expect(events.filter((e) => e.type === 'replanned')).toMatchObject([{ distinct_id: 'u-1', operations: 1 }]);
    expect((await store.getProfile('u-1'))?.properties).toMatchObject({ plan: 'gold' });
  });

  it('refuses a broken plan as such even when the desired files are invalid too, with nothing sent', async () => {
    const { root, store, planFile, file } = await planWithMerge();
    await writeFile(file, (await readFile(file, 'utf8')).replace('plan: free', 'plan: [free'));
    const text = await readFile(planFile, 'utf8');
    await writeFile(planFile, text.slice(0, Math.floor(text.length * 0.8)));
    const before = store.requestCount;
    await expect(runApplyLifecycle(request(root), { connect: () => store })).rejects.toMatchObject({ code: 'plan.invalid' });
    await writeFile(planFile, text);
    await expect(runApplyLifecycle(request(root), { connect: () => store })).rejects.toMatchObject({ code: 'desired.invalid' });
    expect(store.requestCount).toBe(before);
  });
});
