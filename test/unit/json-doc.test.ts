/**
 * docs/json.md is the contract page of `--json` (issue #16): it must name every error code the
 * code can produce, every exit code, every command of the schema and every key the schema gives
 * that command — so the page cannot fall behind schemas/cli-output.schema.json or src/errors.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';

type Json = Record<string, unknown>;
const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');
const doc = read('docs/json.md');
const schema = JSON.parse(read('schemas/cli-output.schema.json')) as Json;

/** The text of `### …` sections, by the command names in their heading. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of doc.split(/^### /m).slice(1)) {
    const heading = part.split('\n')[0]!;
    const body = part.split(/^## /m)[0]!;
    for (const m of heading.matchAll(/`(\w+)`/g)) out.set(m[1]!, body);
  }
  return out;
}

/** The keys the schema lists for a command's result (`allOf` → `if command` → `then`). */
function keysOf(command: string): string[] {
  const resolve = (s: Json): Json => (typeof s.$ref === 'string' ? ((schema.definitions as Json)[s.$ref.split('/').pop()!] as Json) : s);
  const keys = new Set<string>();
  for (const branch of schema.allOf as Json[]) {
    const cond = ((branch.if as Json | undefined)?.properties as Json | undefined)?.command as Json | undefined;
    if (cond?.const !== command) continue;
    const then = resolve(branch.then as Json);
    for (const part of [then, then.then as Json | undefined]) {
      for (const k of Object.keys((part?.properties as Json | undefined) ?? {})) if (k !== 'status') keys.add(k);
    }
  }
  return [...keys];
}

describe('docs/json.md', () => {
  it('lists exactly the error codes of src/errors.ts', () => {
    const codes = [...read('src/errors.ts').matchAll(/^\s+\| '([a-z_.]+)'/gm)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(20);
    const table = doc.split('## Error codes')[1]!;
    const documented = [...table.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1]!);
    expect(documented.sort()).toEqual([...codes].sort());
  });

  it('lists exactly the exit codes of src/cli/exit-codes.ts', () => {
    const table = doc.split('## Exit codes')[1]!.split('\n## ')[0]!;
    const documented = [...table.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });

  it('has a section for every command of the schema, naming every key the schema gives it', () => {
    const byCommand = sections();
    const commands = ((schema.properties as Json).command as { enum: string[] }).enum;
    for (const c of commands) {
      const text = byCommand.get(c);
      expect(text, `no section for ${c}`).toBeDefined();
      for (const k of keysOf(c)) expect(text, `${c}: key ${k}`).toContain(`\`${k}\``);
    }
  });
});
