/**
 * OperationSpool (`plan --out`, issue #17): when its disk is slower than the reads, what waits for
 * the disk stays bounded and the plan file is then written whole as before; a killed run leaves
 * no scratch file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { OperationSpool, writePlanFile } from '../../src/apply/kept-plan.js';
import { serializePlan } from '../../src/plan/plan-file.js';
import type { Operation, Plan } from '../../src/plan/types.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Reads the FIFO's non-blocking end until every writer closed it. */
async function drainFifo(fd: number): Promise<void> {
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    try {
      if (readSync(fd, buf) === 0) return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(2);
    }
  }
}

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const MB = 1 << 20;

function bigOps(n: number, value: string): Operation[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'property.set', distinct_id: `u${i}`, key: 'k', value, at: { file: 'p.yaml', line: i + 1 } }) as Operation);
}

/**
 * Runs `body` with a spool whose scratch file is a FIFO nobody reads yet: every write waits, as on
 * a stalled disk. `drain()` starts reading it; the FIFO is read to its end before returning.
 */
async function withStalledDisk(body: (spool: OperationSpool, planFile: string, drain: () => void) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-spool-slow-'));
  const planFile = path.join(dir, 'plan.json');
  const fifo = `${planFile}.${process.pid}.ops.tmp`;
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let drained: Promise<void> | undefined;
  try {
    const spool = new OperationSpool(planFile);
    await sleep(50);
    await body(spool, planFile, () => void (drained ??= drainFifo(reader)));
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  } finally {
    await drained;
    closeSync(reader);
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(process.platform === 'win32')('OperationSpool scratch file', () => {
  it('holds a bounded amount of text while its writes wait, and gives up spooling rather than the memory', async () => {
    await withStalledDisk(async (spool, _planFile, drain) => {
      const before = heapUsed();
      // One value shared by every operation: the operations cost nothing, their lines 1 MB each.
      const value = 'x'.repeat(MB);
      for (const op of bigOps(64, value)) spool.add([op]);
      await sleep(100);
      const held = heapUsed() - before;
      expect(held).toBeLessThan(32 * MB);
      // Let the stalled writes finish so the spool can close.
      drain();
      expect(await spool.close()).toBe(false);
      await spool.discard();
    });
  });

  it('says when it is behind (ready), and when it has caught up, so the reads can wait instead of it giving up', async () => {
    await withStalledDisk(async (spool, _planFile, drain) => {
      expect(spool.ready()).toBeUndefined();
      const ops = bigOps(6, 'z'.repeat(MB));
      for (const op of ops) spool.add([op]);
      const behind = spool.ready();
      expect(behind).toBeInstanceOf(Promise);
      let caughtUp = false;
      void behind!.then(() => (caughtUp = true));
      await sleep(50);
      expect(caughtUp).toBe(false);
      drain();
      await behind;
      expect(spool.ready()).toBeUndefined();
      // Nothing was given up (the FIFO cannot be read back: writing the plan from a spool is tested
      // in create-plan-streaming).
      expect(await spool.close()).toBe(true);
      expect(spool.error).toBeUndefined();
      await spool.discard();
    });
  });

  it('writes the whole plan (serializePlan bytes) from a spool that gave up', async () => {
    await withStalledDisk(async (spool, planFile, drain) => {
      const ops = bigOps(40, 'y'.repeat(MB));
      for (const op of ops) spool.add([op]);
      drain();
      const plan = {
        format_version: 1,
        created_at: '2026-01-02T03:04:05.000Z',
        target: { base_url: 'http://127.0.0.1:1/v1', workspace: 'FY1', env: 'live' },
        preconditions: {},
        operations: ops,
      } as unknown as Plan;
      await writePlanFile(planFile, plan, spool);
      expect(await readFile(planFile, 'utf8')).toBe(serializePlan(plan));
    });
  });

  // `plan --out` holds its spool for the whole read of live state (minutes at 100,000 profiles):
  // a kill -9, an OOM kill or a CI timeout then must not leave `plan.json.PID.ops.tmp` behind.
  it('leaves no scratch file behind when the process is killed while spooling', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-spool-kill-'));
    try {
      const spoolModule = fileURLToPath(new URL('../../src/apply/kept-plan.ts', import.meta.url));
      const script = [
        `import { OperationSpool } from ${JSON.stringify(spoolModule)};`,
        `const spool = new OperationSpool(${JSON.stringify(path.join(dir, 'plan.json'))});`,
        `spool.add([{ type: 'property.unset', distinct_id: 'u1', key: 'k', at: { file: 'p.yaml', line: 1 } }]);`,
        `await spool.close();`,
        `console.log('spooled');`,
        `setInterval(() => {}, 1000);`,
      ].join('\n');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('spooled') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code} before spooling`)));
      });
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
