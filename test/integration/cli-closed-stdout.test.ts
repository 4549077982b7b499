/**
 * A closed stdout (`fyno-sync plan --json | head -c 10`) ends the command quietly, like other
 * CLIs: no `write EPIPE` stack trace, no "Internal error" (issue #16). The built binary is run
 * with the read end of its stdout closed before it writes anything, so every write it makes
 * meets EPIPE — the worst case of `| head`, and a deterministic one.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { BIN, envFor, EXAMPLE, ROOT, startSeeded } from '../cli/harness.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startSeeded(JSON.parse(await readFile(path.join(EXAMPLE, 'emulator-seed.json'), 'utf8')));
});
afterAll(async () => emu?.close());

function runWithClosedStdout(argv: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...envFor(emu) } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('closed stdout', () => {
  it.each([
    [['plan', 'examples/basic', '--json']],
    [['plan', 'examples/basic', '--markdown']],
    [['plan', 'examples/basic', '--detailed-exitcode']],
    [['validate', 'examples/basic', '--json']],
    [['--help']],
  ])('%j ends quietly with its own exit code', async (argv) => {
    const r = await runWithClosedStdout(argv);
    expect(r.stderr).not.toMatch(/EPIPE|Error|at .*\.js:\d+/);
    expect(r.signal).toBeNull();
    // What the command would have exited with had its output been read.
    expect(r.code).toBe(argv.includes('--detailed-exitcode') ? 2 : 0);
  });
});
