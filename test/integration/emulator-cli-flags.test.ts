/**
 * `fyno-sync emulator` flag names (issue #15): `--seed-file FILE` loads the same JSON the README
 * posts to /_emulator/seed; `--fault-seed N` seeds fault injection; the old `--seed` is refused
 * with a pointer to both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runMain } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_SEED = path.join(ROOT, 'examples/basic/emulator-seed.json');
const dir = mkdtempSync(path.join(os.tmpdir(), 'fyno-emu-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Start the CLI emulator in-process; resolves with its base URL and a stop function. */
async function startCli(args: string[]): Promise<{ baseUrl: string; stop: () => Promise<number>; stderr: () => string }> {
  const ac = new AbortController();
  let out = '';
  let err = '';
  let gotUrl: (u: string) => void = () => {};
  const url = new Promise<string>((r) => (gotUrl = r));
  const done = main(['emulator', '--port', '0', ...args], {
    stdout: { write: (s: string) => { out += s; if (out.includes('\n')) gotUrl(out.split('\n')[0]!); } },
    stderr: { write: (s: string) => void (err += s) },
    env: {},
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    cwd: ROOT,
    signal: ac.signal,
  });
  const baseUrl = await Promise.race([url, done.then((code) => Promise.reject(new Error(`emulator exited ${code}: ${err}`)))]);
  return { baseUrl, stop: () => (ac.abort(), done), stderr: () => err };
}

describe('emulator --seed-file and --fault-seed', () => {
  it('--seed-file loads the example seed (the README\'s curl body) before the first request', async () => {
    const emu = await startCli(['--seed-file', EXAMPLE_SEED]);
    try {
      const res = await fetch(`${emu.baseUrl}/FYEMULATOR/live/profiles/cust-1002`, { headers: { authorization: 'Bearer emulator-key' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { distinct_id: string }).distinct_id).toBe('cust-1002');
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  });

  it('refuses a seed file that is missing, not JSON, or has a bad item, naming the file', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"profiles": [{"name": "no id"}]}');
    const notJson = path.join(dir, 'nope.json');
    writeFileSync(notJson, 'profiles:\n  - x');
    for (const [file, msg] of [
      [path.join(dir, 'missing.json'), 'ENOENT'],
      [notJson, 'not JSON'],
      [bad, 'profiles[0]: distinct_id is required!'],
    ] as const) {
      const r = await runMain(['emulator', '--port', '0', '--seed-file', file], { cwd: ROOT });
      expect(r.code, file).toBe(1);
      expect(r.stderr).toContain(`seed file ${file}`);
      expect(r.stderr).toContain(msg);
      expect(r.stdout).toBe('');
    }
  });

  it('--fault-seed takes a whole number; the old --seed is refused with a pointer to both new flags', async () => {
    const emu = await startCli(['--fault-seed', '7', '--fail-rate', '0']);
    expect(await emu.stop()).toBe(0);
    const bad = await runMain(['emulator', '--port', '0', '--fault-seed', 'x'], { cwd: ROOT });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--fault-seed must be a whole number, got 'x'");
    const old = await runMain(['emulator', '--port', '0', '--seed', 'seed.json'], { cwd: ROOT });
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('--seed was renamed: use --seed-file FILE');
    expect(old.stderr).toContain('--fault-seed N');
  });
});
