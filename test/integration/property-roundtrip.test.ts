/**
 * Issue #14, "Done when": any JSON-representable property map that validation accepts
 * round-trips exactly through plan → apply → emulator → pull (fast-check, the real CLI, HTTP).
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesired } from '../../src/desired/load.js';
import type { RunningEmulator } from '../../src/fyno/emulator/index.js';
import { envFor, runCli, startSeeded, tempDir } from '../cli/harness.js';

const key = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,24}$/).filter((k) => !k.startsWith('fyno_sync') && k !== '__proto__'),
  fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'),
);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', 'yes', 'null', '~', '0123', '1e3', '${HOME}', '$${X}', 'a: b #c', '2024-03-01', '2024-03-01T10:00:00Z', '2020-10-01T18:30:00.000+05:30', '2024-02-30', 'x'.repeat(255), 'x'.repeat(256)),
);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.1, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e21, 5e-324, Number.MAX_VALUE, -Number.MAX_SAFE_INTEGER),
);
const value = fc.oneof(text, number, fc.boolean(), fc.array(fc.oneof(text, number), { maxLength: 5 }));
const propertyMap = fc.dictionary(key, value, { minKeys: 1, maxKeys: 8 });

/** A desired-state file: block YAML whose keys and values are written as JSON (valid YAML 1.2). */
function fileOf(profiles: Record<string, unknown>[]): string {
  let out = 'version: 1\nprofiles:\n';
  profiles.forEach((props, i) => {
    out += `  - distinct_id: pt-${i}\n    properties:\n`;
    for (const [k, v] of Object.entries(props)) out += `      ${JSON.stringify(k)}: ${JSON.stringify(v)}\n`;
  });
  return out;
}

let emu: RunningEmulator;
let tmp: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  emu = await startSeeded();
  tmp = await tempDir('fyno-props-');
});
afterAll(async () => {
  await emu?.close();
  await tmp?.cleanup();
});

describe('property maps', () => {
  it('every map validation accepts comes back exactly from Fyno', async () => {
    let accepted = 0;
    let run = 0;
    await fc.assert(
      // One profile per run: Fyno types a property per workspace, so two profiles giving one key
      // values of different types would see the second ignored (a real outcome, not a round trip).
      fc.asyncProperty(propertyMap.map((m) => [m]), async (maps) => {
        run += 1;
        const dir = path.join(tmp.dir, `run-${run}`);
        const file = `${dir}.yaml`;
        await writeFile(file, fileOf(maps));
        const loaded = await loadDesired([file], { env: {}, cwd: tmp.dir, workers: 0 });
        if (loaded.issues.length > 0) return; // refused before any request: nothing to round-trip
        accepted += 1;
        // Property types are per workspace in Fyno: each run starts from an empty one.
        expect((await fetch(`${emu.adminUrl}/reset`, { method: 'POST' })).status).toBe(200);
        const env = envFor(emu);
        const apply = await runCli(['apply', file, '--yes', '--state-dir', `${dir}.state`], env, { cwd: tmp.dir });
        expect(apply.code, apply.stderr).toBe(0);
        const plan = await runCli(['plan', file, '--detailed-exitcode'], env, { cwd: tmp.dir });
        expect(plan.code, plan.stdout).toBe(0);
        const pull = await runCli(['pull', ...maps.map((_, i) => `pt-${i}`), '-o', dir], env, { cwd: tmp.dir });
        expect(pull.code, pull.stderr).toBe(0);
        expect(pull.stderr).not.toContain('left out');
        const back = await loadDesired((await readdir(dir)).map((f) => path.join(dir, f)), { env: {}, cwd: tmp.dir, workers: 0 });
        expect(back.issues).toEqual([]);
        // An empty list is how a file says "no values", which an unset property already holds: it
        // is never written, so it comes back as no property (docs/planner.md, list properties).
        const nonEmpty = (props: object | undefined) => Object.fromEntries(Object.entries(props ?? {}).filter(([, v]) => !(Array.isArray(v.value) && v.value.length === 0)));
        const want = new Map(loaded.state.profiles.map((p) => [p.distinct_id, nonEmpty(p.properties)]));
        for (const p of back.state.profiles) {
          // Exactly: the same keys, and each value as the file wrote it (numbers as the same double).
          expect({ id: p.distinct_id, props: { ...p.properties } }).toEqual({ id: p.distinct_id, props: { ...want.get(p.distinct_id) } });
        }
      }),
      { numRuns: 100 },
    );
    // The generators must not be so hostile that nothing is ever applied.
    expect(accepted).toBeGreaterThanOrEqual(10);
  }, 120_000);
});
