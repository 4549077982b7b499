/**
 * Checks that need every file at once: duplicate distinct_ids and conflicting merges
 * (PRODUCT.md, "Desired state": "duplicate ids across files, conflicting merges").
 */
import type { DistinctId } from '../fyno/types.js';
import type { SourceRef, ValidationIssue } from './types.js';

/** What the cross-file checks need to know of one declared profile. */
export interface ProfileEntry {
  id: DistinctId;
  /** Position of the distinct_id value. */
  idAt: SourceRef;
  protected: boolean;
  /** Sources with the position of each (the `merge_from` value or list item). */
  mergeFrom: { id: DistinctId; at: SourceRef; field: string }[];
}

export function checkAcrossFiles(entries: readonly ProfileEntry[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const issue = (at: SourceRef, id: string, field: string, message: string) =>
    issues.push({ file: at.file, line: at.line, column: at.column, distinct_id: id, field, message });

  // 1. Each distinct_id once across all files; the later declaration is the error.
  const byId = new Map<DistinctId, ProfileEntry>();
  for (const e of entries) {
    const first = byId.get(e.id);
    if (first) issue(e.idAt, e.id, 'distinct_id', `distinct_id "${e.id}" is declared twice; it is also declared at ${where(first.idAt)}`);
    else byId.set(e.id, e);
  }

  // 2. Each source merged into one target, never into itself.
  const targetOf = new Map<DistinctId, { target: DistinctId; at: SourceRef }>();
  const edges: { from: ProfileEntry; src: ProfileEntry['mergeFrom'][number] }[] = [];
  for (const e of byId.values()) {
    for (const s of e.mergeFrom) {
      if (s.id === e.id) {
        issue(s.at, e.id, s.field, 'a profile cannot be merged into itself');
        continue;
      }
      const prev = targetOf.get(s.id);
      if (prev) {
        const also = prev.target === e.id ? 'already named in this merge_from' : `also merged into ${prev.target} at ${where(prev.at)}`;
        issue(s.at, e.id, s.field, `profile ${s.id} is ${also}; a profile can be merged into one target only`);
        continue;
      }
      targetOf.set(s.id, { target: e.id, at: s.at });
      edges.push({ from: e, src: s });
    }
  }

  // 3. Merge cycles (a ← b ← a), each reported once, at the first profile of the cycle.
  const inCycle = new Set<string>();
  const sourcesOf = new Map<DistinctId, DistinctId[]>();
  for (const { from, src } of edges) sourcesOf.set(from.id, [...(sourcesOf.get(from.id) ?? []), src.id]);
  const state = new Map<DistinctId, 'open' | 'done'>();
  const stack: DistinctId[] = [];
  const visit = (id: DistinctId): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const next of sourcesOf.get(id) ?? []) {
      const st = state.get(next);
      if (st === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        for (let i = 0; i < cycle.length; i++) inCycle.add(`${cycle[i]!}\u0000${cycle[(i + 1) % cycle.length]!}`);
        const head = byId.get(cycle[0]!)!;
        const src = head.mergeFrom.find((m) => m.id === (cycle[1] ?? cycle[0]))!;
        issue(src.at, head.id, src.field, `merge cycle: ${[...cycle, cycle[0]!].join(' ← ')} (each profile merges the next one into itself)`);
      } else if (st === undefined && byId.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of sourcesOf.keys()) if (!state.has(id)) visit(id);

  // 4. A source is merged away (Fyno deletes it), so it cannot also be declared.
  for (const { from, src } of edges) {
    const declared = byId.get(src.id);
    if (!declared || inCycle.has(`${from.id}\u0000${src.id}`)) continue;
    const message = declared.protected
      ? `profile ${src.id} is protected (declared at ${where(declared.idAt)}) and is never merged away`
      : `profile ${src.id} is merged into ${from.id} and deleted by Fyno, but is also declared at ${where(declared.idAt)}; remove one of the two`;
    issue(src.at, from.id, src.field, message);
  }
  return issues;
}

function where(r: SourceRef): string {
  return `${r.file}:${r.line}:${r.column}`;
}
