/**
 * `plan` keeps the plan's JSON Patch, its text and its --json operations in scratch files in the
 * temporary directory (issue #17). A TMPDIR that cannot hold them is the user's setup: one
 * clear line naming it, exit 1, no read sent, no internal error.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { EXAMPLE, envFor, spawnCli, startSeeded, stats } from '../cli/harness.js';

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await startSeeded();
  dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-tmpdir-'));
});
afterAll(async () => {
  await emu?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('plan with a TMPDIR that does not exist', () => {
  for (const flags of [[], ['--json'], ['--out', 'plan.json']]) {
    it(`says so in one line and reads nothing (${flags.join(' ') || 'text'})`, async () => {
      const missing = path.join(dir, 'no-such-dir');
      const before = await stats(emu);
      const run = spawnCli(['plan', EXAMPLE, ...flags], envFor(emu, { TMPDIR: missing }), dir);
      const { code } = await run.exit;
      expect(code).toBe(1);
      const said = `cannot keep the plan in temporary files in ${missing} (no such directory); set TMPDIR to a writable directory with space`;
      if (flags.includes('--json')) {
        expect(JSON.parse(run.stdout())).toMatchObject({ status: 'error', error: { code: 'config.invalid', message: said } });
      } else {
        expect(run.stderr()).toBe(`Error: ${said}\n`);
        expect(run.stdout()).toBe('');
      }
      expect((await stats(emu)).total).toBe(before.total);
      expect(await readdir(dir)).toEqual([]);
    });
  }
});
