/** A fresh temp directory per test (changesets `testdir`) and a writer of inline file trees into it. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export interface TempTree {
  /** The current test's directory; valid inside a test only. */
  readonly dir: string;
  /** Writes each `relative path → text` under `dir`, creating parent directories. */
  files(tree: Record<string, string>): Promise<void>;
}

export function useTempTree(prefix: string): TempTree {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    async files(tree) {
      for (const [name, text] of Object.entries(tree)) {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), text);
      }
    },
  };
}
