/**
 * Round trips for issue #14 ("nothing silently lost between the file and Fyno"): a desired-state
 * file is applied through the real CLI to the HTTP emulator, planned again (nothing left), pulled
 * back, and the pulled file is loaded and compared field by field with the original.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { loadDesired } from '../../src/desired/load.js';
import type { DesiredProfile } from '../../src/desired/types.js';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, runCli, stats, type CliRun } from '../cli/harness.js';

/** What a file says of a profile, in the loader's normalised form (only the fields it names). */
export function managedFields(p: DesiredProfile): Record<string, unknown> {
  const out: Record<string, unknown> = { distinct_id: p.distinct_id };
  if (p.name !== undefined) out.name = p.name;
  if (p.timezone !== undefined) out.timezone = p.timezone;
  for (const [k, v] of Object.entries(p.channels ?? {})) if (typeof v === 'string') out[`channels.${k}`] = v;
  for (const [k, v] of Object.entries(p.properties ?? {})) if (v.op === 'set') out[`properties.${k}`] = v.value;
  for (const [t, chans] of Object.entries(p.preferences ?? {})) for (const [c, s] of Object.entries(chans)) out[`preferences.${t}.${c}`] = s;
  return out;
}

export async function loadProfiles(paths: string[], cwd: string): Promise<Map<string, DesiredProfile>> {
  const r = await loadDesired(paths, { env: {}, cwd, workers: 0 });
  expect(r.issues).toEqual([]);
  return new Map(r.state.profiles.map((p) => [p.distinct_id, p]));
}

/**
 * apply → plan (no changes) → pull → the pulled file names the same values. `name` is the
 * file's name in `dir`. Returns the runs for further checks.
 */
export async function roundTrip(emu: RunningEmulator, dir: string, name: string, text: string, o: { preferences?: boolean } = {}): Promise<{ apply: CliRun; pull: CliRun }> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  const env = envFor(emu);
  const before = await loadProfiles([file], dir);
  const apply = await runCli(['apply', file, '--yes', '--state-dir', path.join(dir, `${name}.state`)], env, { cwd: dir });
  expect(apply.stderr + apply.stdout, 'apply').not.toMatch(/\n\s+at /);
  expect(apply.code, `apply: ${apply.stderr}`).toBe(0);
  const again = await runCli(['plan', file, '--detailed-exitcode'], env, { cwd: dir });
  expect(again.code, `plan after apply: ${again.stdout}${again.stderr}`).toBe(0);
  const out = path.join(dir, `${name}.pulled`);
  await mkdir(path.dirname(out), { recursive: true });
  const pull = await runCli(['pull', ...before.keys(), '-o', out, ...(o.preferences ? ['--include-preferences'] : [])], env, { cwd: dir });
  expect(pull.code, `pull: ${pull.stderr}`).toBe(0);
  const files = (await readdir(out)).map((f) => path.join(out, f));
  const after = await loadProfiles(files, dir);
  for (const [id, p] of before) {
    const pulled = after.get(id);
    expect(pulled, `pulled ${id}`).toBeDefined();
    const want = managedFields(p);
    const got = managedFields(pulled!);
    for (const k of Object.keys(want)) expect([k, got[k]]).toEqual([k, want[k]]);
  }
  return { apply, pull };
}

/** Requests the emulator recorded since the last stats reset. */
export async function requestCount(emu: RunningEmulator): Promise<number> {
  return (await stats(emu)).total;
}
