/**
 * One `--json` contract for every command (issue #16, docs/json.md): stdout is exactly one JSON
 * document, success or error, that validates against schemas/cli-output.schema.json (compiled by
 * Ajv in strict mode); `status` is ok | changes | error, `error` is there exactly when the status
 * is error and then the exit code is 1; keys are snake_case; nothing else reaches stdout.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import AjvModule from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, EXAMPLE, ROOT, startSeeded, stats, tempDir, waitFor } from '../cli/harness.js';
import { runMain, type CliRun } from '../support/cli.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/cli-output.schema.json'), 'utf8')) as object;
const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
let seed: unknown;
beforeAll(async () => {
  seed = JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8'));
  emu = await startSeeded(seed);
  tmp = await tempDir('fyno-json-');
  await writeFile(path.join(tmp.dir, 'bad.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n    status: on\n');
  // A live profile with nothing managed: plans to no operation.
  await writeFile(path.join(tmp.dir, 'same.yaml'), 'version: 1\nprofiles:\n  - distinct_id: cust-1002\n');
  await mkdir(path.join(tmp.dir, 'plans'));
  await mkdir(path.join(tmp.dir, 'baddir'));
  await writeFile(path.join(tmp.dir, 'baddir/bad.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n    status: on\n');
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

async function run(argv: string[], o: { env?: Record<string, string | undefined>; signal?: AbortSignal } = {}): Promise<CliRun> {
  return runMain(argv, { cwd: tmp.dir, env: o.env ?? envFor(emu), ...(o.signal ? { signal: o.signal } : {}) });
}

/** The one document on stdout, checked against the schema and the exit code. */
function envelope(r: CliRun, expected: { status: 'ok' | 'changes' | 'error'; command?: string; code?: string }): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  expect(validate(doc), JSON.stringify(validate.errors, null, 2)).toBe(true);
  expect(doc.status).toBe(expected.status);
  expect(doc.command).toBe(expected.command);
  if (expected.code) expect((doc.error as { code: string }).code).toBe(expected.code);
  expect(r.code).toBe(expected.status === 'error' ? 1 : 0);
  return doc;
}

const abs = (p: string) => path.join(ROOT, p);

describe('every command prints one documented JSON envelope', () => {
  it.each<[string, string[], { status: 'ok' | 'changes' | 'error'; command?: string; code?: string }]>([
    ['validate: valid', ['validate', abs('examples/basic'), '--json'], { status: 'ok', command: 'validate' }],
    ['validate: invalid', ['validate', 'bad.yaml', '--json'], { status: 'error', command: 'validate', code: 'desired.invalid' }],
    ['validate: unknown flag', ['validate', 'bad.yaml', '--json', '--bogus'], { status: 'error', command: 'validate', code: 'config.invalid' }],
    ['plan: changes', ['plan', abs('examples/basic'), '--json'], { status: 'changes', command: 'plan' }],
    ['plan: no changes', ['plan', 'same.yaml', '--json'], { status: 'ok', command: 'plan' }],
    ['plan: invalid desired state', ['plan', 'bad.yaml', '--json'], { status: 'error', command: 'plan', code: 'desired.invalid' }],
    ['plan: unknown flag', ['plan', abs('examples/basic'), '--json', '--bogus'], { status: 'error', command: 'plan', code: 'config.invalid' }],
    ['apply: no mode', ['apply', '--json'], { status: 'error', command: 'apply', code: 'config.invalid' }],
    ['apply: missing plan file', ['apply', '--plan', 'nope.json', '--json'], { status: 'error', command: 'apply', code: 'plan.invalid' }],
    ['show: missing file', ['show', 'nope.json', '--json'], { status: 'error', command: 'show', code: 'plan.invalid' }],
    ['pull: written', ['pull', 'cust-1002', '-o', 'pulled-ok', '--json'], { status: 'ok', command: 'pull' }],
    ['pull: not found', ['pull', 'cust-1002', 'nobody', '-o', 'pulled-missing', '--json'], { status: 'error', command: 'pull', code: 'api.not_found' }],
    ['pull: no directory', ['pull', 'cust-1002', '--json'], { status: 'error', command: 'pull', code: 'config.invalid' }],
    ['import: with rejects allowed', ['import', abs('examples/crm-migration/contacts.csv'), '-m', abs('examples/crm-migration/mapping.yaml'), '-o', 'imported-ok', '--rejects', 'r1.csv', '--allow-rejects', '--json'], { status: 'ok', command: 'import' }],
    ['import: missing mapping', ['import', abs('examples/crm-migration/contacts.csv'), '-m', 'nope.yaml', '--json'], { status: 'error', command: 'import', code: 'import.invalid' }],
    ['emulator: bad port', ['emulator', '--port', 'x', '--json'], { status: 'error', command: 'emulator', code: 'config.invalid' }],
    ['demo: an example that does not validate', ['demo', 'baddir', '--json', '--latency', '0'], { status: 'error', command: 'demo', code: 'demo.failed' }],
    ['no command', ['--bogus', '--json'], { status: 'error' }],
  ])('%s', async (_name, argv, expected) => {
    const r = await run(argv);
    envelope(r, expected);
    expect(r.stderr).not.toMatch(/unknown option|error: /);
  });

  it('apply: refusal, dry run, success, no changes and a discarded journal, each in the envelope', async () => {
    const own = await startSeeded(seed);
    try {
      const env = envFor(own);
      const basic = abs('examples/basic');
      const st = ['--state-dir', 'st-json', '--json'];
      envelope(await run(['apply', basic, '--dry-run', ...st], { env }), { status: 'error', command: 'apply', code: 'apply.delete_refused' });
      const dry = envelope(await run(['apply', basic, '--dry-run', '--allow-delete', ...st], { env }), { status: 'ok', command: 'apply' });
      expect((dry.would_send as unknown[]).length).toBeGreaterThan(0);
      const done = envelope(await run(['apply', basic, '--yes', '--allow-delete', ...st], { env }), { status: 'ok', command: 'apply' });
      expect((done.summary as { operations: { total: number } }).operations.total).toBe(41);
      const again = envelope(await run(['apply', basic, '--yes', ...st], { env }), { status: 'ok', command: 'apply' });
      expect(again.changes).toBe(false);
      envelope(await run(['apply', '--discard-journal', ...st], { env }), { status: 'ok', command: 'apply' });
    } finally {
      await own.close();
    }
  });

  it.each([['plan'], ['apply']])('%s: Ctrl-C while reading live state is one document naming the command, exit 130', async (cmd) => {
    const own = await startSeeded(seed, { latencyMs: 300 });
    try {
      const ac = new AbortController();
      const args = cmd === 'plan' ? ['plan', abs('examples/basic'), '--json'] : ['apply', abs('examples/basic'), '--yes', '--allow-delete', '--state-dir', 'st-int', '--json'];
      const running = run(args, { env: envFor(own), signal: ac.signal });
      await waitFor(async () => (await stats(own)).total >= 1);
      ac.abort();
      const r = await running;
      expect(r.code, r.stderr).toBe(130);
      const doc = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
      expect(doc).toMatchObject({ status: 'error', command: cmd, error: { code: 'apply.interrupted' } });
    } finally {
      await own.close();
    }
  });

  it('import: rows rejected is an error, with the counts', async () => {
    const r = await run(['import', abs('examples/crm-migration/contacts.csv'), '-m', abs('examples/crm-migration/mapping.yaml'), '-o', 'imported-rejects', '--rejects', 'r2.csv', '--json']);
    if ((JSON.parse(r.stdout) as { rejected: number }).rejected === 0) return void envelope(r, { status: 'ok', command: 'import' });
    const doc = envelope(r, { status: 'error', command: 'import', code: 'import.rejected' });
    expect(doc.rejected).toBeGreaterThan(0);
  });

  it('plan: a 401 carries the HTTP status as error.http_status, not a second `status`', async () => {
    const doc = envelope(await run(['plan', 'same.yaml', '--json'], { env: envFor(emu, { FYNO_API_KEY: 'wrong-key' }) }), { status: 'error', command: 'plan', code: 'api.unauthorized' });
    expect((doc.error as Record<string, unknown>).http_status).toBe(401);
    expect(Object.keys(doc.error as object)).not.toContain('status');
  });

  it('show: the saved plan, in the same envelope and document as plan --json', async () => {
    const planned = await run(['plan', abs('examples/basic'), '--out', 'plans/p.json', '--json']);
    const fromPlan = envelope(planned, { status: 'changes', command: 'plan' });
    const shown = envelope(await run(['show', 'plans/p.json', '--json']), { status: 'changes', command: 'show' });
    expect({ ...shown, command: 'plan' }).toEqual(fromPlan);
  });

  it('emulator: one line, the document, once it is ready', async () => {
    const r = await run(['emulator', '--port', '0', '--json'], { signal: AbortSignal.abort() });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const doc = envelope(r, { status: 'ok', command: 'emulator' });
    expect(doc.base_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('demo: the steps it ran and their exit codes', async () => {
    const doc = envelope(await run(['demo', '--json', '--latency', '0']), { status: 'ok', command: 'demo' });
    expect((doc.steps as { command: string; exit_code: number }[]).map((s) => s.command.split(' ')[1])).toEqual(['validate', 'plan', 'apply', 'plan']);
  });

  it('the schema refuses what the contract forbids', () => {
    expect(validate({ status: 'error', command: 'plan' })).toBe(false); // error without `error`
    expect(validate({ status: 'ok', command: 'validate', profiles: 1, files: 1, error: { code: 'x.y', message: 'm' } })).toBe(false);
    expect(validate({ status: 'ok', command: 'validate', profiles: 1, files: 1, notConverged: 0 })).toBe(false); // camelCase
    expect(validate({ status: 'failed', command: 'apply' })).toBe(false);
    expect(validate({ status: 'error', command: 'apply', error: { code: 'api.unauthorized', message: 'm', status: 401 } })).toBe(true);
    // apply's summary: counts in snake_case, operations that add up, the requests sent.
    const operations = { total: 3, succeeded: 3, failed: 0, skipped: 0, skipped_by_reason: {}, replanned: { succeeded: 0, failed: 0, skipped: 0 } };
    const summary = { operations, profiles: { created: 1, updated: 2, merged: 0, deleted: 0 }, not_converged: 0, divergences: [], failures: [], drifted: [], interrupted: false };
    expect(validate({ status: 'ok', command: 'apply', summary, requests: { total: 9, by_route: {} } })).toBe(true);
    expect(validate({ status: 'ok', command: 'apply', summary: { ...summary, notConverged: 0 }, requests: { total: 9, by_route: {} } })).toBe(false);
  });
});

describe('a base URL without /v1', () => {
  it('gets a hint naming the URL to use instead of a bare 404, for plan and pull; nothing is planned', async () => {
    const base = emu.baseUrl.replace(/\/v1$/, '');
    const env = envFor(emu, { FYNO_BASE_URL: base });
    const hint = `the base URL ${base} does not end in /v1; Fyno's API is at ${base}/v1`;
    const plan = await run(['plan', 'same.yaml'], { env });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain(hint);
    const pull = await run(['pull', 'cust-1002', '--json', '-o', 'pulled-base'], { env });
    expect(envelope(pull, { status: 'error', command: 'pull', code: 'api.not_found' }).error).toMatchObject({ message: expect.stringContaining(hint) });
  });
});
