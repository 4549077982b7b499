/**
 * Options the README lists as common are accepted by every command (issue #16: `--no-color` was
 * "unknown option" on validate, pull, import, demo and emulator).
 */
import { describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';
import { ROOT } from './harness.js';

/** Each command with arguments that get past parsing without a network or a long run. */
const RUNS: [string, string[]][] = [
  ['validate', ['validate', 'examples/basic']],
  ['plan', ['plan', 'examples/basic', '--json', '--markdown']],
  ['apply', ['apply']],
  ['pull', ['pull']],
  ['import', ['import', 'missing.csv', '--mapping', 'missing.yaml']],
  // Started with the interrupt already raised: it stops as soon as it is up.
  ['emulator', ['emulator', '--port', '0']],
  ['demo', ['demo', '--latency', '0']],
];

describe('--no-color', () => {
  it.each(RUNS)('is accepted by %s', async (_name, argv) => {
    const r = await runMain([...argv, '--no-color'], { cwd: ROOT, env: {}, signal: AbortSignal.abort() });
    expect(r.stderr).not.toMatch(/unknown option/);
    expect(r.stdout).not.toMatch(/unknown option/);
    if (argv[0] === 'validate' || argv[0] === 'emulator') expect(r.code).toBe(0);
  });
});

describe('--help', () => {
  it.each(['validate', 'plan', 'apply', 'show', 'pull', 'import', 'emulator', 'demo'])('of %s shows examples and the exit codes', async (name) => {
    const r = await runMain([name, '--help'], { cwd: ROOT, env: {} });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ fyno-sync ${name}\\b`));
    expect(r.stdout).toMatch(/\nExit codes:\n {2}0 /);
    expect(r.stdout).toMatch(/\n {2}1 /);
  });
});
