/**
 * Applying the suppression list's operations (issue #18) through the real applier on MemoryFyno:
 * after the profiles, one request each; a write whose answer was lost is settled by re-reading
 * the list (never sent twice); one refused before it was applied is sent again.
 */
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import type { ApplyOptions } from '../../src/apply/types.js';
import type { DesiredState } from '../../src/desired/types.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { buildPlan } from '../../src/plan/build.js';
import { lossyApi, type LossMode } from '../integration/apply-support.js';

const at = { file: 'l.yaml', line: 1, column: 1 };
const DESIRED: DesiredState = {
  profiles: [],
  files: ['l.yaml'],
  suppressions: {
    manage: 'merge',
    at,
    entries: [
      { channel: 'sms', key: 'destination', value: '+919812345678', description: 'DND', state: 'present', at },
      { channel: 'email', key: 'distinct_id', value: 'cust-1', state: 'present', at },
      { channel: 'email', key: 'destination', value: 'old@example.com', state: 'absent', at },
    ],
  },
};
const OPTS: ApplyOptions = { concurrency: 2, allowDelete: true, maxDeletes: 10, retryBaseMs: 1 };

async function setup() {
  const mem = new MemoryFyno();
  await mem.addSuppression({ channel: 'email', destination: 'old@example.com' });
  const plan = buildPlan(DESIRED, new Map(), {
    createdAt: '2026-01-01T00:00:00.000Z',
    target: { base_url: mem.target.baseUrl, workspace: mem.target.workspace, env: mem.target.env },
    sources: ['l.yaml'],
    suppressions: await mem.listSuppressions(),
  });
  return { mem, plan };
}

describe('applying suppression operations', () => {
  it('converges, and the list re-planned gives no operation', async () => {
    const { mem, plan } = await setup();
    expect(plan.operations.map((o) => o.type)).toEqual(['suppression.add', 'suppression.add', 'suppression.remove']);
    const s = await applyPlan(plan, { api: mem }, OPTS);
    expect(s.operations).toMatchObject({ total: 3, succeeded: 3, failed: 0, skipped: 0 });
    expect(s.profiles).toEqual({ created: 0, updated: 0, merged: 0, deleted: 0 });
    const again = buildPlan(DESIRED, new Map(), { createdAt: plan.created_at, target: plan.target, sources: [], suppressions: await mem.listSuppressions() });
    expect(again.operations).toEqual([]);
    expect(again.summary.suppressions).toEqual({ add: 0, remove: 0 });
  });

  it.each<[LossMode, number]>([
    ['lost', 2],
    ['refused', 3],
  ])('settles an add whose outcome is unknown (%s) by re-reading the list: %i adds sent', async (mode, sent) => {
    const { mem, plan } = await setup();
    const api = lossyApi(mem, 'addSuppression', [1], mode);
    const s = await applyPlan(plan, { api }, OPTS);
    expect(s.operations).toMatchObject({ succeeded: 3, failed: 0 });
    expect(api.seen).toBe(sent);
    const list = await mem.listSuppressions();
    expect(list.map((r) => r.distinct_id ?? r.destination).sort()).toEqual(['+919812345678', 'cust-1']);
  });
});
