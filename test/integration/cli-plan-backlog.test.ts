/**
 * `plan` writes each profile's operations ahead, in plan order (issue #17). When the read of an
 * early profile is slow (a timeout and its retry), every later profile is read meanwhile and
 * their operations are handed over at once when it completes: more text than a scratch file lets
 * wait for its disk. That text exists nowhere else, so it must not be dropped: the plan, its
 * file, its text and its --json are those of a run without the slow read.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, runCli, startSeeded, tempDir } from '../cli/harness.js';

const PROFILES = 800;
const PROPERTIES = 40;

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
let file: string;
beforeAll(async () => {
  emu = await startSeeded();
  tmp = await tempDir('fyno-backlog-');
  // ~9 million characters of operation text (more than a spool lets wait: MAX_QUEUED), none of
  // it a secret.
  let yaml = 'version: 1\nprofiles:\n';
  for (let i = 0; i < PROFILES; i += 1) {
    yaml += `  - distinct_id: w-${i}\n    properties:\n`;
    for (let k = 0; k < PROPERTIES; k += 1) yaml += `      prop_${k}: "${String(k).padEnd(250, 'v')}"\n`;
  }
  file = path.join(tmp.dir, 'wide.yaml');
  await writeFile(file, yaml);
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

/** Runs `plan` with the first read held for a second and then dropped (the client retries it). */
async function planWithSlowFirstRead(argv: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
  emu.faults.update({ timeoutHoldMs: 1000 });
  emu.faults.failNext(1, 'timeout');
  try {
    return await runCli(['plan', file, ...argv], envFor(emu));
  } finally {
    emu.faults.update({ timeoutHoldMs: 0 });
  }
}

const noTime = (s: string): string => s.replace(/"created_at": "[^"]+"/, '"created_at": "T"');

describe('plan whose first read is slow (a backlog of operations handed over at once)', () => {
  it('prints the same text as without the slow read', async () => {
    const plain = await runCli(['plan', file], envFor(emu));
    expect(plain.code).toBe(0);
    const slow = await planWithSlowFirstRead([]);
    expect(slow.stderr).not.toContain('Error');
    expect(slow.code).toBe(0);
    expect(slow.stdout).toBe(plain.stdout);
    expect(slow.stdout).toContain(`${PROFILES * (PROPERTIES + 1)} operation(s) on ${PROFILES} profile(s).`);
  });

  it('saves the same plan file (--out) and prints the same --json', async () => {
    const plainOut = path.join(tmp.dir, 'plain.json');
    const plain = await runCli(['plan', file, '--json', '--out', plainOut], envFor(emu));
    expect(plain.code).toBe(0);
    const slowOut = path.join(tmp.dir, 'slow.json');
    const slow = await planWithSlowFirstRead(['--json', '--out', slowOut]);
    expect(slow.stdout).not.toContain('"status": "error"');
    expect(slow.code).toBe(0);
    expect(noTime(slow.stdout)).toBe(noTime(plain.stdout));
    expect(noTime(await readFile(slowOut, 'utf8'))).toBe(noTime(await readFile(plainOut, 'utf8')));
    const text = await planWithSlowFirstRead(['--out', slowOut]);
    expect(text.code).toBe(0);
    expect(noTime(await readFile(slowOut, 'utf8'))).toBe(noTime(await readFile(plainOut, 'utf8')));
  });
});
