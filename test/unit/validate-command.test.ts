import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMain } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const run = (argv: string[], cwd: string, env: Record<string, string> = {}) => runMain(argv, { cwd, env });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-validate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fyno-sync validate', () => {
  it('accepts examples/basic with a one-line summary on stdout', async () => {
    const r = await run(['validate', 'examples/basic'], ROOT);
    expect(r).toEqual({ code: 0, stdout: '9 profiles in 3 files are valid\n', stderr: '' });
  });

  it('prints one JSON document under --json', async () => {
    const r = await run(['validate', '--json', 'examples/basic'], ROOT);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ status: 'ok', command: 'validate', profiles: 9, files: 3 });
    expect(r.stderr).toBe('');
  });

  it('keeps going past a missing profiles key and reports everything else in the file', async () => {
    await writeFile(path.join(dir, 'noprofiles.yaml'), 'version: 1\ndefaults:\n  timezone: Mars/Base\n  channels: { sms: "12" }\nextra: 1\n');
    const r = await run(['validate', 'noprofiles.yaml'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('noprofiles.yaml:'))).toEqual([
      'noprofiles.yaml:1:1: missing required key "profiles"',
      'noprofiles.yaml:3:13: defaults.timezone: "Mars/Base" is not an IANA timezone name that Fyno accepts',
      'noprofiles.yaml:4:20: defaults.channels.sms: "12" is not a valid phone number; write it with its country code, e.g. "+919812345678"',
      'noprofiles.yaml:5:1: extra: unknown key "extra"',
    ]);
  });

  it('says "1 profile in 1 file is valid" in the singular', async () => {
    await writeFile(path.join(dir, 'one.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n');
    const r = await run(['validate', 'one.yaml'], dir);
    expect(r.stdout).toBe('1 profile in 1 file is valid\n');
  });

  it('prints every error on stderr, then a count, and exits 1', async () => {
    await writeFile(path.join(dir, 'a.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n    status: on\n  - distinct_id: u2\n    channels: { sms: "1" }\n');
    await writeFile(path.join(dir, 'b.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n');
    const r = await run(['validate', '.'], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'a.yaml:4:13: profile u1: status: must be one of active, inactive, not "on"',
        'a.yaml:6:22: profile u2: channels.sms: "1" is not a valid phone number; write it with its country code, e.g. "+919812345678"',
        'b.yaml:3:18: profile u1: distinct_id: distinct_id "u1" is declared twice; it is also declared at a.yaml:3:18',
        '3 errors in 2 files; the desired state is not valid',
        '',
      ].join('\n'),
    );
  });

  it('reads ${VAR} from the environment it is given, never printing the value', async () => {
    await writeFile(path.join(dir, 'a.yaml'), 'version: 1\nprofiles:\n  - distinct_id: u1\n    channels: { sms: "${SMS}" }\n');
    expect((await run(['validate', 'a.yaml'], dir, { SMS: '+14155552671' })).code).toBe(0);
    const bad = await run(['validate', 'a.yaml'], dir, { SMS: 'call-me-maybe' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('channels.sms: the value from the environment is not a valid phone number');
    expect(bad.stderr).not.toContain('call-me-maybe');
    const unset = await run(['validate', 'a.yaml'], dir, {});
    expect(unset.stderr).toContain('a.yaml:4:22: profile u1: channels.sms: environment variable SMS is not set');
  });

  it('raises the file size limit with --max-file-size', async () => {
    const text = `version: 1\nprofiles:\n  - distinct_id: u1\n    name: ${'x'.repeat(200)}\n`;
    await writeFile(path.join(dir, 'a.yaml'), `${text}#${' '.repeat(2 * 1024 * 1024)}\n`);
    const small = await run(['validate', '--max-file-size', '1', 'a.yaml'], dir);
    expect(small.stderr).toContain('a.yaml:1:1: file is 2.0 MB, larger than the 1 MB limit (raise it with --max-file-size)');
    expect((await run(['validate', '--max-file-size', '3', 'a.yaml'], dir)).code).toBe(0);
    const wrong = await run(['validate', '--max-file-size', 'lots', 'a.yaml'], dir);
    expect(wrong).toMatchObject({ code: 1, stderr: "Error: --max-file-size must be a number of megabytes > 0, got 'lots'\n" });
  });

  it('needs at least one path', async () => {
    const r = await run(['validate'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing required argument 'paths'");
  });
});
