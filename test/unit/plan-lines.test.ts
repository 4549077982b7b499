/**
 * `apply --plan` reads a saved plan line by line (issue #17, "Memory"): the operations, head and
 * hash it gets must be exactly those of `parsePlan` + `planHash`, and every file `parsePlan`
 * refuses must be refused with the same error.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planHash } from '../../src/apply/journal.js';
import { copyPlanFile, keepScannedCopy, readPlanFile, readPlanOperations, scanPlanFile, type ScannedPlan } from '../../src/apply/kept-plan.js';
import { buildPlan } from '../../src/plan/build.js';
import { parsePlan, serializePlan } from '../../src/plan/plan-file.js';
import type { Operation, Plan } from '../../src/plan/types.js';
import { actual, CREATED_AT, desired, live, profile, TARGET } from './plan-builders.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function fileWith(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-plan-lines-'));
  dirs.push(dir);
  const file = path.join(dir, 'plan.json');
  await writeFile(file, text);
  return file;
}

/** Creates (with a push token), renames and deletes, in turn. */
function world(ids: string[]): Plan {
  const made = ids.map((id, i): [ReturnType<typeof profile>, ReturnType<typeof live> | null] => {
    if (i % 3 === 0) return [profile(id, { name: `New ${i}`, channels: { email: `u${i}@example.com`, push: [{ token: `Tok[${i}]`, integration_id: 'I1' }] }, properties: { plan: { op: 'set', value: 'pro' } } }), null];
    if (i % 3 === 1) return [profile(id, { name: `Renamed ${i}`, properties: { tags: { op: 'set', value: ['a', 'b'] } } }), live(id, { name: `Old ${i}`, properties: { tags: ['a'] } })];
    return [profile(id, { state: 'absent' }), live(id)];
  });
  const d = desired(...made.map(([p]) => p));
  return buildPlan(d, actual(...made.map(([p, l]): [string, ReturnType<typeof live> | null] => [p.distinct_id, l])), { createdAt: CREATED_AT, target: TARGET, sources: d.files });
}

async function scan(file: string): Promise<{ scanned: ScannedPlan; ops: Operation[]; resets: number }> {
  let ops: Operation[] = [];
  let resets = 0;
  const scanned = await scanPlanFile(file, 'plan.json', '', {
    op: (op, i) => {
      expect(i).toBe(ops.length);
      ops.push(op);
    },
    reset: () => {
      resets += 1;
      ops = [];
    },
  });
  return { scanned, ops, resets };
}

async function streamed(file: string, scanned: ScannedPlan): Promise<Operation[]> {
  const out: Operation[] = [];
  for await (const op of readPlanOperations(file, scanned, 'plan.json')) out.push(op);
  return out;
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('a saved plan read line by line', () => {
  const ids = Array.from({ length: 60 }, (_, i) => `p-${String(i).padStart(3, '0')}`).concat(['10', '9', '4294967295', '__proto__', 'Zed', 'ä']);

  it('gives the operations, head and hash of parsePlan without reading the file whole', async () => {
    const text = serializePlan(world(ids));
    const file = await fileWith(text);
    const parsed = parsePlan(text, 'plan.json');
    expect(parsed.profiles && Object.keys(parsed.profiles).length).toBeGreaterThan(0);
    const { scanned, ops, resets } = await scan(file);
    expect(scanned.lineByLine).toBe(true);
    expect(resets).toBe(0);
    expect(ops).toEqual(parsed.operations);
    expect(scanned.total).toBe(parsed.operations.length);
    expect(scanned.hash).toBe(planHash(parsed));
    const { operations: _o, profiles: _p, ...head } = parsed;
    expect(scanned.head).toEqual({ ...head, operations: [] });
    expect(await streamed(file, scanned)).toEqual(parsed.operations);
  });

  it('reads a plan without operations or without profiles', async () => {
    const one = world(['a']);
    // Without operations: a summary that counts none (parsePlan refuses one that counts others).
    const none = { ...one, operations: [], summary: { ...one.summary, create: 0, operations: 0, by_type: {} } };
    for (const plan of [world([]), { ...world(['a', 'b']), profiles: undefined }, none]) {
      const text = serializePlan(plan);
      const parsed = parsePlan(text, 'plan.json');
      const { scanned, ops } = await scan(await fileWith(text));
      expect(scanned.lineByLine).toBe(true);
      expect(ops).toEqual(parsed.operations);
      expect(scanned.hash).toBe(planHash(parsed));
    }
  });

  it('reads a plan in another layout whole, with the same result', async () => {
    const parsed = parsePlan(serializePlan(world(ids)), 'plan.json');
    for (const text of [JSON.stringify(parsed), JSON.stringify(parsed, null, 4), `${serializePlan(world(ids)).replace('"operations": [\n', '"operations": [\n\n')}`]) {
      const file = await fileWith(text);
      const { scanned, ops } = await scan(file);
      expect(scanned.lineByLine).toBe(false);
      expect(ops).toEqual(parsed.operations);
      expect(scanned.hash).toBe(planHash(parsed));
      expect(await streamed(file, scanned)).toEqual(parsed.operations);
    }
  });

  it('refuses every file parsePlan refuses, with its error', async () => {
    const text = serializePlan(world(ids));
    const lines = text.split('\n');
    const opLine = lines.findIndex((l) => l.includes('"type":"property.set"'));
    const profileLine = lines.findIndex((l) => l.includes('"patch"'));
    const broken = [
      text.replace('"format_version": 1', '"format_version": 2'),
      text.replace('"type":"property.set"', '"type":"property.sett"'),
      lines.map((l, i) => (i === opLine ? l.replace('"key":', '"kee":') : l)).join('\n'),
      lines.map((l, i) => (i === opLine ? l.slice(0, -3) : l)).join('\n'),
      lines.map((l, i) => (i === profileLine ? l.replace('"patch"', '"patches"') : l)).join('\n'),
      text.replace('"created_at": "', '"created_at": "not a date '),
      text.replace('"workspace":', '"workspaces":'),
      text.slice(0, -4),
      `${text}{}\n`,
    ];
    for (const t of broken) {
      const file = await fileWith(t);
      const expected = await errorOf(readPlanFile(file, 'plan.json'));
      expect(await errorOf(scan(file))).toBe(expected);
    }
    expect(await errorOf(scan(path.join(os.tmpdir(), 'no-such-plan-file.json')))).toBe('cannot read plan plan.json: no such file');
  });

  it('writes the bytes it reads to copyTo, and keepScannedCopy puts them in place unless the file changed since', async () => {
    const text = serializePlan(world(['a', 'b', 'c']));
    for (const layout of [text, JSON.stringify(JSON.parse(text), null, 4)]) {
      const file = await fileWith(layout);
      const copyTo = `${file}.copy`;
      const scanned = await scanPlanFile(file, 'plan.json', '', { op: () => undefined, reset: () => undefined }, { copyTo });
      expect(scanned.lineByLine).toBe(layout === text);
      expect(scanned.copy?.file).toBe(copyTo);
      expect(await readFile(copyTo, 'utf8')).toBe(layout);
      const kept = `${file}.kept`;
      await keepScannedCopy(file, scanned.copy!, kept, 'plan.json');
      expect(await readFile(kept, 'utf8')).toBe(layout);
      await expect(readFile(copyTo)).rejects.toThrow();
    }
    const file = await fileWith(text);
    const copyTo = `${file}.copy`;
    const scanned = await scanPlanFile(file, 'plan.json', '', { op: () => undefined, reset: () => undefined }, { copyTo });
    await writeFile(file, text.replace('New 0', 'New 1'));
    expect(await errorOf(keepScannedCopy(file, scanned.copy!, `${file}.kept`, 'plan.json'))).toBe('plan plan.json changed while it was being checked; nothing was written: apply it again');
    await expect(readFile(`${file}.kept`)).rejects.toThrow();
    await expect(readFile(copyTo)).rejects.toThrow();
  });

  it('leaves no copy of a plan it refuses', async () => {
    const text = serializePlan(world(['a', 'b']));
    for (const broken of [text.slice(0, -40), text.replace('"format_version": 1', '"format_version": 2')]) {
      const file = await fileWith(broken);
      await expect(scanPlanFile(file, 'plan.json', '', { op: () => undefined, reset: () => undefined }, { copyTo: `${file}.copy` })).rejects.toThrow();
      await expect(readFile(`${file}.copy`)).rejects.toThrow();
    }
  });

  it('keeps a copy only of the bytes it read', async () => {
    const text = serializePlan(world(['a', 'b']));
    const file = await fileWith(text);
    const { scanned } = await scan(file);
    const kept = `${file}.kept`;
    await copyPlanFile(file, kept, scanned.digest, 'plan.json');
    expect(await readFile(kept, 'utf8')).toBe(text);
    await writeFile(file, text.replace('New 0', 'New 1'));
    expect(await errorOf(copyPlanFile(file, `${file}.again`, scanned.digest, 'plan.json'))).toBe('plan plan.json changed while it was being checked; nothing was written: apply it again');
    await expect(readFile(`${file}.again`)).rejects.toThrow();
  });
});
