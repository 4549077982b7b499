/**
 * `--changed-since` on generated repositories with random edits (issue #8): the incremental plan
 * equals the full plan restricted to the changed profiles, and "changed" is exactly what the edits
 * changed in content — moves, splits and reorders change nothing; removed profiles are counted.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { changedSince, createPlan, readsFor } from '../../src/create-plan.js';
import { loadDesired } from '../../src/desired/load.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { dedupeReads } from '../../src/fyno/fetch-actual.js';
import { profileIdOf } from '../../src/plan/types.js';
import { commitAll, git, gitRepo } from './incremental-support.js';
import { seededRandom as prng } from '../../src/fyno/emulator/faults.js';


interface Model {
  distinct_id: string;
  name: string;
  email?: string;
  plan?: string;
  merge_from?: string[];
  state?: 'absent';
}

/** file name → profiles in file order. */
type Repo = Map<string, Model[]>;

const content = (m: Model) => JSON.stringify({ ...m, distinct_id: undefined });

function entry(m: Model): Record<string, unknown> {
  if (m.state === 'absent') return { distinct_id: m.distinct_id, state: 'absent' };
  return {
    distinct_id: m.distinct_id,
    name: m.name,
    ...(m.merge_from ? { merge_from: m.merge_from } : {}),
    ...(m.email ? { channels: { email: m.email } } : {}),
    ...(m.plan ? { properties: { plan: m.plan } } : {}),
  };
}

async function writeRepo(dir: string, repo: Repo): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [file, profiles] of repo) {
    if (profiles.length === 0) continue;
    await writeFile(path.join(dir, file), stringify({ version: 1, profiles: profiles.map(entry) }));
  }
}

function profilesOf(repo: Repo): Map<string, Model> {
  const out = new Map<string, Model>();
  for (const list of repo.values()) for (const m of list) out.set(m.distinct_id, m);
  return out;
}

function cloneRepo(repo: Repo): Repo {
  return new Map([...repo].map(([f, l]) => [f, l.map((m) => structuredClone(m))]));
}

/** Random edits; returns the edited copy. Ids and names are fresh, so every edit is a real change. */
function edit(base: Repo, rnd: () => number, fresh: () => number): Repo {
  const repo = cloneRepo(base);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const files = () => [...repo.keys()].filter((f) => repo.get(f)!.length > 0);
  const all = () => [...repo.values()].flat();
  const present = () => all().filter((m) => m.state !== 'absent');
  const sources = () => new Set(all().flatMap((m) => m.merge_from ?? []));
  const edits = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < edits; i++) {
    const kind = pick(['name', 'plan', 'add', 'delete', 'move', 'split', 'deleteFile', 'rename', 'merge', 'reorder', 'absent']);
    const list = files();
    if (list.length === 0) break;
    switch (kind) {
      case 'name': {
        const m = pick(present());
        if (m) m.name = `Name ${fresh()}`;
        break;
      }
      case 'plan': {
        const m = pick(present());
        if (m) m.plan = m.plan === undefined ? 'gold' : undefined;
        break;
      }
      case 'add':
        repo.get(pick(list))!.push({ distinct_id: `new-${fresh()}`, name: `Name ${fresh()}`, email: `n${fresh()}@example.com` });
        break;
      case 'delete': {
        const f = pick(list);
        const l = repo.get(f)!;
        if (all().length > 1) l.splice(Math.floor(rnd() * l.length), 1);
        break;
      }
      case 'move': {
        const from = repo.get(pick(list))!;
        const [m] = from.splice(Math.floor(rnd() * from.length), 1);
        const to = rnd() < 0.3 ? `moved-${fresh()}.yaml` : pick(list);
        if (!repo.has(to)) repo.set(to, []);
        repo.get(to)!.push(m!);
        break;
      }
      case 'split': {
        const f = pick(list);
        const l = repo.get(f)!;
        if (l.length < 2) break;
        repo.set(`split-${fresh()}.yaml`, l.splice(Math.floor(l.length / 2)));
        break;
      }
      case 'deleteFile':
        if (list.length > 1) repo.delete(pick(list));
        break;
      case 'rename': {
        const m = pick(present());
        if (!m || m.merge_from || sources().has(m.distinct_id)) break;
        const old = m.distinct_id;
        m.distinct_id = `renamed-${fresh()}`;
        m.merge_from = [old];
        break;
      }
      case 'merge': {
        const m = pick(present().filter((x) => !x.merge_from));
        if (m) m.merge_from = [`lead-${fresh()}`];
        break;
      }
      case 'reorder': {
        const l = repo.get(pick(list))!;
        l.reverse();
        break;
      }
      case 'absent': {
        const m = pick(present().filter((x) => !x.merge_from && !sources().has(x.distinct_id)));
        if (m) {
          m.state = 'absent';
          delete m.email;
          delete m.plan;
        }
        break;
      }
    }
  }
  // A profile and a merge source may not share an id: drop any profile that became a source.
  const srcs = sources();
  for (const l of repo.values()) for (let i = l.length - 1; i >= 0; i--) if (srcs.has(l[i]!.distinct_id) && !l[i]!.merge_from) l.splice(i, 1);
  if (files().length === 0) repo.set('last.yaml', [{ distinct_id: `new-${fresh()}`, name: 'Last' }]);
  return repo;
}

const CASES = 30;

describe('incremental plan = full plan restricted to the changed profiles', () => {
  it(`holds on ${CASES} generated repositories with random edits`, { timeout: 120_000 }, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const rnd = prng(seed * 7919);
      let counter = 0;
      const fresh = () => ++counter;
      const { dir, cleanup } = await gitRepo();
      try {
        // Desired state in a subdirectory half of the time, planned from there (path mapping).
        const sub = seed % 2 === 0 ? 'desired' : 'profiles';
        const cwd = seed % 4 === 0 ? path.join(dir, sub) : dir;
        const paths = seed % 4 === 0 ? ['.'] : seed % 3 === 0 ? [`${sub}/*.yaml`] : [sub];
        const base: Repo = new Map();
        for (let f = 0; f < 3; f++) {
          const l: Model[] = [];
          for (let k = 0; k < 2 + Math.floor(rnd() * 4); k++) {
            const n = fresh();
            l.push({ distinct_id: `cust-${n}`, name: `Name ${n}`, ...(rnd() < 0.7 ? { email: `c${n}@example.com` } : {}), ...(rnd() < 0.5 ? { plan: 'basic' } : {}) });
          }
          base.set(`file-${f}.yaml`, l);
        }
        await writeRepo(path.join(dir, sub), base);
        await writeFile(path.join(dir, 'README.md'), 'not desired state\n');
        commitAll(dir, 'base');
        const head = edit(base, rnd, fresh);
        await writeRepo(path.join(dir, sub), head);
        // Half of the cases commit the edit and compare with HEAD~1, the others the working tree with HEAD.
        const ref = seed % 2 === 0 ? (commitAll(dir, 'edit'), 'HEAD~1') : 'main';

        // What the edits changed, from the model alone.
        const before = profilesOf(base);
        const after = profilesOf(head);
        const expected = [...after.values()].filter((m) => before.get(m.distinct_id) === undefined || content(before.get(m.distinct_id)!) !== content(m)).map((m) => m.distinct_id);
        const removed = [...before.keys()].filter((id) => !after.has(id)).length;

        const loaded = await loadDesired(paths, { env: {}, cwd });
        expect(loaded.issues, `seed ${seed}`).toEqual([]);
        const desired = loaded.state;

        // The same live state for both plans: some profiles exist, some equal to the files.
        const api = new MemoryFyno();
        const ids = new Set([...before.keys(), ...after.keys(), ...[...after.values()].flatMap((m) => m.merge_from ?? [])]);
        for (const id of ids) {
          if (rnd() < 0.4) continue;
          const m = after.get(id) ?? before.get(id);
          const same = m && rnd() < 0.5;
          await api.createProfile({ distinct_id: id, name: same ? m.name : `Live ${id}`, ...(same && m.email ? { channels: { email: m.email } } : {}) });
        }

        const destination = { base_url: api.target.baseUrl, workspace: api.target.workspace, env: api.target.env };
        const now = () => new Date('2026-01-01T00:00:00Z');
        const full = await createPlan({ api, now }, desired, { destination });
        const narrowing = await changedSince(desired, paths, ref, { env: {}, cwd });
        expect([...narrowing.only].sort(), `seed ${seed}`).toEqual([...expected].sort());
        const inc = await createPlan({ api, now }, desired, { destination, ...narrowing });

        const changed = new Set(expected);
        expect(inc.plan.operations, `seed ${seed}`).toEqual(full.plan.operations.filter((op) => changed.has(profileIdOf(op)!)));
        expect(inc.plan.issues, `seed ${seed}`).toEqual(full.plan.issues.filter((i) => changed.has(i.distinct_id)));
        const wanted = desired.profiles.filter((p) => changed.has(p.distinct_id));
        const readIds = new Set(wanted.flatMap((p) => [p.distinct_id, ...(p.state === 'present' ? p.merge_from : [])]));
        expect(inc.plan.preconditions, `seed ${seed}`).toEqual(Object.fromEntries(Object.entries(full.plan.preconditions).filter(([id]) => readIds.has(id))));
        expect(inc.reads, `seed ${seed}`).toBe(dedupeReads(readsFor(wanted)).reduce((n, r) => n + (r.preferences ? 2 : 1), 0));
        expect(inc.plan.scope, `seed ${seed}`).toEqual({
          incremental: { since: ref, revision: git(dir, 'rev-parse', ref), skipped: desired.profiles.length - changed.size, removed },
          skipped: desired.profiles.length - changed.size,
        });
        expect(inc.plan.summary.unchanged + inc.plan.summary.create + inc.plan.summary.update + inc.plan.summary.merge + inc.plan.summary.delete).toBe(changed.size);
      } finally {
        await cleanup();
      }
    }
  });
});
