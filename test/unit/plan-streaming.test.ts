/**
 * Big plans are written in pieces (plan file, `--json`, text output, the journal's plan hash).
 * The pieces must give exactly the bytes of the one-string forms they replace; the reference
 * implementations below are those one-string forms as they were before streaming.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { planHash } from '../../src/apply/journal.js';
import { writePlanFile } from '../../src/apply/kept-plan.js';
import { buildPlan } from '../../src/plan/build.js';
import { stableStringify, stableStringifyChunks } from '../../src/plan/normalize.js';
import { canonicalJson, parsePlan, savedPlan, serializePlan, serializePlanChunks } from '../../src/plan/plan-file.js';
import { renderJson, renderJsonChunks, renderText, renderTextChunks } from '../../src/plan/render/index.js';
import { textRenderer } from '../../src/plan/render/text.js';
import { groupByProfile } from '../../src/plan/build.js';
import { ACTION_SIGN, describeOperation, issueLine, profileChanges, scopeLine, summaryLine, suppressionChanges } from '../../src/plan/render/describe.js';
import { collectSecretCandidates, hasSecrets, redactPlan, resolveSecrets } from '../../src/plan/secrets.js';
import { profileIdOf, type Plan } from '../../src/plan/types.js';
import { actual, CREATED_AT, desired, live, profile, TARGET } from './plan-builders.js';

const TOKEN = 'ExponentPushToken[streamed-s3cr3t]';

/** A plan of `n` profiles: creates with tokens (secrets), updates, deletes; ~4 operations each. */
function bigWorld(n: number): { plan: Plan; d: ReturnType<typeof desired>; a: ReturnType<typeof actual> } {
  const profiles = [];
  const entries: Array<[string, ReturnType<typeof live> | null]> = [];
  for (let i = 0; i < n; i += 1) {
    const id = `p-${String(i).padStart(5, '0')}`;
    if (i % 3 === 0) {
      profiles.push(
        profile(id, {
          name: `New ${i}`,
          channels: { email: `u${i}@example.com`, push: [{ token: `${TOKEN}${i}`, integration_id: 'I1' }] },
          properties: { plan: { op: 'set', value: 'pro' }, seats: { op: 'set', value: i } },
        }),
      );
      entries.push([id, null]);
    } else if (i % 3 === 1) {
      profiles.push(profile(id, { name: `Renamed ${i}`, properties: { tags: { op: 'set', value: ['a', 'b'] } } }));
      entries.push([id, live(id, { name: `Old ${i}`, properties: { tags: ['a'] } })]);
    } else {
      profiles.push(profile(id, { state: 'absent' }));
      entries.push([id, live(id)]);
    }
  }
  const d = desired(...profiles);
  const a = actual(...entries);
  return { plan: buildPlan(d, a, { createdAt: CREATED_AT, target: TARGET, sources: d.files }), d, a };
}

// ---- the one-string forms as they were before streaming ------------------------------------

const TOP_ORDER = ['format_version', 'created_at', 'target', 'sources', 'scope', 'summary', 'issues', 'preconditions', 'operations'] as const;
const OP_FIRST = ['type', 'distinct_id'];
function sortedKeys(v: unknown, first: readonly string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => sortedKeys(x));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  // No prototype, as the serializer's own copy: a key "__proto__" is a key like any other.
  const out = Object.create(null) as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined);
  const rest = keys.filter((k) => !first.includes(k)).sort();
  for (const k of [...first.filter((k) => keys.includes(k)), ...rest]) out[k] = sortedKeys(o[k]);
  return out;
}
function referenceSerialize(plan: Plan): string {
  const redacted = redactPlan(plan) as unknown as Record<string, unknown>;
  const head: Record<string, unknown> = {};
  for (const k of TOP_ORDER) if (k !== 'operations' && redacted[k] !== undefined) head[k] = sortedKeys(redacted[k]);
  const ops = plan.operations.length === 0 ? '[]' : `[\n${(redacted.operations as unknown[]).map((op) => `    ${JSON.stringify(sortedKeys(op, OP_FIRST))}`).join(',\n')}\n  ]`;
  const headText = JSON.stringify(head, null, 2);
  if (plan.profiles === undefined) return `${headText.slice(0, -2)},\n  "operations": ${ops}\n}\n`;
  // Issue #19: then the JSON Patch of each changed profile, one profile per line.
  const entries = Object.entries(plan.profiles).map(([id, d]) => `    ${JSON.stringify(id)}: ${JSON.stringify(sortedKeys(d))}`);
  const profiles = entries.length === 0 ? '{}' : `{\n${entries.join(',\n')}\n  }`;
  return `${headText.slice(0, -2)},\n  "operations": ${ops},\n  "profiles": ${profiles}\n}\n`;
}
function referenceText(plan: Plan): string {
  const out: string[] = [summaryLine(plan.summary)];
  const scope = scopeLine(plan);
  if (scope) out.push(scope);
  if (plan.issues.length > 0) {
    out.push('', `Error: ${plan.issues.length} problem(s) prevent applying this plan:`);
    for (const i of plan.issues) out.push(`  ! ${issueLine(i)}`);
  }
  if (plan.operations.length === 0) {
    out.push('', plan.issues.length > 0 ? 'No other changes.' : 'No changes. Live state matches the desired state.');
    return `${out.join('\n')}\n`;
  }
  for (const p of profileChanges(plan)) {
    out.push('', `${ACTION_SIGN[p.action]} ${p.distinct_id} (${p.action}, ${p.operations.length} operation${p.operations.length === 1 ? '' : 's'})`);
    for (const op of p.operations) for (const l of describeOperation(op)) out.push(`    ${l.sign} ${l.text}`);
  }
  const s = plan.summary;
  out.push('', `${s.operations} operation(s) on ${s.create + s.update + s.merge + s.delete} profile(s).`);
  return `${out.join('\n')}\n`;
}

const { plan: big, d: bigDesired, a: bigActual } = bigWorld(3001); // > 1000 operations and > 500 profiles: several chunks each
const empty = buildPlan(desired(), actual(), { createdAt: CREATED_AT, target: TARGET, sources: [] });
const dir = await mkdtemp(path.join(os.tmpdir(), 'fyno-plan-stream-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('plan file in pieces', () => {
  it('gives exactly the bytes of the one-string serializer, in several chunks', () => {
    expect(big.operations.length).toBeGreaterThan(3000);
    const chunks = [...serializePlanChunks(big)];
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('')).toBe(referenceSerialize(big));
    expect(serializePlan(big)).toBe(referenceSerialize(big));
    expect([...renderJsonChunks(big)].join('')).toBe(renderJson(big));
    // No chunk holds the operations of the whole plan.
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(chunks.join('').length / 3);
  });

  // Operations and patches are written without building a sorted copy first (issue #17): any
  // JSON value in them, integer-like keys ("10", "2") and nesting included, gives the same bytes.
  it('writes any JSON value in an operation or a patch as the sorted-copy serializer did', () => {
    const keyish = fc.oneof(fc.string(), fc.constantFrom('0', '1', '2', '10', '01', '-1', '4294967294', '4294967295', 'type', 'distinct_id', '__proto__'));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(keyish, tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(value, fc.dictionary(keyish, value, { maxKeys: 4 }), (v, extra) => {
        const op = { ...extra, type: 'property.set', distinct_id: 'p-1', key: 'k', value: v, before: v };
        const plan = { ...empty, operations: [op], profiles: { 'p-1': [{ op: 'add', path: '/k', value: v }] } } as unknown as Plan;
        expect(serializePlan(plan)).toBe(referenceSerialize(plan));
      }),
      { numRuns: 300 },
    );
  });

  it('canonicalJson is JSON.stringify of the sorted copy, undefined values and array holes included', () => {
    const keyish = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '01', '-0', '1.5', '4294967294', '4294967295', 'type', 'distinct_id', '__proto__'));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined), fc.sparseArray(tie('v'), { maxLength: 4 }), fc.dictionary(keyish, tie('v'), { maxKeys: 5 })),
    })).v;
    fc.assert(
      fc.property(value, fc.constantFrom([], ['type', 'distinct_id']), (v, first) => {
        expect(canonicalJson(v, first)).toBe(JSON.stringify(sortedKeys(v, first)));
      }),
      { numRuns: 2000 },
    );
  });

  it('is byte-identical for an empty plan and still parses', () => {
    expect([...serializePlanChunks(empty)].join('')).toBe(referenceSerialize(empty));
    expect(parsePlan(serializePlan(empty), 'p.json')).toEqual(empty);
  });

  it('keeps secrets out of every chunk', () => {
    for (const c of serializePlanChunks(big)) expect(c).not.toContain(TOKEN);
  });

  it('writePlanFile writes those bytes, owner-only, and leaves no temporary file', async () => {
    const file = path.join(dir, 'plan.json');
    await writePlanFile(file, big);
    expect(await readFile(file, 'utf8')).toBe(referenceSerialize(big));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(writePlanFile(path.join(dir, 'missing', 'plan.json'), big)).rejects.toThrow(/no such directory/);
    await expect(writePlanFile(dir, big)).rejects.toThrow(/cannot write the plan/);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('text output in pieces', () => {
  it('gives exactly the text of the one-string renderer', () => {
    const chunks = [...renderTextChunks(big)];
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join('')).toBe(referenceText(big));
    expect(renderText(big)).toBe(referenceText(big));
  });

  it('is identical for a plan without operations', () => {
    expect([...renderTextChunks(empty)].join('')).toBe(referenceText(empty));
  });

  it('colours each chunk as the whole text', () => {
    expect([...renderTextChunks(big, { color: true })].join('')).toBe(renderText(big, { color: true }));
  });

  // Issue #17: `plan` renders each profile as it is planned and keeps the text, not the operations.
  it('is the text of head, each profile as planned and tail, from a plan that let its operations go', () => {
    const issue = { distinct_id: 'p-00001', field: 'name', message: 'conflict', at: { file: 'a.yaml', line: 3, column: 5 } } as Plan['issues'][number];
    const list = [
      { type: 'suppression.add', entry: { channel: 'email', destination: 'x@example.com' }, at: { file: 'a.yaml', line: 9 } },
      { type: 'suppression.remove', entry: { channel: 'sms', destination: '+14155550100' }, at: { file: 'a.yaml', line: 10 } },
    ] as unknown as Plan['operations'];
    const withList = { ...big, operations: [...big.operations, ...list], summary: { ...big.summary, operations: big.summary.operations + 2 } } as Plan;
    for (const plan of [big, empty, { ...big, issues: [issue] }, withList]) {
      for (const color of [false, true]) {
        const render = textRenderer({ color });
        // As createPlan hands them over: one call per profile, in plan order.
        let body = '';
        for (const ops of groupByProfile(plan.operations).values()) body += render.profile(ops);
        const dropped = { ...plan, operations: [] };
        expect(render.head(dropped) + body + render.tail(dropped, suppressionChanges(plan))).toBe(renderText(plan, { color }));
      }
    }
  });
});

describe('stable JSON in pieces (the journal plan hash)', () => {
  it('concatenates to stableStringify for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect([...stableStringifyChunks(v)].join('')).toBe(stableStringify(v));
      }),
      { numRuns: 300 },
    );
  });

  it('skips undefined object values and writes null for undefined array elements, as JSON.stringify does', () => {
    const v = { b: undefined, a: [1, undefined, { d: 2, c: undefined }] };
    expect([...stableStringifyChunks(v)].join('')).toBe(stableStringify(v));
  });

  it('planHash is the digest of the whole stable document', () => {
    for (const plan of [big, empty]) {
      expect(planHash(plan)).toBe(`sha256:${createHash('sha256').update(stableStringify(plan)).digest('hex')}`);
    }
  });
});

describe('secrets of a big saved plan', () => {
  it('resolves placeholders without copying the operations that hold none', () => {
    const saved = parsePlan(serializePlan(big), 'plan.json');
    const resolved = resolveSecrets(saved, collectSecretCandidates(bigDesired, bigActual));
    expect(resolved.operations).toEqual(big.operations);
    let kept = 0;
    resolved.operations.forEach((op, i) => {
      if (hasSecrets(saved.operations[i]!)) expect(op).not.toBe(saved.operations[i]);
      else (expect(op).toBe(saved.operations[i]), (kept += 1));
    });
    expect(kept).toBeGreaterThan(resolved.operations.length / 2);
  });

  it('candidates for only the profiles with placeholders resolve the same plan', () => {
    const saved = parsePlan(serializePlan(big), 'plan.json');
    const only = new Set(saved.operations.filter(hasSecrets).map((op) => profileIdOf(op)!));
    expect(only.size).toBeLessThan(bigDesired.profiles.length);
    const some = collectSecretCandidates(bigDesired, bigActual, only);
    expect([...some.keys()].sort()).toEqual([...only].sort());
    expect(resolveSecrets(saved, some)).toEqual(resolveSecrets(saved, collectSecretCandidates(bigDesired, bigActual)));
  });
});

describe('the saved form of a fresh plan', () => {
  it('is what parsing the serialized plan gives, key order included', () => {
    for (const plan of [big, empty]) {
      const want = parsePlan(serializePlan(plan), 'plan');
      const got = savedPlan(plan, 'plan');
      expect(got).toEqual(want);
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      expect(planHash(got)).toBe(planHash(want));
    }
  });

  it('is checked like a parsed plan', () => {
    const bad = { ...big, format_version: 2 } as unknown as Plan;
    expect(() => savedPlan(bad, 'plan')).toThrow(/unsupported plan/);
  });
});
