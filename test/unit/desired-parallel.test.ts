/**
 * Loading files on worker threads (src/desired/load-parallel.ts) gives exactly what loading them
 * in this thread gives — profiles, positions, masking, every issue, the cross-file checks — and a
 * worker that dies loses nothing: its files are read again in this thread.
 *
 * The worker runs the compiled script (dist/desired/load-worker.js): `npm test` builds first.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesired, type LoadOptions } from '../../src/desired/load.js';
import { PREFILTERS } from '../../src/desired/prefilter.js';
import { fileYaml, writeProfiles } from '../fixtures/desired/generate.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WORKER = pathToFileURL(path.join(ROOT, 'dist/desired/load-worker.js'));
const DIES = pathToFileURL(path.join(ROOT, 'test/fixtures/workers/dies.mjs'));

let dir: string;
beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error('dist/desired/load-worker.js is missing: run `npm run build` first (npm test does)');
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-parallel-'));
  writeProfiles(path.join(dir, 'ok'), 3_000, 3);
  // An error in one profile, a duplicate of an id from ok/, and a value from the environment.
  const bad = fileYaml(3_000, 3_020)
    .replace('user3007@example.com', 'user3007.example.com')
    .replace('distinct_id: cust-3019', 'distinct_id: cust-5')
    .replace('name: Customer 3001\n', 'name: ${CRM_NAME}\n');
  await writeFile(path.join(dir, 'bad.yaml'), bad);
  // An error late in a long file: its first chunks were handed over before it was found.
  await writeFile(path.join(dir, 'late.yaml'), fileYaml(4_000, 4_200).replace('user4180@example.com', 'user4180@'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opts = (o: Partial<LoadOptions>): LoadOptions => ({ env: { CRM_NAME: 'Secret Name' }, cwd: dir, ...o });

describe('loadDesired on worker threads', () => {
  it('gives the same state and issues as loading in this thread', { timeout: 120_000 }, async () => {
    const inputs = ['ok', 'bad.yaml', 'late.yaml', 'missing.yaml'];
    const here = await loadDesired(inputs, opts({ workers: 0 }));
    const there = await loadDesired(inputs, opts({ workers: 2, workerScript: WORKER }));
    expect(here.state.profiles.length).toBe(3_000 + 20 - 1 + 200 - 1);
    expect(here.issues).toHaveLength(4);
    const messages = here.issues.map((i) => i.message).sort();
    expect(messages[0]).toBe('"user3007.example.com" is not a valid email address');
    expect(messages[1]).toBe('"user4180@" is not a valid email address');
    expect(messages[2]).toMatch(/^distinct_id "cust-5" is declared twice/);
    expect(messages[3]).toBe('no such file or directory');
    expect(here.state.profiles.some((p) => p.sensitive.includes('name'))).toBe(true);
    expect(here.filesOnWorkers).toBe(0);
    expect(there.filesOnWorkers).toBe(5);
    expect(there).toEqual({ ...here, filesOnWorkers: 5 });
  });

  it('with `keep`, returns only the kept profiles and still reports every issue (apply of a saved plan, issue #17)', { timeout: 120_000 }, async () => {
    const inputs = ['ok', 'bad.yaml', 'late.yaml', 'missing.yaml'];
    const all = await loadDesired(inputs, opts({ workers: 0 }));
    const keep = (p: { distinct_id: string }) => p.distinct_id.endsWith('7');
    for (const o of [{ workers: 0 }, { workers: 2, workerScript: WORKER }]) {
      const some = await loadDesired(inputs, opts({ ...o, keep }));
      expect(some.issues).toEqual(all.issues);
      expect(some.state.profiles).toEqual(all.state.profiles.filter(keep));
      expect(some.state.profiles.length).toBeGreaterThan(300);
      expect(some.state.files).toEqual(all.state.files);
    }
  });

  it('with `prefilter`, lets go where they are built of the profiles it drops, and names them (apply of a saved plan, issue #17)', { timeout: 120_000 }, async () => {
    // Profiles without tokens, merges or values from the environment: nothing a saved plan needs.
    const plain = ['version: 1', 'profiles:'];
    for (let i = 0; i < 1500; i++) plain.push(`  - distinct_id: plain-${i}`, `    name: Plain ${i}`, '    properties: { plan: gold }');
    await writeFile(path.join(dir, 'plain.yaml'), `${plain.join('\n')}\n`);
    const inputs = ['ok', 'plain.yaml', 'bad.yaml', 'late.yaml'];
    const all = await loadDesired(inputs, opts({ workers: 0 }));
    const may = PREFILTERS['saved-plan'];
    const want = all.state.profiles.filter(may);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all.state.profiles.length);
    for (const o of [{ workers: 0 }, { workers: 2, workerScript: WORKER }]) {
      const some = await loadDesired(inputs, opts({ ...o, prefilter: 'saved-plan' }));
      expect(some.issues).toEqual(all.issues);
      expect(some.state.profiles).toEqual(want);
      expect([...some.letGo!].sort()).toEqual(all.state.profiles.filter((p) => !may(p)).map((p) => p.distinct_id).sort());
    }
  });

  it('stops at `signal`: no file is read after it (apply of a plan refused while its files load, issue #17)', { timeout: 120_000 }, async () => {
    const stopped = new AbortController();
    stopped.abort();
    for (const o of [{ workers: 0 }, { workers: 2, workerScript: WORKER }]) {
      const r = await loadDesired(['ok', 'bad.yaml', 'late.yaml'], opts({ ...o, signal: stopped.signal }));
      expect(r.state.profiles).toEqual([]);
      expect(r.filesOnWorkers).toBe(0);
    }
    // Stopped after the first file a worker finished: the others are not all read.
    const midway = new AbortController();
    const seen: string[] = [];
    const r = await loadDesired(['ok', 'bad.yaml', 'late.yaml'], opts({ workers: 2, workerScript: WORKER, signal: midway.signal, keep: (p) => (seen.push(p.distinct_id), midway.abort(), true) }));
    expect(seen.length).toBeGreaterThan(0);
    expect(r.filesOnWorkers).toBeLessThan(5);
  });

  it('reads the files of a worker that died in this thread', { timeout: 120_000 }, async () => {
    const here = await loadDesired(['ok', 'bad.yaml'], opts({ workers: 0 }));
    const there = await loadDesired(['ok', 'bad.yaml'], opts({ workers: 2, workerScript: DIES }));
    expect(there.filesOnWorkers).toBe(0);
    expect(there).toEqual(here);
  });
});
