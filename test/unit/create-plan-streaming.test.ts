/**
 * createPlan diffs each profile as soon as its reads (and its merge sources') complete and drops
 * snapshots it no longer needs. Whatever order reads complete in, the plan must be the one
 * buildPlan makes from all the snapshots at once.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { OperationSpool, writePlanFile } from '../../src/apply/kept-plan.js';
import { createPlan, readsFor } from '../../src/create-plan.js';
import { openDriftSpool } from '../../src/drift-spool.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { fetchActual } from '../../src/fyno/fetch-actual.js';
import type { FynoApi } from '../../src/fyno/types.js';
import { seededRandom } from '../../src/fyno/emulator/faults.js';
import { buildPlan } from '../../src/plan/build.js';
import { selectProfiles } from '../../src/plan/select.js';
import { serializePlan } from '../../src/plan/plan-file.js';
import type { Operation, PlanOptions, ProfileOperation } from '../../src/plan/types.js';
import { renderText, textRenderer } from '../../src/plan/render/text.js';
import { desired, profile } from './plan-builders.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');

/** Reads answered after a random few milliseconds, so they complete out of request order. */
function shuffledReads(api: MemoryFyno, seed: number): FynoApi {
  const random = seededRandom(seed);
  return new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'getProfile' || prop === 'getPreferences') && typeof v === 'function') {
        return async (...args: unknown[]) => {
          await sleep(Math.floor(random() * 4));
          return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function world(): Promise<{ api: MemoryFyno; state: ReturnType<typeof desired> }> {
  const api = new MemoryFyno();
  const profiles = [];
  for (let i = 0; i < 120; i += 1) {
    const id = `u-${i}`;
    const kind = i % 6;
    if (kind !== 0) await api.createProfile({ distinct_id: id, name: `Old ${i}` });
    if (kind === 2) await api.setProperties(id, { plan: 'free', seats: 1 });
    if (kind === 3) await api.setPreferences(id, { S000000003: { email: 'opted-out' } });
    if (kind === 4) {
      await api.createProfile({ distinct_id: `lead-${i}`, name: `Lead ${i}`, channels: { sms: '+14155550100' } });
      profiles.push(profile(id, { merge_from: [`lead-${i}`], name: `New ${i}` }));
    } else if (kind === 5) {
      profiles.push(profile(id, { state: 'absent' }));
    } else {
      profiles.push(
        profile(id, {
          name: `New ${i}`,
          properties: { plan: { op: 'set', value: 'pro' }, seats: { op: 'set', value: i } },
          ...(kind === 3 ? { preferences: { S000000003: { email: 'opted-in' as const } } } : {}),
        }),
      );
    }
  }
  // A merge source that is itself a desired profile: needed by two profiles' diffs.
  profiles.push(profile('u-shared', { name: 'Shared' }));
  profiles.push(profile('u-taker', { merge_from: ['u-shared'] }));
  await api.createProfile({ distinct_id: 'u-shared', name: 'S' });
  return { api, state: desired(...profiles) };
}

describe('createPlan diffs as live state arrives', () => {
  for (const [name, select] of [
    ['every profile', {}],
    ['a narrowed selection', { target: ['u-1*', 'u-taker'] }],
  ] as [string, PlanOptions][]) {
    it(`gives buildPlan's plan for ${name}, in any completion order, with or without snapshots kept`, async () => {
      const { api, state } = await world();
      const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
      const { snapshots } = await fetchActual(api, readsFor(selectProfiles(state.profiles, select).profiles));
      const expected = buildPlan(state, snapshots, { createdAt: NOW.toISOString(), target: destination, sources: state.files, select });
      expect(expected.operations.length).toBeGreaterThan(50);
      const types = new Set(expected.operations.map((op) => op.type));
      for (const t of ['profile.create', 'profile.merge', 'property.set', 'preference.set']) expect(types).toContain(t);

      for (const seed of [1, 2, 3]) {
        const lean = await createPlan({ api: shuffledReads(api, seed), now: () => NOW }, state, {
          destination,
          concurrency: 7,
          keepSnapshots: false,
          ...select,
        });
        expect(lean.plan.scope === undefined).toBe(Object.keys(select).length === 0);
        const { scope: _s, ...rest } = lean.plan;
        const { scope: _e, ...want } = expected;
        expect(rest).toEqual(want);
        expect(JSON.stringify(lean.plan.preconditions)).toBe(JSON.stringify(expected.preconditions));
        expect(JSON.stringify(lean.plan.operations)).toBe(JSON.stringify(expected.operations));
        expect(lean.actual.size).toBe(0);
      }
      // Letting go of each desired profile once diffed changes nothing in the plan.
      const given = { ...state, profiles: [...state.profiles] };
      const released = await createPlan({ api: shuffledReads(api, 4), now: () => NOW }, given, { destination, concurrency: 3, keepSnapshots: false, releaseDesired: true, ...select });
      expect(given.profiles).toEqual([]);
      expect(JSON.stringify({ ...released.plan, scope: undefined })).toBe(JSON.stringify({ ...expected, scope: undefined }));

      // The JSON Patch kept on disk until the plan is written out (the `plan` command) changes nothing either.
      const spool = openDriftSpool();
      try {
        const spooled = await createPlan({ api: shuffledReads(api, 5), now: () => NOW }, { ...state, profiles: [...state.profiles] }, { destination, concurrency: 4, keepSnapshots: false, releaseDesired: true, driftSpool: spool, ...select });
        expect(Object.keys(spooled.plan.profiles ?? {}).length).toBeGreaterThan(10);
        expect({ ...spooled.plan, scope: undefined }).toEqual({ ...expected, scope: undefined });
        expect(serializePlan({ ...spooled.plan, scope: undefined })).toBe(serializePlan({ ...expected, scope: undefined }));
      } finally {
        spool.close();
      }

      const kept = await createPlan({ api: shuffledReads(api, 9), now: () => NOW }, state, { destination, concurrency: 5, ...select });
      expect([...kept.actual.keys()]).toEqual([...snapshots.keys()]);
      expect(kept.actual).toEqual(snapshots);
      expect(kept.reads).toBe([...snapshots.values()].reduce((n, s) => n + (s.preferences ? 2 : 1), 0));
    });
  }

  // Issue #17: `plan --out` writes the operations while the reads go on.
  it('hands over the operations in plan order as profiles are planned, and the spooled plan file has serializePlan\'s bytes', async () => {
    const { api, state } = await world();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-spool-'));
    try {
      for (const seed of [5, 6]) {
        const handed: Operation[][] = [];
        const file = path.join(dir, `plan-${seed}.json`);
        const spool = new OperationSpool(file);
        const { plan } = await createPlan({ api: shuffledReads(api, seed), now: () => NOW }, state, {
          destination,
          concurrency: 7,
          keepSnapshots: false,
          onOperations: (ops) => {
            handed.push([...ops]);
            spool.add(ops);
          },
        });
        // Handed over during the reads, not all at the end: many separate calls.
        expect(handed.length).toBeGreaterThan(50);
        expect(JSON.stringify(handed.flat())).toBe(JSON.stringify(plan.operations));
        await writePlanFile(file, plan, spool);
        expect(await readFile(file, 'utf8')).toBe(serializePlan(plan));
        // The scratch file is gone.
        expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/\.tmp$/)]));
      }
      // A spool that does not hold the plan's operations is not used: the plan is written whole.
      const { plan } = await createPlan({ api, now: () => NOW }, state, { destination, keepSnapshots: false });
      const short = new OperationSpool(path.join(dir, 'short.json'));
      short.add(plan.operations.slice(1));
      await writePlanFile(path.join(dir, 'short.json'), plan, short);
      expect(await readFile(path.join(dir, 'short.json'), 'utf8')).toBe(serializePlan(plan));
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // A directory that does not exist is the same one-line error as without a spool.
      const missing = path.join(dir, 'no-such-dir', 'plan.json');
      await expect(writePlanFile(missing, plan, new OperationSpool(missing))).rejects.toThrow(/cannot write the plan to .*: no such directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Issue #17: `plan` writes the operations ahead (plan file, text) and keeps none of them.
  it('with keepOperations: false keeps none of the operations, and what was written ahead is the whole plan', async () => {
    const { api, state } = await world();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    const full = (await createPlan({ api, now: () => NOW }, state, { destination })).plan;
    expect(full.operations.length).toBeGreaterThan(100);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-dropped-'));
    try {
      for (const seed of [11, 12]) {
        const file = path.join(dir, `plan-${seed}.json`);
        const spool = new OperationSpool(file);
        const render = textRenderer();
        let body = '';
        const { plan } = await createPlan({ api: shuffledReads(api, seed), now: () => NOW }, state, {
          destination,
          concurrency: 7,
          keepOperations: false,
          onOperations: (ops) => {
            spool.add(ops);
            body += render.profile(ops as ProfileOperation[]);
          },
        });
        expect(plan.operations).toEqual([]);
        expect(plan.summary).toEqual(full.summary);
        expect({ ...plan, operations: full.operations }).toEqual(full);
        await writePlanFile(file, plan, spool, { dropped: true });
        expect(await readFile(file, 'utf8')).toBe(serializePlan(full));
        expect(render.head(plan) + body + render.tail(plan, [])).toBe(renderText(full));
      }
      // Written from nowhere else: a spool short of operations is an error, not a plan without them.
      const { plan } = await createPlan({ api, now: () => NOW }, state, { destination, keepOperations: false, onOperations: () => undefined });
      const short = new OperationSpool(path.join(dir, 'short.json'));
      short.add(full.operations.slice(1));
      await expect(writePlanFile(path.join(dir, 'short.json'), plan, short, { dropped: true })).rejects.toThrow(
        new RegExp(`cannot write the plan to .*short\\.json: the plan's operations were written ahead and lost: its scratch file holds ${full.operations.length - 1} of ${full.operations.length} operations$`),
      );
      await expect(readdir(dir)).resolves.not.toContain('short.json');
      await expect(createPlan({ api, now: () => NOW }, state, { destination, keepOperations: false })).rejects.toThrow(/needs onOperations/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds reads back while pace says the writer is behind', async () => {
    const { api, state } = await world();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    let started = 0;
    const counting = new Proxy(api, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'getProfile' && typeof v === 'function') return (...args: unknown[]) => ((started += 1), (v as (...a: unknown[]) => unknown).apply(target, args));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let behind: { promise: Promise<void>; resolve: () => void } | undefined;
    let handed = 0;
    const planned = createPlan({ api: counting, now: () => NOW }, state, {
      destination,
      concurrency: 4,
      keepOperations: false,
      onOperations: (ops) => void (handed += ops.length),
      pace: () => {
        if (started < 10) return undefined;
        if (!behind) {
          let resolve!: () => void;
          behind = { promise: new Promise<void>((r) => (resolve = r)), resolve };
        }
        return behind.promise;
      },
    });
    await sleep(50);
    // Ten reads, then every worker waits: nothing more is sent until the writer catches up.
    expect(started).toBe(10);
    behind!.resolve();
    const { plan } = await planned;
    expect(started).toBe(new Set(readsFor(state.profiles).map((r) => r.distinct_id)).size);
    expect(handed).toBe(plan.summary.operations);
  });

  it('fails as a whole when one read fails: no partial plan', async () => {
    const { api, state } = await world();
    const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
    api.failNext(1, { kind: 'error', status: 400 });
    await expect(createPlan({ api, now: () => NOW }, state, { destination, keepSnapshots: false })).rejects.toThrow(/no plan was made/);
  });
});
