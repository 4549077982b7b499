/**
 * `fyno-sync show plan.json` renders a saved plan again, as `plan` printed it (issue #16), and
 * `plan --out F` ends with the command that applies exactly that plan.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, EXAMPLE, startSeeded, stats, tempDir } from '../cli/harness.js';
import { runMain } from '../support/cli.js';

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  emu = await startSeeded(JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')));
  tmp = await tempDir('fyno-show-');
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});
const run = (argv: string[]) => runMain(argv, { cwd: tmp.dir, env: envFor(emu) });

describe('plan --out, then show', () => {
  it('plan --out ends with the apply command; show prints the same text and Markdown, reading nothing live', async () => {
    const planned = await run(['plan', EXAMPLE, '--out', 'plan.json']);
    expect(planned.code).toBe(0);
    // examples/basic deletes a profile: the command carries the flag apply needs for it.
    expect(planned.stdout.endsWith('\nSaved the plan to plan.json. To apply exactly these operations, run:\n  fyno-sync apply --plan plan.json --allow-delete\n')).toBe(true);
    const md = await run(['plan', EXAMPLE, '--out', 'plan2.json', '--markdown']);
    expect(md.stderr).toContain('fyno-sync apply --plan plan2.json --allow-delete');

    const before = (await stats(emu)).total;
    const shown = await run(['show', 'plan.json']);
    expect(shown.code).toBe(0);
    // The saved plan holds tokens as hashes only: show masks them entirely, plan shows their last characters.
    const tokens = (t: string) => t.replace(/token (…\S+|••••)/g, 'token ***');
    expect(tokens(planned.stdout).startsWith(tokens(shown.stdout))).toBe(true);
    expect(shown.stdout.split('\n').length).toBeGreaterThan(10);
    expect(shown.stdout).toMatch(/^Plan: \d+ to create, \d+ to update, \d+ to merge, \d+ to delete/);
    const shownMd = await run(['show', 'plan2.json', '--markdown']);
    expect(tokens(shownMd.stdout)).toBe(tokens(md.stdout));
    expect((await stats(emu)).total).toBe(before);
  });

  it('names a file that is not a plan, on one line', async () => {
    const r = await run(['show', 'missing.json']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot read plan missing.json: no such file\n' });
  });
});
