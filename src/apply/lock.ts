/**
 * One apply at a time per state directory (PRODUCT.md, "Applying"; issue #13 part 3): a lock
 * file `<state-dir>/lock` created exclusively (`O_CREAT | O_EXCL`), holding who took it (pid,
 * host, start time, command), removed when the run ends. Like Terraform's state lock with
 * `-lock-timeout`: a second apply waits up to `timeoutMs` for it, then is refused naming the
 * holder. A lock left by a process that no longer runs on this host (a `kill -9`, a crash) is
 * stale: it is named and taken over. A lock from another host cannot be checked from here; the
 * refusal says how to remove it by hand.
 */
import { hostname } from 'node:os';
import { link, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FynoSyncError } from '../errors.js';

export const LOCK_FILE = 'lock';

export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  command: string;
}

export interface StateLock {
  readonly path: string;
  /** Set when a stale lock (dead holder) was taken over. */
  readonly staleHolder: LockHolder | undefined;
  /** Removes the lock file (only if it is still ours). */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Longest wait for a lock held by a live process (default 0: refuse at once). */
  timeoutMs?: number;
  /** What holds it, for the holder record (default `apply`). */
  command?: string;
  /** Seams for tests. */
  pid?: number;
  host?: string;
  now?: () => Date;
  isAlive?: (pid: number) => boolean;
  pollMs?: number;
  /** Ctrl-C while waiting for the lock. */
  signal?: AbortSignal;
}

/** `process.kill(pid, 0)`: ESRCH means no such process; EPERM means it runs under another user. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') {
      return { pid: v.pid, host: v.host, started_at: String(v.started_at ?? 'an unknown time'), command: String(v.command ?? 'apply') };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  }
  // Unreadable or torn (a holder killed while writing it): nobody can be named.
  return { pid: 0, host: 'an unknown host', started_at: 'an unknown time', command: 'apply' };
}

function describe(h: LockHolder): string {
  return `${h.command} (pid ${h.pid} on ${h.host}, since ${h.started_at})`;
}

/** Lock files this process holds: a lock naming our own pid is ours only if it is in here. */
const HELD = new Set<string>();

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.started_at === b.started_at;
}

/** Whether `holder` of a lock on this host is stale: its process is gone (or is us, restarted). */
function staleLocal(holder: LockHolder, me: LockHolder, path: string, alive: (pid: number) => boolean): boolean {
  // Same pid as ours: a restarted container (pid 1 again) left it, unless this process holds it.
  if (holder.pid === me.pid) return !HELD.has(path);
  return !alive(holder.pid);
}

/**
 * Takes the lock of `stateDir` (created if missing). Throws `apply.locked` when a live process
 * holds it past `timeoutMs`. Never sends a request.
 *
 * The lock file appears with its content (written to a temporary file, then hard-linked into
 * place, which fails if it exists), so nobody ever reads an empty lock. A stale lock is taken
 * over under a guard directory (`lock.takeover`, created atomically), re-read under it, and
 * removed only if it still names the same dead holder: of two runs taking over one stale lock,
 * exactly one gets it.
 */
export async function acquireLock(stateDir: string, o: LockOptions = {}): Promise<StateLock> {
  const path = join(stateDir, LOCK_FILE);
  const me: LockHolder = {
    pid: o.pid ?? process.pid,
    host: o.host ?? hostname(),
    started_at: (o.now ?? (() => new Date()))().toISOString(),
    command: o.command ?? 'apply',
  };
  const alive = o.isAlive ?? processAlive;
  const poll = o.pollMs ?? 200;
  const deadline = Date.now() + (o.timeoutMs ?? 0);
  await mkdir(stateDir, { recursive: true });
  let staleHolder: LockHolder | undefined;
  const tmp = `${path}.${me.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(me)}\n`, { mode: 0o644 });
  try {
    for (;;) {
      if (o.signal?.aborted) throw new FynoSyncError('apply.interrupted', 'interrupted while waiting for the state directory lock; nothing was written');
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = await readHolder(path);
      if (!holder) continue; // released meanwhile: try again
      const local = holder.host === me.host;
      if (local && staleLocal(holder, me, path, alive)) {
        if (await takeOver(path, holder, poll)) staleHolder = holder;
        continue;
      }
      if (Date.now() >= deadline) {
        const hint = local
          ? `wait for it to finish, or pass --lock-timeout to wait; if it is not running, remove ${path}`
          : `wait for it to finish, or pass --lock-timeout to wait; if no apply runs on ${holder.host}, remove ${path}`;
        throw new FynoSyncError('apply.locked', `state directory ${stateDir} is locked by ${describe(holder)}; ${hint}; nothing was written`, {
          lock: path,
          holder,
        });
      }
      await sleep(poll, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  HELD.add(path);
  let released = false;
  return {
    path,
    staleHolder,
    async release() {
      if (released) return;
      released = true;
      HELD.delete(path);
      const now = await readHolder(path);
      if (now && sameHolder(now, me)) await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * Whether a real apply would find the lock taken: throws `apply.locked` as `acquireLock` would
 * (without waiting), returns when it is free or stale. For dry runs, which take no lock.
 */
export async function checkLockFree(stateDir: string, o: Pick<LockOptions, 'pid' | 'host' | 'isAlive'> = {}): Promise<void> {
  const path = join(stateDir, LOCK_FILE);
  const holder = await readHolder(path);
  if (!holder) return;
  const me = { pid: o.pid ?? process.pid, host: o.host ?? hostname(), started_at: '', command: 'apply' };
  const local = holder.host === me.host;
  if (local && staleLocal(holder, me, path, o.isAlive ?? processAlive)) return;
  throw new FynoSyncError('apply.locked', `state directory ${stateDir} is locked by ${describe(holder)}: a real apply would wait or be refused; nothing was written`, { lock: path, holder });
}

/** Removes the stale lock of `holder` under the takeover guard; false when another run got there first. */
async function takeOver(path: string, holder: LockHolder, poll: number): Promise<boolean> {
  const guard = `${path}.takeover`;
  try {
    await mkdir(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another run is taking it over; a guard older than 10 s was left by a run killed meanwhile.
    const age = await stat(guard).then((st) => Date.now() - st.mtimeMs, () => 0);
    if (age > 10_000) await rm(guard, { recursive: true, force: true });
    else await sleep(Math.min(poll, 50));
    return false;
  }
  try {
    const again = await readHolder(path);
    if (!again || !sameHolder(again, holder)) return false;
    await unlink(path);
    return true;
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
}

/** The message a CLI shows when a stale lock was taken over. */
export function staleLockNote(h: LockHolder, path: string): string {
  return `took over the stale lock ${path} of ${describe(h)}: that process no longer runs`;
}
