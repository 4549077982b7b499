/**
 * `--shard K/N` over real HTTP (CLI `plan --json` → HttpFynoClient → emulator): the N shard
 * plans of a generated desired state with merges, renames, creates, updates and deletes together
 * hold exactly the operations of one unsharded plan (issue #6, part 5). Operations are compared
 * as multisets of their stable JSON.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { shardRate } from '../../src/cli/commands/common.js';
import { runMain } from '../support/cli.js';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { stableStringify } from '../../src/plan/normalize.js';
import { shardOf } from '../../src/plan/shard.js';
import { seededRandom as rng } from '../../src/fyno/emulator/faults.js';

const KEY = 'shard-test-key';
let emu: RunningEmulator;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, propertyDelayMs: 0 });
  dir = mkdtempSync(join(tmpdir(), 'fyno-shard-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (argv: string[]) =>
  runMain(argv, { cwd: dir, env: { FYNO_API_KEY: KEY, FYNO_WSID: emu.workspace, FYNO_BASE_URL: emu.baseUrl, FYNO_ENV: 'live' } });


interface Generated {
  files: Record<string, string>;
  seed: { profiles: unknown[] };
  targets: string[];
}

/**
 * `count` profiles over three files. Each is, at random: absent live (create), live with other
 * values (update), live and equal (no-op), or `state: absent` of a live profile (delete); about a
 * third have one or two `merge_from` sources, which exist live (merge) or not (skipped), and
 * whose target may not exist (rename by merge).
 */
function generate(seed: number, count: number): Generated {
  const r = rng(seed);
  const files: Record<string, string[]> = { 'a.yaml': [], 'b.yaml': [], 'c.yaml': [] };
  const live: unknown[] = [];
  const targets: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `u-${seed}-${i}`;
    targets.push(id);
    const file = Object.keys(files)[i % 3]!;
    const kind = r();
    const lines: string[] = [];
    if (kind < 0.1) {
      live.push({ distinct_id: id, name: `Gone ${i}` });
      lines.push(`  - distinct_id: ${id}`, `    state: absent`);
      files[file]!.push(lines.join('\n'));
      continue;
    }
    const exists = kind < 0.7;
    const same = kind < 0.35;
    const name = `User ${i}`;
    const plan = i % 2 === 0 ? 'pro' : 'free';
    if (exists) {
      live.push({
        distinct_id: id,
        name: same ? name : `Old ${i}`,
        channel: { email: same ? `u${i}@example.com` : `old${i}@example.com` },
        properties: { plan: same ? plan : 'trial' },
      });
    }
    lines.push(`  - distinct_id: ${id}`, `    name: ${name}`, `    channels:`, `      email: u${i}@example.com`, `    properties:`, `      plan: ${plan}`);
    if (r() < 0.35) {
      const sources = r() < 0.5 ? [`lead-${seed}-${i}`] : [`lead-${seed}-${i}`, `anon-${seed}-${i}`];
      lines.push(`    merge_from: [${sources.join(', ')}]`);
      for (const s of sources) if (r() < 0.8) live.push({ distinct_id: s, name: `Lead ${s}`, properties: { source: 'ads' } });
    }
    files[file]!.push(lines.join('\n'));
  }
  const out: Record<string, string> = {};
  for (const [f, profiles] of Object.entries(files)) out[f] = `version: 1\nprofiles:\n${profiles.join('\n')}\n`;
  return { files: out, seed: { profiles: live }, targets };
}

async function seedEmulator(body: unknown): Promise<void> {
  const reset = await fetch(`${emu.adminUrl}/reset`, { method: 'POST' });
  expect(reset.status).toBe(200);
  const res = await fetch(`${emu.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

interface PlanDoc {
  operations: { distinct_id: string; type: string; from?: string }[];
  scope?: { shard?: { index: number; count: number }; skipped: number };
  summary: unknown;
}

async function planJson(extra: string[]): Promise<PlanDoc> {
  const r = await run(['plan', 'desired', '--json', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PlanDoc;
}

function multiset(ops: readonly unknown[]): string[] {
  return ops.map((op) => stableStringify(op)).sort();
}

describe('plan --shard K/N', () => {
  it.each([1, 3, 7])('the %i shard plans together hold exactly the operations of the unsharded plan', async (n) => {
    const g = generate(100 + n, 90);
    const sub = join(dir, 'desired');
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub, { recursive: true });
    for (const [f, text] of Object.entries(g.files)) writeFileSync(join(sub, f), text);
    await seedEmulator(g.seed);

    const whole = await planJson([]);
    const types = new Set(whole.operations.map((o) => o.type));
    // The generated state exercises every kind the split must keep together.
    for (const t of ['profile.create', 'profile.update', 'profile.merge', 'profile.delete', 'channel.set', 'property.set']) expect(types).toContain(t);

    const union: unknown[] = [];
    let skipped = 0;
    for (let k = 1; k <= n; k++) {
      const part = await planJson(['--shard', `${k}/${n}`]);
      expect(part.scope?.shard).toEqual({ index: k, count: n });
      skipped += part.scope?.skipped ?? 0;
      // Every operation of shard k, merges included, belongs to a target hashed to k.
      for (const op of part.operations) expect(shardOf(op.distinct_id, n)).toBe(k);
      union.push(...part.operations);
    }
    expect(multiset(union)).toEqual(multiset(whole.operations));
    // Each profile is planned by exactly one shard: N-1 shards skip it.
    expect(skipped).toBe(g.targets.length * (n - 1));
  });

  it('a merge source goes with its target, whatever its own hash', async () => {
    const g = generate(9, 60);
    const sub = join(dir, 'desired');
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub, { recursive: true });
    for (const [f, text] of Object.entries(g.files)) writeFileSync(join(sub, f), text);
    await seedEmulator(g.seed);
    const n = 5;
    let merges = 0;
    let sourcesElsewhere = 0;
    for (let k = 1; k <= n; k++) {
      const part = await planJson(['--shard', `${k}/${n}`]);
      for (const op of part.operations.filter((o) => o.type === 'profile.merge')) {
        merges += 1;
        expect(shardOf(op.distinct_id, n)).toBe(k);
        if (shardOf(op.from!, n) !== k) sourcesElsewhere += 1;
      }
    }
    expect(merges).toBeGreaterThan(0);
    // Without the rule these would have been planned in another shard (or twice).
    expect(sourcesElsewhere).toBeGreaterThan(0);
  });

  it('rejects a malformed --shard before any request', async () => {
    for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0']) {
      const r = await run(['plan', 'desired', '--shard', bad]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/8), got '${bad}'`);
    }
  });

  it('apply refuses --shard with a saved plan', async () => {
    const r = await run(['apply', '--plan', 'plan.json', '--shard', '1/2', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--shard applies to desired-state PATHs');
  });

  it('each shard takes 1/N of --rps, and no limit stays no limit', () => {
    expect(shardRate({ rps: 60, shard: { index: 2, count: 4 } }).rps).toBe(15);
    expect(shardRate({ rps: 60 }).rps).toBe(60);
    const noLimit: { rps?: number; shard: { index: number; count: number } } = { shard: { index: 1, count: 4 } };
    expect(shardRate(noLimit).rps).toBeUndefined();
  });
});

describe('examples/sharding/github-actions-matrix.yml', () => {
  const file = fileURLToPath(new URL('../../examples/sharding/github-actions-matrix.yml', import.meta.url));
  const wf = parse(readFileSync(file, 'utf8')) as {
    jobs: { apply: { strategy: { matrix: { shard: number[] } }; env: Record<string, string | number>; steps: { run?: string }[] } };
  };
  const job = wf.jobs.apply;

  it('runs one job per shard, 1..N, each with its own state dir and the key from secrets', () => {
    const n = Number(job.env.SHARDS);
    expect(job.strategy.matrix.shard).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(job.env.FYNO_API_KEY).toBe('${{ secrets.FYNO_API_KEY }}');
    expect(String(job.env.STATE_DIR)).toContain('${{ matrix.shard }}');
  });

  it("its apply command line, with the matrix values filled in, applies that shard's profiles", async () => {
    const script = job.steps.map((st) => st.run ?? '').find((r) => r.includes('--shard'))!;
    const line = script
      .split('\n')
      .map((l) => l.trim())
      .join(' ')
      .replace(/\\ /g, '')
      .match(/npx fyno-sync (apply profiles\/ .*?--state-dir "\$STATE_DIR")/)![1]!;
    expect(line).toContain('--shard ${{ matrix.shard }}/${SHARDS} --yes');
    const argv = line
      .replace('${{ matrix.shard }}/${SHARDS}', '2/3')
      .replace('"$STATE_DIR"', 'state/shard-2-of-3')
      .split(/\s+/);
    const sub = join(dir, 'profiles');
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub, { recursive: true });
    const ids = Array.from({ length: 12 }, (_, i) => `wf-${i}`);
    writeFileSync(join(sub, 'p.yaml'), `version: 1\nprofiles:\n${ids.map((id) => `  - distinct_id: ${id}\n    name: N ${id}\n`).join('')}`);
    await seedEmulator({ profiles: [] });
    const r = await run(argv);
    expect(r.code).toBe(0);
    const mine = ids.filter((id) => shardOf(id, 3) === 2);
    expect(mine.length).toBeGreaterThan(0);
    for (const id of ids) {
      const res = await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
      // Fyno answers a missing profile with a 4xx (the emulator's README names which).
      expect(res.status === 200, id).toBe(mine.includes(id));
    }
  });
});
