/**
 * apply holds a bounded number of profiles in flight (2 × concurrency + 2 × batch size), however
 * big the plan, and property batches still fill up.
 */
import { expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { forEachLimited } from '../../src/fyno/pool.js';
import { createPlan } from '../../src/create-plan.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { desired, profile } from './plan-builders.js';

it('a plan of 1,200 new profiles: bounded profiles in flight, full batches, everything applied', async () => {
  const api = new MemoryFyno();
  const profiles = Array.from({ length: 1200 }, (_, i) =>
    profile(`b-${i}`, { name: `P ${i}`, properties: { plan: { op: 'set', value: 'pro' }, n: { op: 'set', value: i } } }),
  );
  const state = desired(...profiles);
  const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
  const { plan } = await createPlan({ api, now: () => new Date(0) }, state, { destination, concurrency: 4 });
  api.resetCounts();
  let open = 0;
  let most = 0;
  const summary = await applyPlan(
    plan,
    {
      api,
      onEvent: (e) => {
        if (e.type === 'profile.started') most = Math.max(most, (open += 1));
        if (e.type === 'profile.done') open -= 1;
      },
    },
    { concurrency: 3, batchSize: 50, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 5000, intervalMs: 20 } },
  );
  expect({ failed: summary.operations.failed, notConverged: summary.not_converged, succeeded: summary.operations.succeeded }).toEqual({ failed: 0, notConverged: 0, succeeded: plan.operations.length });
  expect(most).toBeGreaterThan(50);
  expect(most).toBeLessThanOrEqual(2 * 3 + 2 * 50);
  expect(summary.requests['POST /{WSID}/{version}/profiles/properties/batch']).toBe(1200 / 50);
  const again = await createPlan({ api, now: () => new Date(0) }, state, { destination });
  expect(again.plan.operations).toEqual([]);
});

it('forEachLimited: in order, never more than the limit at once, stops taking items after a failure', async () => {
  let running = 0;
  let most = 0;
  const seen: number[] = [];
  await forEachLimited([...Array(40).keys()], 5, async (i) => {
    seen.push(i);
    most = Math.max(most, (running += 1));
    await new Promise((r) => setTimeout(r, (i * 7) % 3));
    running -= 1;
  });
  expect(seen).toEqual([...Array(40).keys()]);
  expect(most).toBe(5);
  const started: number[] = [];
  await expect(
    forEachLimited([...Array(40).keys()], 2, async (i) => {
      started.push(i);
      await new Promise((r) => setTimeout(r, 1));
      if (i === 3) throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  await new Promise((r) => setTimeout(r, 20));
  expect(started.length).toBeLessThan(8);
});

// --concurrency bounds the requests in flight, whatever they are (steps, property batches,
// preferences) — and only the requests: a profile waiting for its journal holds no slot.
it('never has more than `concurrency` requests in flight, batches and preferences included', async () => {
  const store = new MemoryFyno();
  const profiles = Array.from({ length: 300 }, (_, i) =>
    profile(`c-${i}`, {
      name: `P ${i}`,
      properties: { plan: { op: 'set', value: 'pro' } },
      ...(i % 2 === 0 ? { preferences: { all: { sms: 'opted-out' as const } } } : {}),
    }),
  );
  const state = desired(...profiles);
  const destination = { base_url: store.target.baseUrl, workspace: store.target.workspace, env: store.target.env };
  const { plan } = await createPlan({ api: store, now: () => new Date(0) }, state, { destination, concurrency: 4 });
  let open = 0;
  let most = 0;
  const api = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'target') return v;
      return async (...args: unknown[]) => {
        most = Math.max(most, (open += 1));
        try {
          await new Promise((r) => setTimeout(r, 1));
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          open -= 1;
        }
      };
    },
  });
  const summary = await applyPlan(plan, { api }, { concurrency: 3, batchSize: 20, allowDelete: false, maxDeletes: 0, verify: { timeoutMs: 5000, intervalMs: 20 } });
  expect(summary.operations.failed).toBe(0);
  expect(summary.requests['PUT /{WSID}/{version}/subscriptions/preference']).toBe(150);
  expect(most).toBe(3);
});
