/**
 * From command-line paths to decoded file texts: files, directories (every *.yaml / *.yml
 * below, sorted) and globs. Unreadable input is reported as an issue, never thrown, so one run
 * reports every problem at once.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { ValidationIssue } from './types.js';

const NOT_REGULAR = 'not a regular file (a named pipe, socket or device is not read)';

/** Files larger than this are refused without being read (override with `maxFileBytes`). */
export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

export interface InputFile {
  abs: string;
  /** As shown in messages and in `DesiredState.files`: relative to cwd when inside it. */
  display: string;
}

export function displayPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

/** Path-level issues carry line 0: there is no position to name. */
function pathIssue(file: string, message: string): ValidationIssue {
  return { file, line: 0, column: 0, message };
}

export async function resolveInputs(
  paths: readonly string[],
  cwd: string,
): Promise<{ files: InputFile[]; issues: ValidationIssue[] }> {
  const files: InputFile[] = [];
  const issues: ValidationIssue[] = [];
  // By real path: a file reached twice (through a symlink, or a directory symlinked into itself,
  // `again -> .`) is read once, so it is never "declared twice" against itself (issue #14).
  const seen = new Set<string>();
  const add = async (abs: string) => {
    const real = await realpath(abs).catch(() => abs);
    if (seen.has(real)) return;
    seen.add(real);
    files.push({ abs, display: displayPath(abs, cwd) });
  };
  // The shortest path to each file first (the one with no detour through a symlink), then by name.
  const addFound = async (found: string[]) => {
    const chosen = new Map<string, string>();
    for (const f of found.map(path.normalize).sort(byDepthThenName)) {
      const real = await realpath(f).catch(() => f);
      if (!chosen.has(real)) chosen.set(real, f);
    }
    for (const f of [...chosen.values()].sort()) await add(f);
  };
  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    const st = await stat(abs).catch((e: NodeJS.ErrnoException) => e);
    if (!(st instanceof Error)) {
      if (st.isDirectory()) {
        const found = await glob(['**/*.yaml', '**/*.yml'], { cwd: abs, absolute: true, onlyFiles: true });
        if (found.length === 0) issues.push(pathIssue(p, 'directory contains no .yaml or .yml files'));
        await addFound(found);
      } else {
        await add(abs);
      }
      continue;
    }
    if (isDynamicPattern(p)) {
      const found = await glob([p], { cwd, absolute: true, onlyFiles: true });
      if (found.length === 0) issues.push(pathIssue(p, 'no files match this pattern'));
      await addFound(found);
      continue;
    }
    issues.push(pathIssue(p, st.code === 'ENOENT' ? 'no such file or directory' : `cannot read (${st.code ?? st.message})`));
  }
  return { files, issues };
}

function byDepthThenName(a: string, b: string): number {
  const d = a.split(path.sep).length - b.split(path.sep).length;
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}

/** Reads and decodes one file, or says in one line why it cannot be used. */
export async function readInput(
  f: InputFile,
  maxBytes: number,
): Promise<{ text: string } | { issue: ValidationIssue }> {
  const fileIssue = (message: string, line = 1, column = 1) => ({ issue: { file: f.display, line, column, message } });
  // Checked before opening: opening a named pipe for reading blocks until a writer comes (issue
  // #14), and a device may never end. O_NONBLOCK covers one swapped in between the two calls.
  const before = await stat(f.abs).catch((e: NodeJS.ErrnoException) => e);
  if (before instanceof Error) return { issue: pathIssue(f.display, `cannot read (${before.code ?? 'error'})`) };
  if (!before.isFile()) return { issue: pathIssue(f.display, NOT_REGULAR) };
  let handle;
  try {
    handle = await open(f.abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { issue: pathIssue(f.display, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { issue: pathIssue(f.display, NOT_REGULAR) };
    if (st.size > maxBytes) {
      return fileIssue(`file is ${mb(st.size)}, larger than the ${mb(maxBytes)} limit (raise it with --max-file-size)`);
    }
    const buf = await handle.readFile();
    if (buf.length > maxBytes) return fileIssue(`file is larger than the ${mb(maxBytes)} limit`);
    const nul = buf.indexOf(0);
    if (nul >= 0) {
      const pos = positionOf(buf.subarray(0, nul).toString('utf8'));
      return fileIssue('file is binary (contains a NUL byte), not YAML text', pos.line, pos.column);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      // Name where the first bad byte sits: decode leniently and find the replacement character.
      const lenient = buf.toString('utf8');
      const pos = positionOf(lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD'))));
      return fileIssue('file is not valid UTF-8 text', pos.line, pos.column);
    }
    if (text.trim() === '') return fileIssue('file is empty (expected "version: 1" and a "profiles" list)');
    return { text };
  } catch (e) {
    return { issue: pathIssue(f.display, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`) };
  } finally {
    await handle.close();
  }
}

function positionOf(prefix: string): { line: number; column: number } {
  const lines = prefix.split('\n');
  return { line: lines.length, column: [...lines[lines.length - 1]!].length + 1 };
}

function mb(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MB`;
}

/**
 * Puts a completely written directory `tmp` in place of `outDir`: when `replacing`, the old one is
 * moved aside, the new one renamed in, and the old one removed, so `outDir` is never half-written.
 */
export async function putDirInPlace(tmp: string, outDir: string, replacing: boolean): Promise<void> {
  if (!replacing) {
    await rename(tmp, outDir);
    return;
  }
  const aside = `${tmp}.old`;
  await rename(outDir, aside);
  await rename(tmp, outDir);
  await rm(aside, { recursive: true, force: true });
}

/**
 * The content hash (`sha256:<hex>`) of each desired-state file, by the path it was given as
 * (relative to `cwd`); a file that cannot be read is `absent`. Apply compares them to tell a
 * saved plan or an interrupted run from files edited since (src/apply-lifecycle.ts).
 */
export async function hashFiles(files: readonly string[], cwd: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) {
    try {
      out[f] = `sha256:${createHash('sha256').update(await readFile(path.resolve(cwd, f))).digest('hex')}`;
    } catch {
      out[f] = 'absent';
    }
  }
  return out;
}
