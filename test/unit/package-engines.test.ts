/**
 * `npm ci` on the Node the README names installs without EBADENGINE (issue #16): every package in
 * the lockfile that npm installs on every platform declares `engines.node` admitting the lowest
 * Node that package.json's `engines` allows, and the README names that same Node.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean; dev?: boolean }>;
};
const lowest = semver.minVersion(pkg.engines.node)!.version;

describe('engines', () => {
  it('the README names the lowest Node that package.json allows', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const named = /Node (\d+\.\d+) or newer/.exec(readme)?.[1];
    expect(named && `${named}.0`).toBe(lowest);
  });

  it(`every installed dependency (dev ones too) admits Node ${lowest}`, () => {
    const refusing: string[] = [];
    for (const [where, p] of Object.entries(lock.packages)) {
      // Optional packages are per-platform binaries npm skips where they do not fit.
      if (where === '' || p.optional) continue;
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (range && !semver.satisfies(lowest, range)) refusing.push(`${where.replace(/^.*node_modules\//, '')} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });
});
