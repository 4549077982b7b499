/**
 * The suppression list as code (issue #18), end to end: the CLI (`main`) against the HTTP
 * emulator. A file with adds and removes plans exactly those operations, apply converges and the
 * next plan is empty; removals need --allow-delete; a saved plan whose list changed since is
 * refused before any write; every request and answer validates against the published spec.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Exchange, RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, KEY, runCli, startSeeded, tempDir, WSID } from '../cli/harness.js';
import { checkExchange } from '../support/openapi.js';
import AjvModule from 'ajv';
import { readFileSync } from 'node:fs';
import { ROOT } from '../cli/harness.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const envelope = new Ajv({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(path.join(ROOT, 'schemas/cli-output.schema.json'), 'utf8')));

const SEED = {
  profiles: [{ distinct_id: 'cust-1001', name: 'Priya' }],
  suppressions: [
    { channel: 'sms', destination: '919812345678', description: 'DND' },
    { channel: 'whatsapp', destination: '+14155550123', description: 'test number' },
    { channel: 'email', destination: 'old@example.com', description: 'bounced [fyno-sync]' },
    { channel: 'email', destination: 'dash@example.com', description: 'added in the dashboard' },
    { channel: 'email', destination: 'gone@example.com', description: 'expired', expiry_ts: '2020-01-01T00:00:00.000Z' },
  ],
};

const DESIRED = `version: 1
profiles:
  - distinct_id: cust-1001
    name: Priya
suppressions:
  manage: exact
  entries:
    - { channel: sms, destination: "+91 98123 45678", description: DND }
    - { channel: email, distinct_id: cust-1001, description: legal hold }
    - { channel: email, destination: New@Example.COM }
    - { channel: whatsapp, destination: "+14155550123", state: absent }
`;

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => void (tmp = await tempDir('fyno-suppr-')));
afterAll(async () => tmp?.cleanup());

let emu: RunningEmulator;
let exchanges: Exchange[];
let cwd: string;
beforeEach(async () => {
  exchanges = [];
  emu = await startSeeded(SEED, { onExchange: (x) => void exchanges.push(x) });
  cwd = path.join(tmp.dir, `run-${Math.random().toString(36).slice(2)}`);
  await mkdir(path.join(cwd, 'desired'), { recursive: true });
  await writeFile(path.join(cwd, 'desired', 'list.yaml'), DESIRED);
});
afterEach(async () => emu?.close());

const cli = (argv: string[]) => runCli(argv, envFor(emu), { cwd });
const writes = () => exchanges.filter((x) => x.method !== 'GET');

async function liveList(): Promise<{ channel: string; destination?: string; distinct_id?: string; description?: string }[]> {
  const res = await fetch(`${emu.baseUrl}/${WSID}/suppressions`, { headers: { authorization: `Bearer ${KEY}` } });
  const list = (await res.json()) as { channel: string; destination?: string; distinct_id?: string; description?: string }[];
  return list.map(({ channel, destination, distinct_id, description }) => ({ channel, ...(destination ? { destination } : {}), ...(distinct_id ? { distinct_id } : {}), ...(description ? { description } : {}) }));
}

async function specProblems(): Promise<string[]> {
  const problems: string[] = [];
  for (const x of exchanges) {
    const r = await checkExchange({ method: x.method, path: x.path, headers: x.headers, body: x.requestBody, status: x.status, responseBody: x.responseBody });
    const errs = [...r.requestErrors, ...r.responseErrors];
    if (errs.length > 0) problems.push(`${x.method} ${x.path} ${x.status}: ${errs.join('; ')}`);
  }
  return problems;
}

describe('suppressions as code', () => {
  it('plans exactly the adds and removes, applies them after --allow-delete, and then plans nothing', async () => {
    const p = await cli(['plan', 'desired', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const plan = JSON.parse(p.stdout);
    expect(envelope(plan), JSON.stringify(envelope.errors)).toBe(true);
    const old = exchanges.find((x) => x.method === 'GET' && x.path.endsWith('/suppressions'))!.responseBody as { _id: string; destination?: string }[];
    const idOf = (d: string) => old.find((s) => s.destination === d)!._id;
    expect(plan.operations.map((o: Record<string, unknown>) => ({ type: o.type, entry: o.entry, ...(o._id ? { _id: o._id } : {}) }))).toEqual([
      { type: 'suppression.add', entry: { channel: 'email', distinct_id: 'cust-1001', description: 'legal hold [fyno-sync]' } },
      { type: 'suppression.add', entry: { channel: 'email', destination: 'New@example.com', description: '[fyno-sync]' } },
      { type: 'suppression.remove', _id: idOf('+14155550123'), entry: { channel: 'whatsapp', destination: '+14155550123', description: 'test number' } },
      { type: 'suppression.remove', _id: idOf('old@example.com'), entry: { channel: 'email', destination: 'old@example.com', description: 'bounced [fyno-sync]' } },
    ]);
    expect(plan.summary.suppressions).toEqual({ add: 2, remove: 2 });
    // The expired entry is not listed, so not part of the state read.
    expect(old.some((s) => s.destination === 'gone@example.com')).toBe(false);

    expect((await cli(['validate', 'desired'])).stdout).toBe('1 profile and 4 suppression list entries in 1 file are valid\n');
    const text = await cli(['plan', 'desired']);
    expect(text.stdout).toContain('Suppressions: 2 to add, 2 to remove.');
    expect(text.stdout).toContain('- whatsapp +14155550123 (test number): remove record');
    const md = await cli(['plan', 'desired', '--markdown']);
    expect(md.stdout).toContain('#### Suppression list (4 operations)');

    const refused = await cli(['apply', 'desired', '--yes', '--state-dir', 'st']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('removes 2 suppression list entries; pass --allow-delete');
    expect(writes()).toEqual([]);

    const applied = await cli(['apply', 'desired', '--yes', '--allow-delete', '--state-dir', 'st']);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(writes().map((x) => `${x.method} ${x.path.split('?')[0]}`)).toEqual([
      `POST /${WSID}/suppressions`,
      `POST /${WSID}/suppressions`,
      `DELETE /${WSID}/suppressions`,
      `DELETE /${WSID}/suppressions`,
    ]);
    expect(await liveList()).toEqual([
      { channel: 'sms', destination: '919812345678', description: 'DND' },
      { channel: 'email', destination: 'dash@example.com', description: 'added in the dashboard' },
      { channel: 'email', distinct_id: 'cust-1001', description: 'legal hold [fyno-sync]' },
      { channel: 'email', destination: 'New@example.com', description: '[fyno-sync]' },
    ]);
    const again = await cli(['plan', 'desired', '--detailed-exitcode']);
    expect(again.code, again.stdout).toBe(0);
    expect(await specProblems()).toEqual([]);
  });

  it('refuses a saved plan whose list changed since planning, before any write', async () => {
    const p = await cli(['plan', 'desired', '--out', 'plan.json']);
    expect(p.code, p.stderr).toBe(0);
    const saved = JSON.parse(await readFile(path.join(cwd, 'plan.json'), 'utf8'));
    // `show` reads it back through the plan schema (plan-file.ts).
    expect((await cli(['show', 'plan.json', '--json'])).code).toBe(0);
    expect(saved.suppression_list).toMatchObject({ read: 4, fingerprint: expect.stringMatching(/^sha256:/) });
    // Someone adds an entry in the dashboard.
    await fetch(`${emu.baseUrl}/${WSID}/suppressions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'sms', destination: '+14155550100', description: 'legal' }),
    });
    exchanges.length = 0;
    const r = await cli(['apply', '--plan', 'plan.json', '--allow-delete', '--state-dir', 'st', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'plan.stale' });
    expect(writes()).toEqual([]);
  });

  it('dry run lists the suppression requests after the profiles and sends none', async () => {
    const r = await cli(['apply', 'desired', '--dry-run', '--allow-delete', '--state-dir', 'st']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/\/suppressions/g)?.length).toBeGreaterThanOrEqual(4);
    const j = await cli(['apply', 'desired', '--dry-run', '--allow-delete', '--state-dir', 'st', '--json']);
    const doc = JSON.parse(j.stdout);
    expect(envelope(doc), JSON.stringify(envelope.errors)).toBe(true);
    expect(JSON.stringify(doc.would_send).match(/suppressions/g)?.length).toBeGreaterThanOrEqual(4);
    expect(writes()).toEqual([]);
  });

  it('pull --suppressions writes the seeded list as a file that plans empty', async () => {
    // Two records of one entry, and one the files cannot hold, besides the seeded ones.
    for (const body of [{ channel: 'sms', destination: '+919812345678', description: 'again' }, { channel: 'email', destination: 'ops@localhost' }]) {
      emu.engine.seed({ workspace: WSID, suppressions: [body] } as never);
    }
    const r = await cli(['pull', '--suppressions', '-o', 'adopted', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(envelope(out), JSON.stringify(envelope.errors)).toBe(true);
    expect(out).toMatchObject({ profiles: 0, files: ['adopted/suppressions.yaml'], reads: 1, suppressions: { entries: 4 } });
    expect(out.suppressions.omitted.map((o: { channel: string; reason: string }) => `${o.channel}: ${o.reason}`)).toEqual([
      'sms: a second record of an entry already written',
      'email: "ops@localhost" is not a valid email address',
    ]);
    const text = await readFile(path.join(cwd, 'adopted', 'suppressions.yaml'), 'utf8');
    expect(text).toContain('- channel: sms\n      destination: "+919812345678"\n      description: DND\n');
    expect(text).toContain('description: bounced\n');
    expect(text).not.toContain('[fyno-sync]');
    const plan = await cli(['plan', 'adopted', '--detailed-exitcode']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(await specProblems()).toEqual([]);
  });

  it('an apply interrupted among the suppression writes resumes and sends each write once', async () => {
    const ac = new AbortController();
    const timer = setInterval(() => {
      if (writes().length >= 1) ac.abort();
    }, 1);
    emu.faults.update({ latencyMs: 30 });
    let first;
    try {
      first = await runCli(['apply', 'desired', '--yes', '--allow-delete', '--state-dir', 'st'], envFor(emu), { cwd, signal: ac.signal });
    } finally {
      clearInterval(timer);
      emu.faults.update({ latencyMs: 0 });
    }
    expect(first.code, first.stderr).toBe(130);
    const before = writes().length;
    expect(before).toBeGreaterThanOrEqual(1);
    expect(before).toBeLessThan(4);
    const resumed = await cli(['apply', '--resume', '--state-dir', 'st']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    // Every planned write reached Fyno exactly once over both runs.
    expect(writes().map((x) => `${x.method} ${x.method === 'POST' ? JSON.stringify(x.requestBody) : x.path}`).sort()).toHaveLength(4);
    expect(new Set(writes().map((x) => `${x.method} ${JSON.stringify(x.requestBody)} ${x.path}`)).size).toBe(4);
    expect((await cli(['plan', 'desired', '--detailed-exitcode'])).code).toBe(0);
  });

  it('answers every response the spec declares for the suppression list, each valid against it', async () => {
    const call = async (method: string, p: string, body?: unknown, key = KEY) =>
      (await fetch(`${emu.baseUrl}/${WSID}/suppressions${p}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })).status;
    const seen = [
      await call('GET', ''),
      await call('GET', '', undefined, 'wrong-key'),
      await call('POST', '', { channel: 'sms', destination: '+14155550100', description: 'DND' }),
      await call('POST', '', { channel: 'email', distinct_id: 'cust-1001' }),
      await call('POST', '', { channel: 'sms', destination: '12' }),
      await call('POST', '', { channel: 'sms', destination: '+14155550100' }, 'wrong-key'),
      await call('DELETE', '?distinct_id=cust-1001'),
      await call('DELETE', '?_id=000000000000000000000000'),
      await call('DELETE', '?destination=%2B14155550100', undefined, 'wrong-key'),
    ];
    expect(seen).toEqual([200, 401, 200, 200, 400, 401, 200, 400, 401]);
    const problems: string[] = [];
    for (const x of exchanges) {
      const r = await checkExchange({ method: x.method, path: x.path, headers: x.headers, body: x.requestBody, status: x.status, responseBody: x.responseBody });
      // The 400 of an invalid destination is provoked by a body that is well-formed for the spec.
      if (r.requestErrors.length + r.responseErrors.length > 0) problems.push(`${x.method} ${x.path} ${x.status}: ${[...r.requestErrors, ...r.responseErrors].join('; ')}`);
    }
    expect(problems).toEqual([]);
    expect(new Set(exchanges.map((x) => `${x.method} ${x.status}`))).toEqual(new Set(['GET 200', 'GET 401', 'POST 200', 'POST 400', 'POST 401', 'DELETE 200', 'DELETE 400', 'DELETE 401']));
  });

  it('a plan narrowed to some profiles leaves the list out, reads it not, and says so', async () => {
    const r = await cli(['plan', 'desired', '--target', 'cust-*', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'ok', operations: [] });
    expect(JSON.parse(r.stdout).suppression_list).toBeUndefined();
    expect(r.stderr).toContain('warning: the files manage the suppression list, but a plan narrowed by --target');
    expect(exchanges.some((x) => x.path.includes('/suppressions'))).toBe(false);
  });

  it('re-describes an entry Fyno holds in another format without making a second record', async () => {
    await writeFile(path.join(cwd, 'desired', 'list.yaml'), DESIRED.replace('description: DND }', 'description: legal hold }'));
    const applied = await cli(['apply', 'desired', '--yes', '--allow-delete', '--state-dir', 'st']);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const sms = (await liveList()).filter((s) => s.channel === 'sms');
    expect(sms).toEqual([{ channel: 'sms', destination: '919812345678', description: 'legal hold [fyno-sync]' }]);
    const again = await cli(['plan', 'desired', '--detailed-exitcode']);
    expect(again.code, again.stdout).toBe(0);
  });
});
