/**
 * The outline of a saved plan (the profiles with merges, the deletes, the profile count) is
 * gathered as its file is scanned, and the applier then reads the plan only to run it instead of
 * once more before its first write (issue #17: a 300 MB plan). The run must be the same.
 */
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { OutlineBuilder } from '../../src/apply/outline.js';
import type { ApplyEvent, ApplyOptions, OperationSource } from '../../src/apply/types.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import type { Plan } from '../../src/plan/types.js';
import { planFor, replanFor } from '../integration/apply-support.js';
import { desired, profile, set } from './plan-builders.js';

const OPTS: ApplyOptions = { concurrency: 4, allowDelete: true, maxDeletes: 10 };

async function world(): Promise<{ api: MemoryFyno; plan: Plan; d: ReturnType<typeof desired> }> {
  const api = new MemoryFyno();
  api.engine.seed({
    profiles: [
      { distinct_id: 'lead-2', name: 'Lead' },
      { distinct_id: 'cust-2', name: 'Cust' },
      { distinct_id: 'gone-3', name: 'Gone' },
      { distinct_id: 'cust-4', name: 'Old' },
    ],
  });
  const d = desired(
    profile('new-1', { name: 'New', properties: { plan: set('gold') } }),
    profile('cust-2', { merge_from: ['lead-2'], properties: { plan: set('silver') } }),
    profile('gone-3', { state: 'absent' }),
    profile('cust-4', { name: 'Renamed', properties: { seats: set(3) } }),
  );
  return { api, plan: await planFor(api, d), d };
}

/** The plan's operations as a source read from "its file": each read counted. */
function counted(plan: Plan, outline: boolean): { source: OperationSource; reads: () => number } {
  let reads = 0;
  const b = new OutlineBuilder();
  plan.operations.forEach((op, i) => b.add({ key: `p:${i}`, op }));
  const source: OperationSource = {
    total: plan.operations.length,
    read: () => {
      reads += 1;
      return (async function* () {
        yield* plan.operations;
      })();
    },
    ...(outline ? { outline: b.done() } : {}),
  };
  return { source, reads: () => reads };
}

describe('the outline of a plan read from its file', () => {
  it('spares the read before the first write, and the run is the same', async () => {
    const runs = [];
    for (const outline of [false, true]) {
      const { api, plan, d } = await world();
      expect(new Set(plan.operations.map((op) => op.type))).toEqual(expect.objectContaining(new Set(['profile.create', 'profile.merge', 'profile.delete', 'profile.update'])));
      const { source, reads } = counted(plan, outline);
      const events: ApplyEvent[] = [];
      const summary = await applyPlan({ ...plan, operations: [] }, { api, operations: source, replan: replanFor(d), onEvent: (e) => void events.push(e) }, OPTS);
      runs.push({ summary, reads: reads(), started: events.find((e) => e.type === 'apply.started'), types: events.map((e) => e.type), profiles: (await Promise.all(['new-1', 'cust-2', 'lead-2', 'gone-3', 'cust-4'].map((id) => api.getProfile(id)))).map((p) => p && { ...p, server: undefined }) });
    }
    const [without, withOutline] = runs;
    expect(without!.reads).toBe(2);
    expect(withOutline!.reads).toBe(1);
    expect(withOutline!.started).toEqual(without!.started);
    expect(withOutline!.started).toMatchObject({ profiles: 4, operations: expect.any(Number), alreadyDone: 0 });
    expect(withOutline!.summary).toEqual(without!.summary);
    expect(withOutline!.summary.operations.replanned.succeeded).toBeGreaterThan(0);
    expect(withOutline!.types).toEqual(without!.types);
    expect(withOutline!.profiles).toEqual(without!.profiles);
    expect(withOutline!.profiles.map((p) => p?.distinct_id ?? null)).toEqual(['new-1', 'cust-2', null, null, 'cust-4']);
  });

  it('is not used when part of the plan is already applied: the run reads the plan for it', async () => {
    const { api, plan, d } = await world();
    const { source, reads } = counted(plan, true);
    await applyPlan({ ...plan, operations: [] }, { api, operations: source, replan: replanFor(d) }, { ...OPTS, alreadyApplied: new Set(['p:0']) });
    expect(reads()).toBe(2);
  });
});
