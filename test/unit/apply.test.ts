/**
 * applyPlan against MemoryFyno (the emulator's engine in-process): order, request grouping with
 * exact request counts, refusals before any write, settling unknown outcomes by re-reading, the
 * re-plan after a merge, and convergence (a second plan is empty).
 */
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import type { ApplyEvent, ApplyOptions } from '../../src/apply/types.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { isFynoSyncError } from '../../src/errors.js';
import { OP_INFO, type Plan } from '../../src/plan/types.js';
import { desired, profile, set } from './plan-builders.js';
import { duplicates, lossyApi, planFor, replanFor } from '../integration/apply-support.js';

const OPTS: ApplyOptions = { concurrency: 4, allowDelete: false, maxDeletes: 0 };
const P = '/{WSID}/{version}/profiles';

function seed(api: MemoryFyno, profiles: unknown[], preferences?: Record<string, unknown>): void {
  api.engine.seed({ profiles, ...(preferences ? { preferences } : {}) });
}

function writes(api: MemoryFyno): Record<string, number> {
  return Object.fromEntries(Object.entries(api.requests).filter(([k]) => !k.startsWith('GET ')));
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isFynoSyncError(e)) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected a refusal');
}

const EXISTING = {
  distinct_id: 'cust-1',
  name: 'Old Name',
  channel: { email: 'old@example.com', sms: '+919812345678', push: [{ token: 'tok-old', integration_id: 'I1' }, { token: 'tok-keep', integration_id: 'I1' }] },
  properties: { plan: 'basic', tags: ['a', 'b'], old_flag: true, ltv: 10 },
};

const WANT_EXISTING = profile('cust-1', {
  name: 'New Name',
  channels: {
    email: 'new@example.com',
    sms: null,
    push: [
      { token: 'tok-keep', integration_id: 'I1' },
      { token: 'tok-new', integration_id: 'I1' },
    ],
  },
  properties: { plan: set('premium'), tags: set(['a', 'b', 'c']), old_flag: { op: 'unset' }, ltv: set(10) },
  preferences: { S000000003: { sms: 'opted-out', email: 'opted-out' }, all: { whatsapp: 'opted-out' } },
});

describe('applyPlan: grouping and order', () => {
  it('sends one request per group for an existing profile and converges', async () => {
    const api = new MemoryFyno();
    seed(api, [EXISTING]);
    const d = desired(WANT_EXISTING);
    const plan = await planFor(api, d);
    api.resetCounts();
    const events: ApplyEvent[] = [];
    const summary = await applyPlan(plan, { api, onEvent: (e) => events.push(e) }, OPTS);

    expect(summary.operations.failed).toBe(0);
    expect(summary.operations.succeeded).toBe(plan.operations.length);
    expect(writes(api)).toEqual({
      [`PUT ${P}/{distinct_id}`]: 1,
      [`POST ${P}/{distinct_id}/channel/delete`]: 2, // whole sms channel; push token by value
      [`PATCH ${P}/{distinct_id}/channel`]: 1, // email + inserted token together
      [`POST ${P}/properties/batch`]: 1, // $set + $append + $unset in one item
      'PUT /{WSID}/{version}/subscriptions/preference': 1, // two topics and `all` together
    });
    expect(summary.requests).toEqual(api.requests);

    const done = events.filter((e): e is Extract<ApplyEvent, { type: 'op.done' }> => e.type === 'op.done').map((e) => OP_INFO[e.op.type].order);
    expect(done).toEqual([...done].sort((a, b) => a - b));

    const again = await planFor(api, d);
    expect(again.operations).toEqual([]);
    expect(duplicates({ profile: await api.getProfile('cust-1') })).toEqual([]);
  });

  it('creates a profile with its channels in the create body, then properties and preferences', async () => {
    const api = new MemoryFyno();
    const d = desired(
      profile('new-1', {
        name: 'Asha',
        channels: { email: 'asha@example.com', push: [{ token: 'p1', integration_id: 'I1' }] },
        properties: { plan: set('gold'), first_seen: { op: 'once', value: '2024-01-01' } },
        preferences: { S000000003: { email: 'opted-out' } },
      }),
    );
    const plan = await planFor(api, d);
    api.resetCounts();
    const summary = await applyPlan(plan, { api }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect(writes(api)).toEqual({
      [`POST ${P}`]: 1,
      [`POST ${P}/properties/batch`]: 1,
      'PUT /{WSID}/{version}/subscriptions/preference': 1,
    });
    expect((await planFor(api, d)).operations).toEqual([]);
  });

  it('shares property batches across profiles', async () => {
    const api = new MemoryFyno();
    const ids = Array.from({ length: 30 }, (_, i) => `p-${i}`);
    seed(
      api,
      ids.map((distinct_id) => ({ distinct_id, properties: { score: 1 } })),
    );
    const d = desired(...ids.map((id, i) => profile(id, { properties: { score: set(i + 100), tier: set('x') } })));
    const plan = await planFor(api, d);
    api.resetCounts();
    const summary = await applyPlan(plan, { api }, { ...OPTS, concurrency: 8, batchSize: 10 });
    expect(summary.operations.succeeded).toBe(60);
    expect(writes(api)).toEqual({ [`POST ${P}/properties/batch`]: 3 });
    expect((await planFor(api, d)).operations).toEqual([]);
  });

  it('deletes in bulk chunks when allowed', async () => {
    const api = new MemoryFyno();
    seed(api, ['d1', 'd2', 'd3'].map((distinct_id) => ({ distinct_id })));
    const d = desired(...['d1', 'd2', 'd3'].map((id) => profile(id, { state: 'absent' })));
    const plan = await planFor(api, d);
    api.resetCounts();
    const summary = await applyPlan(plan, { api }, { ...OPTS, allowDelete: true, maxDeletes: 3, batchSize: 2 });
    expect(summary.operations.succeeded).toBe(3);
    expect(writes(api)).toEqual({ [`POST ${P}/delete`]: 2 });
    expect(await api.getProfile('d2')).toBeNull();
  });
});

describe('applyPlan: refusals before any write', () => {
  async function deletePlan(api: MemoryFyno): Promise<Plan> {
    seed(api, [{ distinct_id: 'gone-1' }, { distinct_id: 'gone-2' }]);
    const plan = await planFor(api, desired(profile('gone-1', { state: 'absent' }), profile('gone-2', { state: 'absent' })));
    api.resetCounts();
    return plan;
  }

  it('refuses deletes without allowDelete', async () => {
    const api = new MemoryFyno();
    const plan = await deletePlan(api);
    const r = await refusal(applyPlan(plan, { api }, { ...OPTS, maxDeletes: 10 }));
    expect(r.code).toBe('apply.delete_refused');
    expect(r.message).toContain('--allow-delete');
    expect(api.requestCount).toBe(0);
  });

  it('refuses more deletes than maxDeletes', async () => {
    const api = new MemoryFyno();
    const plan = await deletePlan(api);
    const r = await refusal(applyPlan(plan, { api }, { ...OPTS, allowDelete: true, maxDeletes: 1 }));
    expect(r.code).toBe('apply.delete_refused');
    expect(r.message).toContain('more than --max-deletes 1');
    expect(api.requestCount).toBe(0);
  });

  it('refuses to delete or merge away a protected profile', async () => {
    const api = new MemoryFyno();
    const plan = await deletePlan(api);
    const r = await refusal(applyPlan(plan, { api }, { ...OPTS, allowDelete: true, maxDeletes: 5, protectedIds: ['gone-2'] }));
    expect(r.code).toBe('apply.delete_refused');
    expect(r.message).toContain('gone-2 is protected');
    expect(api.requestCount).toBe(0);
  });

  it('refuses a plan with issues and a plan for another target', async () => {
    const api = new MemoryFyno();
    const plan = await planFor(api, desired(profile('x', { name: 'X' })));
    const withIssue: Plan = { ...plan, issues: [{ distinct_id: 'x', at: { file: 'f', line: 1, column: 1 }, field: 'preferences', message: 'required' }] };
    expect((await refusal(applyPlan(withIssue, { api }, OPTS))).code).toBe('plan.conflict');
    const elsewhere: Plan = { ...plan, target: { ...plan.target, workspace: 'OTHER' } };
    expect((await refusal(applyPlan(elsewhere, { api }, OPTS))).code).toBe('plan.target_mismatch');
    expect(writes(api)).toEqual({});
  });

  it('refuses a stale saved plan, naming the drifted profiles, and writes nothing', async () => {
    const api = new MemoryFyno();
    seed(api, [
      { distinct_id: 'a', name: 'A' },
      { distinct_id: 'b', name: 'B' },
    ]);
    const d = desired(profile('a', { name: 'A2' }), profile('b', { name: 'B2', preferences: { S000000003: { sms: 'opted-out' } } }));
    const plan = JSON.parse(JSON.stringify(await planFor(api, d))) as Plan;
    // Someone changes b's preferences after the plan was made.
    await api.setPreferences('b', { S000000003: { email: 'opted-out' } });
    api.resetCounts();
    const r = await refusal(applyPlan(plan, { api }, { ...OPTS, checkPreconditions: true }));
    expect(r.code).toBe('plan.stale');
    expect(r.details.drifted).toEqual(['b']);
    expect(writes(api)).toEqual({});
    // Unchanged live state passes the check (fingerprints with and without preferences).
    const fresh = await planFor(api, d);
    const ok = await applyPlan(fresh, { api }, { ...OPTS, checkPreconditions: true });
    expect(ok.operations.failed).toBe(0);
    expect(ok.operations.succeeded).toBe(fresh.operations.length);
  });
});

describe('applyPlan: unknown outcomes are settled by re-reading', () => {
  it('does not repeat a create whose answer was lost', async () => {
    const base = new MemoryFyno();
    const api = lossyApi(base, 'createProfile', [1], 'lost');
    const d = desired(profile('c1', { name: 'C', channels: { push: [{ token: 't1' }] } }));
    const plan = await planFor(base, d);
    base.resetCounts();
    const events: ApplyEvent[] = [];
    const summary = await applyPlan(plan, { api, onEvent: (e) => events.push(e) }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect(base.requests[`POST ${P}`]).toBe(1);
    expect(events.some((e) => e.type === 'op.done' && e.op.type === 'profile.create' && e.settled)).toBe(true);
    expect(events.some((e) => e.type === 'settle')).toBe(true);
  });

  it('re-sends a token insert only after a re-read shows it missing, and never duplicates a token', async () => {
    const base = new MemoryFyno();
    seed(base, [{ distinct_id: 'u1', channel: { push: [{ token: 'a' }] } }]);
    const d = desired(profile('u1', { channels: { push: [{ token: 'a' }, { token: 'b' }, { token: 'c' }] } }));
    const plan = await planFor(base, d);
    base.resetCounts();
    // First PATCH refused (not applied); the re-send after the re-read is applied but its answer lost.
    const api = lossyApi(lossyApi(base, 'upsertChannels', [1], 'lost'), 'upsertChannels', [1], 'refused');
    const summary = await applyPlan(plan, { api }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect(base.requests[`PATCH ${P}/{distinct_id}/channel`]).toBe(1);
    expect(duplicates({ profile: await base.getProfile('u1') })).toEqual([]);
    expect((await planFor(base, d)).operations).toEqual([]);
  });

  it('re-sends only unapplied list appends of a lost property batch', async () => {
    const base = new MemoryFyno();
    seed(base, [{ distinct_id: 'l1', properties: { tags: ['a'] } }]);
    const d = desired(profile('l1', { properties: { tags: set(['a', 'b']) } }));
    const plan = await planFor(base, d);
    expect(plan.operations.map((o) => o.type)).toEqual(['property.append']);
    base.resetCounts();
    const api = lossyApi(base, 'batchProperties', [1], 'lost');
    const summary = await applyPlan(plan, { api }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect(base.requests[`POST ${P}/properties/batch`]).toBe(1);
    expect((await base.getProfile('l1'))?.properties.tags).toEqual(['a', 'b']);
  });
});

describe('applyPlan: merges', () => {
  it('re-reads the target after a merge and applies the re-planned operations', async () => {
    const api = new MemoryFyno();
    seed(api, [
      { distinct_id: 'cust-9', name: 'Target', properties: { plan: 'basic' } },
      { distinct_id: 'lead-9', name: 'Lead', channel: { email: 'lead@example.com' }, properties: { source: 'ads', plan: 'trial' } },
    ]);
    const d = desired(profile('cust-9', { merge_from: ['lead-9'], channels: { email: 'cust@example.com' }, properties: { plan: set('premium'), source: { op: 'unset' } } }));
    const plan = await planFor(api, d);
    expect(plan.operations[0]?.type).toBe('profile.merge');
    const events: ApplyEvent[] = [];
    const summary = await applyPlan(plan, { api, replan: replanFor(d), onEvent: (e) => events.push(e) }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect(events.some((e) => e.type === 'replanned' && e.distinct_id === 'cust-9')).toBe(true);
    expect(await api.getProfile('lead-9')).toBeNull();
    expect((await planFor(api, d)).operations).toEqual([]);
  });

  it('renames when the target does not exist', async () => {
    const api = new MemoryFyno();
    seed(api, [{ distinct_id: 'old-id', name: 'Old', properties: { k: 1 } }]);
    const d = desired(profile('new-id', { merge_from: ['old-id'], name: 'New' }));
    const plan = await planFor(api, d);
    const summary = await applyPlan(plan, { api, replan: replanFor(d) }, OPTS);
    expect(summary.operations.failed).toBe(0);
    expect((await api.getProfile('new-id'))?.properties.k).toBe(1);
    expect((await planFor(api, d)).operations).toEqual([]);
  });
});

describe('applyPlan: verification', () => {
  it('reports a value Fyno ignored for its type as not converged, with the reason', async () => {
    const api = new MemoryFyno();
    seed(api, [{ distinct_id: 'v1', properties: { ltv: 5 } }]);
    // Hand-made: the planner reports this as an issue instead (a value Fyno would ignore).
    const base = await planFor(api, desired(profile('v1', { name: 'V' })));
    const plan: Plan = {
      ...base,
      issues: [],
      operations: [{ distinct_id: 'v1', at: { file: 'f', line: 1, column: 1 }, type: 'property.set', key: 'ltv', value: 'lots', idempotent: true }],
    };
    const summary = await applyPlan(plan, { api }, { ...OPTS, verify: { timeoutMs: 100, intervalMs: 20 } });
    expect(summary.operations.succeeded).toBe(1);
    expect(summary.not_converged).toBe(1);
    expect(summary.divergences[0]).toMatchObject({ distinct_id: 'v1', field: 'properties.ltv' });
    expect(summary.divergences[0]?.reason).toContain('type mismatch');
  });

  it('waits for asynchronously applied properties', async () => {
    const api = new MemoryFyno({ propertyDelayMs: 60 });
    try {
      const d = desired(profile('v2', { name: 'V', properties: { plan: set('gold') } }));
      const plan = await planFor(api, d);
      const summary = await applyPlan(plan, { api }, { ...OPTS, verify: { timeoutMs: 2000, intervalMs: 25 } });
      expect(summary.not_converged).toBe(0);
      expect((await api.getProfile('v2'))?.properties.plan).toBe('gold');
    } finally {
      api.close();
    }
  });
});
