/**
 * The package a team installs works on its own (issue #16): scripts/check-pack.sh packs an
 * unbuilt copy of the repository (prepack builds dist/), installs the tarball into an empty
 * directory with --omit=dev, and runs --help, validate, demo, the emulator, plan --out, show and
 * pull from there, then loads the schema a pulled file's header names with Ajv and validates the
 * file. Needs the npm registry (or npm's cache) for the runtime dependencies.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/harness.js';

describe('the packed tarball', () => {
  it('installed with --omit=dev, runs every command a new user tries, and its schema headers resolve', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/check-pack.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/pulled\/profiles-0001\.yaml: valid against \.\.\/node_modules\/fyno-sync\/schemas\/desired-state\.schema\.json/);
    expect(r.stdout).toMatch(/^package OK: fyno-sync-\d+\.\d+\.\d+\.tgz$/m);
  }, 180_000);
});
