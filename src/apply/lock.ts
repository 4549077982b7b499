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
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
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

/**
 * Takes the lock of `stateDir` (created if missing). Throws `apply.locked` when a live process
 * holds it past `timeoutMs`. Never sends a request.
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
  const deadline = Date.now() + (o.timeoutMs ?? 0);
  await mkdir(stateDir, { recursive: true });
  let staleHolder: LockHolder | undefined;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readHolder(path);
    if (!holder) continue; // released meanwhile: try again
    const local = holder.host === me.host;
    if (local && holder.pid !== me.pid && !alive(holder.pid)) {
      // Stale: move it aside atomically so that of two runs taking it over only one wins.
      const aside = `${path}.stale-${me.pid}`;
      try {
        await rename(path, aside);
        await unlink(aside);
        staleHolder = holder;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    if (Date.now() >= deadline) {
      const hint = local
        ? 'wait for it to finish, or pass --lock-timeout to wait'
        : `wait for it to finish, or pass --lock-timeout to wait; if no apply runs on ${holder.host}, remove ${path}`;
      throw new FynoSyncError('apply.locked', `state directory ${stateDir} is locked by ${describe(holder)}; ${hint}; nothing was written`, {
        lock: path,
        holder,
      });
    }
    await sleep(o.pollMs ?? 200);
  }
  let released = false;
  return {
    path,
    staleHolder,
    async release() {
      if (released) return;
      released = true;
      const now = await readHolder(path);
      if (now && now.pid === me.pid && now.host === me.host && now.started_at === me.started_at) await unlink(path).catch(() => undefined);
    },
  };
}

/** The message a CLI shows when a stale lock was taken over. */
export function staleLockNote(h: LockHolder, path: string): string {
  return `took over the stale lock ${path} of ${describe(h)}: that process no longer runs`;
}
