/**
 * `fyno-sync pull` over real HTTP (CLI → HttpFynoClient → emulator): the YAML it writes
 * validates, and planning it right away gives no operation (issue #6 part 2), with and without
 * tokens and preferences; missing ids; determinism; an output directory in the way.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/output.js';
import { startEmulator, type RunningEmulator } from '../../src/fyno/emulator/index.js';
import { runMain } from '../support/cli.js';

const KEY = 'pull-test-key';
let emu: RunningEmulator;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, propertyDelayMs: 0 });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fyno-pull-'));
  await seed();
  return () => rmSync(dir, { recursive: true, force: true });
});

const run = (argv: string[]) =>
  runMain(argv, { cwd: dir, env: { FYNO_API_KEY: KEY, FYNO_WSID: emu.workspace, FYNO_BASE_URL: emu.baseUrl, FYNO_ENV: 'live', HOME: '/home/someone' } });

const TRICKY = { t: 'true', d: '2024-01-01', z: '0123', n: 'null', v: '${HOME}', y: 'yes', c: 'a: b #c', e: '', tags: ['0123', 'true', 7], num: 42, flag: false, ts: '2024-03-01T10:00:00Z' };

async function seed(): Promise<void> {
  expect((await fetch(`${emu.adminUrl}/reset`, { method: 'POST' })).status).toBe(200);
  const body = {
    topics: [
      { subscription_id: 'S1', name: 'News', channel_config: { email: 'on', sms: 'on' } },
      { subscription_id: 'S2', name: 'Security', channel_config: { email: 'required', sms: 'on' } },
    ],
    profiles: [
      {
        distinct_id: 'cust-1',
        name: 'Priya Sharma',
        timezone: 'Asia/Kolkata',
        channel: {
          email: 'priya@example.com',
          sms: '+919812345678',
          push: [
            { token: 'ExponentPushToken[secret-a]', integration_id: 'IPUSH' },
            { token: 'secret-b', status: 0 },
          ],
          inapp: [{ token: 'secret-inapp' }],
        },
        properties: { ...TRICKY, fyno_sync_managed: ['properties:num'] },
      },
      { distinct_id: 'cust-2', name: 'true', channel: { whatsapp: '+14155550100' }, properties: { plan: 'pro' } },
      { distinct_id: '0123', status: 0 },
    ],
    preferences: { 'cust-1': { all: { sms: 'opted-out' }, S1: { email: 'opted-out' } } },
  };
  const res = await fetch(`${emu.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

function readDir(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(join(dir, d)).sort()) out[f] = readFileSync(join(dir, d, f), 'utf8');
  return out;
}

async function planOps(path: string): Promise<unknown[]> {
  const r = await run(['plan', path, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { operations: unknown[] }).operations;
}

describe('fyno-sync pull', () => {
  it('writes YAML that validates and plans to no operation, without tokens, preferences or server fields', async () => {
    const r = await run(['pull', 'cust-1', 'cust-2', '0123', '-o', 'adopted']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('not found');
    expect(r.stdout).toBe('Pulled 3 profiles into adopted (1 file)\n');
    const text = readDir('adopted')['profiles-0001.yaml']!;
    // The header names this package's schema by a path relative to the written file (issue #16).
    const ref = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text)?.[1];
    expect(ref).toBeDefined();
    expect(ref).not.toMatch(/^https?:/);
    expect(resolvePath(dir, 'adopted', ref!)).toBe(fileURLToPath(new URL('../../schemas/desired-state.schema.json', import.meta.url)));
    for (const absent of ['secret', 'push', 'inapp', 'preferences', 'fyno_sync_managed', 'created_at', 'profile_id', 'country_code', 'timezone_offset', 'id_list']) {
      expect(text).not.toContain(absent);
    }
    expect(text).toContain('"$${HOME}"');
    expect((await run(['validate', 'adopted'])).code).toBe(0);
    expect(await planOps('adopted')).toEqual([]);
  });

  it('round-trips tokens and preferences with --include-tokens --include-preferences', async () => {
    const r = await run(['pull', 'cust-1', '-o', 'full', '--include-tokens', '--include-preferences']);
    expect(r.code).toBe(0);
    const text = readDir('full')['profiles-0001.yaml']!;
    expect(text).toContain('ExponentPushToken[secret-a]');
    expect(text).toContain('status: inactive');
    expect(text).toMatch(/all:\n\s+sms: opted-out/);
    expect(text).toMatch(/S1:\n\s+email: opted-out/);
    // S2's email is required: not the user's choice, so not written.
    expect(text).not.toMatch(/S2:\n\s+email/);
    expect(await planOps('full')).toEqual([]);
  });

  it('lists missing ids, exits 1, and still writes the others', async () => {
    writeFileSync(join(dir, 'ids.txt'), '# adopt these\ncust-2\n\nghost-1\ncust-1\n');
    const r = await run(['pull', '--ids-file', 'ids.txt', 'ghost-2', '-o', 'out']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not found: ghost-2\nnot found: ghost-1\n');
    expect(r.stdout).toBe('Pulled 2 profiles into out (1 file); 2 not found\n');
    expect(await planOps('out')).toEqual([]);
  });

  it('is deterministic: the same profiles give byte-identical files whatever the order asked', async () => {
    expect((await run(['pull', 'cust-1', 'cust-2', '0123', '-o', 'a', '--file-size', '2'])).code).toBe(0);
    expect((await run(['pull', '0123', 'cust-2', 'cust-1', 'cust-2', '-o', 'b', '--file-size', '2'])).code).toBe(0);
    expect(Object.keys(readDir('a'))).toEqual(['profiles-0001.yaml', 'profiles-0002.yaml']);
    expect(readDir('a')).toEqual(readDir('b'));
  });

  it('refuses a non-empty output directory unless --force, then replaces it whole', async () => {
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'keep.yaml'), 'mine');
    const r = await run(['pull', 'cust-1', '-o', 'taken']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('output directory');
    expect(r.stderr).toContain('pass --force');
    expect(readDir('taken')).toEqual({ 'keep.yaml': 'mine' });
    expect((await run(['pull', 'cust-1', '-o', 'taken', '--force'])).code).toBe(0);
    expect(Object.keys(readDir('taken'))).toEqual(['profiles-0001.yaml']);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary left behind
  });

  it('prints the YAML on stdout without -o, and a JSON summary with --json', async () => {
    const r = await run(['pull', 'cust-2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('- distinct_id: cust-2\n    name: "true"\n');
    expect(r.stderr).toBe('Pulled 1 profile\n');
    const j = await run(['pull', 'cust-2', 'nope', '-o', 'j', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'error', command: 'pull', error: { code: 'api.not_found' }, profiles: 1, files: ['j/profiles-0001.yaml'], not_found: ['nope'] });
  });

  it('rejects ids desired state cannot hold before any request', async () => {
    const r = await run(['pull', 'a/b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a distinct_id');
  });

  it('leaves out, and names, live values desired state refuses, and still round-trips', async () => {
    const body = { profiles: [{ distinct_id: 'odd-1', name: 'Odd', channel: { email: 'not-an-email', sms: '12' }, properties: { 'has space': 1, ok: 'x', long: 'y'.repeat(300) } }] };
    const res = await fetch(`${emu.adminUrl}/seed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const r = await run(['pull', 'odd-1', '-o', 'odd']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('left out odd-1 properties.has space: key is not one desired state can name');
    expect(r.stderr).toMatch(/left out odd-1 channels\.email: /);
    const text = readDir('odd')['profiles-0001.yaml']!;
    expect(text).not.toContain('not-an-email');
    expect(text).toContain('ok: x');
    expect(await planOps('odd')).toEqual([]);
  });

  it('fails without writing anything when Fyno refuses the key, and never shows the key', async () => {
    let stderr = '';
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env: { FYNO_API_KEY: 'wrong-secret-key', FYNO_WSID: emu.workspace, FYNO_BASE_URL: emu.baseUrl },
      stdoutIsTTY: false,
      stderrIsTTY: false,
      stdinIsTTY: false,
      cwd: dir,
    };
    expect(await main(['pull', 'cust-1', '-o', 'denied'], io)).toBe(1);
    expect(stderr).toContain('Fyno refused the credentials');
    expect(stderr).toContain('nothing was written');
    expect(stderr).not.toContain('wrong-secret-key');
    expect(readdirSync(dir)).toEqual([]);
  });
});
