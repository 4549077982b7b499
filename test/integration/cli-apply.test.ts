/**
 * `fyno-sync apply` end to end: the real CLI (`main`) against the real emulator over HTTP.
 * Safety refusals (no write), dry run (no write, secrets masked), honest summaries, the demo.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Exchange, RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, EXAMPLE, KEY, resetStats, runCli, startSeeded, stats, tempDir, type CliRun } from '../cli/harness.js';

const SEED = JSON.parse(readFileSync(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')) as unknown;

const runs: CliRun[] = [];
async function cli(argv: string[], env: Record<string, string | undefined>, o: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  const r = await runCli(argv, env, o);
  runs.push(r);
  return r;
}
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');
const errorLines = (r: CliRun): string[] => lines(r.stderr).filter((l) => !/^(Reading live state|Applying) \d/.test(l));

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => void (tmp = await tempDir()));
afterAll(async () => {
  await tmp?.cleanup();
  for (const r of runs) {
    expect(r.stdout).not.toContain(KEY);
    expect(r.stderr).not.toContain(KEY);
  }
});

describe('apply safety against the emulator', () => {
  let emu: RunningEmulator;
  let exchanges: Exchange[] = [];
  beforeEach(async () => {
    exchanges = [];
    emu = await startSeeded(SEED, { onExchange: (ex) => void exchanges.push(ex) });
  });
  afterEach(async () => emu?.close());
  const st = { cwd: '' };
  beforeEach(async () => {
    st.cwd = path.join(tmp.dir, `run-${Math.random().toString(36).slice(2)}`);
    await mkdir(st.cwd, { recursive: true });
  });

  it('without a TTY and without --yes: refused, nothing written', async () => {
    const r = await cli(['apply', EXAMPLE, '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/--yes/);
    expect((await stats(emu)).writes).toBe(0);
  });

  it('on a TTY: shows the plan and asks; "no" writes nothing, "yes" applies', async () => {
    let asked = '';
    const r = await cli(['apply', EXAMPLE, '--allow-delete', '--state-dir', 'st'], envFor(emu), {
      cwd: st.cwd,
      confirm: async (q) => ((asked = q), false),
    });
    expect(r.code).toBe(1);
    expect(asked).toMatch(/Apply these 41 operations/);
    expect(r.stderr).toMatch(/^Plan: 4 to create/m);
    expect((await stats(emu)).writes).toBe(0);
    // Answering yes applies it.
    const y = await cli(['apply', EXAMPLE, '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd, confirm: async () => true });
    expect(y.code, y.stderr).toBe(0);
    expect(y.stdout).toMatch(/^Apply complete: 4 created, \d+ updated, 1 merged, 2 deleted \(41 operations, 0 failed\)/m);
  });

  it('deletes without --allow-delete are refused before any write, and --max-deletes caps them', async () => {
    const r = await cli(['apply', EXAMPLE, '--yes', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/deletes 2 profile\(s\).*--allow-delete/)]);
    const m = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--max-deletes', '1', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(m.code).toBe(1);
    expect(errorLines(m)).toEqual([expect.stringMatching(/--max-deletes|max/)]);
    expect((await stats(emu)).writes).toBe(0);
    expect(exchanges.filter((e) => e.method !== 'GET')).toEqual([]);
  });

  it('a plan with an issue (a required channel) is not applied: exit 1, the issue shown, nothing written', async () => {
    const dir = path.join(st.cwd, 'required');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: cust-1002\n    name: Arjun Mehta\n    preferences:\n      SUBORDERS01: { sms: opted-out }\n');
    const r = await cli(['apply', dir, '--yes', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SUBORDERS01');
    expect(r.stderr).toMatch(/^Error: the plan has 1 issue\(s\) and cannot be applied; nothing was written$/m);
    expect((await stats(emu)).writes).toBe(0);
  });

  it('a refused apply does not replace the journal of an interrupted one', async () => {
    const dir = path.join(st.cwd, 'st', 'last-apply');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'plan.json'), 'precious');
    const r = await cli(['apply', EXAMPLE, '--yes', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(await readFile(path.join(dir, 'plan.json'), 'utf8')).toBe('precious');
  });

  it('an unusable --state-dir is a one-line error, not an internal one, and nothing is written', async () => {
    await writeFile(path.join(st.cwd, 'blocker'), 'a file where the state dir should be');
    const r = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--state-dir', 'blocker'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^Error: cannot keep the apply journal in .*blocker.*--state-dir; nothing was written$/)]);
    expect((await stats(emu)).writes).toBe(0);
  });

  it('a saved plan for another workspace is refused before any request', async () => {
    const p = await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd });
    expect(p.code).toBe(0);
    await resetStats(emu);
    const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu, { FYNO_WSID: 'FYOTHER001' }), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([expect.stringMatching(/plan is for .*FYCLITEST1.*not .*FYOTHER001.*nothing was written/)]);
    expect((await stats(emu)).total).toBe(0);
  });

  it('a saved plan applied twice: the second run finds drift and writes nothing', async () => {
    expect((await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd })).code).toBe(0);
    const first = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(first.code, first.stderr).toBe(0);
    await resetStats(emu);
    const second = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(second.code).toBe(1);
    expect(errorLines(second)).toEqual([expect.stringMatching(/live state changed since the plan was made.*cust-1002.*nothing was written/)]);
    expect((await stats(emu)).writes).toBe(0);
  });

  it('--json refusals are one JSON document on stdout', async () => {
    const r = await cli(['apply', EXAMPLE, '--json', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', error: { code: 'apply.needs_confirmation' } });
    const d = await cli(['apply', EXAMPLE, '--json', '--yes', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(d.code).toBe(1);
    expect(JSON.parse(d.stdout)).toMatchObject({ status: 'error', error: { code: 'apply.delete_refused' } });
    expect((await stats(emu)).writes).toBe(0);
  });

  it('a saved plan whose profile drifted: plan.stale naming it, zero writes', async () => {
    const p = await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd });
    expect(p.code).toBe(0);
    // Someone changes cust-1002 through the API between plan and apply.
    const res = await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles/cust-1002`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Arjun (edited in the dashboard)' }),
    });
    expect(res.status).toBe(200);
    await resetStats(emu);
    exchanges = [];
    const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st', '--json'], envFor(emu), { cwd: st.cwd });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { status: string; error: { code: string; message: string } };
    expect(doc.error.code).toBe('plan.stale');
    expect(doc.error.message).toContain('cust-1002');
    expect(doc.error.message).not.toContain('cust-2002');
    expect((await stats(emu)).writes).toBe(0);
    expect(exchanges.filter((e) => e.method !== 'GET')).toEqual([]);
  });

  it.each([
    // The summary is kept in step (one more operation, of one more profile to update): only the
    // profile the operation names is amiss.
    ['edited as text (read line by line)', (text: string, line: string) =>
      text
        .replace(/("summary": \{[^]*?"operations": )(\d+)/, (_m, head: string, n: string) => `${head}${Number(n) + 1}`)
        .replace(/("summary": \{[^]*?"update": )(\d+)/, (_m, head: string, n: string) => `${head}${Number(n) + 1}`)
        .replace(/("property\.set": )(\d+)/, (_m, head: string, n: string) => `${head}${Number(n) + 1}`)
        .replace('  "operations": [\n', `  "operations": [\n    ${line},\n`)],
    ['rewritten by a JSON tool (read whole)', (text: string, line: string) => {
      const doc = JSON.parse(text) as { operations: unknown[]; summary: { operations: number; update: number; by_type: Record<string, number> } };
      doc.operations.push(JSON.parse(line));
      doc.summary.operations += 1;
      doc.summary.update += 1;
      doc.summary.by_type['property.set']! += 1;
      return JSON.stringify(doc, null, 2);
    }],
  ])('a saved plan with an operation for a profile it never read (%s) is refused before any request', async (_how, edit) => {
    expect((await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd })).code).toBe(0);
    const text = await readFile(path.join(st.cwd, 'plan.json'), 'utf8');
    // Not in the plan's preconditions: no staleness check could cover it.
    const added = JSON.stringify({ type: 'property.set', distinct_id: 'cust-1002-other', at: { file: 'x.yaml', line: 1, column: 1 }, idempotent: true, key: 'plan', value: 'free' });
    await writeFile(path.join(st.cwd, 'edited.json'), edit(text, added));
    await resetStats(emu);
    for (const extra of [[], ['--dry-run']]) {
      const r = await cli(['apply', '--plan', 'edited.json', '--allow-delete', '--state-dir', 'st', ...extra], envFor(emu), { cwd: st.cwd });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(errorLines(r)).toEqual([expect.stringMatching(/edited\.json: .*cust-1002-other.*not read when the plan was made.*nothing was written/)]);
    }
    expect((await stats(emu)).total).toBe(0);
    // The state directory is left usable: the plan as made applies.
    const ok = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it.each([['as text (read line by line)', false], ['by a JSON tool (read whole)', true]])(
    'a saved plan whose summary no longer counts its operations (a delete added %s) is refused by show and apply',
    async (_how, whole) => {
      expect((await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd })).code).toBe(0);
      const text = await readFile(path.join(st.cwd, 'plan.json'), 'utf8');
      // cust-1002 was read (it has a precondition): only the summary says "2 to delete".
      const added = JSON.stringify({ type: 'profile.delete', distinct_id: 'cust-1002', at: { file: 'x.yaml', line: 1, column: 1 }, idempotent: false });
      const doc = JSON.parse(text) as { operations: unknown[] };
      doc.operations.unshift(JSON.parse(added));
      await writeFile(path.join(st.cwd, 'edited.json'), whole ? JSON.stringify(doc, null, 2) : text.replace('  "operations": [\n', `  "operations": [\n    ${added},\n`));
      const shown = await cli(['show', 'edited.json'], envFor(emu), { cwd: st.cwd });
      expect(shown.code).toBe(1);
      expect(errorLines(shown)).toEqual([expect.stringMatching(/edited\.json: .*summary counts 2 profile\.delete but it holds 3/)]);
      await resetStats(emu);
      const r = await cli(['apply', '--plan', 'edited.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
      expect(r.code).toBe(1);
      expect(errorLines(r)).toEqual([expect.stringMatching(/edited\.json: .*summary.*profile\.delete/)]);
      expect((await stats(emu)).total).toBe(0);
    },
  );

  it.each([['as text (read line by line)', false], ['by a JSON tool (read whole)', true]])(
    'a saved plan whose summary line hides its deletes and updates (its profile counts edited %s, its operations not) is refused by show and apply',
    async (_how, whole) => {
      expect((await cli(['plan', EXAMPLE, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd })).code).toBe(0);
      const text = await readFile(path.join(st.cwd, 'plan.json'), 'utf8');
      const doc = JSON.parse(text) as { summary: Record<string, unknown> };
      expect(doc.summary).toMatchObject({ delete: 2, update: 1 });
      // What `show` and the PR comment print: "Plan: 4 to create, 0 to update, 1 to merge, 0 to delete".
      doc.summary.delete = 0;
      doc.summary.update = 0;
      const edited = whole
        ? JSON.stringify(doc, null, 2)
        : text.replace(/("summary": \{[^]*?"delete": )2/, '$10').replace(/("summary": \{[^]*?"update": )1/, '$10');
      expect(edited).not.toBe(text);
      await writeFile(path.join(st.cwd, 'edited.json'), edited);
      const shown = await cli(['show', 'edited.json'], envFor(emu), { cwd: st.cwd });
      expect(shown.stdout).not.toMatch(/0 to delete/);
      expect(shown.code).toBe(1);
      expect(errorLines(shown)).toEqual([expect.stringMatching(/edited\.json: .*summary counts 0 profiles? to delete but .*2/)]);
      await resetStats(emu);
      const r = await cli(['apply', '--plan', 'edited.json', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
      expect(r.code).toBe(1);
      expect(errorLines(r)).toEqual([expect.stringMatching(/edited\.json: .*summary counts 0 profiles? to delete/)]);
      expect((await stats(emu)).total).toBe(0);
    },
  );

  it.each([['as text (read line by line)', false], ['by a JSON tool (read whole)', true]])(
    'a saved plan whose summary line hides its suppression adds (edited %s) is refused by show and apply',
    async (_how, whole) => {
      const file = path.join(st.cwd, 'list.yaml');
      await writeFile(
        file,
        'version: 1\nsuppressions:\n  entries:\n    - { channel: email, destination: a@example.com, description: DND }\n    - { channel: sms, destination: "+14155550123" }\nprofiles: []\n',
      );
      expect((await cli(['plan', file, '--out', 'plan.json'], envFor(emu), { cwd: st.cwd })).code).toBe(0);
      const text = await readFile(path.join(st.cwd, 'plan.json'), 'utf8');
      const doc = JSON.parse(text) as { summary: { suppressions: { add: number } } };
      expect(doc.summary.suppressions).toEqual({ add: 2, remove: 0 });
      doc.summary.suppressions.add = 0;
      const edited = whole ? JSON.stringify(doc, null, 2) : text.replace(/("suppressions": \{\s*"add": )2/, '$10');
      expect(edited).not.toBe(text);
      await writeFile(path.join(st.cwd, 'edited.json'), edited);
      const shown = await cli(['show', 'edited.json'], envFor(emu), { cwd: st.cwd });
      expect(shown.stdout).not.toMatch(/Suppressions: 0 to add/);
      expect(shown.code).toBe(1);
      expect(errorLines(shown)).toEqual([expect.stringMatching(/edited\.json: .*summary counts 0 suppressions to add but .*2/)]);
      await resetStats(emu);
      const r = await cli(['apply', '--plan', 'edited.json', '--state-dir', 'st'], envFor(emu), { cwd: st.cwd });
      expect(r.code).toBe(1);
      expect(errorLines(r)).toEqual([expect.stringMatching(/edited\.json: .*summary counts 0 suppressions to add/)]);
      expect((await stats(emu)).total).toBe(0);
    },
  );

  it('--dry-run prints every request with secrets masked and sends no write', async () => {
    const dir = path.join(st.cwd, 'secret');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'p.yaml'),
      [
        'version: 1',
        'profiles:',
        '  - distinct_id: cust-9001',
        '    name: Secret Holder',
        '    channels:',
        '      email: ${SECRET_EMAIL}',
        '      push:',
        '        - { token: "ExponentPushToken[SuperSecretTok9]" }',
        '    properties:',
        '      plan: basic',
        '',
      ].join('\n'),
    );
    const env = envFor(emu, { SECRET_EMAIL: 'hidden.person@secret.example' });
    const r = await cli(['apply', dir, '--dry-run', '--state-dir', 'st'], env, { cwd: st.cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Dry run: \d+ requests? for \d+ operations would be sent; none was\./m);
    expect(r.stdout).toMatch(/POST \S*\/profiles\b/);
    expect(r.stdout).toContain('cust-9001');
    expect(r.stdout + r.stderr).not.toContain('hidden.person@secret.example');
    expect(r.stdout + r.stderr).not.toContain('SuperSecretTok9');
    expect((await stats(emu)).writes).toBe(0);
    expect(exchanges.filter((e) => e.method !== 'GET')).toEqual([]);
  });

  it('a saved plan with secrets re-reads only the profiles whose operations hold them', async () => {
    const dir = path.join(st.cwd, 'tokens');
    await mkdir(dir, { recursive: true });
    const plain = (id: string): string[] => [`  - distinct_id: ${id}`, `    name: Plain ${id}`, '    properties:', '      plan: basic'];
    await writeFile(
      path.join(dir, 'p.yaml'),
      [
        'version: 1',
        'profiles:',
        '  - distinct_id: tok-1',
        '    name: Token Holder',
        '    channels:',
        '      push:',
        '        - { token: "ExponentPushToken[OnlyReadMe1]" }',
        ...plain('plain-1'),
        ...plain('plain-2'),
        '',
      ].join('\n'),
    );
    const env = envFor(emu);
    // tok-1 exists (its token is inserted); plain-1 and plain-2 are new.
    await fetch(`${emu.baseUrl}/${emu.workspace}/live/profiles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ distinct_id: 'tok-1', name: 'Token Holder' }),
    });
    const p = await cli(['plan', dir, '--out', 'p.json'], env, { cwd: st.cwd });
    expect(p.code, p.stderr).toBe(0);
    exchanges = [];
    const r = await cli(['apply', '--plan', 'p.json', '--no-verify', '--state-dir', 'st'], env, { cwd: st.cwd });
    expect(r.code, r.stderr).toBe(0);
    const reads = (id: string): number => exchanges.filter((e) => e.method === 'GET' && e.path.endsWith(`/profiles/${id}`)).length;
    // tok-1: one staleness read, one more to resolve its token. The new profiles are checked by
    // their creates (no staleness read) and hold no secret: not read at all.
    expect([reads('tok-1'), reads('plain-1'), reads('plain-2')]).toEqual([2, 0, 0]);
    const inserted = exchanges.find((e) => e.method === 'PATCH' && e.path.endsWith('/profiles/tok-1/channel'));
    expect(JSON.stringify(inserted?.requestBody)).toContain('ExponentPushToken[OnlyReadMe1]');
  });
});

describe('apply summary honesty', () => {
  it('the request count in the summary equals what the emulator received', async () => {
    const emu = await startSeeded(SEED);
    try {
      const cwd = path.join(tmp.dir, 'honest');
      await mkdir(cwd, { recursive: true });
      // The dry run lists exactly the writes the real apply then sends.
      const dry = await cli(['apply', EXAMPLE, '--dry-run', '--allow-delete', '--json', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(dry.code, dry.stdout).toBe(0);
      const planned = (JSON.parse(dry.stdout) as { would_send: { method: string }[] }).would_send;
      expect(planned.every((q) => q.method !== 'GET')).toBe(true);
      expect((await stats(emu)).writes).toBe(0);
      await resetStats(emu);
      const r = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(r.code, r.stderr).toBe(0);
      const m = /Apply complete: .* \((\d+) operations, 0 failed\); (\d+) requests? sent\b/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![1])).toBe(41);
      const s = await stats(emu);
      expect(Number(m![2])).toBe(s.total);
      expect(s.writes).toBe(planned.length);
      const again = await cli(['plan', EXAMPLE, '--detailed-exitcode'], envFor(emu));
      expect(again.code).toBe(0);
    } finally {
      await emu.close();
    }
  });

  it('a write that fails without retry: exit 1, the failure listed, counts still true', async () => {
    let armed = true;
    let emuRef: RunningEmulator | undefined;
    const emu = await startSeeded(SEED, {
      onExchange: (ex) => {
        // After the first write is answered, the next request fails with a 400 (never retried).
        if (armed && ex.method !== 'GET') {
          armed = false;
          emuRef!.faults.failNext(1, 'error', 400);
        }
      },
    });
    emuRef = emu;
    try {
      const cwd = path.join(tmp.dir, 'fail');
      await mkdir(cwd, { recursive: true });
      const r = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--concurrency', '1', '--state-dir', 'st', '--no-verify'], envFor(emu), { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^failed: \S+: \S+: .+/m);
      const m = /Apply complete: .* \((\d+) operations, (\d+) failed.*\); (\d+) requests? sent\b/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThanOrEqual(1);
      expect(lines(r.stderr).filter((l) => l.startsWith('failed: '))).toHaveLength(Number(m![2]));
      expect(Number(m![3])).toBe((await stats(emu)).total);
      // The failed operations are retried by --resume; then nothing is left to do.
      const resumed = await cli(['apply', '--resume', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/^Apply complete: .* \(41 operations, 0 failed, \d+ skipped: \d+ done earlier\)/m);
      expect((await cli(['plan', EXAMPLE, '--detailed-exitcode'], envFor(emu))).code).toBe(0);
    } finally {
      await emu.close();
    }
  });

  it('--json summary agrees with the emulator too', async () => {
    const emu = await startSeeded(SEED);
    try {
      const cwd = path.join(tmp.dir, 'json');
      await mkdir(cwd, { recursive: true });
      const r = await cli(['apply', EXAMPLE, '--yes', '--allow-delete', '--state-dir', 'st', '--json'], envFor(emu), { cwd });
      expect(r.code, r.stdout).toBe(0);
      const doc = JSON.parse(r.stdout) as { status: string; summary: { operations: { succeeded: number; failed: number } }; requests: { total: number; by_route: Record<string, number> } };
      expect(doc.status).toBe('ok');
      expect(doc.summary.operations).toMatchObject({ succeeded: 41, failed: 0 });
      const s = await stats(emu);
      expect(doc.requests.total).toBe(s.total);
      // By route too, as the emulator names them (the client's route keys are the spec templates).
      expect(doc.requests.by_route).toEqual(s.requests);
    } finally {
      await emu.close();
    }
  });
});

describe('demo', () => {
  it('`fyno-sync demo` exits 0 and its last plan says "No changes"', async () => {
    // As the README has it: no path (examples/basic relative to the working directory).
    const r = await cli(['demo', '--latency', '0'], { NO_COLOR: '1' });
    expect(r.code, r.stderr).toBe(0);
    const lastPlan = r.stdout.slice(r.stdout.lastIndexOf('$ fyno-sync plan'));
    expect(lastPlan).toMatch(/^No changes\. Live state matches the desired state\./m);
    expect(r.stdout).toMatch(/Apply complete: 4 created, \d+ updated, 1 merged, 2 deleted \(41 operations, 0 failed\)/);
  });
});
