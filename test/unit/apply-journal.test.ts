/**
 * The apply journal and resume: records are durable as they complete; a resumed run skips
 * what is done, settles what was in flight by re-reading, and never repeats an operation.
 * Crashes are simulated in-process: the run is aborted after k completed operations and the
 * journal cut back to what was on disk at that moment, while the requests in flight still
 * reach the emulator — exactly what a `kill -9` leaves behind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/apply.js';
import { JOURNAL_FILE, openJournal } from '../../src/apply/journal.js';
import type { ApplyEvent, ApplyOptions } from '../../src/apply/types.js';
import { MemoryFyno } from '../../src/fyno/emulator/memory-fyno.js';
import { isFynoSyncError } from '../../src/errors.js';
import type { Plan } from '../../src/plan/types.js';
import { duplicatesIn, planFor, replanFor, scenario } from '../integration/apply-support.js';

const OPTS: ApplyOptions = { concurrency: 3, allowDelete: true, maxDeletes: 100, batchSize: 4, batchLingerMs: 5 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fyno-apply-'));
  dirs.push(d);
  return d;
}

function nonBatchWrites(api: MemoryFyno): Record<string, number> {
  return Object.fromEntries(Object.entries(api.requests).filter(([k]) => !k.startsWith('GET ') && !k.endsWith('/properties/batch')));
}

async function setUp(n: number): Promise<{ api: MemoryFyno; plan: Plan; d: ReturnType<typeof scenario>['desired'] }> {
  const api = new MemoryFyno();
  const s = scenario(n, true);
  api.engine.seed(s.seed);
  const plan = await planFor(api, s.desired);
  api.resetCounts();
  return { api, plan, d: s.desired };
}

describe('journal', () => {
  it('refuses a journal of another plan, and an unfinished journal without resume', async () => {
    const dir = tempDir();
    const { plan } = await setUp(3);
    const j = openJournal(dir, plan);
    j.begin();
    await j.close(); // unfinished: no end record
    expect(() => openJournal(dir, plan)).toThrow(/did not finish.*--resume.*--discard-journal/);
    const other: Plan = { ...plan, created_at: '2030-01-01T00:00:00.000Z' };
    try {
      openJournal(dir, other, { resume: true });
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isFynoSyncError(e) && e.code).toBe('apply.journal');
      expect((e as Error).message).toContain('belongs to another plan');
    }
    expect(() => openJournal(tempDir(), plan, { resume: true })).toThrow(/no journal to resume/);
  });

  it('ignores a torn last line and keeps done and uncertain keys apart', async () => {
    const dir = tempDir();
    const { plan } = await setUp(3);
    const j = openJournal(dir, plan);
    await j.started(['p:0', 'p:1']);
    await j.completed(['p:0']);
    await j.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"t":"done","keys":["p:1"');
    const r = openJournal(dir, plan, { resume: true });
    expect([...r.done]).toEqual(['p:0']);
    expect([...r.uncertain]).toEqual(['p:1']);
    expect(r.run).toBe(2);
    await r.close();
  });

  it('writes every completed request group as it completes, with fsync', async () => {
    const dir = tempDir();
    const { api, plan } = await setUp(6);
    const journal = openJournal(dir, plan);
    const seenOnDisk: number[] = [];
    await applyPlan(plan, { api, journal, replan: undefined, onEvent: (e) => e.type === 'op.done' && seenOnDisk.push(readFileSync(journal.path, 'utf8').split('\n').length) }, OPTS);
    const lines = readFileSync(journal.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; keys?: string[] });
    expect(lines[0]?.t).toBe('header');
    expect(lines.at(-1)?.t).toBe('end');
    const done = new Set(lines.filter((l) => l.t === 'done').flatMap((l) => l.keys ?? []));
    expect(done.size).toBe(plan.operations.length);
    // The record is on disk when the event fires.
    expect(seenOnDisk.every((n, i, a) => i === 0 || n >= a[i - 1]!)).toBe(true);
  });
});

describe('resume', () => {
  const KILL_POINTS = [1, 2, 4, 6, 9, 13, 18, 24];

  it.each(KILL_POINTS.flatMap((k) => [[k, 'abort'] as const, [k, 'crash'] as const]))(
    'converges after an interruption at %i completed operations (%s), repeating nothing',
    async (k, mode) => {
      const clean = await setUp(12);
      await applyPlan(clean.plan, { api: clean.api, replan: replanFor(clean.d) }, OPTS);
      const cleanWrites = nonBatchWrites(clean.api);

      const { api, plan, d } = await setUp(12);
      const dir = tempDir();
      const controller = new AbortController();
      const journal1 = openJournal(dir, plan);
      let done = 0;
      let linesAtKill = -1;
      const executed = new Map<string, number>();
      const track = (e: ApplyEvent, keyOf: (op: unknown) => string | undefined): void => {
        if (e.type !== 'op.done') return;
        const key = keyOf(e.op);
        if (key) executed.set(key, (executed.get(key) ?? 0) + 1);
      };
      const planKey = (op: unknown): string | undefined => {
        const i = plan.operations.indexOf(op as Plan['operations'][number]);
        return i >= 0 ? `p:${i}` : undefined;
      };
      const first = await applyPlan(
        plan,
        {
          api,
          journal: journal1,
          replan: replanFor(d),
          onEvent: (e) => {
            track(e, planKey);
            if (e.type === 'op.done' && e.planned && ++done === k && linesAtKill < 0) {
              linesAtKill = readFileSync(journal1.path, 'utf8').split('\n').filter(Boolean).length;
              controller.abort();
            }
          },
        },
        { ...OPTS, signal: controller.signal },
      );
      expect(first.interrupted).toBe(k < plan.operations.length);
      if (mode === 'crash' && linesAtKill > 0) {
        // Write-ahead: a request that reached Fyno had its `start` record on disk; only the
        // completions after the kill point are lost.
        const lines = readFileSync(journal1.path, 'utf8').split('\n').filter(Boolean);
        const kept = [...lines.slice(0, linesAtKill), ...lines.slice(linesAtKill).filter((l) => l.startsWith('{"t":"start"'))];
        writeFileSync(journal1.path, `${kept.join('\n')}\n`);
      }

      const journal2 = openJournal(dir, plan, { resume: true });
      // A graceful stop lets requests in flight finish and records them: nothing is left uncertain.
      if (mode === 'abort') expect([...journal2.uncertain]).toEqual([]);
      const second = await applyPlan(plan, { api, journal: journal2, replan: replanFor(d), onEvent: (e) => track(e, planKey) }, OPTS);
      expect(second.failures).toEqual([]);
      expect(second.interrupted).toBe(false);

      expect((await planFor(api, d)).operations).toEqual([]);
      expect(await duplicatesIn(api, d)).toEqual([]);
      // No plan operation ran twice, and non-property writes are exactly those of a clean run.
      expect([...executed.values()].every((n) => n === 1)).toBe(true);
      expect(nonBatchWrites(api)).toEqual(cleanWrites);
    },
  );
});
