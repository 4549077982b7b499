/**
 * The apply lifecycle end to end (issue #13): the real CLI (`main`) against the HTTP emulator.
 * Resume after completed token deletes, refusals that leave the state directory usable, the
 * lock, the authorising flags kept with the journal, dry runs that run every check, and counts
 * that add up and match what the emulator recorded.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Exchange, RunningEmulator } from '../../src/fyno/emulator/index.js';
import { copyExample, EXAMPLE, envFor, KEY, resetStats, runCli, startSeeded, stats, tempDir, type CliRun } from '../cli/harness.js';

const N = 24;
const id = (i: number): string => `user-${String(i).padStart(3, '0')}`;
const tok = (i: number, s: string): string => `ExponentPushToken[lc-${i}-${s}]`;

/** Live: every profile with push [A, B] and a tag. */
function seed(): unknown {
  return {
    profiles: Array.from({ length: N }, (_, i) => ({
      distinct_id: id(i),
      name: `Old ${i}`,
      channel: { push: [{ token: tok(i, 'a') }, { token: tok(i, 'b') }] },
      properties: { tags: ['common'] },
    })),
  };
}

/** Desired: B replaced by C (a token delete and an insert per profile), a rename, a new tag. */
function desiredYaml(opts: { extra?: string; deleteLast?: boolean } = {}): string {
  const out = ['version: 1', 'profiles:'];
  for (let i = 0; i < N; i++) {
    if (opts.deleteLast && i === N - 1) {
      out.push(`  - distinct_id: ${id(i)}`, '    state: absent');
      continue;
    }
    out.push(
      `  - distinct_id: ${id(i)}`,
      `    name: User ${i}${opts.extra ?? ''}`,
      '    channels:',
      '      push:',
      `        - { token: "${tok(i, 'a')}" }`,
      `        - { token: "${tok(i, 'c')}" }`,
      '    properties:',
      `      tags: [common, t${i}]`,
    );
  }
  return `${out.join('\n')}\n`;
}

const runs: CliRun[] = [];
async function cli(argv: string[], env: Record<string, string | undefined>, o: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  const r = await runCli(argv, env, o);
  runs.push(r);
  return r;
}

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => void (tmp = await tempDir('fyno-lifecycle-')));
afterAll(async () => {
  await tmp?.cleanup();
  for (const r of runs) {
    expect(r.stdout + r.stderr).not.toContain(KEY);
    // Push tokens are credentials: never printed whole.
    expect(r.stdout + r.stderr).not.toMatch(/ExponentPushToken\[lc-/);
  }
});

let emu: RunningEmulator;
let exchanges: Exchange[];
let cwd: string;
let desired: string;
beforeEach(async () => {
  exchanges = [];
  emu = await startSeeded(seed(), { onExchange: (ex) => void exchanges.push(ex) });
  cwd = path.join(tmp.dir, `run-${Math.random().toString(36).slice(2)}`);
  desired = path.join(cwd, 'desired');
  await mkdir(desired, { recursive: true });
  await writeFile(path.join(desired, 'users.yaml'), desiredYaml());
});
afterEach(async () => emu?.close());

const writes = (): Exchange[] => exchanges.filter((e) => e.method !== 'GET');
const journalPath = (): string => path.join(cwd, 'st', 'last-apply', 'fyno-sync-apply.jsonl');

/** Runs `argv` in-process and aborts it (Ctrl-C) once the emulator has answered `after` writes. */
async function interrupted(argv: string[], after: number): Promise<CliRun> {
  const ac = new AbortController();
  const seen = exchanges.length;
  const timer = setInterval(() => {
    if (exchanges.slice(seen).filter((e) => e.method !== 'GET').length >= after) ac.abort();
  }, 1);
  emu.faults.update({ latencyMs: 15 });
  try {
    return await cli(argv, envFor(emu), { cwd, signal: ac.signal });
  } finally {
    clearInterval(timer);
    emu.faults.update({ latencyMs: 0 });
  }
}

/** A change made by hand in Fyno, outside fyno-sync. */
async function fyno(method: string, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${emu.baseUrl}/${emu.workspace}/live${route}`, { method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.ok, await res.text()).toBe(true);
}

async function planIsEmpty(dir = desired): Promise<void> {
  const p = await cli(['plan', dir, '--detailed-exitcode'], envFor(emu), { cwd });
  expect(p.code, p.stdout + p.stderr).toBe(0);
}

async function livePush(i: number): Promise<string[]> {
  const res = await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles/${id(i)}`, { headers: { authorization: `Bearer ${KEY}` } });
  const p = (await res.json()) as { channel: { push?: { token: string }[] } };
  return (p.channel.push ?? []).map((t) => t.token).sort();
}

describe('resume', () => {
  it('resumes after token deletes completed: their secrets are not needed again', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 30);
    expect(first.code, first.stderr).toBe(130);
    expect(writes().some((e) => e.path.endsWith('/channel/delete'))).toBe(true);
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    await planIsEmpty();
    for (let i = 0; i < N; i++) expect(await livePush(i)).toEqual([tok(i, 'a'), tok(i, 'c')].sort());
  });

  it('Ctrl-C stops sending: only the requests in flight at that moment are answered after it; the resume finishes', async () => {
    const ac = new AbortController();
    let atAbort = -1;
    const timer = setInterval(() => {
      if (atAbort < 0 && writes().length >= 4) {
        atAbort = writes().length;
        ac.abort();
      }
    }, 1);
    emu.faults.update({ latencyMs: 15 });
    try {
      const first = await cli(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], envFor(emu), { cwd, signal: ac.signal });
      expect(first.code, first.stderr).toBe(130);
    } finally {
      clearInterval(timer);
      emu.faults.update({ latencyMs: 0 });
    }
    // --concurrency 2: at most two requests were on their way when it was aborted.
    expect(writes().length - atAbort).toBeLessThanOrEqual(2);
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    await planIsEmpty();
  });

  it('Ctrl-C while a write\'s answer is lost: no re-read to settle it after the stop; the resume settles it and repeats nothing', async () => {
    const dir = path.join(cwd, 'one');
    await mkdir(dir);
    await writeFile(path.join(dir, 'new.yaml'), 'version: 1\nprofiles:\n  - distinct_id: new-1\n    name: New\n');
    const ac = new AbortController();
    let readsAtAbort = -1;
    const reads = (): number => exchanges.filter((e) => e.method === 'GET' && e.path.endsWith('/profiles/new-1')).length;
    // A saved plan of a create reads nothing before it: the create is the first request. It is
    // applied and its answer lost 200 ms after it arrived; Ctrl-C comes in between.
    expect((await cli(['plan', dir, '--out', 'one.json'], envFor(emu), { cwd })).code).toBe(0);
    emu.faults.update({ latencyMs: 200 });
    emu.faults.failNext(1, 'lost');
    const timer = setInterval(() => {
      void stats(emu).then((s) => {
        if (readsAtAbort < 0 && (s.requests['POST /{WSID}/{version}/profiles'] ?? 0) >= 1) {
          readsAtAbort = reads();
          ac.abort();
        }
      });
    }, 5);
    try {
      const first = await cli(['apply', '--plan', 'one.json', '--state-dir', 'st', '--concurrency', '1'], envFor(emu), { cwd, signal: ac.signal });
      expect(first.code, first.stderr).toBe(130);
    } finally {
      clearInterval(timer);
      emu.faults.update({ latencyMs: 0 });
    }
    expect(readsAtAbort).toBeGreaterThanOrEqual(0);
    expect(reads()).toBe(readsAtAbort);
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    // The one create Fyno received is the lost one: the resume did not send it again.
    expect((await stats(emu)).requests['POST /{WSID}/{version}/profiles']).toBe(1);
    await planIsEmpty(dir);
  });

  it('continues with the flags that authorised the run: --allow-delete is not asked for again', async () => {
    await writeFile(path.join(desired, 'users.yaml'), desiredYaml({ deleteLast: true }));
    const first = await interrupted(['apply', desired, '--yes', '--allow-delete', '--state-dir', 'st', '--concurrency', '2'], 10);
    expect(first.code, first.stderr).toBe(130);
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    await planIsEmpty();
  });

  it('a resume whose desired files changed says so and writes nothing', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 10);
    expect(first.code).toBe(130);
    await writeFile(path.join(desired, 'users.yaml'), desiredYaml({ extra: ' (edited)' }));
    const before = writes().length;
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/users\.yaml.*changed since/);
    expect(writes().length).toBe(before);
  });
});

describe('refusals leave the state directory usable', () => {
  it('a stale saved plan is refused without leaving an unfinished journal; the next fresh apply runs', async () => {
    expect((await cli(['plan', desired, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    // Someone changes a profile the plan read.
    await fyno('PUT', `/profiles/${id(3)}`, { name: 'Changed by hand' });
    const stale = await cli(['apply', '--plan', 'plan.json', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/live state changed since the plan was made.*user-003/);
    expect(existsSync(journalPath())).toBe(false);
    const fresh = await cli(['apply', desired, '--yes', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(fresh.code, fresh.stderr).toBe(0);
    await planIsEmpty();
  });

  it('an unfinished journal is named before the plan is shown or a question asked', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 6);
    expect(first.code).toBe(130);
    await resetStats(emu);
    let asked = false;
    const r = await cli(['apply', desired, '--state-dir', 'st'], envFor(emu), { cwd, confirm: async () => ((asked = true), true) });
    expect(r.code).toBe(1);
    expect(asked).toBe(false);
    expect(r.stderr).not.toMatch(/^Plan:/m);
    expect(r.stderr).toMatch(/fyno-sync apply --resume/);
    expect(r.stderr).toMatch(/--discard-journal/);
    expect((await stats(emu)).total).toBe(0);
  });

  it('Ctrl-C at the confirmation question (readline rejects with an AbortError) is a no, not an internal error', async () => {
    const abortError = Object.assign(new Error('Aborted with Ctrl+C'), { name: 'AbortError', code: 'ABORT_ERR' });
    const r = await cli(['apply', desired, '--state-dir', 'st'], envFor(emu), { cwd, confirm: async () => Promise.reject(abortError) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Apply cancelled; nothing was written\.$/m);
    expect(r.stderr).not.toMatch(/Internal error/);
    expect(writes()).toEqual([]);
    expect(existsSync(journalPath())).toBe(false);
  });

  it('a corrupt journal says what to run, and --discard-journal clears the way', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 6);
    expect(first.code).toBe(130);
    const text = await readFile(journalPath(), 'utf8');
    const lines = text.split('\n');
    lines.splice(2, 0, '{not json');
    await writeFile(journalPath(), lines.join('\n'));
    const r = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt at line 3.*--discard-journal/);
    const fresh = await cli(['apply', desired, '--yes', '--discard-journal', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    await planIsEmpty();
  });

  it('a truncated kept plan says what to run', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 6);
    expect(first.code).toBe(130);
    const kept = path.join(cwd, 'st', 'last-apply', 'plan.json');
    const text = await readFile(kept, 'utf8');
    await writeFile(kept, text.slice(0, Math.floor(text.length / 2)));
    const r = await cli(['apply', '--resume', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--discard-journal/);
  });
});

describe('a saved plan and the profiles it creates', () => {
  it('reads none of them to check staleness; one created meanwhile is named drifted and nothing of it is written', async () => {
    await writeFile(
      path.join(desired, 'new.yaml'),
      'version: 1\nprofiles:\n' +
        ['new-1', 'new-2', 'new-3'].map((n) => `  - distinct_id: ${n}\n    name: ${n}\n    properties: { plan: gold }\n    preferences: { S000000003: { sms: opted-out } }\n`).join(''),
    );
    expect((await cli(['plan', desired, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    // Someone creates new-2 after the review.
    await fyno('POST', '/profiles', { distinct_id: 'new-2', name: 'Made by hand' });
    exchanges.length = 0;
    const r = await cli(['apply', '--plan', 'plan.json', '--state-dir', 'st', '--no-verify'], envFor(emu), { cwd });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/changed since the plan was made.*new-2/);
    // No staleness read of the profiles the plan creates; the existing ones are read.
    const reads = exchanges.filter((e) => e.method === 'GET').map((e) => e.path);
    expect(reads.filter((p) => /\/profiles\/new-/.test(p))).toEqual([]);
    expect(reads.filter((p) => p.endsWith(`/profiles/${id(0)}`)).length).toBeGreaterThan(0);
    // Nothing of new-2 beyond the refused create; new-1 and new-3 are applied.
    const touching = (n: string) => exchanges.filter((e) => e.method !== 'GET' && (e.path.includes(n) || JSON.stringify(e.requestBody ?? '').includes(`"${n}"`)));
    expect(touching('new-2').map((e) => `${e.method} ${e.status}`)).toEqual(['POST 400']);
    expect(touching('new-1').length).toBeGreaterThan(1);
    const live2 = (await (await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles/new-2`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { name: string };
    expect(live2.name).toBe('Made by hand');
  });
});

describe('a saved plan with merges and the files it was made from', () => {
  it('is refused when the files changed since: its merged profiles would be re-planned from what nobody reviewed', async () => {
    const basic = await startSeeded(JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')));
    try {
      const copy = await copyExample(cwd);
      expect((await cli(['plan', copy, '--out', 'plan.json'], envFor(basic), { cwd })).code).toBe(0);
      expect(JSON.parse(await readFile(path.join(cwd, 'plan.json'), 'utf8')).source_hashes).toBeDefined();
      const file = path.join(copy, 'customers-india.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace(/plan: \w+/, 'plan: not-reviewed'));
      const before = (await stats(basic)).writes;
      const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(basic), { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/customers-india\.yaml changed since the plan was made.*plan again; nothing was written/);
      expect((await stats(basic)).writes).toBe(before);
    } finally {
      await basic.close();
    }
  });
});

describe('what a saved plan needs of the files it was made from', () => {
  /** Profiles without tokens or ${VAR}: a plan of them holds no secret. `gone` is deleted; `keep` marks it protected. */
  const plainYaml = (o: { gone?: boolean; keep?: boolean } = {}): string =>
    'version: 1\nprofiles:\n' +
    [0, 1, 2].map((i) => `  - distinct_id: ${id(i)}\n    name: Plain ${i}\n    properties: { plan: gold }\n`).join('') +
    (o.gone ? `  - distinct_id: ${id(3)}\n    state: absent\n` : '') +
    (o.keep ? `  - distinct_id: ${id(3)}\n    protected: true\n` : '');

  it('a plan without deletes, merges or secrets is executed from the plan alone: files broken since are not read', async () => {
    const plain = path.join(cwd, 'plain');
    await mkdir(plain);
    await writeFile(path.join(plain, 'p.yaml'), plainYaml());
    expect((await cli(['plan', plain, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    // The file is broken after the review: the reviewed plan is what runs, verbatim.
    await writeFile(path.join(plain, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: [oops\n');
    const r = await cli(['apply', '--plan', 'plan.json', '--state-dir', 'st', '--no-verify'], envFor(emu), { cwd });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(writes().length).toBeGreaterThan(0);
    await writeFile(path.join(plain, 'p.yaml'), plainYaml());
    await planIsEmpty(plain);
  });

  it('a plan that deletes a profile the files have since marked protected is still refused, nothing written', async () => {
    const plain = path.join(cwd, 'plain');
    await mkdir(plain);
    await writeFile(path.join(plain, 'p.yaml'), plainYaml({ gone: true }));
    expect((await cli(['plan', plain, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    await writeFile(path.join(plain, 'p.yaml'), plainYaml({ keep: true }));
    exchanges.length = 0;
    const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/profile user-003 is protected and is never deleted; nothing was written/);
    expect(writes()).toEqual([]);
  });

  it('a plan whose head hides its delete is refused before anything is written: its summary must count its operations', async () => {
    const plain = path.join(cwd, 'plain');
    await mkdir(plain);
    await writeFile(path.join(plain, 'p.yaml'), plainYaml({ gone: true }));
    expect((await cli(['plan', plain, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    const file = path.join(cwd, 'plan.json');
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/"delete": 1,/);
    await writeFile(file, text.replace(/"delete": 1,/, '"delete": 0,').replace(/"profile\.delete": 1,?\n/, ''));
    await writeFile(path.join(plain, 'p.yaml'), plainYaml({ keep: true }));
    exchanges.length = 0;
    const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/plan\.json: invalid plan: its summary counts 0 profile\.delete but it holds 1/);
    expect(writes()).toEqual([]);
  });
});

describe('--target and --exclude on apply, as on plan', () => {
  it('applies only the profiles named, and refuses them with a saved plan', async () => {
    const r = await cli(['apply', desired, '--yes', '--state-dir', 'st', '--target', 'user-00*', '--exclude', 'user-003'], envFor(emu), { cwd });
    expect(r.code, r.stderr).toBe(0);
    const touched = new Set(writes().map((e) => /\/profiles\/(user-\d+)/.exec(e.path)?.[1] ?? (JSON.stringify(e.requestBody).match(/user-\d+/) ?? [])[0]));
    expect([...touched].sort()).toEqual(['user-000', 'user-001', 'user-002', 'user-004', 'user-005', 'user-006', 'user-007', 'user-008', 'user-009']);
    expect((await cli(['plan', desired, '--out', 'p.json'], envFor(emu), { cwd })).code).toBe(0);
    const refused = await cli(['apply', '--plan', 'p.json', '--target', 'user-010', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--target\/--exclude applies to desired-state PATHs/);
  });
});

describe('a narrowed apply with nothing to do in its scope', () => {
  it('says what it left out instead of claiming live state matches the desired state', async () => {
    const r = await cli(['apply', desired, '--yes', '--state-dir', 'st', '--target', 'user-0o1'], envFor(emu), { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(writes()).toEqual([]);
    expect(r.stdout).toMatch(/^Scope: 24 profile\(s\) of the desired state left out \(--target user-0o1\)\.$/m);
    expect(r.stdout).toMatch(/^No changes to the profiles in scope; nothing to apply\.$/m);
    expect(r.stdout).not.toMatch(/matches the desired state/);
  });

  it('plan (text and the --markdown PR comment) says the same instead of the unqualified claim', async () => {
    for (const format of [[], ['--markdown']]) {
      const r = await cli(['plan', desired, '--target', 'user-0o1', ...format], envFor(emu), { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Scope: 24 profile\(s\) of the desired state left out \(--target user-0o1\)/);
      expect(r.stdout).toMatch(/No changes to the profiles in scope\./);
      expect(r.stdout).not.toMatch(/matches the desired state/);
    }
    expect(writes()).toEqual([]);
  });
});

describe('one apply at a time per state directory', () => {
  it('a second apply is refused while the first holds the lock, naming who holds it', async () => {
    emu.faults.update({ latencyMs: 20 });
    const first = cli(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '1'], envFor(emu), { cwd });
    // Wait until the first one writes.
    for (let i = 0; i < 500 && writes().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const second = await cli(['apply', desired, '--yes', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`locked by .*pid ${process.pid}.*${os.hostname()}`));
    emu.faults.update({ latencyMs: 0 });
    const r1 = await first;
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/Apply complete: .*\(\d+ operations, 0 failed\)/);
  });

  it('a stale lock of a dead process is detected, named and taken over', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    await mkdir(path.join(cwd, 'st'), { recursive: true });
    await writeFile(path.join(cwd, 'st', 'lock'), JSON.stringify({ pid, host: os.hostname(), started_at: '2026-01-01T00:00:00.000Z', command: 'apply' }));
    const r = await cli(['apply', desired, '--yes', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`stale lock .*pid ${pid}`));
    expect(existsSync(path.join(cwd, 'st', 'lock'))).toBe(false);
  });
});

describe('dry run tells the truth', () => {
  it('a stale saved plan: the dry run refuses as the real apply would', async () => {
    expect((await cli(['plan', desired, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    await fyno('PUT', `/profiles/${id(1)}`, { name: 'Changed by hand' });
    const before = writes().length;
    const r = await cli(['apply', '--plan', 'plan.json', '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/live state changed since the plan was made.*user-001/);
    expect(writes().length).toBe(before);
  });

  it('a saved plan whose created profile exists by now: the dry run exits 1 naming it, as the real run does', async () => {
    await writeFile(path.join(desired, 'new.yaml'), 'version: 1\nprofiles:\n' + ['new-1', 'new-2'].map((n) => `  - distinct_id: ${n}\n    name: ${n}\n    properties: { plan: gold }\n`).join(''));
    expect((await cli(['plan', desired, '--out', 'plan.json'], envFor(emu), { cwd })).code).toBe(0);
    await fyno('POST', '/profiles', { distinct_id: 'new-2', name: 'Made by hand' });
    const before = writes().length;
    const dry = await cli(['apply', '--plan', 'plan.json', '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(writes().length).toBe(before);
    expect(dry.stdout).toMatch(/^POST \/FYCLITEST1\/live\/profiles \{"distinct_id":"new-2".*# refused: .*new-2 exists/m);
    // Nothing else of new-2 would be sent; new-1 would be.
    expect(dry.stdout.split('\n').filter((l) => l.includes('"new-2"') && !l.includes('# refused'))).toEqual([]);
    expect(dry.stdout).toMatch(/"distinct_id":"new-1"/);
    expect(dry.stderr).toMatch(/new-2/);
    const json = await cli(['apply', '--plan', 'plan.json', '--dry-run', '--state-dir', 'st', '--json'], envFor(emu), { cwd });
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'error', error: { drifted: ['new-2'] } });
    const real = await cli(['apply', '--plan', 'plan.json', '--state-dir', 'st', '--no-verify'], envFor(emu), { cwd });
    expect(real.stderr).toMatch(/changed since the plan was made.*new-2/);
    expect([dry.code, json.code]).toEqual([real.code, real.code]);
    expect(real.code).toBe(1);
  });

  it('deletes without --allow-delete: every request is printed, the deletes marked, exit 1', async () => {
    await writeFile(path.join(desired, 'users.yaml'), desiredYaml({ deleteLast: true }));
    const r = await cli(['apply', desired, '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PATCH \/FYCLITEST1\/live\/profiles\/user-000\/channel/);
    expect(r.stdout).toMatch(/POST \/FYCLITEST1\/live\/profiles\/delete .*user-023.*refused: pass --allow-delete/);
    expect(r.stderr).toMatch(/--allow-delete/);
    expect(writes()).toEqual([]);
  });

  it('an in-app token equal to the distinct_id masks the token, never the id', async () => {
    await writeFile(path.join(desired, 'users.yaml'), 'version: 1\nprofiles:\n  - distinct_id: inapp-user-7\n    name: In App\n    channels:\n      inapp: [{ token: inapp-user-7 }]\n');
    const r = await cli(['apply', desired, '--dry-run', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"distinct_id":"inapp-user-7"/);
    expect(r.stdout).toMatch(/"inapp":\[\{"token":"\*\*\*"/);
  });
});

describe('counts add up', () => {
  it('succeeded + failed + skipped = total, the progress never exceeds it, requests match the emulator', async () => {
    const first = await interrupted(['apply', desired, '--yes', '--state-dir', 'st', '--concurrency', '2'], 12);
    expect(first.code).toBe(130);
    await resetStats(emu);
    const r = await cli(['apply', '--resume', '--state-dir', 'st', '--json'], envFor(emu), { cwd });
    expect(r.code, r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as {
      summary: { operations: { total: number; succeeded: number; failed: number; skipped: number } };
      requests: { total: number; by_route: Record<string, number> };
    };
    const o = out.summary.operations;
    expect(o.succeeded + o.failed + o.skipped).toBe(o.total);
    expect(o.skipped).toBeGreaterThan(0);
    const s = await stats(emu);
    expect(out.requests.total).toBe(s.total);
    expect(out.requests.by_route).toEqual(s.requests);
  });

  it('a plan with merges: re-planned operations are not counted twice', async () => {
    const basic = await startSeeded(JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')));
    try {
      const r = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--state-dir', 'st-basic', '--json'], envFor(basic), { cwd });
      expect(r.code, r.stdout).toBe(0);
      const out = JSON.parse(r.stdout) as {
        summary: { operations: { total: number; succeeded: number; failed: number; skipped: number }; profiles: Record<string, number> };
        requests: { total: number };
      };
      const o = out.summary.operations;
      expect(o).toMatchObject({ total: 41, succeeded: 41, failed: 0, skipped: 0 });
      expect(out.summary.profiles).toMatchObject({ created: 4, merged: 1, deleted: 2 });
      expect(out.requests.total).toBe((await stats(basic)).total);
    } finally {
      await basic.close();
    }
  });

  it('a text apply ends with a Terraform-style line and the progress stays within its total', async () => {
    const r = await cli(['apply', desired, '--yes', '--state-dir', 'st'], envFor(emu), { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Apply complete: 0 created, 24 updated, 0 merged, 0 deleted \(\d+ operations, 0 failed\)/m);
    for (const m of r.stderr.matchAll(/Applying (\d+)\/(\d+)/g)) expect(Number(m[1])).toBeLessThanOrEqual(Number(m[2]));
  });
});
