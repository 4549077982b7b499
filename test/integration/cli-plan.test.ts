/**
 * `fyno-sync plan` end to end: the real CLI (`main`) against the real emulator over HTTP.
 * Output formats, exit codes, selection, saved plans, and bad input (one line, exit 1, the key
 * never printed, requests only where they must be).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, EXAMPLE, KEY, runCli, startSeeded, stats, tempDir, WSID, type CliRun } from '../cli/harness.js';

const SEED = JSON.parse(readFileSync(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')) as { profiles: { distinct_id: string }[] };

/** Every run's output, checked at the end for the API key. */
const runs: CliRun[] = [];
async function cli(argv: string[], env: Record<string, string | undefined>, o: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  const r = await runCli(argv, env, o);
  runs.push(r);
  return r;
}

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  emu = await startSeeded(SEED);
  tmp = await tempDir();
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

describe('plan against the emulator', () => {
  it('prints the summary line first, before → after, tokens masked; reads only what the files name', async () => {
    const before = await stats(emu);
    const r = await cli(['plan', EXAMPLE], envFor(emu));
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe('Plan: 4 to create, 1 to update, 1 to merge, 2 to delete, 1 unchanged.');
    expect(r.stdout).toContain('~ name: "Arjun M" → "Arjun Mehta"');
    expect(r.stdout).toContain('~ channels.email: "arjun@old-example.in" → "arjun@example.in"');
    // Push and inapp tokens are masked.
    expect(r.stdout).not.toContain('ExponentPushToken[xk2Lq0PqR1sT]');
    expect(r.stdout).not.toContain('fcm:dQw4w9WgXcQ:APA91bH1');
    expect(r.stdout).not.toMatch(/inapp: token "?cust-1003/);
    const after = await stats(emu);
    expect(after.writes).toBe(before.writes);
    // 10 ids named (8 profiles + lead-88 + … ) read once each; no profile read twice.
    expect(after.requests['GET /{WSID}/{version}/profiles/{distinct_id}']! - (before.requests['GET /{WSID}/{version}/profiles/{distinct_id}'] ?? 0)).toBe(10);
  });

  it('--json is one JSON document with format_version, summary and operations', async () => {
    const r = await cli(['plan', EXAMPLE, '--json'], envFor(emu));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { format_version: number; summary: { operations: number; create: number; delete: number }; operations: { type: string; distinct_id: string }[] };
    expect(doc.format_version).toBe(1);
    expect(doc.summary).toMatchObject({ operations: 41, create: 4, delete: 2 });
    expect(doc.operations).toHaveLength(41);
    expect(r.stdout).not.toContain('ExponentPushToken[xk2Lq0PqR1sT]');
    expect(r.stderr).toBe('');
  });

  it('--markdown renders a collapsible comment under 60,000 characters', async () => {
    const r = await cli(['plan', EXAMPLE, '--markdown'], envFor(emu));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('<details>');
    expect(r.stdout).toContain('cust-1002');
    expect(r.stdout.length).toBeLessThan(60_000);
    expect(r.stdout).not.toContain('ExponentPushToken[xk2Lq0PqR1sT]');
  });

  it('--target/--exclude globs narrow the plan (and the reads)', async () => {
    const r = await cli(['plan', EXAMPLE, '--json', '--target', 'cust-100*', '--exclude', 'cust-1003'], envFor(emu));
    expect(r.code).toBe(0);
    const ids = new Set((JSON.parse(r.stdout) as { operations: { distinct_id: string }[] }).operations.map((o) => o.distinct_id));
    expect([...ids].sort()).toEqual(['cust-1001', 'cust-1002', 'cust-1004']);
    const t = await cli(['plan', EXAMPLE, '--exclude', 'cust-*', 'am-*'], envFor(emu));
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('Scope: 7 profile(s) of the desired state left out');
    expect(t.stdout).not.toMatch(/^[-+~»] (cust|am)-/m);
    expect(t.stdout).toMatch(/^- churned-77 /m);
  });

  it('a required channel in the files is an issue: printed, exit 1, nothing written', async () => {
    const dir = path.join(tmp.dir, 'required');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'p.yaml'),
      'version: 1\nprofiles:\n  - distinct_id: cust-1002\n    preferences:\n      SUBORDERS01: { sms: opted-out }\n',
    );
    const before = await stats(emu);
    const r = await cli(['plan', dir, '--detailed-exitcode'], envFor(emu));
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/required/i);
    expect(r.stdout + r.stderr).toContain('SUBORDERS01');
    expect((await stats(emu)).writes).toBe(before.writes);
  });

  it('environment-sourced values are masked in text, JSON, Markdown and the saved plan', async () => {
    const dir = path.join(tmp.dir, 'env-secret');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: cust-9100\n    channels:\n      email: ${SECRET_EMAIL}\n');
    const env = envFor(emu, { SECRET_EMAIL: 'very.private@secret.example' });
    for (const flags of [[], ['--json'], ['--markdown'], ['--out', 'secret-plan.json']]) {
      const r = await cli(['plan', dir, ...flags], env, { cwd: tmp.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('cust-9100');
      expect(r.stdout + r.stderr).not.toContain('very.private@secret.example');
    }
    expect(await readFile(path.join(tmp.dir, 'secret-plan.json'), 'utf8')).not.toContain('very.private@secret.example');
  });

  it('--detailed-exitcode: 2 with changes; --out then `apply --plan` applies it; then 0', async () => {
    const env = envFor(emu);
    const r = await cli(['plan', EXAMPLE, '--detailed-exitcode', '--out', 'plan.json'], env, { cwd: tmp.dir });
    expect(r.code).toBe(2);
    const saved = await readFile(path.join(tmp.dir, 'plan.json'), 'utf8');
    expect(saved).not.toContain(KEY);
    expect(saved).not.toContain('ExponentPushToken[xk2Lq0PqR1sT]');
    const a = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'state'], env, { cwd: tmp.dir });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^Apply complete: 4 created, \d+ updated, 1 merged, 2 deleted \(41 operations, 0 failed\)/m);
    const again = await cli(['plan', EXAMPLE, '--detailed-exitcode'], env);
    expect(again.code).toBe(0);
    expect(lines(again.stdout)[0]).toMatch(/^Plan: 0 to create, 0 to update, 0 to merge, 0 to delete, \d+ unchanged\.$/);
    expect(again.stdout).toMatch(/^No changes\. Live state matches the desired state\./m);
  });
});

describe('plan: bad input is one line on stderr, exit 1, never a partial plan', () => {
  /** A bad-input run: exit 1, exactly one line on stderr, nothing on stdout. */
  function expectOneLineError(r: CliRun): string {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const errLines = lines(r.stderr).filter((l) => !/^Reading live state/.test(l));
    expect(errLines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return errLines[0]!;
  }

  it('invalid YAML: located error, no request', async () => {
    const dir = path.join(tmp.dir, 'bad-yaml');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: [oops\n');
    const before = await stats(emu);
    const r = await cli(['plan', dir], envFor(emu));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/p\.yaml:\d+/);
    expect(r.stderr).toMatch(/nothing was sent/);
    expect((await stats(emu)).total).toBe(before.total);
  });

  it('invalid YAML with --json: one JSON document on stdout, nothing on stderr', async () => {
    const dir = path.join(tmp.dir, 'bad-yaml-json');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'p.yaml'), 'version: 1\nprofiles:\n  - distinct_id: [oops\n');
    const r = await cli(['plan', dir, '--json'], envFor(emu));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { status: string; error: { code: string; issues: unknown[] } };
    expect(doc).toMatchObject({ status: 'error', error: { code: 'desired.invalid' } });
    expect(doc.error.issues.length).toBeGreaterThan(0);
  });

  it('--out into a missing directory: one line naming the file, not an internal error, and no request', async () => {
    const before = await stats(emu);
    const line = expectOneLineError(await cli(['plan', EXAMPLE, '--out', 'no/such/dir/plan.json'], envFor(emu), { cwd: tmp.dir }));
    expect(line).toMatch(/^Error: cannot write the plan to .*no\/such\/dir\/plan\.json: no such directory$/);
    // Nowhere to save the plan is known before live state is read.
    expect((await stats(emu)).total).toBe(before.total);
  });

  it('missing FYNO_API_KEY: no request', async () => {
    const before = await stats(emu);
    const line = expectOneLineError(await cli(['plan', EXAMPLE], envFor(emu, { FYNO_API_KEY: undefined })));
    expect(line).toContain('FYNO_API_KEY');
    expect((await stats(emu)).total).toBe(before.total);
  });

  it('plain http to a non-loopback host: refused before any request', async () => {
    const line = expectOneLineError(await cli(['plan', EXAMPLE], envFor(null, { FYNO_BASE_URL: 'http://api.example.com/v1' })));
    expect(line).toMatch(/https/i);
  });

  it('unreachable endpoint (closed port)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const line = expectOneLineError(await cli(['plan', EXAMPLE], envFor(null, { FYNO_BASE_URL: `http://127.0.0.1:${port}/v1` })));
    expect(line).toMatch(new RegExp(`^Error: cannot reach Fyno at http://127\\.0\\.0\\.1:${port}/v1 .*ECONNREFUSED.*FYNO_BASE_URL`));
  });

  it('wrong key → the 401 message', async () => {
    const line = expectOneLineError(await cli(['plan', EXAMPLE], envFor(emu, { FYNO_API_KEY: 'sk-wrong-key-00000' })));
    expect(line).toMatch(/401|Invalid API details|API key/i);
    expect(line).not.toContain('sk-wrong-key-00000');
  });

  it('unknown workspace', async () => {
    const line = expectOneLineError(await cli(['plan', EXAMPLE], envFor(emu, { FYNO_WSID: 'FYNOSUCHWS' })));
    expect(line).toMatch(/workspace|401|Invalid API/i);
  });

  it('--json on error: one JSON document on stdout', async () => {
    const r = await cli(['plan', EXAMPLE, '--json'], envFor(emu, { FYNO_API_KEY: 'sk-wrong-key-00000' }));
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { status: string; error: { code: string; message: string } };
    expect(doc.status).toBe('error');
    expect(doc.error.message).toBeTruthy();
    expect(r.stdout).not.toContain('sk-wrong-key-00000');
  });
});

describe.concurrent('plan: 429 storms and persistent 5xx (retries exhaust)', () => {
  // A rate limit is not a storm: the client slows down to it and the plan completes (issue #13
  // item 8). A storm is a server that asks for a longer wait than the client is willing to give.
  it('a server-side rate limit: the plan completes, slower', async () => {
    const e = await startSeeded(SEED, { rateLimit: { rps: 5, burst: 1 } });
    try {
      const r = await cli(['plan', EXAMPLE, '--detailed-exitcode'], envFor(e));
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/^Plan:/);
      expect(e.faults.counts.rateLimited).toBeGreaterThan(0);
    } finally {
      await e.close();
    }
  }, 40_000);

  it('429 storm', async () => {
    // One request per 100 s: every 429 asks for a wait beyond the client's longest (30 s).
    const e = await startSeeded(SEED, { rateLimit: { rps: 0.01, burst: 1 } });
    try {
      const r = await cli(['plan', EXAMPLE, '--detailed-exitcode'], envFor(e));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stdout).not.toMatch(/Plan:|No changes/);
      expect(lines(r.stderr).filter((l) => !/^Reading live state/.test(l))).toHaveLength(1);
      expect(r.stderr).toMatch(/429|rate|too many/i);
    } finally {
      await e.close();
    }
  }, 40_000);

  it('persistent 5xx', async () => {
    const e = await startSeeded(SEED, { failRate: 1, failKinds: ['error'] });
    try {
      const r = await cli(['plan', EXAMPLE, '--json'], envFor(e));
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as { status: string; operations?: unknown };
      expect(doc.status).toBe('error');
      expect(doc.operations).toBeUndefined();
    } finally {
      await e.close();
    }
  }, 40_000);
});

describe('secrets', () => {
  it('the API key never appears in any output of these runs', () => {
    expect(runs.length).toBeGreaterThan(10);
    for (const r of runs) {
      expect(r.stdout).not.toContain(KEY);
      expect(r.stderr).not.toContain(KEY);
    }
    expect(WSID).toBeTruthy();
  });
});
