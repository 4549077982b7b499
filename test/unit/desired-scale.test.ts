/**
 * Loading stays linear: 20,000 generated profiles load and validate within a generous bound
 * (a per-profile position lookup that scanned the document would blow it), and an error in the
 * last profile is still named at its exact line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, loadDesired } from '../../src/desired/load.js';
import { fileYaml, HEADER_LINES, LINES_PER_PROFILE, writeProfiles } from '../fixtures/desired/generate.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fyno-scale-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadDesired at scale', () => {
  it('loads 20,000 profiles from 2 files', { timeout: 120_000 }, async () => {
    writeProfiles(path.join(dir, 'ok'), 20_000, 2);
    const started = performance.now();
    const { state, issues } = await loadDesired(['ok'], { env: {}, cwd: dir });
    const seconds = (performance.now() - started) / 1000;
    expect(issues).toEqual([]);
    expect(state.profiles).toHaveLength(20_000);
    expect(state.profiles[19_999]!.channels!.sms).toMatch(/^\+9198\d{8}$/);
    expect(seconds).toBeLessThan(60);
  });

  it('names the exact line of an error in the last of 10,000 profiles', { timeout: 120_000 }, async () => {
    const text = fileYaml(0, 10_000).replace('user9999@example.com', 'user9999.example.com');
    await writeFile(path.join(dir, 'bad.yaml'), text);
    const { issues } = await loadDesired(['bad.yaml'], { env: {}, cwd: dir });
    const line = HEADER_LINES + 9_999 * LINES_PER_PROFILE + 5;
    expect(issues.map(formatIssue)).toEqual([
      `bad.yaml:${line}:14: profile cust-9999: channels.email: "user9999.example.com" is not a valid email address`,
    ]);
  });
});
