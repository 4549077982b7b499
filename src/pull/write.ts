/**
 * Writing what `pull` produced (already loaded back and checked by pull.ts). Files go to a
 * temporary directory beside the output directory, which then replaces the output directory with
 * one rename: a crash or an error leaves either the old directory or the new one, never half of it.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FynoSyncError } from '../errors.js';
import type { PulledFile } from './pull.js';
import { putDirInPlace } from '../desired/files.js';

/** True when `dir` exists (and may be replaced); throws when it must not be touched. */
async function checkOutDir(dir: string, force: boolean): Promise<boolean> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new FynoSyncError('pull.invalid', `${dir} exists and is not a directory; nothing was written`, { dir });
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (entries.length > 0 && !force) {
    throw new FynoSyncError('pull.invalid', `output directory ${dir} is not empty; pass --force to replace it, or choose another with -o; nothing was written`, { dir });
  }
  return true;
}

/**
 * Write `files` into `outDir` atomically. `outDir` must be absent or empty unless `force`
 * (then it is replaced as a whole). Returns the paths written.
 */
export async function writePulled(outDir: string, files: readonly PulledFile[], o: { force?: boolean } = {}): Promise<string[]> {
  const exists = await checkOutDir(outDir, Boolean(o.force));
  const parent = path.dirname(outDir);
  const tmp = await mkdtemp(path.join(parent, `.${path.basename(outDir)}.pulling-`));
  try {
    for (const f of files) await writeFile(path.join(tmp, f.name), f.text, 'utf8');
    await putDirInPlace(tmp, outDir, exists);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return files.map((f) => path.join(outDir, f.name));
}
