/**
 * `fyno-sync show plan.json` renders a saved plan again, as `plan` printed it (issue #16), and
 * `plan --out F` ends with the command that applies exactly that plan.
 */
import { readFile, writeFile } from 'node:fs/promises';
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

  // Issue #17: `plan` writes its operations ahead (plan file, text output, --json) and prints
  // them from there. A plan of megabytes, in many scripts, must come out byte for byte as the
  // plan rendered whole does (`show` renders the saved plan whole; no tokens, so nothing differs).
  it('a plan of thousands of profiles prints, as text and as --json, exactly what show prints of it', async () => {
    // Mostly multi-byte text: the 64 KiB pieces it is copied in end inside a character.
    const names = ['Zoë Ångström', 'Дмитрий Иванов', '李小龍', 'नमस्ते दुनिया', '😀 Emoji Person', 'José Ñúñez'].map((n) => `${n} ${'李小龍😀ж'.repeat(6)}`);
    const rows = Array.from({ length: 6000 }, (_, i) =>
      [
        `  - distinct_id: big-${String(i).padStart(4, '0')}`,
        `    name: "${names[i % names.length]} ${i}"`,
        `    channels: { email: "big.${i}@example.com" }`,
        `    properties: { note: "${names[(i + 1) % names.length]}", seats: ${i} }`,
      ].join('\n'),
    );
    await writeFile(path.join(tmp.dir, 'big.yaml'), `version: 1\nprofiles:\n${rows.join('\n')}\n`);
    const text = await run(['plan', 'big.yaml', '--out', 'big.json']);
    expect(text.code).toBe(0);
    expect(text.stdout.length).toBeGreaterThan(1 << 20);
    const shown = await run(['show', 'big.json']);
    expect(text.stdout).toBe(`${shown.stdout}\nSaved the plan to big.json. To apply exactly these operations, run:\n  fyno-sync apply --plan big.json\n`);
    for (const out of [[], ['--out', 'big2.json']]) {
      const json = await run(['plan', 'big.yaml', '--json', ...out]);
      expect(json.code).toBe(0);
      const shownJson = await run(['show', 'big.json', '--json']);
      expect(json.stdout.replace(/"created_at": "[^"]+"/, '')).toBe(shownJson.stdout.replace('"command": "show"', '"command": "plan"').replace(/"created_at": "[^"]+"/, ''));
    }
    expect(await readFile(path.join(tmp.dir, 'big2.json'), 'utf8')).toBe((await readFile(path.join(tmp.dir, 'big.json'), 'utf8')).replace(/"created_at": "[^"]+"/, (await readFile(path.join(tmp.dir, 'big2.json'), 'utf8')).match(/"created_at": "[^"]+"/)![0]));
  });

  it('names a file that is not a plan, on one line', async () => {
    const r = await run(['show', 'missing.json']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot read plan missing.json: no such file\n' });
  });
});
