/**
 * Desired state at a git revision, read from git itself without a checkout (`--changed-since`,
 * issue #8). The revision's files are written to a temporary directory with the same layout
 * (from `git ls-tree` + `git cat-file --batch`) and loaded there by `loadDesired`, so loading and
 * validation are exactly those of the working tree.
 *
 * Files whose content at the revision is byte-identical to a working-tree file of the same path
 * (same git blob id) are not loaded again when the caller names them (`sameAs`): the loader is
 * deterministic, so their profiles are the same at both ends. The base then costs what the change
 * costs, not what the repository holds.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FynoSyncError } from '../errors.js';
import { formatIssue, loadDesired, type LoadOptions } from './load.js';
import type { DesiredState, ValidationIssue } from './types.js';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 1 << 30, encoding: 'utf8' });
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new FynoSyncError('git.error', '--changed-since needs git, and git was not found on PATH', {}, { cause: e });
    const msg = (err.stderr ?? '').trim().split('\n')[0] ?? '';
    throw new FynoSyncError('git.error', `git ${args[0]} failed: ${msg || err.message}`, { args }, { cause: e });
  }
}

export interface GitRevision {
  /** The repository's top directory (real path). */
  root: string;
  /** The full commit id `ref` names. */
  revision: string;
}

/** Resolves `ref` to a commit in the repository that holds `cwd`; `git.error` when there is none. */
export async function resolveRevision(ref: string, cwd: string): Promise<GitRevision> {
  let root: string;
  try {
    root = (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
  } catch (e) {
    throw new FynoSyncError('git.error', `--changed-since ${ref}: ${cwd} is not inside a git repository`, { ref }, { cause: e });
  }
  if (ref.startsWith('-') || ref.trim() === '') throw new FynoSyncError('git.error', `--changed-since: '${ref}' is not a revision`, { ref });
  let revision: string;
  try {
    revision = (await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch (e) {
    throw new FynoSyncError(
      'git.error',
      `--changed-since: unknown revision '${ref}' (in a shallow CI clone, fetch it first, e.g. actions/checkout with fetch-depth: 0)`,
      { ref },
      { cause: e },
    );
  }
  return { root, revision };
}

/** Path-level issues at the base revision that only mean "not there yet": an empty base. */
const ABSENT = new Set(['no such file or directory', 'no files match this pattern', 'directory contains no .yaml or .yml files']);

export interface RevisionState extends GitRevision {
  state: DesiredState;
  /** Validation issues at the revision (a path absent there is not one): its state is not comparable. */
  issues: ValidationIssue[];
  /** Working-tree files (as in `sameAs`) identical at the revision: not loaded, their profiles not in `state`. */
  identical: string[];
}

/** Git's blob id of a file's bytes (sha1 of `blob <size>\0<bytes>`). */
export function blobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/**
 * The desired state `paths` (as given on the command line, relative to `opts.cwd`) describe at
 * revision `ref`. A path that does not exist at `ref` contributes nothing (everything under it is
 * new). Other issues at `ref` are returned, not thrown: the caller decides (see `changedSince`).
 */
export async function loadDesiredAtRevision(
  paths: readonly string[],
  ref: string,
  opts: LoadOptions,
  sameAs: readonly string[] = [],
): Promise<RevisionState> {
  const { root, revision } = await resolveRevision(ref, opts.cwd);
  const cwd = await realpath(opts.cwd);
  // Working-tree files the caller loaded, by repository path → blob id and the caller's name.
  const head = new Map<string, { oid: string; display: string }>();
  for (const display of sameAs) {
    const abs = path.resolve(cwd, display);
    const rel = path.relative(root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    const bytes = await readFile(abs).catch(() => undefined);
    if (bytes) head.set(rel.split(path.sep).join('/'), { oid: blobId(bytes), display });
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'fyno-sync-rev-'));
  try {
    const identical = await materialize(root, revision, tmp, explicitFiles(paths, cwd, root), head);
    const at = path.join(tmp, path.relative(root, cwd));
    await mkdir(at, { recursive: true });
    const mapped = paths.map((p) => (path.isAbsolute(p) ? path.relative(cwd, p) || '.' : p));
    const { state, issues } = await loadDesired(mapped, { ...opts, cwd: at });
    const real = issues.filter((i) => !(i.line === 0 && ABSENT.has(i.message)));
    return { root, revision, state, issues: real, identical };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** One line saying why an invalid base revision means planning every profile. */
export function invalidBaseWarning(ref: string, revision: string, issues: readonly ValidationIssue[]): string {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `Warning: the desired state at ${ref} (${revision.slice(0, 12)}) is invalid (${formatIssue(issues[0]!)}${more}), so nothing can be assumed applied from it: planning every profile.`;
}

/** Repository paths of inputs named literally (not globs): kept whatever their extension. */
function explicitFiles(paths: readonly string[], cwd: string, root: string): Set<string> {
  const out = new Set<string>();
  for (const p of paths) out.add(path.relative(root, path.resolve(cwd, p)).split(path.sep).join('/'));
  return out;
}

/**
 * Writes the revision's *.yaml / *.yml files (and the files named literally) below `dir`, in the
 * repository's layout, except those identical to `head`'s; returns the latter's display names.
 * Symlinks and submodules are left out.
 */
async function materialize(
  root: string,
  revision: string,
  dir: string,
  explicit: Set<string>,
  head: ReadonlyMap<string, { oid: string; display: string }>,
): Promise<string[]> {
  const identical: string[] = [];
  const listing = await git(root, ['ls-tree', '-r', '-z', '--full-tree', revision]);
  const wanted: { oid: string; file: string }[] = [];
  for (const entry of listing.split('\0')) {
    const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (!m || m[2] !== 'blob' || m[1] === '120000') continue;
    const file = m[4]!;
    if (!/\.ya?ml$/i.test(file) && !explicit.has(file)) continue;
    const same = head.get(file);
    if (same && same.oid === m[3]) identical.push(same.display);
    else wanted.push({ oid: m[3]!, file });
  }
  if (wanted.length === 0) return identical;
  const blobs = await catFileBatch(root, wanted.map((w) => w.oid));
  const dirs = new Set<string>();
  for (const [i, w] of wanted.entries()) {
    const target = path.join(dir, ...w.file.split('/'));
    const parent = path.dirname(target);
    if (!dirs.has(parent)) {
      await mkdir(parent, { recursive: true });
      dirs.add(parent);
    }
    await writeFile(target, blobs[i]!);
  }
  return identical;
}

/** The contents of `oids`, in order, from one `git cat-file --batch` process. */
function catFileBatch(root: string, oids: string[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', (e) => reject(new FynoSyncError('git.error', `git cat-file failed: ${e.message}`, {}, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) return reject(new FynoSyncError('git.error', `git cat-file failed: ${stderr.trim().split('\n')[0] ?? code}`));
      try {
        resolve(parseBatch(Buffer.concat(chunks), oids.length));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(oids.map((o) => `${o}\n`).join(''));
  });
}

function parseBatch(out: Buffer, count: number): Buffer[] {
  const blobs: Buffer[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = out.indexOf(10, pos);
    const header = out.subarray(pos, nl).toString('utf8');
    const size = Number(/^[0-9a-f]+ blob (\d+)$/.exec(header)?.[1] ?? NaN);
    if (nl < 0 || !Number.isInteger(size)) throw new FynoSyncError('git.error', `git cat-file: unexpected output '${header.slice(0, 80)}'`);
    blobs.push(out.subarray(nl + 1, nl + 1 + size));
    pos = nl + 1 + size + 1;
  }
  return blobs;
}
