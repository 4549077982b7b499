/**
 * The state directory's lock (issue #13 part 3): one holder at a time, a stale lock of a dead
 * process taken over by exactly one run, a lock naming our own pid (a restarted container) stale
 * unless this process holds it.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, checkLockFree, LOCK_FILE } from '../../src/apply/lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fyno-lock-'));
  dirs.push(d);
  return d;
}
const DEAD = 999_999_1;
const holder = (pid: number, started = '2026-01-01T00:00:00.000Z') => ({ pid, host: hostname(), started_at: started, command: 'apply' });

describe('acquireLock', () => {
  it('refuses a second holder while the first holds it, naming the holder and the file', async () => {
    const d = dir();
    const first = await acquireLock(d);
    await expect(acquireLock(d)).rejects.toThrow(new RegExp(`locked by apply \\(pid ${process.pid} on ${hostname()}.*remove ${join(d, LOCK_FILE)}`));
    await first.release();
    const again = await acquireLock(d);
    await again.release();
  });

  it('of two runs taking over one stale lock, only one gets it', async () => {
    const d = dir();
    const path = join(d, LOCK_FILE);
    writeFileSync(path, JSON.stringify(holder(DEAD)));
    // Run B sees the dead holder; in that very window run A takes the lock over completely.
    const a = holder(process.ppid, '2026-12-01T00:00:00.000Z');
    let played = false;
    const isAlive = (pid: number): boolean => {
      if (pid === DEAD && !played) {
        played = true;
        renameSync(path, `${path}.a`);
        unlinkSync(`${path}.a`);
        writeFileSync(path, JSON.stringify(a));
      }
      return pid !== DEAD;
    };
    await expect(acquireLock(d, { isAlive, pollMs: 5 })).rejects.toThrow(/locked by apply \(pid \d+/);
    // A's lock is still in place.
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(a);
  });

  it('takes over a lock naming our own pid that this process does not hold (a restarted container)', async () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify(holder(process.pid)));
    const lock = await acquireLock(d);
    expect(lock.staleHolder).toMatchObject({ pid: process.pid, started_at: '2026-01-01T00:00:00.000Z' });
    await lock.release();
  });

  it('checkLockFree (dry runs): refused while a live apply holds it, free when it is stale or released', async () => {
    const d = dir();
    await expect(checkLockFree(d)).resolves.toBeUndefined();
    const held = await acquireLock(d);
    await expect(checkLockFree(d)).rejects.toThrow(/locked by apply .*a real apply would wait or be refused/);
    await held.release();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify(holder(DEAD)));
    await expect(checkLockFree(d, { isAlive: () => false })).resolves.toBeUndefined();
  });

  it('stops waiting on Ctrl-C', async () => {
    const d = dir();
    const first = await acquireLock(d);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(acquireLock(d, { timeoutMs: 60_000, pollMs: 10, signal: ac.signal })).rejects.toThrow(/interrupted while waiting/);
    await first.release();
  });
});
