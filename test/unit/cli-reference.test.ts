import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cliReference, REFERENCE_COMMANDS } from '../../src/cli/reference.js';

describe('docs/cli.md', () => {
  it('is the CLI help as the program prints it (run `npm run docs:cli` after changing a command)', async () => {
    const onDisk = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(await cliReference());
  });

  it('covers every command the program registers', async () => {
    const ref = await cliReference();
    const listed = [...ref.split('## fyno-sync ')[0]!.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(listed.sort()).toEqual([...REFERENCE_COMMANDS].sort());
  });
});
